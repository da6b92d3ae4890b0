package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// TODO(stub): replaced by the real implementation.
func (p *Program) AvgPool2d(x, y backend.Tensor, kernel, stride int) {
	p.fail(fmt.Errorf("AvgPool2d: not implemented"))
}
func (p *Program) AvgPool2dBackward(dy, dx backend.Tensor, kernel, stride int) {
	p.fail(fmt.Errorf("AvgPool2dBackward: not implemented"))
}
