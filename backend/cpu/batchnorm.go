package cpu

import (
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// bnTensors are the per-channel tensors of one BatchNorm2d call on this
// backend; an absent one is nil.
type bnTensors struct {
	weight, bias, runMean, runVar, mean, invStd *Tensor
}

// channelTensors converts the tensors of t that the op uses (use says which, in
// the field order of backend.BatchNormTensors) to this backend's.
func (p *Program) channelTensors(op string, t backend.BatchNormTensors, use [6]bool) bnTensors {
	get := func(i int, name string, v backend.Tensor) *Tensor {
		if !use[i] {
			return nil
		}
		return p.tensor(op, name, v)
	}
	return bnTensors{
		weight:  get(0, "t.Weight", t.Weight),
		bias:    get(1, "t.Bias", t.Bias),
		runMean: get(2, "t.RunningMean", t.RunningMean),
		runVar:  get(3, "t.RunningVar", t.RunningVar),
		mean:    get(4, "t.Mean", t.Mean),
		invStd:  get(5, "t.InvStd", t.InvStd),
	}
}

// channelTeam splits the channels of s among the workers (one channel is
// never split, so each channel's sums run in one fixed order) and returns
// the recorded loop calling fn for every channel.
func (p *Program) channelTeam(s backend.BatchNormShape, fn func(c int)) func() {
	parts := min(elementParts(p.workers, s.N*s.C*s.H*s.W), s.C)
	t := newTeam(parts, func(w int) {
		lo, hi := span(s.C, parts, w)
		for c := lo; c < hi; c++ {
			fn(c)
		}
	})
	return t.run
}

// BatchNorm2d records torch.nn.BatchNorm2d's forward (see backend.Ops): in
// training, the batch's statistics in float64, two passes (mean, then the
// squared deviations from it, which cannot cancel as a sum of squares
// minus a squared sum would), saved and folded into the running ones.
func (p *Program) BatchNorm2d(x, y backend.Tensor, t backend.BatchNormTensors, o backend.BatchNormParams) {
	const op = "BatchNorm2d"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckBatchNorm(op, x, y, t, o)
	if !p.check(err) {
		return
	}
	xt, yt := p.tensor(op, "x", x), p.tensor(op, "y", y)
	bt := p.channelTensors(op, t, [6]bool{true, true, true, true, o.Train, o.Train})
	if p.err != nil || !p.distinct(op, "y", yt, "x", xt) {
		return
	}
	hw, chw := s.H*s.W, s.C*s.H*s.W
	cnt := float64(s.Count)
	eps, mom := float64(o.Eps), float64(o.Momentum)
	// Every loop over a channel visits its N planes in batch order, so each
	// sum has one order.
	run := p.channelTeam(s, func(c int) {
		var mean, invStd float64
		if o.Train {
			var sum float64
			for n := range s.N {
				for _, v := range xt.f[n*chw+c*hw:][:hw] {
					sum += float64(v)
				}
			}
			mean = sum / cnt
			var m2 float64
			for n := range s.N {
				for _, v := range xt.f[n*chw+c*hw:][:hw] {
					d := float64(v) - mean
					m2 += d * d
				}
			}
			invStd = 1 / math.Sqrt(m2/cnt+eps)
			bt.mean.f[c] = float32(mean)
			bt.invStd.f[c] = float32(invStd)
			rm, rv := bt.runMean.f, bt.runVar.f
			rm[c] = float32((1-mom)*float64(rm[c]) + mom*mean)
			rv[c] = float32((1-mom)*float64(rv[c]) + mom*m2/(cnt-1))
		} else {
			mean = float64(bt.runMean.f[c])
			invStd = 1 / math.Sqrt(float64(bt.runVar.f[c])+eps)
		}
		scale, shift := invStd*float64(bt.weight.f[c]), float64(bt.bias.f[c])
		for n := range s.N {
			off := n*chw + c*hw
			out := yt.f[off:][:hw]
			for i, v := range xt.f[off:][:hw] {
				out[i] = float32((float64(v)-mean)*scale + shift)
			}
		}
	})
	p.add(func() error { run(); return nil })
}

// BatchNorm2dBackward records the gradient of a training-mode BatchNorm2d
// (see backend.Ops) from the statistics its forward saved, with the
// channel sums in float64. dx, dWeight and dBias may each be nil.
func (p *Program) BatchNorm2dBackward(x, dy, dx backend.Tensor, t backend.BatchNormTensors, dWeight, dBias backend.Tensor) {
	const op = "BatchNorm2dBackward"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckBatchNormBackward(op, x, dy, dx, t, dWeight, dBias)
	if !p.check(err) {
		return
	}
	xt, dyt := p.tensor(op, "x", x), p.tensor(op, "dy", dy)
	dxt, dwt, dbt := p.optTensor(op, "dx", dx), p.optTensor(op, "dWeight", dWeight), p.optTensor(op, "dBias", dBias)
	bt := p.channelTensors(op, t, [6]bool{dxt != nil, false, false, false, true, true})
	if p.err != nil {
		return
	}
	if dxt != nil && (!p.distinct(op, "dx", dxt, "x", xt) || !p.distinct(op, "dx", dxt, "dy", dyt)) {
		return
	}
	if dxt == nil && dwt == nil && dbt == nil {
		return // nothing is wanted
	}
	hw, chw := s.H*s.W, s.C*s.H*s.W
	cnt := float64(s.Count)
	run := p.channelTeam(s, func(c int) {
		mean, invStd := float64(bt.mean.f[c]), float64(bt.invStd.f[c])
		var sumDy, sumDyX float64 // Σdy and Σdy·(x-mean)
		for n := range s.N {
			off := n*chw + c*hw
			g := dyt.f[off:][:hw]
			for i, v := range xt.f[off:][:hw] {
				d := float64(g[i])
				sumDy += d
				sumDyX += d * (float64(v) - mean)
			}
		}
		db, dw := sumDy, sumDyX*invStd
		if dbt != nil {
			dbt.f[c] = float32(db)
		}
		if dwt != nil {
			dwt.f[c] = float32(dw)
		}
		if dxt == nil {
			return
		}
		// dx = w·invstd/cnt·(cnt·dy - dBias - xhat·dWeight), with xhat·dWeight/cnt
		// = (x-mean)·k2.
		a, k1, k2 := float64(bt.weight.f[c])*invStd, db/cnt, invStd*dw/cnt
		for n := range s.N {
			off := n*chw + c*hw
			g, out := dyt.f[off:][:hw], dxt.f[off:][:hw]
			for i, v := range xt.f[off:][:hw] {
				out[i] = float32(a * (float64(g[i]) - k1 - (float64(v)-mean)*k2))
			}
		}
	})
	p.add(func() error { run(); return nil })
}
