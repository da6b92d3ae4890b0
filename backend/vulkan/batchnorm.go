package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// BatchNorm2d's channel statistics are reductions over N·H·W values that
// lie in N strided planes. A channel alone is too little work for a GPU
// when C is small and too much for one workgroup when N·H·W is large, so
// each channel is cut into slices: pass 1 reduces every (slice, channel) in
// its own workgroup, pass 2 combines a channel's partials in one workgroup,
// and pass 3 is element-wise. The slicing depends on the shape alone, and
// every combination runs in a fixed tree, so a run gives the same bits
// every time, with no float atomics.

func init() {
	register("batchnorm_stats", 16, gpu.Read, gpu.Write)
	register("batchnorm_finalize", 20, gpu.Read, gpu.ReadWrite, gpu.ReadWrite, gpu.Write, gpu.Write)
	register("batchnorm_apply", 32, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Write)
	register("batchnorm_backward_stats", 16, gpu.Read, gpu.Read, gpu.Read, gpu.Write)
	register("batchnorm_backward_finalize", 12, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.Write, gpu.Write)
	register("batchnorm_backward_dx", 24, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Write)
}

// Slicing of the reduction passes. bnLocal is their workgroup size, fixed
// in the shaders (their shared arrays are sized by it). A slice has at
// least bnMinSlice values, 16 per invocation, so a workgroup's tree and
// barriers are paid for by its loads; at most bnLocal slices, since pass 2
// gives each partial one invocation.
const (
	bnLocal     = 256
	bnMinSlice  = 16 * bnLocal
	bnMaxSlices = bnLocal
)

// bnSlices cuts a channel's cnt values into slices of length values (the
// last one shorter) and returns both.
func bnSlices(cnt int) (length, slices int) {
	slices = min(max(1, cnt/bnMinSlice), bnMaxSlices)
	length = (cnt + slices - 1) / slices
	return length, (cnt + length - 1) / length
}

// bnScratch allocates a float buffer the recording uses between passes; it
// lives until the program closes.
func (p *Program) bnScratch(op, what string, n int) backend.Tensor {
	if p.err != nil {
		return nil
	}
	t, err := p.b.NewTensor(backend.F32, n)
	if err != nil {
		p.fail(fmt.Errorf("%s: %s scratch of %d floats: %w", op, what, n, err))
		return nil
	}
	p.scratchTensors = append(p.scratchTensors, t)
	return t
}

// distinctBuffers fails unless out and in live in different buffers: the
// op reads in while it writes out in another pass or invocation.
func (p *Program) distinctBuffers(op, outName string, out backend.Tensor, inName string, in backend.Tensor) bool {
	o, err := p.b.tensor(out)
	if err != nil {
		p.fail(fmt.Errorf("%s: %s: %w", op, outName, err))
		return false
	}
	i, err := p.b.tensor(in)
	if err != nil {
		p.fail(fmt.Errorf("%s: %s: %w", op, inName, err))
		return false
	}
	if o.buf == i.buf {
		p.fail(fmt.Errorf("%s: %s and %s share storage; this op cannot work in place", op, outName, inName))
		return false
	}
	return true
}

// channelDivisors are the push constants with which the element-wise
// passes find an element's channel, (e / HW) % C.
func channelDivisors(s backend.BatchNormShape) []any {
	hwMul, hwShift := fastDiv(s.H * s.W)
	cMul, cShift := fastDiv(s.C)
	return []any{hwMul, hwShift, cMul, cShift, s.C}
}

// BatchNorm2d records torch.nn.BatchNorm2d's forward (see backend.Ops). In
// training the statistics take two passes before the normalization:
// per-slice means and M2 (see shaders/batchnorm_stats.comp for why they
// stay accurate for a large mean), then per channel the saved statistics
// and the running ones. Evaluation is the normalization alone.
func (p *Program) BatchNorm2d(x, y backend.Tensor, t backend.BatchNormTensors, o backend.BatchNormParams) {
	const op = "BatchNorm2d"
	s, err := backend.CheckBatchNorm(op, x, y, t, o)
	if !p.ok(err) || !p.distinctBuffers(op, "y", y, "x", x) {
		return
	}
	n := x.Len()
	if !o.Train {
		push := pushConstants(append(append([]any{n}, channelDivisors(s)...), o.Eps, true)...)
		p.dispatch("batchnorm_apply", p.elementSpec(), p.elementGrid(n), push, x, t.RunningMean, t.RunningVar, t.Weight, t.Bias, y)
		return
	}
	length, slices := bnSlices(s.Count)
	part := p.bnScratch(op, "partial statistics", 2*s.C*slices)
	p.dispatch("batchnorm_stats", nil, [3]uint32{uint32(slices), uint32(s.C), 1},
		pushConstants(s.C, s.H*s.W, s.Count, length), x, part)
	p.dispatch("batchnorm_finalize", nil, [3]uint32{uint32(s.C), 1, 1},
		pushConstants(s.Count, length, slices, o.Eps, o.Momentum), part, t.RunningMean, t.RunningVar, t.Mean, t.InvStd)
	push := pushConstants(append(append([]any{n}, channelDivisors(s)...), o.Eps, false)...)
	p.dispatch("batchnorm_apply", p.elementSpec(), p.elementGrid(n), push, x, t.Mean, t.InvStd, t.Weight, t.Bias, y)
}

// BatchNorm2dBackward records the gradient of a training-mode BatchNorm2d
// (see backend.Ops): per-slice sums of dy and dy·(x-mean), per channel
// dWeight, dBias and the factors of dx, then dx element-wise. A gradient
// that is not wanted (nil) is not written; its binding takes the factors'
// scratch buffer, which the kernel then leaves alone through it.
func (p *Program) BatchNorm2dBackward(x, dy, dx backend.Tensor, t backend.BatchNormTensors, dWeight, dBias backend.Tensor) {
	const op = "BatchNorm2dBackward"
	s, err := backend.CheckBatchNormBackward(op, x, dy, dx, t, dWeight, dBias)
	if !p.ok(err) {
		return
	}
	wantDx, wantDw, wantDb := !backend.Absent(dx), !backend.Absent(dWeight), !backend.Absent(dBias)
	if wantDx && (!p.distinctBuffers(op, "dx", dx, "x", x) || !p.distinctBuffers(op, "dx", dx, "dy", dy)) {
		return
	}
	if !wantDx && !wantDw && !wantDb {
		return // nothing is wanted
	}
	length, slices := bnSlices(s.Count)
	part := p.bnScratch(op, "partial sums", 2*s.C*slices)
	coef := p.bnScratch(op, "dx factors", 3*s.C)
	p.dispatch("batchnorm_backward_stats", nil, [3]uint32{uint32(slices), uint32(s.C), 1},
		pushConstants(s.C, s.H*s.W, s.Count, length), x, dy, t.Mean, part)
	flags := word(wantDw) | word(wantDb)<<1 | word(wantDx)<<2
	w := t.Weight
	if !wantDx {
		w = t.InvStd // bound but never read
	}
	if !wantDw {
		dWeight = coef // bound but never written
	}
	if !wantDb {
		dBias = coef
	}
	p.dispatch("batchnorm_backward_finalize", nil, [3]uint32{uint32(s.C), 1, 1},
		pushConstants(s.Count, slices, flags), part, t.InvStd, w, dWeight, dBias, coef)
	if wantDx {
		n := x.Len()
		push := pushConstants(append([]any{n}, channelDivisors(s)...)...)
		p.dispatch("batchnorm_backward_dx", p.elementSpec(), p.elementGrid(n), push, x, dy, t.Mean, coef, dx)
	}
}
