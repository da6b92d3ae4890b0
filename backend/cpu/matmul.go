package cpu

import (
	"github.com/vkcnn/vkcnn/backend"
)

// MatMul records c = op(a)·op(b). The transpose flags go straight to BLAS,
// so a weight stored [out,in] needs no copy; the tiles of c are split among
// the workers.
func (p *Program) MatMul(a, b, c backend.Tensor, transA, transB bool) {
	const op = "MatMul"
	if !p.start(op) {
		return
	}
	at := p.arg(op, "a", a, backend.F32, 2)
	bt := p.arg(op, "b", b, backend.F32, 2)
	ct := p.arg(op, "c", c, backend.F32, 2)
	if p.err != nil {
		return
	}
	m, k := at.shape[0], at.shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := bt.shape[0], bt.shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		p.fail(op, "inner dimensions differ: op(a) is %dx%d (a %v, transA %v), op(b) is %dx%d (b %v, transB %v)",
			m, k, at.shape, transA, kb, n, bt.shape, transB)
		return
	}
	if !p.wantShape(op, "c", ct, m, n) || !p.distinct(op, "c", ct, "a", at) || !p.distinct(op, "c", ct, "b", bt) {
		return
	}
	mm := newGemm(transA, transB, m, n, k, at.shape[1], bt.shape[1], n)
	parts := min(p.workers, mm.count)
	t := newTeam(parts, func(wk int) {
		lo, hi := span(mm.count, parts, wk)
		for tile := lo; tile < hi; tile++ {
			mm.tile(tile, at.f, bt.f, 0, ct.f)
		}
	})
	p.add(func() error { t.run(); return nil })
}

// AddBias records y[i,j] += b[j].
func (p *Program) AddBias(y, b backend.Tensor) {
	const op = "AddBias"
	if !p.start(op) {
		return
	}
	yt := p.arg(op, "y", y, backend.F32, 2)
	bt := p.arg(op, "b", b, backend.F32, 1)
	if p.err != nil || !p.wantShape(op, "b", bt, yt.shape[1]) {
		return
	}
	m := yt.shape[1]
	p.add(func() error {
		for i := 0; i < len(yt.f); i += m {
			row := yt.f[i:][:m]
			for j, v := range bt.f {
				row[j] += v
			}
		}
		return nil
	})
}

// BiasGrad records db[j] = sum over i of dy[i,j]. The sum runs in float64, in
// row order on one goroutine, so it rounds to float32 once and is the same on
// every run.
func (p *Program) BiasGrad(dy, db backend.Tensor) {
	const op = "BiasGrad"
	if !p.start(op) {
		return
	}
	dyt := p.arg(op, "dy", dy, backend.F32, 2)
	dbt := p.arg(op, "db", db, backend.F32, 1)
	if p.err != nil || !p.wantShape(op, "db", dbt, dyt.shape[1]) {
		return
	}
	m := dyt.shape[1]
	acc := make([]float64, m)
	p.add(func() error {
		clear(acc)
		for i := 0; i < len(dyt.f); i += m {
			for j, v := range dyt.f[i:][:m] {
				acc[j] += float64(v)
			}
		}
		for j, s := range acc {
			dbt.f[j] = float32(s)
		}
		return nil
	})
}
