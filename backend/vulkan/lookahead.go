package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("lookahead", 4, gpu.ReadWrite, gpu.ReadWrite, gpu.Read)
}

// Lookahead records the Lookahead pull of p and its slow copy ema together
// (see backend.Ops.Lookahead), one invocation per element, rounding every
// step as the CPU's float32 code does. The kernel reads decay[0] when it
// runs, so a schedule can change it between replays of one recording.
//
// p, ema and decay must be separate buffers: ema as one buffer with p would
// make the op a silent no-op, and decay is read by every invocation while
// the others write p and ema.
func (p *Program) Lookahead(param, ema, decay backend.Tensor) {
	const op = "Lookahead"
	if !p.ok(backend.CheckLookahead(op, param, ema, decay)) {
		return
	}
	if !p.distinctBuffers(op, "ema", ema, "p", param) || !p.distinctBuffers(op, "p", param, "decay", decay) ||
		!p.distinctBuffers(op, "ema", ema, "decay", decay) {
		return
	}
	n := param.Len()
	p.dispatch("lookahead", p.elementSpec(), p.elementGrid(n), pushConstants(n), param, ema, decay)
}
