package cpu

import "github.com/vkcnn/vkcnn/backend"

// TODO(stub): replaced by the real implementation.
func (p *Program) AvgPool2d(x, y backend.Tensor, kernel, stride int) {
	p.fail("AvgPool2d", "not implemented")
}
func (p *Program) AvgPool2dBackward(dy, dx backend.Tensor, kernel, stride int) {
	p.fail("AvgPool2dBackward", "not implemented")
}
