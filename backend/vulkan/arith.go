package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("gelu", 4, gpu.Read, gpu.Write)
	register("gelu_backward", 4, gpu.Read, gpu.Read, gpu.Write)
	register("add", 4, gpu.Read, gpu.Read, gpu.Write)
	register("scale", 8, gpu.Read, gpu.Write)
}

// GELU records y = x·Φ(x), the exact erf form, one invocation per element.
// y may be x. GLSL has no erf: shaders/gelu.glsl computes Φ in float32 to a
// few ULP, tails included.
func (p *Program) GELU(x, y backend.Tensor) {
	if !p.ok(backend.CheckSame("GELU", x, y)) {
		return
	}
	n := x.Len()
	p.dispatch("gelu", p.elementSpec(), p.elementGrid(n), pushConstants(n), x, y)
}

// GELUBackward records dx = dy·(Φ(x) + x·φ(x)) from GELU's input x. dx may
// be dy.
func (p *Program) GELUBackward(x, dy, dx backend.Tensor) {
	if !p.ok(backend.CheckSame("GELUBackward", x, dy, dx)) {
		return
	}
	n := x.Len()
	p.dispatch("gelu_backward", p.elementSpec(), p.elementGrid(n), pushConstants(n), x, dy, dx)
}

// Add records y = a + b; y may be a or b. It matches the CPU bit for bit.
func (p *Program) Add(a, b, y backend.Tensor) {
	if !p.ok(backend.CheckSame("Add", a, b, y)) {
		return
	}
	n := a.Len()
	p.dispatch("add", p.elementSpec(), p.elementGrid(n), pushConstants(n), a, b, y)
}

// Scale records y = alpha·x; y may be x. It matches the CPU bit for bit, and
// alpha 1 copies the bits (subnormals and NaN payloads included).
func (p *Program) Scale(x, y backend.Tensor, alpha float32) {
	if !p.ok(backend.CheckSame("Scale", x, y)) {
		return
	}
	n := x.Len()
	p.dispatch("scale", p.elementSpec(), p.elementGrid(n), pushConstants(n, alpha), x, y)
}
