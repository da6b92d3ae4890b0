package cpu

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// The fused ops run here as the unfused ops they stand for (see
// backend.Epilogue), so the CPU reference gives the same bits fused or not;
// only ReLUDropoutBackward has its own loop, which skips the random draw
// that its definition makes redundant.

// Pack allocates one slice for every shape, the parts back to back (a CPU
// binding has no alignment to keep), and a 1-D tensor over all of it.
func (b *Backend) Pack(dt backend.DType, shapes ...[]int) (whole backend.Tensor, parts []backend.Tensor, offsets []int, err error) {
	total := 0
	for _, s := range shapes {
		n, err := checkShape(s)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cpu: Pack: %w", err)
		}
		offsets = append(offsets, total)
		total += n
	}
	if total == 0 {
		return nil, nil, nil, fmt.Errorf("cpu: Pack: no shapes")
	}
	w, err := b.NewTensor(dt, total)
	if err != nil {
		return nil, nil, nil, err
	}
	wt := w.(*Tensor)
	for i, s := range shapes {
		parts = append(parts, wt.slice(offsets[i], append([]int(nil), s...)))
	}
	return w, parts, offsets, nil
}

// slice is a tensor of shape over t's elements from off on. Its capacity
// ends with it, so that View cannot grow it into its neighbour.
func (t *Tensor) slice(off int, shape []int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := &Tensor{shape: shape, dtype: t.dtype, n: n}
	switch t.dtype {
	case backend.F32:
		v.f = t.f[off : off+n : off+n]
	case backend.U32:
		v.u = t.u[off : off+n : off+n]
	default:
		v.b = t.b[off : off+n : off+n]
	}
	return v
}

// MatMulEpilogue records MatMul and then e's unfused ops on c.
func (p *Program) MatMulEpilogue(a, b, c backend.Tensor, transA, transB bool, e backend.Epilogue) {
	const op = "MatMulEpilogue"
	if !p.start(op) || !p.check(backend.CheckEpilogue(op, c, e, true)) {
		return
	}
	p.MatMul(a, b, c, transA, transB)
	e.Unfused(p, c)
}

// MatMulBiasGrad records MatMul and the row sums of op(a): BiasGrad itself
// when a is stored transposed ([K,M], so op(a)'s rows are a's columns, as
// in a Linear layer's dW = dYᵀ·X), else the same float64 sum along a's rows.
func (p *Program) MatMulBiasGrad(a, b, c, db backend.Tensor, transA, transB bool) {
	const op = "MatMulBiasGrad"
	if !p.start(op) {
		return
	}
	m, _, k, err := backend.CheckMatMul(op, a, b, c, transA, transB)
	if !p.check(err) || !p.check(backend.CheckRowSums(op, db, m)) {
		return
	}
	p.MatMul(a, b, c, transA, transB)
	if transA {
		p.BiasGrad(a, db)
		return
	}
	at, dbt := p.tensor(op, "a", a), p.tensor(op, "db", db)
	if p.err != nil {
		return
	}
	p.add(func() error {
		for i := range m {
			var s float64
			for _, v := range at.f[i*k:][:k] {
				s += float64(v)
			}
			dbt.f[i] = float32(s)
		}
		return nil
	})
}

// Conv2dEpilogue records Conv2d and then e's unfused ops on y.
func (p *Program) Conv2dEpilogue(x, w, b, y backend.Tensor, stride, pad int, e backend.Epilogue) {
	const op = "Conv2dEpilogue"
	if !p.start(op) || !p.check(backend.CheckEpilogue(op, y, e, false)) {
		return
	}
	p.Conv2d(x, w, b, y, stride, pad)
	e.Unfused(p, y)
}

// Conv2dBackwardDataEpilogue records Conv2dBackwardData and then e's
// unfused ops on dx.
func (p *Program) Conv2dBackwardDataEpilogue(dy, w, dx backend.Tensor, stride, pad int, e backend.Epilogue) {
	const op = "Conv2dBackwardDataEpilogue"
	if !p.start(op) || !p.check(backend.CheckEpilogue(op, dx, e, false)) {
		return
	}
	p.Conv2dBackwardData(dy, w, dx, stride, pad)
	e.Unfused(p, dx)
}

// ReLUDropoutBackward records dx = dy/(1-p) where y > 0, else 0: what
// DropoutBackward then ReLUBackward(y) give, since y > 0 only where the
// mask kept the element (dropped ones are +0). The division is Go's float32
// one, as in dropout; with p = 0 it is ReLUBackward, which moves the bits
// untouched.
func (p *Program) ReLUDropoutBackward(y, dy, dx backend.Tensor, prob float32) {
	const op = "ReLUDropoutBackward"
	if !p.start(op) || !p.check(backend.CheckReLUDropoutBackward(op, y, dy, dx, prob)) {
		return
	}
	if prob == 0 {
		p.ReLUBackward(y, dy, dx)
		return
	}
	yt, dyt, dxt := p.tensor(op, "y", y), p.tensor(op, "dy", dy), p.tensor(op, "dx", dx)
	if p.err != nil {
		return
	}
	q := 1 - prob
	run := parallelFor(p.workers, yt.n, func(lo, hi int) {
		g, dst := dyt.f[lo:hi], dxt.f[lo:hi]
		for i, v := range yt.f[lo:hi] {
			dst[i] = math.Float32frombits(math.Float32bits(g[i]/q) & positive(v))
		}
	})
	p.add(func() error { run(); return nil })
}

// SGDPacked records SGD on every range of every group, through views of
// the packed tensors (the same code as SGD, so the same bits), then Step.
func (p *Program) SGDPacked(param, grad, buf backend.Tensor, groups []backend.SGDGroup, ctr backend.Tensor) {
	const op = "SGDPacked"
	if !p.start(op) || !p.check(backend.CheckSGDPacked(op, param, grad, buf, groups, ctr)) {
		return
	}
	pt, gt, bt := p.tensor(op, "p", param), p.tensor(op, "g", grad), p.optTensor(op, "buf", buf)
	if p.err != nil {
		return
	}
	for _, gr := range groups {
		for _, r := range gr.Ranges {
			shape := []int{r.Len}
			var br backend.Tensor
			if bt != nil {
				br = bt.slice(r.Offset, shape)
			}
			p.SGD(pt.slice(r.Offset, shape), gt.slice(r.Offset, shape), br, gr.SGDParams)
		}
	}
	if !backend.Absent(ctr) {
		p.Step(ctr)
	}
}
