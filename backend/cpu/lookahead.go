package cpu

import "github.com/vkcnn/vkcnn/backend"

// Lookahead records the Lookahead pull of p and its slow copy ema together
// (see backend.Ops.Lookahead): with w = 1 - decay[0], ema = lerp(ema, p, w)
// and p = ema, in float32 with every operation rounded on its own (explicit
// conversions keep Go from fusing a multiply into the add), as the Vulkan
// kernel computes it.
//
// decay is read when the program runs, not when it is recorded, so that a
// schedule can change it between replays of one recording.
func (p *Program) Lookahead(param, ema, decay backend.Tensor) {
	const op = "Lookahead"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckLookahead(op, param, ema, decay)) {
		return
	}
	pt, et, dt := p.tensor(op, "p", param), p.tensor(op, "ema", ema), p.tensor(op, "decay", decay)
	// ema must be a copy of its own: as one buffer the op would do nothing.
	// decay is kept apart too, because the Vulkan kernel reads it while other
	// invocations write p and ema.
	if p.err != nil || !p.distinct(op, "ema", et, "p", pt) || !p.distinct(op, "p", pt, "decay", dt) || !p.distinct(op, "ema", et, "decay", dt) {
		return
	}
	var w float32
	run := parallelFor(p.workers, pt.n, func(lo, hi int) {
		ps, es := pt.f[lo:hi], et.f[lo:hi]
		for i := range ps {
			v := lerp(es[i], ps[i], w)
			es[i], ps[i] = v, v
		}
	})
	p.add(func() error {
		w = 1 - dt.f[0]
		run()
		return nil
	})
}

// lerp is torch.lerp(a, b, w) in float32: a + w·(b-a) for w < 0.5, else
// b - (b-a)·(1-w), which is exact at w = 1 (and the first is at w = 0).
func lerp(a, b, w float32) float32 {
	d := b - a
	if w < 0.5 {
		return a + float32(w*d)
	}
	return b - float32(d*(1-w))
}
