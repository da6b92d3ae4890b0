package cpu

import "github.com/vkcnn/vkcnn/backend"

// GELU records y = x·Φ(x), the exact erf form; y may be x. It runs the
// float32 algorithm of shaders/gelu.glsl (see gelu_math.go), whose results
// the GPU's are bit for bit wherever the device neither fuses nor flushes
// subnormals, and which is within 6.7 ULP of the true value wherever Φ(x)
// is a normal float (x > -13), 6.5 ULP of Φ times |x| everywhere (see
// geluTolULP in the tests). Infinities follow the formula (and PyTorch):
// +inf gives +inf, -inf gives -inf·0 = NaN.
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
		geluForward(xt.f[lo:hi], yt.f[lo:hi])
	})
	p.add(func() error { run(); return nil })
}

// GELUBackward records dx = dy·(Φ(x) + x·φ(x)) from GELU's input x; dx may
// be dy (or x: each element is read before it is written). Like GELU, it is
// shaders/gelu_backward.comp's float32 algorithm (gelu_math.go): its factor
// Φ + x·φ is within 6.1 ULP of Φ plus 6.1 of x·φ, at most 2.3e-7, which is
// a large relative error only near its zero at x = -0.75. An infinite x
// gives NaN (±inf·0), as the formula does in PyTorch.
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
		geluBackward(xt.f[lo:hi], dyt.f[lo:hi], dxt.f[lo:hi])
	})
	p.add(func() error { run(); return nil })
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
