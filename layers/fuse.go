package layers

import "github.com/vkcnn/vkcnn/backend"

// The fusion pass. On a GPU, a small model's training step costs about as
// much per dispatch and barrier as per FLOP, and the seed model's step was
// mostly element-wise ops between GEMMs. fuseChain rewrites a bound chain
// so that those ops ride in the GEMMs' stores (backend.Epilogue), leaving
// the layers' descriptions and state_dicts as they are:
//
//   - Linear or Conv2d → ReLU (→ Dropout): one fused GEMM writes the last
//     output (bias, ReLU and dropout in its store); backward starts with one
//     ReLUDropoutBackward from that output instead of two ops.
//   - such a group followed by a Linear or Conv2d: that layer's input
//     gradient GEMM applies the group's gradient mask as it stores, straight
//     into the gradient of the group's GEMM output, and the group's backward
//     element-wise op disappears.
//
// Every fused op gives the bits of the ops it replaces (see the backend's
// tests), so a fused step trains exactly as an unfused one on the CPU
// reference, and within the GEMMs' own rounding on a GPU. Tensors the
// unfused ops wrote in between stay allocated but unused.

// gemmLayer is a bound layer whose forward is a GEMM that can take an
// epilogue, and whose input gradient can be masked on the way out.
type gemmLayer interface {
	Bound
	// input is the layer's input and the gradient its backward writes.
	input() (x, dx backend.Tensor)
	// forwardTo records the forward pass into y with e applied (the layer's
	// bias is the layer's business).
	forwardTo(o backend.Ops, y backend.Tensor, e backend.Epilogue)
	// maskInputGrad makes backward write the input gradient, through e, to
	// dx instead.
	maskInputGrad(dx backend.Tensor, e backend.Epilogue)
}

// fusedAct is a GEMM layer with the ReLU, and optionally the dropout, that
// follow it.
type fusedAct struct {
	gemm gemmLayer
	relu *boundReLU
	drop *boundDropout // nil: no dropout (or evaluation)
	// maskDone: the next layer's input-gradient GEMM applies the mask.
	maskDone bool
}

func (f *fusedAct) Out() backend.Tensor {
	if f.drop != nil {
		return f.drop.Out()
	}
	return f.relu.Out()
}

func (f *fusedAct) DOut() backend.Tensor {
	if f.drop != nil {
		return f.drop.DOut()
	}
	return f.relu.DOut()
}

// mask is the epilogue that takes the gradient of Out to the gradient of
// the GEMM's output.
func (f *fusedAct) mask() backend.Epilogue {
	e := backend.Epilogue{Mask: f.Out()}
	if f.drop != nil {
		e.MaskP = f.drop.p
	}
	return e
}

func (f *fusedAct) Forward(o backend.Ops) {
	e := backend.Epilogue{ReLU: true}
	if d := f.drop; d != nil {
		e.Ctr, e.P, e.Seed, e.Stream = d.ctr, d.p, d.seed, d.stream
	}
	f.gemm.forwardTo(o, f.Out(), e)
}

func (f *fusedAct) Backward(o backend.Ops) {
	if !f.maskDone && f.relu.dx != nil {
		m := f.mask()
		o.ReLUDropoutBackward(m.Mask, f.DOut(), f.relu.dx, m.MaskP)
	}
	f.gemm.Backward(o)
}

// fuseChain applies the fusion pass to a chain (see above). A layer's
// output in a chain feeds only the next layer, which is what makes
// skipping it safe; the patterns never reach across a chain's ends.
func fuseChain(c chain) chain {
	var out chain
	for i := 0; i < len(c); i++ {
		if f, n := fuseAt(c, i); f != nil {
			out = append(out, f)
			i += n - 1
			continue
		}
		out = append(out, c[i])
	}
	for i := 0; i+1 < len(out); i++ {
		f, ok := out[i].(*fusedAct)
		if !ok || f.DOut() == nil || f.relu.dx == nil {
			continue
		}
		next, ok := out[i+1].(gemmLayer)
		if fn, isF := out[i+1].(*fusedAct); isF {
			next, ok = fn.gemm, true
		}
		if !ok {
			continue
		}
		if x, dx := next.input(); x == f.Out() && dx == f.DOut() {
			next.maskInputGrad(f.relu.dx, f.mask())
			f.maskDone = true
		}
	}
	return out
}

// fuseAt matches a GEMM layer, a ReLU and optionally a dropout at c[i:],
// each reading the one before's output, and returns the group and how many
// layers it took (nil, 0 when nothing matches).
func fuseAt(c chain, i int) (*fusedAct, int) {
	g, ok := c[i].(gemmLayer)
	if !ok || i+1 >= len(c) {
		return nil, 0
	}
	r, ok := c[i+1].(*boundReLU)
	if !ok || r.x != g.Out() || r.dx != g.DOut() {
		return nil, 0
	}
	f := &fusedAct{gemm: g, relu: r}
	if i+2 < len(c) {
		if d, ok := c[i+2].(*boundDropout); ok && d.x == r.y && d.dx == r.dy {
			f.drop = d
			return f, 3
		}
	}
	return f, 2
}
