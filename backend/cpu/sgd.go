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
// then equals g. g is only read. With a schedule, lr = float32(LR·s) where
// s = Schedule[min(ctr[0], S-1)] is read when the op runs, not when it is
// recorded: a recorded step replayed with the counter advanced takes the
// next entry, as the GPU's does.
func (p *Program) SGD(param, grad, buf backend.Tensor, o backend.SGDParams) {
	const op = "SGD"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckSGD(op, param, grad, buf, o)) {
		return
	}
	pt, gt, bt := p.tensor(op, "p", param), p.tensor(op, "g", grad), p.optTensor(op, "buf", buf)
	st, ct := p.optTensor(op, "Schedule", o.Schedule), p.optTensor(op, "Ctr", o.Ctr)
	if p.err != nil {
		return
	}
	// rate is read by each chunk when it runs, so a scheduled step sets it
	// first and every element takes that step's rate.
	rate, mom, wd, nesterov := o.LR, o.Momentum, o.WeightDecay, o.Nesterov
	var run func()
	if bt == nil {
		run = parallelFor(p.workers, pt.n, func(lo, hi int) {
			w, g, lr := pt.f[lo:hi], gt.f[lo:hi], rate
			for i := range w {
				d := g[i] + float32(wd*w[i])
				w[i] -= float32(lr * d)
			}
		})
	} else {
		run = parallelFor(p.workers, pt.n, func(lo, hi int) {
			w, g, b, lr := pt.f[lo:hi], gt.f[lo:hi], bt.f[lo:hi], rate
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
	if st == nil {
		p.add(func() error { run(); return nil })
		return
	}
	p.add(func() error {
		// uint32 arithmetic as on the GPU: a counter past the end (or
		// wrapped) takes the last entry.
		k := min(ct.u[backend.CounterStep], uint32(len(st.f)-1))
		rate = float32(o.LR * st.f[k])
		run()
		return nil
	})
}
