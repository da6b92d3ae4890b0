package cpu

import (
	"github.com/vkcnn/vkcnn/backend"
)

// geometry is the CPU's view of a convolution that backend.CheckConv has
// accepted.
func geometry(s backend.ConvShape) convGeom {
	return newConvGeom(s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.Stride, s.Pad)
}

// convScratch returns worker w's column matrix and, in the row layout, its HWC
// image buffer.
func (p *Program) convScratch(w int, g *convGeom) (col, img []float32) {
	if g.pointwise() {
		return nil, nil
	}
	s := p.scratch[w]
	return s[:g.crs*g.p], s[g.crs*g.p : g.scratchSize()]
}

// Conv2d records y = conv(x, w) + b as one GEMM per image, with the batch
// split among the workers. b may be nil for no bias.
func (p *Program) Conv2d(x, w, b, y backend.Tensor, stride, pad int) {
	const op = "Conv2d"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckConv(op, x, w, y, stride, pad)
	if !p.check(err) || !p.check(backend.CheckBias(op, b, s.K)) {
		return
	}
	xt, wt, bt, yt := p.tensor(op, "x", x), p.tensor(op, "w", w), p.optTensor(op, "b", b), p.tensor(op, "y", y)
	if p.err != nil || !p.distinct(op, "y", yt, "x", xt) {
		return
	}
	g := geometry(s)
	parts := min(p.workers, g.N)
	var wp []float32 // weights in the row layout's order
	if g.rowLayout() {
		wp = make([]float32, len(wt.f))
	}
	var mm *gemm
	switch {
	case g.pointwise():
		mm = newGemm(false, false, g.K, g.p, g.crs, g.crs, g.p, g.p)
	case g.rowLayout():
		mm = newGemm(false, true, g.K, g.p, g.crs, g.crs, g.crs, g.p)
	default:
		mm = newGemm(false, false, g.K, g.p, g.crs, g.crs, g.p, g.p)
	}
	p.reserve(parts, g.scratchSize()+mm.pack)
	t := newTeam(parts, func(wk int) {
		col, img := p.convScratch(wk, &g)
		pack := p.scratch[wk][g.scratchSize():]
		n0, n1 := span(g.N, parts, wk)
		for n := n0; n < n1; n++ {
			xn := xt.f[n*g.chw:][:g.chw]
			yn := yt.f[n*g.kp:][:g.kp]
			var beta float32
			if bt != nil {
				for k, v := range bt.f {
					row := yn[k*g.p:][:g.p]
					for i := range row {
						row[i] = v
					}
				}
				beta = 1
			}
			switch {
			case g.pointwise():
				mm.run(wt.f, xn, beta, yn, pack)
			case g.rowLayout():
				toHWC(xn, img, g.C, g.H*g.W)
				im2row(img, col, &g)
				mm.run(wp, col, beta, yn, pack)
			default:
				im2col(xn, col, &g)
				mm.run(wt.f, col, beta, yn, pack)
			}
		}
	})
	p.add(func() error {
		if wp != nil {
			toRSC(wt.f, wp, g.K, g.C, g.R*g.S)
		}
		t.run()
		return nil
	})
}

// Conv2dBackwardData records dx = the adjoint of Conv2d applied to dy: per
// image, a GEMM with the weights into column form, then col2im.
func (p *Program) Conv2dBackwardData(dy, w, dx backend.Tensor, stride, pad int) {
	const op = "Conv2dBackwardData"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckConv(op, dx, w, dy, stride, pad)
	if !p.check(err) {
		return
	}
	dyt, wt, dxt := p.tensor(op, "dy", dy), p.tensor(op, "w", w), p.tensor(op, "dx", dx)
	if p.err != nil || !p.distinct(op, "dx", dxt, "dy", dyt) {
		return
	}
	g := geometry(s)
	parts := min(p.workers, g.N)
	var wp []float32
	if g.rowLayout() {
		wp = make([]float32, len(wt.f))
	}
	var mm *gemm
	switch {
	case g.pointwise():
		mm = newGemm(true, false, g.C, g.p, g.K, g.C, g.p, g.p)
	case g.rowLayout():
		mm = newGemm(true, false, g.p, g.crs, g.K, g.p, g.crs, g.crs)
	default:
		mm = newGemm(true, false, g.crs, g.p, g.K, g.crs, g.p, g.p)
	}
	p.reserve(parts, g.scratchSize()+mm.pack)
	t := newTeam(parts, func(wk int) {
		col, img := p.convScratch(wk, &g)
		pack := p.scratch[wk][g.scratchSize():]
		n0, n1 := span(g.N, parts, wk)
		for n := n0; n < n1; n++ {
			dyn := dyt.f[n*g.kp:][:g.kp]
			dxn := dxt.f[n*g.chw:][:g.chw]
			switch {
			case g.pointwise():
				mm.run(wt.f, dyn, 0, dxn, pack)
			case g.rowLayout():
				// colT = dyᵀ·w: dy is the operand whose zeros Sgemm skips.
				mm.run(dyn, wp, 0, col, pack)
				clear(img)
				row2im(col, img, &g)
				fromHWC(img, dxn, g.C, g.H*g.W)
			default:
				mm.run(wt.f, dyn, 0, col, pack)
				clear(dxn)
				col2im(col, dxn, &g)
			}
		}
	})
	p.add(func() error {
		if wp != nil {
			toRSC(wt.f, wp, g.K, g.C, g.R*g.S)
		}
		t.run()
		return nil
	})
}

// Conv2dBackwardWeights records dw = sum over n of dy_n·col_nᵀ and db = sum
// of dy over batch and positions. Each worker sums its own images into its
// own buffer and the buffers are then added in worker order, so the result
// does not depend on scheduling. db may be nil.
func (p *Program) Conv2dBackwardWeights(x, dy, dw, db backend.Tensor, stride, pad int) {
	const op = "Conv2dBackwardWeights"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckConv(op, x, dw, dy, stride, pad)
	if !p.check(err) || !p.check(backend.CheckBias(op, db, s.K)) {
		return
	}
	xt, dyt, dwt, dbt := p.tensor(op, "x", x), p.tensor(op, "dy", dy), p.tensor(op, "dw", dw), p.optTensor(op, "db", db)
	if p.err != nil || !p.distinct(op, "dw", dwt, "x", xt) || !p.distinct(op, "dw", dwt, "dy", dyt) {
		return
	}
	g := geometry(s)
	parts := min(p.workers, g.N)
	// partial[w] is worker w's sum. In the column layouts worker 0 sums
	// straight into dw; in the row layout every sum is in (r,s,c) order and
	// is permuted into dw at the end.
	partial := make([][]float32, parts)
	dbPart := make([][]float64, parts)
	for wk := range parts {
		if wk > 0 || g.rowLayout() {
			partial[wk] = make([]float32, len(dwt.f))
		}
		dbPart[wk] = make([]float64, g.K)
	}
	if !g.rowLayout() {
		partial[0] = dwt.f
	}
	var mm *gemm
	switch {
	case g.pointwise():
		mm = newGemm(false, true, g.K, g.crs, g.p, g.p, g.p, g.crs)
	case g.rowLayout():
		mm = newGemm(false, false, g.K, g.crs, g.p, g.p, g.crs, g.crs)
	default:
		mm = newGemm(false, true, g.K, g.crs, g.p, g.p, g.p, g.crs)
	}
	p.reserve(parts, g.scratchSize()+mm.pack)
	t := newTeam(parts, func(wk int) {
		acc, dbp := partial[wk], dbPart[wk]
		col, img := p.convScratch(wk, &g)
		pack := p.scratch[wk][g.scratchSize():]
		clear(dbp)
		n0, n1 := span(g.N, parts, wk)
		for n := n0; n < n1; n++ {
			xn := xt.f[n*g.chw:][:g.chw]
			dyn := dyt.f[n*g.kp:][:g.kp]
			var beta float32 = 1
			if n == n0 {
				beta = 0
			}
			switch {
			case g.pointwise():
				mm.run(dyn, xn, beta, acc, pack)
			case g.rowLayout():
				// dw += dy·colT: dy is the operand whose zeros Sgemm skips.
				toHWC(xn, img, g.C, g.H*g.W)
				im2row(img, col, &g)
				mm.run(dyn, col, beta, acc, pack)
			default:
				im2col(xn, col, &g)
				mm.run(dyn, col, beta, acc, pack)
			}
			if dbt != nil {
				for k := range g.K {
					var s float64
					for _, v := range dyn[k*g.p:][:g.p] {
						s += float64(v)
					}
					dbp[k] += s
				}
			}
		}
	})
	p.add(func() error {
		t.run()
		sum := partial[0]
		for _, part := range partial[1:] {
			for i, v := range part {
				sum[i] += v
			}
		}
		if g.rowLayout() {
			fromRSC(sum, dwt.f, g.K, g.C, g.R*g.S)
		}
		if dbt != nil {
			for k := range dbt.f {
				var s float64
				for _, part := range dbPart {
					s += part[k]
				}
				dbt.f[k] = float32(s)
			}
		}
		return nil
	})
}
