package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("pool", 36, gpu.Read, gpu.Write, gpu.Write)
	register("pool_backward", 36, gpu.Read, gpu.Read, gpu.Write)
}

// poolSpec bakes the window into the pipeline (a network has a pool or
// two, so few pipelines), which unrolls the kernel's loops and turns its
// divisions by the stride into shifts or multiplies. The divisions by the
// plane's shape, which vary, take fastDiv's multipliers (divisors).
func (p *Program) poolSpec(kernel, stride int) []uint32 {
	return []uint32{p.b.local, uint32(kernel), uint32(stride)}
}

// MaxPool2d records y = the max of each kernel x kernel window and argmax =
// where in the input plane it was (the first of equal maxima in row-major
// order), one invocation per output.
func (p *Program) MaxPool2d(x, y, argmax backend.Tensor, kernel, stride int) {
	s, err := backend.CheckPool("MaxPool2d", x, y, argmax, kernel, stride)
	if !p.ok(err) || !p.ok(p.apart("MaxPool2d", x, y, argmax)) {
		return
	}
	n := y.Len()
	p.dispatch("pool", p.poolSpec(kernel, stride), p.elementGrid(n),
		pushConstants(append([]any{n, s.H, s.W, s.OH, s.OW}, divisors(s.OH*s.OW, s.OW)...)...), x, y, argmax)
}

// MaxPool2dBackward records dx = dy routed to each window's argmax, summed
// where windows overlap. It gathers (one invocation per dx element, over the
// windows that hold it) rather than scatters, so it needs no atomics and
// adds in a fixed order. An argmax outside the input plane, which the CPU
// reports as an error, is ignored.
func (p *Program) MaxPool2dBackward(dy, argmax, dx backend.Tensor, kernel, stride int) {
	s, err := backend.CheckPool("MaxPool2dBackward", dx, dy, argmax, kernel, stride)
	if !p.ok(err) || !p.ok(p.apart("MaxPool2dBackward", dx, dy, argmax)) {
		return
	}
	n := dx.Len()
	p.dispatch("pool_backward", p.poolSpec(kernel, stride), p.elementGrid(n),
		pushConstants(append([]any{n, s.H, s.W, s.OH, s.OW}, divisors(s.H*s.W, s.W)...)...), dy, argmax, dx)
}

// apart fails if a shares a buffer with any of others: a windowed op reads
// elements that other invocations are overwriting, so it cannot work in
// place (the CPU refuses it too).
func (p *Program) apart(op string, a backend.Tensor, others ...backend.Tensor) error {
	o, err := p.b.tensor(a)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, t := range others {
		i, err := p.b.tensor(t)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if i.buf == o.buf {
			return fmt.Errorf("%s: tensors %v and %v share storage; this op cannot work in place", op, o.shape, i.shape)
		}
	}
	return nil
}
