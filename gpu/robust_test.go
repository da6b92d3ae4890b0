package gpu_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/gpu"
)

// Paths that a healthy driver here never takes, reached through the test
// hooks: a hung submit, non-coherent downloads, a queue without timestamps,
// a device that falls short. Each runs with validation on.

// TestHungSubmit: a submit that never finishes ends, after the fence
// timeout, in an error that says so; the device then fails fast, and
// closing it returns rather than wait for it.
func TestHungSubmit(t *testing.T) {
	t.Setenv(gpu.HangEnv, "2")
	t.Setenv(gpu.FenceTimeoutEnv, "300ms")
	d := openDevice(t) // Close runs at cleanup: it must not hang
	b, err := d.NewBuffer(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(0, make([]byte, 64)); err != nil {
		t.Fatalf("the first submit: %v", err)
	}
	start := time.Now()
	err = b.Write(0, make([]byte, 64))
	var hung *gpu.HungError
	if !errors.As(err, &hung) {
		t.Fatalf("a hung submit returned %v, want a HungError", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > time.Minute {
		t.Errorf("the hung submit returned after %v, want the 300ms timeout", took)
	}
	for _, want := range []string{"VK_TIMEOUT", "300ms", "hung", gpu.FenceTimeoutEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	start = time.Now()
	if err := b.Read(0, make([]byte, 64)); !errors.As(err, &hung) || time.Since(start) > time.Second {
		t.Errorf("after the hang, a read returned %v after %v; want the HungError at once", err, time.Since(start))
	}
}

func TestFenceTimeoutRejected(t *testing.T) {
	openDevice(t) // skips without Vulkan
	t.Setenv(gpu.FenceTimeoutEnv, "soon")
	if _, err := gpu.Open(gpu.Options{Index: -1}); err == nil || !strings.Contains(err.Error(), gpu.FenceTimeoutEnv) {
		t.Errorf("Open with %s=soon: %v, want an error naming it", gpu.FenceTimeoutEnv, err)
	}
}

// TestDownloadInvalidates reads back through vkInvalidateMappedMemoryRanges,
// as on devices whose cached memory is not coherent.
func TestDownloadInvalidates(t *testing.T) {
	d := openDevice(t)
	gpu.ForceInvalidate(d)
	data := make([]byte, 3<<20+5) // grows both staging buffers
	for i := range data {
		data[i] = byte(i * 7)
	}
	b, err := d.NewBuffer(int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Write(0, data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := b.Read(0, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Error("read back differs from what was written")
	}
}

func TestTimestampsRefused(t *testing.T) {
	d := openDevice(t)
	if bits := d.Info().TimestampValidBits; bits == 0 || bits > 64 {
		t.Errorf("timestampValidBits %d on %s", bits, d.Info().Name)
	}
	gpu.SetTimestampValidBits(d, 0)
	s, err := d.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timestamp(); !errors.Is(err, gpu.ErrNoTimestamps) {
		t.Errorf("Timestamp on a queue without timestamps: %v, want ErrNoTimestamps", err)
	}
	// The refusal leaves the sequence usable.
	if err := s.Run(1); err != nil {
		t.Errorf("the sequence after a refused timestamp: %v", err)
	}
}

func TestOpenRefusesShortDevice(t *testing.T) {
	d := openDevice(t)
	info := d.Info()
	_, err := gpu.Open(gpu.Options{Index: info.Index, Require: gpu.Requirements{StorageBuffersPerStage: info.MaxStorageBuffersPerStage + 1}})
	var short *gpu.ShortfallError
	if !errors.As(err, &short) || !strings.Contains(err.Error(), "maxPerStageDescriptorStorageBuffers") {
		t.Errorf("Open of a device short of storage buffers: %v", err)
	}
}
