package gpu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/internal/memstat"
	"github.com/vkcnn/vkcnn/shaders"
)

// openDevice opens the default device with validation on. Without Vulkan it
// skips, unless VKCNN_REQUIRE_DEVICE=1 (set by tools/test.sh) makes that a failure.
func openDevice(t testing.TB) *gpu.Device {
	t.Helper()
	d, err := gpu.Open(gpu.Options{Index: -1, Validate: true})
	if err != nil {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device to test on (install mesa-vulkan-drivers and vulkan-validationlayers): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
	})
	return d
}

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func bytesFloat(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestDevices(t *testing.T) {
	openDevice(t) // skips without Vulkan
	infos, err := gpu.Devices()
	if err != nil {
		t.Fatal(err)
	}
	best := gpu.Best(infos)
	if best < 0 || best >= len(infos) {
		t.Fatalf("Best = %d for %d devices", best, len(infos))
	}
	for _, in := range infos {
		if in.Name == "" || in.SubgroupSize == 0 || in.MaxSharedMemory == 0 || in.MaxStorageBufferRange == 0 || in.DeviceLocalMemory() == 0 {
			t.Errorf("device %d is missing properties: %+v", in.Index, in)
		}
		if in.Type > infos[best].Type {
			t.Errorf("Best picked %s (%s) over %s (%s)", infos[best].Name, infos[best].Type, in.Name, in.Type)
		}
	}
}

func TestBestPrefersGPUs(t *testing.T) {
	infos := []gpu.Info{{Index: 0, Type: gpu.CPU}, {Index: 1, Type: gpu.IntegratedGPU}, {Index: 2, Type: gpu.DiscreteGPU}, {Index: 3, Type: gpu.DiscreteGPU}}
	if got := gpu.Best(infos); got != 2 {
		t.Errorf("Best = %d, want 2 (first discrete GPU)", got)
	}
	if got := gpu.Best(infos[:2]); got != 1 {
		t.Errorf("Best = %d, want 1 (integrated over CPU)", got)
	}
}

func TestBufferRoundTrip(t *testing.T) {
	d := openDevice(t)
	for _, size := range []int{1, 3, 4, 5, 1023, 4097, 1<<20 + 7} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rand.IntN(256))
		}
		b, err := d.NewBuffer(int64(size))
		if err != nil {
			t.Fatalf("NewBuffer(%d): %v", size, err)
		}
		if err := b.Write(0, data); err != nil {
			t.Fatalf("Write %d bytes: %v", size, err)
		}
		got := make([]byte, size)
		if err := b.Read(0, got); err != nil {
			t.Fatalf("Read %d bytes: %v", size, err)
		}
		if string(got) != string(data) {
			t.Errorf("%d bytes: read back differs from what was written", size)
		}
		// A part in the middle, at an odd offset.
		if size > 8 {
			part := make([]byte, size/3)
			if err := b.Read(int64(size/2), part); err != nil {
				t.Fatal(err)
			}
			if string(part) != string(data[size/2:size/2+len(part)]) {
				t.Errorf("%d bytes: partial read at %d differs", size, size/2)
			}
		}
		if err := b.Read(int64(size), make([]byte, 1)); err == nil {
			t.Errorf("%d bytes: read past the end returned no error", size)
		}
		b.Close()
	}
}

func newSaxpy(t *testing.T, d *gpu.Device) *gpu.Kernel {
	t.Helper()
	code, err := shaders.SPIRV("saxpy")
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.NewKernel(code, gpu.KernelDesc{Name: "saxpy", Bindings: []gpu.Access{gpu.Read, gpu.ReadWrite}, PushSize: 8, Spec: []uint32{64}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func saxpyPush(n int, a float32) []byte {
	p := make([]byte, 8)
	binary.LittleEndian.PutUint32(p, uint32(n))
	binary.LittleEndian.PutUint32(p[4:], math.Float32bits(a))
	return p
}

// TestSequenceReplay records y += a*x once and runs it 100 times: in one
// submit, and as 100 separate runs.
func TestSequenceReplay(t *testing.T) {
	d := openDevice(t)
	k := newSaxpy(t, d)
	const n = 1001
	const a = 0.5
	x := make([]float32, n)
	y0 := make([]float32, n)
	for i := range x {
		x[i] = rand.Float32()*2 - 1
		y0[i] = rand.Float32()*2 - 1
	}
	for _, tc := range []struct {
		name        string
		runs, times int
	}{{"one submit", 1, 100}, {"100 submits", 100, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			xb, _ := d.NewBuffer(4 * n)
			yb, _ := d.NewBuffer(4 * n)
			defer xb.Close()
			defer yb.Close()
			if err := xb.Write(0, floatBytes(x)); err != nil {
				t.Fatal(err)
			}
			if err := yb.Write(0, floatBytes(y0)); err != nil {
				t.Fatal(err)
			}
			s, err := d.NewSequence()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Dispatch(k, [3]uint32{(n + 63) / 64, 1, 1}, saxpyPush(n, a), xb, yb); err != nil {
				t.Fatal(err)
			}
			for range tc.runs {
				if err := s.Run(tc.times); err != nil {
					t.Fatal(err)
				}
			}
			got := make([]byte, 4*n)
			if err := yb.Read(0, got); err != nil {
				t.Fatal(err)
			}
			for i, v := range bytesFloat(got) {
				want := y0[i]
				for range 100 {
					want = a*x[i] + want
				}
				if math.Abs(float64(v-want)) > 1e-4 {
					t.Fatalf("y[%d] = %v after 100 runs, want %v", i, v, want)
				}
			}
		})
	}
}

// TestDependentDispatches chains dispatches that read what the previous one
// wrote, so a missing barrier shows as a wrong sum (and a validation error).
func TestDependentDispatches(t *testing.T) {
	d := openDevice(t)
	k := newSaxpy(t, d)
	const n = 777
	one := make([]float32, n)
	for i := range one {
		one[i] = 1
	}
	a, _ := d.NewBuffer(4 * n)
	b, _ := d.NewBuffer(4 * n)
	a.Write(0, floatBytes(one))
	b.Write(0, floatBytes(one))
	s, err := d.NewSequence()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	groups := [3]uint32{(n + 63) / 64, 1, 1}
	// b = a + b (2); a = b + a (3); b = a + b (5); a = b + a (8)
	for i := range 4 {
		if i%2 == 0 {
			s.Dispatch(k, groups, saxpyPush(n, 1), a, b)
		} else {
			s.Dispatch(k, groups, saxpyPush(n, 1), b, a)
		}
	}
	start, _ := s.Timestamp()
	end, _ := s.Timestamp()
	if err := s.Run(1); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4*n)
	a.Read(0, got)
	for i, v := range bytesFloat(got) {
		if v != 8 {
			t.Fatalf("a[%d] = %v, want 8", i, v)
		}
	}
	times, err := s.Times()
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[start] != 0 || times[end] < 0 {
		t.Errorf("timestamps %v", times)
	}
}

func TestErrors(t *testing.T) {
	d := openDevice(t)
	code, _ := shaders.SPIRV("saxpy")
	bad := append([]byte{}, code...)
	bad[0] ^= 0xff
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"invalid SPIR-V", func() error {
			_, err := d.NewKernel(bad, gpu.KernelDesc{Name: "bad"})
			return err
		}, "not a SPIR-V module"},
		{"truncated SPIR-V", func() error {
			_, err := d.NewKernel(code[:len(code)-2], gpu.KernelDesc{Name: "bad"})
			return err
		}, "not a SPIR-V module"},
		{"buffer larger than the device allows", func() error {
			_, err := d.NewBuffer(int64(d.Info().MaxStorageBufferRange) + 1)
			return err
		}, "maxStorageBufferRange"},
		{"empty buffer", func() error {
			_, err := d.NewBuffer(0)
			return err
		}, "must be positive"},
		{"bad device index", func() error {
			_, err := gpu.Open(gpu.Options{Index: 99})
			if !errors.Is(err, gpu.ErrBadIndex) {
				t.Errorf("want ErrBadIndex, got %v", err)
			}
			return err
		}, "no such Vulkan device"},
		{"wrong buffer count", func() error {
			k := newSaxpy(t, d)
			s, _ := d.NewSequence()
			defer s.Close()
			b, _ := d.NewBuffer(64)
			defer b.Close()
			s.Dispatch(k, [3]uint32{1, 1, 1}, saxpyPush(16, 1), b)
			return s.Run(1)
		}, "1 buffers for 2 bindings"},
		{"validation error: descriptor layout without the shader's binding", func() error {
			_, err := d.NewKernel(code, gpu.KernelDesc{Name: "saxpy-1-binding", Bindings: []gpu.Access{gpu.Read}, PushSize: 8, Spec: []uint32{64}})
			return err
		}, "validation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestOpenCloseLeavesNothing opens and closes a device with buffers, kernels
// and sequences 250 times (5 with -short); validation makes Close fail for
// any object left undestroyed, and the Go heap must not keep growing.
func TestOpenCloseLeavesNothing(t *testing.T) {
	openDevice(t)
	round := func() {
		d, err := gpu.Open(gpu.Options{Index: -1, Validate: true})
		if err != nil {
			t.Fatal(err)
		}
		k := newSaxpy(t, d)
		b, _ := d.NewBuffer(4096)
		s, _ := d.NewSequence()
		s.Dispatch(k, [3]uint32{1, 1, 1}, saxpyPush(16, 1), b, b)
		if err := s.Run(1); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	const warmup, rounds = 50, 200
	if testing.Short() {
		// A CPU driver such as SwiftShader takes half a second to open a
		// device: check the runtime destroys everything (validation), but
		// too few rounds for the heap's trend to rise above its noise.
		for range 5 {
			round()
		}
		t.Log("-short: 5 rounds, without the heap growth check")
		return
	}
	for range warmup { // the driver's caches and the Go heap settle first
		round()
	}
	before := memstat.LiveHeap()
	for range rounds {
		round()
	}
	after := memstat.LiveHeap()
	t.Logf("%d rounds: live Go heap %d -> %d KiB", rounds, before>>10, after>>10)
	// After warm-up the live heap stays within about 100 KiB over hundreds
	// of rounds; a registry that keeps an entry per device would not.
	if per := (after - before) / rounds; per > 1<<10 {
		t.Errorf("the live Go heap grew %d bytes a round over %d rounds (%d -> %d KiB)", per, rounds, before>>10, after>>10)
	}
}

// TestUnderGCPressure opens devices, creates kernels, records, runs and
// copies while another goroutine collects garbage without pause. vulkan-go
// frees its C copies of slice arguments from finalizers, which can run in
// the middle of a call; every call that passes such arguments goes through
// the shim instead, and this is what would crash (or trip validation, or
// compute garbage) if one did not.
func TestUnderGCPressure(t *testing.T) {
	openDevice(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	const n = 257
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], y[i] = rand.Float32(), rand.Float32()
	}
	for round := range 20 {
		d, err := gpu.Open(gpu.Options{Index: -1, Validate: true})
		if err != nil {
			t.Fatal(err)
		}
		k := newSaxpy(t, d)
		xb, _ := d.NewBuffer(4 * n)
		yb, _ := d.NewBuffer(4 * n)
		tmp, _ := d.NewBuffer(4 * n)
		xb.Write(0, floatBytes(x))
		yb.Write(0, floatBytes(y))
		s, _ := d.NewSequence()
		for range 10 { // y += x, then a copy through tmp and back: barriers every step
			s.Dispatch(k, [3]uint32{(n + 63) / 64, 1, 1}, saxpyPush(n, 1), xb, yb)
			s.Copy(yb, tmp, 4*n)
			s.Copy(tmp, yb, 4*n)
		}
		if err := s.Run(3); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got := make([]byte, 4*n)
		if err := yb.Read(0, got); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, v := range bytesFloat(got) {
			want := y[i]
			for range 30 {
				want += x[i]
			}
			if math.Abs(float64(v-want)) > 1e-4*math.Abs(float64(want)) {
				t.Fatalf("round %d: y[%d] = %g, want %g", round, i, v, want)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
