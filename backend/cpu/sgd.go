package cpu

import (
	"github.com/vkcnn/vkcnn/backend"
)

// SGD records PyTorch's torch.optim.SGD update with dampening 0, computed in
// float32 like PyTorch:
//
//	g += wd·p; buf = momentum·buf + g; g = nesterov ? g + momentum·buf : buf; p -= lr·g
//
// buf may be nil when Momentum is 0, since buf then equals g. g is only read.
func (p *Program) SGD(param, grad, buf backend.Tensor, o backend.SGDParams) {
	const op = "SGD"
	if !p.start(op) {
		return
	}
	pt := p.arg(op, "p", param, backend.F32, 0)
	gt := p.arg(op, "g", grad, backend.F32, 0)
	var bt *Tensor
	if o.Momentum != 0 {
		bt = p.arg(op, "buf", buf, backend.F32, 0)
	} else {
		bt = p.optArg(op, "buf", buf, backend.F32, 0)
	}
	if p.err != nil || !p.sameShapes(op, []string{"p", "g"}, pt, gt) ||
		(bt != nil && !p.sameShapes(op, []string{"p", "buf"}, pt, bt)) {
		return
	}
	lr, mom, wd, nesterov := o.LR, o.Momentum, o.WeightDecay, o.Nesterov
	var run func()
	if bt == nil {
		run = parallelFor(p.workers, pt.n, func(lo, hi int) {
			w, g := pt.f[lo:hi], gt.f[lo:hi]
			for i := range w {
				d := g[i] + float32(wd*w[i])
				w[i] -= float32(lr * d)
			}
		})
	} else {
		run = parallelFor(p.workers, pt.n, func(lo, hi int) {
			w, g, b := pt.f[lo:hi], gt.f[lo:hi], bt.f[lo:hi]
			for i := range w {
				d := g[i] + float32(wd*w[i])
				m := float32(mom*b[i]) + d
				b[i] = m
				if nesterov {
					d += float32(mom * m)
				} else {
					d = m
				}
				w[i] -= float32(lr * d)
			}
		})
	}
	p.add(func() error { run(); return nil })
}
