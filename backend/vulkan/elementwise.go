package vulkan

import (
	"math"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// maxElementLocal is the largest workgroup size (specialization constant 0)
// of the one-invocation-per-element kernels: a multiple of every subgroup
// size in use (4 to 64) that fills a GPU's compute unit with few
// workgroups. A device that allows less gets the largest power of two it
// allows (elementLocalFor). It is also the size of the reductions' fixed
// shared arrays (MAX_WG in bias_grad.comp and softmax_ce.comp), so no
// workgroup may exceed it.
const maxElementLocal = 256

// elementLocalFor is the element-wise workgroup size on a device.
func elementLocalFor(info gpu.Info) uint32 {
	l := uint32(maxElementLocal)
	for l > 1 && (l > info.MaxWorkgroupInvocations || l > info.MaxWorkgroupSize[0]) {
		l /= 2
	}
	return l
}

// maxElementGroups bounds the workgroups of an element-wise dispatch below
// the device's maxComputeWorkGroupCount[0]; the kernels loop (grid-stride)
// over whatever one pass leaves. It is a variable only so that a test can
// lower it and reach those loops with small tensors.
var maxElementGroups = math.MaxInt32

// elementGroupsFor is the most workgroups of an element-wise dispatch on a
// device.
func elementGroupsFor(info gpu.Info) uint32 {
	return max(1, min(info.MaxWorkgroupCount[0], uint32(min(maxElementGroups, math.MaxUint32))))
}

// elementGrid is the dispatch size for n items handled one per invocation
// with a grid-stride loop.
func (p *Program) elementGrid(n int) [3]uint32 {
	return [3]uint32{max(1, min(groups(n, int(p.b.local)), elementGroupsFor(p.b.dev.Info()))), 1, 1}
}

// elementSpec specializes a kernel's workgroup size.
func (p *Program) elementSpec() []uint32 { return []uint32{p.b.local} }

func init() {
	register("relu", 4, gpu.Read, gpu.Write)
	register("relu_backward", 4, gpu.Read, gpu.Read, gpu.Write)
	register("dropout", 16, gpu.Read, gpu.Write, gpu.Read)
}

// ReLU records y = max(x, 0). y may be x.
func (p *Program) ReLU(x, y backend.Tensor) {
	if !p.ok(backend.CheckSame("ReLU", x, y)) {
		return
	}
	n := x.Len()
	p.dispatch("relu", p.elementSpec(), p.elementGrid(n), pushConstants(n), x, y)
}

// ReLUBackward records dx = dy where y > 0, else 0. dx may be dy.
func (p *Program) ReLUBackward(y, dy, dx backend.Tensor) {
	if !p.ok(backend.CheckSame("ReLUBackward", y, dy, dx)) {
		return
	}
	n := y.Len()
	p.dispatch("relu_backward", p.elementSpec(), p.elementGrid(n), pushConstants(n), y, dy, dx)
}

// Dropout records y = x·mask/(1-p) with the mask backend.Keep draws at step
// ctr[0]. y may be x.
func (p *Program) Dropout(x, y, ctr backend.Tensor, prob float32, seed, stream uint32) {
	p.dropout("Dropout", x, y, ctr, prob, seed, stream)
}

// DropoutBackward records dx = dy·mask/(1-p) with Dropout's mask for the same
// step, seed and stream. dx may be dy.
func (p *Program) DropoutBackward(dy, dx, ctr backend.Tensor, prob float32, seed, stream uint32) {
	p.dropout("DropoutBackward", dy, dx, ctr, prob, seed, stream)
}

// dropout serves both directions: the gradient of a masked scaling is the
// same masked scaling.
func (p *Program) dropout(op string, in, out, ctr backend.Tensor, prob float32, seed, stream uint32) {
	if !p.ok(backend.CheckSame(op, in, out)) || !p.ok(backend.CheckDropout(op, ctr, prob)) {
		return
	}
	n := in.Len()
	// The seed and stream levels of backend.Hash are constant for the
	// recording; the kernel adds the step it reads from ctr.
	prefix := backend.PCG(backend.PCG(seed) + stream)
	keep := 1 - prob // the CPU's divisor, rounded to float32 as there
	p.dispatch("dropout", p.elementSpec(), p.elementGrid(n), pushConstants(n, prefix, prob, keep), in, out, ctr)
}
