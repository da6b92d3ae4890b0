package vulkan

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fmaExpected is what invocation id of the FMA kernel writes after iters
// iterations, computed as the shader does (in float32, multiply then add).
func fmaExpected(id, iters int) float32 {
	s := float32(id&1023) * (1.0 / 1024.0)
	var sum float32
	for c := range 8 {
		for l := range 4 {
			x := s + float32(l)*0.01 + float32(c)*0.04
			for range iters {
				x = x*fmaA + fmaB
			}
			sum += x
		}
	}
	return sum
}

// TestPeakFMAOutput checks every invocation's result against the recurrence
// computed here, for two iteration counts: the kernel does the work it is
// credited with, and the compiler could not drop it.
func TestPeakFMAOutput(t *testing.T) {
	b := gpuBackend(t)
	const groups = 3
	n := groups * peakLocal
	out, err := b.dev.NewBuffer(int64(4 * n))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, iters := range []int{0, 37, 300} {
		tm, err := b.fma(out, groups, iters)
		if err != nil {
			t.Fatal(err)
		}
		s, err := tm.run()
		tm.seq.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s <= 0 {
			t.Errorf("iters %d: dispatch took %v s by its timestamps", iters, s)
		}
		raw := make([]byte, 4*n)
		if err := out.Read(0, raw); err != nil {
			t.Fatal(err)
		}
		for id := range n {
			got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*id:]))
			want := fmaExpected(id, iters)
			if d := math.Abs(float64(got - want)); !(d <= 1e-4*math.Abs(float64(want))) {
				t.Fatalf("iters %d, invocation %d: %v, want %v", iters, id, got, want)
			}
		}
		// The recurrence moves every chain toward 1: the sums must differ
		// from the starting values once iterations are run.
		if iters > 0 && math.Abs(float64(fmaExpected(5, iters)-fmaExpected(5, 0))) < 1e-3 {
			t.Fatalf("iters %d: the test cannot tell work from no work", iters)
		}
	}
}

func TestPeakFMA(t *testing.T) {
	b := gpuBackend(t)
	flops, seconds, err := b.PeakFMA(2, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(seconds) != 2 || flops < fmaFLOPs*peakLocal*peakFMAGroups*16 {
		t.Fatalf("PeakFMA: %v FLOPs, times %v", flops, seconds)
	}
	for _, s := range seconds {
		if !(s > 0) {
			t.Fatalf("PeakFMA times %v: want positive", seconds)
		}
	}
	t.Logf("%.1f GFLOP/s (%.3g FLOPs in %v s)", flops/seconds[0]/1e9, flops, seconds)
	if _, _, err := b.PeakFMA(0, time.Millisecond); err == nil {
		t.Error("PeakFMA with 0 runs returned no error")
	}
}

// TestPeakCopyBytes copies random bytes (a size that is no multiple of the
// workgroup's span) both ways and compares them.
func TestPeakCopyBytes(t *testing.T) {
	b := gpuBackend(t)
	const size = (3*peakLocal + 5) * 16
	rng := rand.New(rand.NewPCG(7, 8))
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	src, err := b.dev.NewBuffer(size)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Write(0, want); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"shader", "vkCmdCopyBuffer"} {
		// One word past the copy stays untouched.
		dst, err := b.dev.NewBuffer(size + 16)
		if err != nil {
			t.Fatal(err)
		}
		poison := bytes.Repeat([]byte{0xee}, size+16)
		if err := dst.Write(0, poison); err != nil {
			t.Fatal(err)
		}
		sh, tr, err := b.copies(src, dst, size)
		if err != nil {
			t.Fatal(err)
		}
		tm := sh
		if how != "shader" {
			tm = tr
		}
		s, err := tm.run()
		sh.seq.Close()
		tr.seq.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !(s > 0) {
			t.Errorf("%s: copy took %v s by its timestamps", how, s)
		}
		got := make([]byte, size+16)
		if err := dst.Read(0, got); err != nil {
			t.Fatal(err)
		}
		dst.Close()
		if !bytes.Equal(got[:size], want) {
			t.Errorf("%s: copied bytes differ from the source", how)
		}
		if !bytes.Equal(got[size:], poison[size:]) {
			t.Errorf("%s: wrote past the copy's end", how)
		}
	}
	if _, _, err := b.copies(src, src, 20); err == nil {
		t.Error("a copy of 20 bytes (not whole vec4s) returned no error")
	}
}

func TestPeakCopy(t *testing.T) {
	b := gpuBackend(t)
	moved, shader, transfer, err := b.PeakCopy(2)
	if err != nil {
		t.Fatal(err)
	}
	limit := min(PeakCopyBytes, int64(b.dev.Info().MaxStorageBufferRange))
	if moved <= 0 || moved > 2*float64(limit) || len(shader) != 2 || len(transfer) != 2 {
		t.Fatalf("PeakCopy: %v bytes, times %v and %v", moved, shader, transfer)
	}
	for _, s := range append(shader, transfer...) {
		if !(s > 0) {
			t.Fatalf("PeakCopy times %v, %v: want positive", shader, transfer)
		}
	}
	t.Logf("shader %.1f GB/s, vkCmdCopyBuffer %.1f GB/s (%.0f MiB moved)", moved/shader[0]/1e9, moved/transfer[0]/1e9, moved/(1<<20))
}
