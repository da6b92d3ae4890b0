package cpu

import "github.com/vkcnn/vkcnn/backend"

// AvgPool2d records y = the mean of each kernel x kernel window. Planes are
// independent, so they are split among the workers.
func (p *Program) AvgPool2d(x, y backend.Tensor, kernel, stride int) {
	const op = "AvgPool2d"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckAvgPool(op, x, y, kernel, stride)
	if !p.check(err) {
		return
	}
	xt, yt := p.tensor(op, "x", x), p.tensor(op, "y", y)
	if p.err != nil || !p.distinct(op, "y", yt, "x", xt) {
		return
	}
	hw, ohw := s.H*s.W, s.OH*s.OW
	planes := s.N * s.C
	scale := backend.AvgPoolScale(kernel)
	parts := min(elementParts(p.workers, planes*hw), planes)
	t := newTeam(parts, func(wk int) {
		lo, hi := span(planes, parts, wk)
		for pl := lo; pl < hi; pl++ {
			avgPool(xt.f[pl*hw:][:hw], yt.f[pl*ohw:][:ohw], s.W, s.OH, s.OW, kernel, stride, scale)
		}
	})
	p.add(func() error { t.run(); return nil })
}

// AvgPool2dBackward records dx = each dy/kernel² spread over its window,
// summed where windows overlap and zero where none reaches. Each plane is
// done by one worker, which scatters in output order: that is the order in
// which the GPU's gather adds, so both give the same bits without atomics.
func (p *Program) AvgPool2dBackward(dy, dx backend.Tensor, kernel, stride int) {
	const op = "AvgPool2dBackward"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckAvgPool(op, dx, dy, kernel, stride)
	if !p.check(err) {
		return
	}
	dyt, dxt := p.tensor(op, "dy", dy), p.tensor(op, "dx", dx)
	if p.err != nil || !p.distinct(op, "dx", dxt, "dy", dyt) {
		return
	}
	hw, ohw := s.H*s.W, s.OH*s.OW
	planes := s.N * s.C
	scale := backend.AvgPoolScale(kernel)
	parts := min(elementParts(p.workers, planes*hw), planes)
	t := newTeam(parts, func(wk int) {
		lo, hi := span(planes, parts, wk)
		for pl := lo; pl < hi; pl++ {
			avgPoolBackward(dyt.f[pl*ohw:][:ohw], dxt.f[pl*hw:][:hw], s.W, s.OH, s.OW, kernel, stride, scale)
		}
	})
	p.add(func() error { t.run(); return nil })
}

// avgPool pools one plane x (width w) into y: each window summed in
// row-major order, then scaled (the order and the single rounding of the
// scale are what the shader does too).
func avgPool(x, y []float32, w, oh, ow, kernel, stride int, scale float32) {
	for i := range oh {
		yr := y[i*ow:][:ow]
		for j := range yr {
			var sum float32
			for r := range kernel {
				for _, v := range x[(i*stride+r)*w+j*stride:][:kernel] {
					sum += v
				}
			}
			yr[j] = sum * scale
		}
	}
}

// avgPoolBackward sums into one plane dx (width w) every dy of the windows
// that hold an element, in output order, then scales: the sum of dy/k² over
// the windows, with one rounding for the scale. Elements no window reaches
// (the last row of an odd map at stride 2, the gaps when stride > kernel)
// stay zero.
func avgPoolBackward(dy, dx []float32, w, oh, ow, kernel, stride int, scale float32) {
	clear(dx)
	for i := range oh {
		for j, g := range dy[i*ow:][:ow] {
			for r := range kernel {
				row := dx[(i*stride+r)*w+j*stride:][:kernel]
				for s := range row {
					row[s] += g
				}
			}
		}
	}
	for i := range dx {
		dx[i] *= scale
	}
}
