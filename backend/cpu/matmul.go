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
	m, n, k, err := backend.CheckMatMul(op, a, b, c, transA, transB)
	if !p.check(err) {
		return
	}
	at, bt, ct := p.tensor(op, "a", a), p.tensor(op, "b", b), p.tensor(op, "c", c)
	if p.err != nil || !p.distinct(op, "c", ct, "a", at) || !p.distinct(op, "c", ct, "b", bt) {
		return
	}
	mm := newGemm(transA, transB, m, n, k, at.shape[1], bt.shape[1], n)
	parts := min(p.workers, mm.count)
	p.reserve(parts, mm.pack)
	t := newTeam(parts, func(wk int) {
		pack := p.scratch[wk]
		lo, hi := span(mm.count, parts, wk)
		for tile := lo; tile < hi; tile++ {
			mm.tile(tile, at.f, bt.f, 0, ct.f, pack)
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
	_, m, err := backend.CheckRows(op, y, b)
	if !p.check(err) {
		return
	}
	yt, bt := p.tensor(op, "y", y), p.tensor(op, "b", b)
	if p.err != nil {
		return
	}
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
	_, m, err := backend.CheckRows(op, dy, db)
	if !p.check(err) {
		return
	}
	dyt, dbt := p.tensor(op, "dy", dy), p.tensor(op, "db", db)
	if p.err != nil {
		return
	}
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
