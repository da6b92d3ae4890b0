package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// The convolutions are implicit GEMMs on the core of shaders/gemm.glsl: each
// shader decodes GEMM rows, columns and reduction positions into tensor
// offsets itself, so no im2col buffer exists. The stride is a
// specialization constant (it divides in the backward-data gather, which
// then compiles to a shift or nothing); the other sizes are push constants.

func init() {
	// x, w, bias, y, the epilogue's bias, counters and mask
	register("conv_forward", 80+epiPushSize, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.Read, gpu.Read, gpu.Read)
	// dy, w, dx, the epilogue's three
	register("conv_backward_data", 80+epiPushSize, gpu.Read, gpu.Read, gpu.Write, gpu.Read, gpu.Read, gpu.Read)
	register("conv_backward_weights", 84, gpu.Read, gpu.Read, gpu.Write, gpu.Write, gpu.Write)
}

// Conv2d records y = conv(x, w) + b; b may be nil for no bias.
func (p *Program) Conv2d(x, w, b, y backend.Tensor, stride, pad int) {
	p.conv2d(p.b.gemmVariant(), x, w, b, y, stride, pad, backend.Epilogue{})
}

// Conv2dEpilogue records Conv2d with e (the ReLU and dropout that follow
// the layer) applied as y is stored.
func (p *Program) Conv2dEpilogue(x, w, b, y backend.Tensor, stride, pad int, e backend.Epilogue) {
	p.conv2d(p.b.gemmVariant(), x, w, b, y, stride, pad, e)
}

// conv2d is Conv2d with the GEMM variant chosen by the caller. Rows are the
// K filters and columns the batch's output pixels, so neighbouring threads
// read neighbouring input pixels and write neighbouring outputs.
func (p *Program) conv2d(v gemmVariant, x, w, b, y backend.Tensor, stride, pad int, e backend.Epilogue) {
	const op = "Conv2d"
	s, err := backend.CheckConv(op, x, w, y, stride, pad)
	if !p.ok(err) {
		return
	}
	ep, ok := p.epilogue(op, y, e, false)
	if !ok {
		return
	}
	ep = ep.standIn(x)
	hasBias := !backend.Absent(b)
	if hasBias && !p.ok(backend.CheckBias(op, b, s.K)) {
		return
	}
	if !hasBias {
		b = w // bound but never read
	}
	m, n, k := s.K, s.N*s.OH*s.OW, s.C*s.R*s.S
	t := p.b.tilesFor(v, m, n)
	push := pushConstants(append(append([]any{m, n, k, k, s.C, s.H, s.W, s.R, s.S, s.OW, s.OH * s.OW, s.Pad},
		divisors(s.OH*s.OW, s.OW, s.R*s.S, s.S)...), ep.push()...)...)
	spec := ep.specAfter(t.spec(true, true, uint32(s.Stride), word(hasBias)))
	p.dispatch("conv_forward", spec, t.groups(m, n, 1), push, x, w, b, y, ep.bind[0], ep.bind[1], ep.bind[2])
}

// Conv2dBackwardData records dx = the gradient of Conv2d's input.
func (p *Program) Conv2dBackwardData(dy, w, dx backend.Tensor, stride, pad int) {
	p.conv2dBackwardData(p.b.gemmVariant(), dy, w, dx, stride, pad, backend.Epilogue{})
}

// Conv2dBackwardDataEpilogue records Conv2dBackwardData with e (the
// gradient mask of the ReLU and dropout before the layer) applied as dx is
// stored.
func (p *Program) Conv2dBackwardDataEpilogue(dy, w, dx backend.Tensor, stride, pad int, e backend.Epilogue) {
	p.conv2dBackwardData(p.b.gemmVariant(), dy, w, dx, stride, pad, e)
}

// conv2dBackwardData gathers: every dx element sums the (filter, r, s) terms
// that reach it, so each is written once, whatever the stride. Rows are the
// C input channels, columns the batch's input pixels. With stride > 1 most
// (r, s) miss for a given pixel and cost a load slot each: correct, not
// tuned.
func (p *Program) conv2dBackwardData(v gemmVariant, dy, w, dx backend.Tensor, stride, pad int, e backend.Epilogue) {
	const op = "Conv2dBackwardData"
	s, err := backend.CheckConv(op, dx, w, dy, stride, pad)
	if !p.ok(err) {
		return
	}
	ep, ok := p.epilogue(op, dx, e, false)
	if !ok {
		return
	}
	ep = ep.standIn(dy)
	m, n, k := s.C, s.N*s.H*s.W, s.K*s.R*s.S
	t := p.b.tilesFor(v, m, n)
	push := pushConstants(append(append([]any{m, n, k, k, s.K, s.H, s.W, s.R, s.S, s.OH, s.OW, s.Pad},
		divisors(s.H*s.W, s.W, s.R*s.S, s.S)...), ep.push()...)...)
	spec := ep.specAfter(t.spec(true, true, uint32(s.Stride)))
	p.dispatch("conv_backward_data", spec, t.groups(m, n, 1), push, dy, w, dx, ep.bind[0], ep.bind[1], ep.bind[2])
}

// Conv2dBackwardWeights records dw (and db unless it is nil) = the gradients
// of Conv2d's weights and bias, summed over the batch.
func (p *Program) Conv2dBackwardWeights(x, dy, dw, db backend.Tensor, stride, pad int) {
	p.conv2dBackwardWeights(p.b.gemmVariant(), x, dy, dw, db, stride, pad)
}

// conv2dBackwardWeights is a GEMM with rows = the K filters, columns = the
// C*R*S weights of a filter plus a column of ones for the bias gradient, and
// a reduction over every output pixel of the batch. That reduction is long
// and the output small, so it is split into slices reduced in a second,
// fixed-order pass (deterministic, unlike atomics).
func (p *Program) conv2dBackwardWeights(v gemmVariant, x, dy, dw, db backend.Tensor, stride, pad int) {
	const op = "Conv2dBackwardWeights"
	s, err := backend.CheckConv(op, x, dw, dy, stride, pad)
	if !p.ok(err) {
		return
	}
	hasBias := !backend.Absent(db)
	if hasBias && !p.ok(backend.CheckBias(op, db, s.K)) {
		return
	}
	crs := s.C * s.R * s.S
	m, n, k := s.K, crs, s.N*s.OH*s.OW
	if hasBias {
		n++
	} else {
		db = dw // bound but never written
	}
	t := p.b.tilesFor(v, m, n)
	kSplit, splits := p.b.splitK(t, m, n, k)
	part := dw // bound but never written with one slice
	if splits > 1 {
		if part = p.scratch(op, splits*m*n); part == nil {
			return
		}
	}
	push := pushConstants(append([]any{m, n, k, kSplit, s.C, s.H, s.W, s.R, s.S, s.OH, s.OW, crs, s.Pad},
		divisors(s.OH*s.OW, s.OW, s.R*s.S, s.S)...)...)
	// A (dy) and B (the x gather) are both contiguous along the output pixels, k.
	spec := t.spec(true, false, uint32(s.Stride), word(splits > 1))
	p.dispatch("conv_backward_weights", spec, t.groups(m, n, splits), push, x, dy, dw, db, part)
	if splits > 1 {
		p.reduceSplits(part, dw, db, m, n, splits, crs, epi{})
	}
}
