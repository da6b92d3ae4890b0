package perf

import (
	"errors"
	"fmt"
	"time"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
)

// How a Measurement was timed.
const (
	// Timestamps: timestamp queries recorded before and after the op's
	// dispatches (Vulkan), so submit and wait are not counted.
	Timestamps = "timestamps"
	// WallClock: the wall clock around Program.Run(1) (the CPU reference).
	WallClock = "wall-clock"
)

// Measurement is a kernel's timings on one backend.
type Measurement struct {
	Stats
	Timing string // Timestamps or WallClock
}

// sequencer is a program that exposes its gpu.Sequence (vulkan.Program).
type sequencer interface{ Sequence() *gpu.Sequence }

// Measure times k on b: a program holding only k's op runs warmup times,
// then runs times, Run(1) each. On a Vulkan backend each sample is the time
// between timestamps recorded before and after the op's dispatches; on
// others, the wall clock around Run(1). The operands are random, and freed
// afterwards.
func Measure(b backend.Backend, k Kernel, warmup, runs int, seed uint64) (Measurement, error) {
	if runs < 1 || warmup < 0 {
		return Measurement{}, fmt.Errorf("%s: %d runs after %d warm-up: need at least one run", k.Name, runs, warmup)
	}
	a := newArena(b, seed)
	defer a.release()
	record, err := k.setup(a)
	if err != nil {
		return Measurement{}, fmt.Errorf("%s: operands: %w", k.Name, err)
	}
	p := b.NewProgram()
	defer p.Close() // before release: the recording refers to the operands
	seq := (*gpu.Sequence)(nil)
	if s, ok := p.(sequencer); ok {
		seq = s.Sequence()
	}
	m := Measurement{Timing: WallClock}
	var t0, t1 int
	if seq != nil {
		m.Timing = Timestamps
		t0, err = seq.Timestamp()
		if errors.Is(err, gpu.ErrNoTimestamps) {
			seq, m.Timing = nil, WallClock // a queue without timestamps
		} else if err != nil {
			return m, fmt.Errorf("%s: %w", k.Name, err)
		}
	}
	record(p)
	if seq != nil {
		if t1, err = seq.Timestamp(); err != nil {
			return m, fmt.Errorf("%s: %w", k.Name, err)
		}
	}
	if err := p.Err(); err != nil {
		return m, fmt.Errorf("%s: %w", k.Name, err)
	}
	samples := make([]float64, 0, runs)
	for i := range warmup + runs {
		start := time.Now()
		if err := p.Run(1); err != nil {
			return m, fmt.Errorf("%s: %w", k.Name, err)
		}
		s := time.Since(start).Seconds()
		if seq != nil {
			ns, err := seq.Times()
			if err != nil {
				return m, fmt.Errorf("%s: timestamps: %w", k.Name, err)
			}
			s = (ns[t1] - ns[t0]) * 1e-9
		}
		if i >= warmup {
			samples = append(samples, s)
		}
	}
	m.Stats = Summarize(samples)
	return m, nil
}

// CPUReference is the DeviceType of the gonum CPU reference backend.
const CPUReference = "cpu-reference"

// DeviceType is b's kind: gpu.DeviceType's name for a Vulkan device
// ("discrete-gpu", "integrated-gpu", "virtual-gpu", "cpu", "other"),
// CPUReference otherwise.
func DeviceType(b backend.Backend) string {
	if v, ok := b.(*vulkan.Backend); ok {
		return v.Device().Info().Type.String()
	}
	return CPUReference
}

// CPUType says whether b computes on the CPU: the CPU reference, or a
// Vulkan driver for the CPU such as lavapipe.
func CPUType(b backend.Backend) bool {
	if v, ok := b.(*vulkan.Backend); ok {
		return !v.Device().Info().Type.IsGPU()
	}
	return true
}

// Ceilings are a device's own limits, measured with its peak kernels.
type Ceilings struct {
	// FMAFLOPs is the work of one run of the FMA kernel, FMA its times.
	FMAFLOPs float64
	FMA      Stats
	// CopyBytes is what one copy moves (read plus written), ShaderCopy
	// the times of the copy shader, TransferCopy those of vkCmdCopyBuffer.
	CopyBytes    float64
	ShaderCopy   Stats
	TransferCopy Stats
}

// MeasureCeilings runs b's peak kernels (vulkan.Backend.PeakFMA and
// PeakCopy), runs times each after a warm-up.
func MeasureCeilings(b *vulkan.Backend, runs int) (Ceilings, error) {
	var c Ceilings
	flops, fma, err := b.PeakFMA(runs, 50*time.Millisecond)
	if err != nil {
		return c, fmt.Errorf("FMA peak: %w", err)
	}
	moved, shader, transfer, err := b.PeakCopy(runs)
	if err != nil {
		return c, fmt.Errorf("copy bandwidth: %w", err)
	}
	return Ceilings{FMAFLOPs: flops, FMA: Summarize(fma), CopyBytes: moved,
		ShaderCopy: Summarize(shader), TransferCopy: Summarize(transfer)}, nil
}

// GFLOPs is the arithmetic ceiling: GFLOP/s of the FMA kernel's fastest
// run. A ceiling is the best the device does: other load on the machine
// only slows runs down, so the fastest is the least disturbed.
func (c Ceilings) GFLOPs() float64 { return best(c.FMA, c.FMAFLOPs) }

// GBs is the memory ceiling in GB/s: the fastest run of the faster copy.
func (c Ceilings) GBs() float64 {
	return max(best(c.ShaderCopy, c.CopyBytes), best(c.TransferCopy, c.CopyBytes))
}

// best is work per second at the fastest time of s, in units of 1e9.
func best(s Stats, work float64) float64 {
	if !(s.Min > 0) {
		return 0
	}
	return work / s.Min / 1e9
}

// Ridge is the arithmetic intensity (FLOPs per byte) where the two
// ceilings meet: work above it is bounded by arithmetic, below by memory.
func (c Ceilings) Ridge() float64 {
	if c.GBs() == 0 {
		return 0
	}
	return c.GFLOPs() / c.GBs()
}

// Bounds: which ceiling limits a kernel.
const (
	ComputeBound = "compute"
	MemoryBound  = "memory"
)

// Bound says which ceiling bounds w (compute when its intensity reaches the
// ridge point, else memory) and what percentage of that ceiling a median
// time of s reaches. It returns 0 when the ceilings or s are missing.
func (c Ceilings) Bound(w Work, s Stats) (bound string, percent float64) {
	bound = MemoryBound
	if c.Ridge() > 0 && w.Intensity() >= c.Ridge() {
		bound = ComputeBound
	}
	switch {
	case bound == ComputeBound && c.GFLOPs() > 0:
		percent = 100 * s.Rate(w.FLOPs) / c.GFLOPs()
	case bound == MemoryBound && c.GBs() > 0:
		percent = 100 * s.Rate(w.Bytes) / c.GBs()
	}
	return bound, percent
}
