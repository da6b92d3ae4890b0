package vulkan

import (
	"fmt"
	"time"

	"github.com/vkcnn/vkcnn/gpu"
)

// The device's own ceilings, for `vkcnn bench`: an FMA-throughput kernel
// (shaders/peak_fma.comp) for the arithmetic peak, and a large buffer copy,
// both by a shader (shaders/peak_copy.comp) and by vkCmdCopyBuffer, for the
// memory bandwidth. Every time comes from timestamp queries around the
// dispatch or copy, as the kernel benchmarks' do.

func init() {
	register("peak_fma", 12, gpu.Write)
	register("peak_copy", 4, gpu.Read, gpu.Write)
}

const (
	// peakLocal is the workgroup size of both peak kernels, which every
	// device New opens allows (Requirements).
	peakLocal = 256
	// peakFMAGroups is the FMA kernel's workgroup count: a million
	// invocations, several waves on the largest GPUs, many workgroups per
	// core on a CPU driver.
	peakFMAGroups = 4096
	// fmaFLOPs is what one invocation does per iteration: 8 vec4 chains of
	// a multiply-add (2 FLOPs) each.
	fmaFLOPs = 8 * 4 * 2
	// fmaA and fmaB are the multiply-add's constants: each chain converges
	// to fmaB/(1-fmaA) = 1.
	fmaA, fmaB = float32(0.999), float32(0.001)
	// PeakCopyBytes is the largest copy PeakCopy makes: 256 MiB, or the
	// device's maxStorageBufferRange when that is smaller.
	PeakCopyBytes = 256 << 20
)

// timed is a one-op sequence with timestamps around the op.
type timed struct {
	seq    *gpu.Sequence
	t0, t1 int
}

// newTimed records record between two timestamps.
func (b *Backend) newTimed(record func(s *gpu.Sequence) error) (*timed, error) {
	seq, err := b.dev.NewSequence()
	if err != nil {
		return nil, err
	}
	t := &timed{seq: seq}
	if t.t0, err = seq.Timestamp(); err == nil {
		if err = record(seq); err == nil {
			t.t1, err = seq.Timestamp()
		}
	}
	if err != nil {
		seq.Close()
		return nil, err
	}
	return t, nil
}

// run runs the sequence once and returns the seconds between its timestamps.
func (t *timed) run() (float64, error) {
	if err := t.seq.Run(1); err != nil {
		return 0, err
	}
	ns, err := t.seq.Times()
	if err != nil {
		return 0, err
	}
	return (ns[t.t1] - ns[t.t0]) * 1e-9, nil
}

// runs runs the sequence warmup+n times and returns the last n times.
func (t *timed) runs(warmup, n int) ([]float64, error) {
	out := make([]float64, 0, n)
	for i := range warmup + n {
		s, err := t.run()
		if err != nil {
			return nil, err
		}
		if i >= warmup {
			out = append(out, s)
		}
	}
	return out, nil
}

// fma records the FMA kernel over groups workgroups, iters iterations, each
// invocation writing its result to out (4 bytes an invocation).
func (b *Backend) fma(out *gpu.Buffer, groups, iters int) (*timed, error) {
	k, err := b.kernel("peak_fma", peakLocal)
	if err != nil {
		return nil, err
	}
	push := pushConstants(iters, fmaA, fmaB)
	return b.newTimed(func(s *gpu.Sequence) error {
		return s.Dispatch(k, [3]uint32{uint32(groups), 1, 1}, push, out)
	})
}

// PeakFMA times the FMA-throughput kernel: a million invocations, each
// running eight independent vec4 multiply-add chains, with the iteration
// count chosen (by one calibration run) so that a dispatch takes about
// target. After one warm-up it runs runs times and returns the FLOPs of one
// dispatch and each run's seconds.
func (b *Backend) PeakFMA(runs int, target time.Duration) (flops float64, seconds []float64, err error) {
	if runs < 1 {
		return 0, nil, fmt.Errorf("PeakFMA: %d runs: need at least 1", runs)
	}
	out, err := b.dev.NewBuffer(4 * peakLocal * peakFMAGroups)
	if err != nil {
		return 0, nil, err
	}
	defer out.Close()
	iters := 16
	probe, err := b.fma(out, peakFMAGroups, iters)
	if err != nil {
		return 0, nil, err
	}
	// The first run compiles and warms up; the second calibrates.
	probeTimes, err := probe.runs(1, 1)
	probe.seq.Close()
	if err != nil {
		return 0, nil, err
	}
	if s := probeTimes[0]; s > 0 {
		iters = int(float64(iters) * target.Seconds() / s)
	}
	iters = max(16, min(iters, 1<<22))
	t, err := b.fma(out, peakFMAGroups, iters)
	if err != nil {
		return 0, nil, err
	}
	defer t.seq.Close()
	if seconds, err = t.runs(1, runs); err != nil {
		return 0, nil, err
	}
	return float64(peakLocal*peakFMAGroups) * float64(iters) * fmaFLOPs, seconds, nil
}

// copies records copying size bytes (a multiple of 16) from src to dst,
// once by the peak_copy shader and once by vkCmdCopyBuffer.
func (b *Backend) copies(src, dst *gpu.Buffer, size int64) (shader, transfer *timed, err error) {
	if size <= 0 || size%16 != 0 {
		return nil, nil, fmt.Errorf("copy of %d bytes: need a positive multiple of 16", size)
	}
	k, err := b.kernel("peak_copy", peakLocal)
	if err != nil {
		return nil, nil, err
	}
	n := int(size / 16)
	g := max(1, min(groups(n, peakLocal), elementGroupsFor(b.dev.Info())))
	shader, err = b.newTimed(func(s *gpu.Sequence) error {
		return s.Dispatch(k, [3]uint32{g, 1, 1}, pushConstants(n), src, dst)
	})
	if err != nil {
		return nil, nil, err
	}
	transfer, err = b.newTimed(func(s *gpu.Sequence) error { return s.Copy(src, dst, size) })
	if err != nil {
		shader.seq.Close()
		return nil, nil, err
	}
	return shader, transfer, nil
}

// PeakCopy times copying one buffer into another, PeakCopyBytes or the
// device's maxStorageBufferRange if that is smaller, by a shader (vec4
// loads and stores) and by vkCmdCopyBuffer, each runs times after one
// warm-up. It returns the bytes one copy moves (read plus written: twice
// its size) and each run's seconds for both.
func (b *Backend) PeakCopy(runs int) (moved float64, shader, transfer []float64, err error) {
	if runs < 1 {
		return 0, nil, nil, fmt.Errorf("PeakCopy: %d runs: need at least 1", runs)
	}
	size := min(int64(PeakCopyBytes), int64(b.dev.Info().MaxStorageBufferRange)) &^ 15
	src, err := b.dev.NewBuffer(size)
	if err != nil {
		return 0, nil, nil, err
	}
	defer src.Close()
	dst, err := b.dev.NewBuffer(size)
	if err != nil {
		return 0, nil, nil, err
	}
	defer dst.Close()
	// Defined contents, written on the device rather than uploaded.
	fill, err := b.dev.NewSequence()
	if err != nil {
		return 0, nil, nil, err
	}
	err = fill.Fill(src, 0x3f800000)
	if err == nil {
		err = fill.Run(1)
	}
	fill.Close()
	if err != nil {
		return 0, nil, nil, err
	}
	sh, tr, err := b.copies(src, dst, size)
	if err != nil {
		return 0, nil, nil, err
	}
	defer sh.seq.Close()
	defer tr.seq.Close()
	if shader, err = sh.runs(1, runs); err != nil {
		return 0, nil, nil, fmt.Errorf("copy shader: %w", err)
	}
	if transfer, err = tr.runs(1, runs); err != nil {
		return 0, nil, nil, fmt.Errorf("vkCmdCopyBuffer: %w", err)
	}
	return 2 * float64(size), shader, transfer, nil
}
