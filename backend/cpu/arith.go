package cpu

import (
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// GELU records y = x·Φ(x), the exact erf form; y may be x. Each element is
// computed in float64 and rounded once, so the reference is within half an
// ULP or so of the true value. Φ(x) is taken as erfc(-x/√2)/2 rather than
// (1+erf(x/√2))/2: for x below about -8, 1+erf(x/√2) is 0 in float64
// while x·Φ(x) is still a normal float32.
func (p *Program) GELU(x, y backend.Tensor) {
	const op = "GELU"
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
			dst[i] = float32(gelu(float64(v)))
		}
	})
	p.add(func() error { run(); return nil })
}

// GELUBackward records dx = dy·(Φ(x) + x·φ(x)) from GELU's input x; dx may
// be dy (or x: each element is read before it is written).
func (p *Program) GELUBackward(x, dy, dx backend.Tensor) {
	const op = "GELUBackward"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSame(op, x, dy, dx)) {
		return
	}
	xt, dyt, dxt := p.tensor(op, "x", x), p.tensor(op, "dy", dy), p.tensor(op, "dx", dx)
	if p.err != nil {
		return
	}
	run := parallelFor(p.workers, xt.n, func(lo, hi int) {
		g, dst := dyt.f[lo:hi], dxt.f[lo:hi]
		for i, v := range xt.f[lo:hi] {
			dst[i] = float32(float64(g[i]) * geluGrad(float64(v)))
		}
	})
	p.add(func() error { run(); return nil })
}

// gelu is x·Φ(x) in float64. Infinities follow the formula (and PyTorch):
// +inf gives +inf, -inf gives -inf·0 = NaN.
func gelu(x float64) float64 {
	return x * 0.5 * math.Erfc(-x/math.Sqrt2)
}

// geluGrad is GELU's derivative Φ(x) + x·φ(x) in float64; an infinite x
// gives NaN (±inf·0), as the formula does in PyTorch.
func geluGrad(x float64) float64 {
	const invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	return 0.5*math.Erfc(-x/math.Sqrt2) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
}

// Add records y = a + b; y may be a or b.
func (p *Program) Add(a, b, y backend.Tensor) {
	const op = "Add"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSame(op, a, b, y)) {
		return
	}
	at, bt, yt := p.tensor(op, "a", a), p.tensor(op, "b", b), p.tensor(op, "y", y)
	if p.err != nil {
		return
	}
	run := parallelFor(p.workers, at.n, func(lo, hi int) {
		u, dst := bt.f[lo:hi], yt.f[lo:hi]
		for i, v := range at.f[lo:hi] {
			dst[i] = v + u[i]
		}
	})
	p.add(func() error { run(); return nil })
}

// Scale records y = alpha·x; y may be x. alpha 1 copies the bits, as the
// contract promises (a multiply by 1 would quiet a signaling NaN), and in
// place is then nothing at all.
func (p *Program) Scale(x, y backend.Tensor, alpha float32) {
	const op = "Scale"
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
	if alpha == 1 {
		if !xt.sameStorage(yt) {
			p.add(func() error { copy(yt.f, xt.f); return nil })
		}
		return
	}
	run := parallelFor(p.workers, xt.n, func(lo, hi int) {
		dst := yt.f[lo:hi]
		for i, v := range xt.f[lo:hi] {
			dst[i] = alpha * v
		}
	})
	p.add(func() error { run(); return nil })
}
