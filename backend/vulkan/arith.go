package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// TODO(stub): replaced by the real implementation.
func (p *Program) GELU(x, y backend.Tensor) { p.fail(fmt.Errorf("GELU: not implemented")) }
func (p *Program) GELUBackward(x, dy, dx backend.Tensor) {
	p.fail(fmt.Errorf("GELUBackward: not implemented"))
}
func (p *Program) Add(a, b, y backend.Tensor) { p.fail(fmt.Errorf("Add: not implemented")) }
func (p *Program) Scale(x, y backend.Tensor, alpha float32) {
	p.fail(fmt.Errorf("Scale: not implemented"))
}
