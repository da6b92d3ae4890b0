package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("sgd", 28, gpu.ReadWrite, gpu.Read, gpu.ReadWrite, gpu.Read, gpu.Read)
}

// SGD records PyTorch's SGD update (dampening 0) of p from g and the
// momentum buffer buf, one invocation per element, rounding every step as
// the CPU's float32 code does. buf may be absent when Momentum is 0 (see
// backend.CheckSGD): the buffer would only ever hold the last gradient.
// With o.Schedule the kernel reads Schedule[min(ctr[0], S-1)] on every run,
// so the recording follows the step counter.
func (p *Program) SGD(param, grad, buf backend.Tensor, o backend.SGDParams) {
	if !p.ok(backend.CheckSGD("SGD", param, grad, buf, o)) {
		return
	}
	hasBuf := !backend.Absent(buf)
	bind := buf
	if !hasBuf {
		// The kernel never touches it; p is already bound read-write.
		bind = param
	}
	// Without a schedule g stands in for the schedule and counters: the
	// kernel never reads them, and g is already bound for reading, so the
	// stand-ins add no hazard.
	schedule, ctr, s := grad, grad, 0
	if !backend.Absent(o.Schedule) {
		schedule, ctr, s = o.Schedule, o.Ctr, o.Schedule.Len()
	}
	n := param.Len()
	p.dispatch("sgd", p.elementSpec(), p.elementGrid(n),
		pushConstants(n, o.LR, o.Momentum, o.WeightDecay, o.Nesterov, hasBuf, s), param, grad, bind, schedule, ctr)
}
