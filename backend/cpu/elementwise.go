package cpu

import (
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// ReLU records y = max(x, 0); y may be x.
func (p *Program) ReLU(x, y backend.Tensor) {
	const op = "ReLU"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSame(op, x, y)) {
		return
	}
	xt, yt := p.tensor(op, "x", x), p.tensor(op, "y", y)
	if p.err != nil {
		return
	}
	run := parallelFor(p.workers, xt.n, func(lo, hi int) {
		dst := yt.f[lo:hi]
		for i, v := range xt.f[lo:hi] {
			dst[i] = max(v, 0) // branch-free; an if mispredicts on half the elements
		}
	})
	p.add(func() error { run(); return nil })
}

// ReLUBackward records dx = dy where y > 0, else 0; dx may be dy.
func (p *Program) ReLUBackward(y, dy, dx backend.Tensor) {
	const op = "ReLUBackward"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSame(op, y, dy, dx)) {
		return
	}
	yt, dyt, dxt := p.tensor(op, "y", y), p.tensor(op, "dy", dy), p.tensor(op, "dx", dx)
	if p.err != nil {
		return
	}
	run := parallelFor(p.workers, yt.n, func(lo, hi int) {
		g, dst := dyt.f[lo:hi], dxt.f[lo:hi]
		for i, v := range yt.f[lo:hi] {
			dst[i] = math.Float32frombits(math.Float32bits(g[i]) & positive(v))
		}
	})
	p.add(func() error { run(); return nil })
}

// Dropout records y = x/(1-p) where backend.Keep keeps flat element i at step
// ctr[0], else 0; y may be x.
func (p *Program) Dropout(x, y, ctr backend.Tensor, prob float32, seed, stream uint32) {
	p.dropout("Dropout", "x", "y", x, y, ctr, prob, seed, stream)
}

// DropoutBackward records dx = dy/(1-p) under Dropout's mask for the same
// step, seed and stream; dx may be dy.
func (p *Program) DropoutBackward(dy, dx, ctr backend.Tensor, prob float32, seed, stream uint32) {
	p.dropout("DropoutBackward", "dy", "dx", dy, dx, ctr, prob, seed, stream)
}

// dropout is both directions: the gradient of a masked scaling is the same
// masked scaling.
func (p *Program) dropout(op, inName, outName string, in, out, ctr backend.Tensor, prob float32, seed, stream uint32) {
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSame(op, in, out)) || !p.check(backend.CheckDropout(op, ctr, prob)) {
		return
	}
	it, ot, ct := p.tensor(op, inName, in), p.tensor(op, outName, out), p.tensor(op, "ctr", ctr)
	if p.err != nil {
		return
	}
	if prob == 0 {
		p.add(func() error {
			copy(ot.f, it.f)
			return nil
		})
		return
	}
	q := 1 - prob
	// backend.Keep tests float32(r)·2⁻²⁴ >= p for the integer r = hash>>8,
	// and float32(r)·2⁻²⁴ is exact, so the test is r >= ceil(p·2²⁴) in
	// integers. That can be turned into a mask without a branch, which would
	// mispredict on a fraction p of the elements.
	threshold := uint32(math.Ceil(float64(prob) * (1 << 24)))
	// backend.Hash nests PCG over seed, stream, step and index: the first
	// two levels are fixed at record time, the third once per run, leaving
	// one PCG per element.
	prefix := backend.PCG(backend.PCG(seed) + stream)
	var h uint32
	run := parallelFor(p.workers, it.n, func(lo, hi int) {
		dst := ot.f[lo:hi]
		for i, v := range it.f[lo:hi] {
			r := backend.PCG(h+uint32(lo+i)) >> 8
			drop := uint32(int32(r-threshold) >> 31) // all ones when r < threshold
			dst[i] = math.Float32frombits(math.Float32bits(v/q) &^ drop)
		}
	})
	p.add(func() error {
		h = backend.PCG(prefix + ct.u[backend.CounterStep])
		run()
		return nil
	})
}

// positive is an all-ones mask when v > 0 and zero otherwise (including -0
// and NaN), computed without a branch: as an int32, the bits of v are
// positive exactly when v is above +0 (or a NaN with the sign clear, which
// the ordered comparison with 0 must reject).
func positive(v float32) uint32 {
	b := int32(math.Float32bits(v))
	above := uint32(-b>>31) &^ uint32(b>>31) // b > 0
	nan := uint32(int32(0x7f800000-(b&0x7fffffff)) >> 31)
	return above &^ nan
}
