package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("avgpool", 40, gpu.Read, gpu.Write)
	register("avgpool_backward", 40, gpu.Read, gpu.Write)
}

// AvgPool2d records y = the mean of each kernel x kernel window, one
// invocation per output. The window is baked into the pipeline (poolSpec),
// as max-pool's is.
func (p *Program) AvgPool2d(x, y backend.Tensor, kernel, stride int) {
	const op = "AvgPool2d"
	s, err := backend.CheckAvgPool(op, x, y, kernel, stride)
	if !p.ok(err) || !p.ok(p.apart(op, y, x)) {
		return
	}
	n := y.Len()
	p.dispatch("avgpool", p.poolSpec(kernel, stride), p.elementGrid(n),
		pushConstants(append([]any{n, s.H, s.W, s.OH, s.OW, backend.AvgPoolScale(kernel)}, divisors(s.OH*s.OW, s.OW)...)...), x, y)
}

// AvgPool2dBackward records dx = each dy/kernel² spread over its window,
// summed where windows overlap, zero where none reaches. It gathers (one
// invocation per dx element, over the windows that hold it, in output
// order) rather than scatters, so it needs no atomics and adds in the
// CPU's order.
func (p *Program) AvgPool2dBackward(dy, dx backend.Tensor, kernel, stride int) {
	const op = "AvgPool2dBackward"
	s, err := backend.CheckAvgPool(op, dx, dy, kernel, stride)
	if !p.ok(err) || !p.ok(p.apart(op, dx, dy)) {
		return
	}
	n := dx.Len()
	p.dispatch("avgpool_backward", p.poolSpec(kernel, stride), p.elementGrid(n),
		pushConstants(append([]any{n, s.H, s.W, s.OH, s.OW, backend.AvgPoolScale(kernel)}, divisors(s.H*s.W, s.W)...)...), dy, dx)
}
