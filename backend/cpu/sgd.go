package cpu

import (
	"github.com/vkcnn/vkcnn/backend"
)

// SGD records PyTorch's torch.optim.SGD update with dampening 0, computed in
// float32 like PyTorch:
//
//	g += wd·p; buf = momentum·buf + g; g = nesterov ? g + momentum·buf : buf; p -= lr·g
//
// buf may be absent when Momentum is 0 (see backend.CheckSGD), since buf
// then equals g. g is only read.
func (p *Program) SGD(param, grad, buf backend.Tensor, o backend.SGDParams) {
	const op = "SGD"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSGD(op, param, grad, buf, o)) {
		return
	}
	pt, gt, bt := p.tensor(op, "p", param), p.tensor(op, "g", grad), p.optTensor(op, "buf", buf)
	if p.err != nil {
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
