package cpu

import "github.com/vkcnn/vkcnn/backend"

// TODO(stub): replaced by the real implementation.
func (p *Program) BatchNorm2d(x, y backend.Tensor, t backend.BatchNormTensors, o backend.BatchNormParams) {
	p.fail("BatchNorm2d", "not implemented")
}
func (p *Program) BatchNorm2dBackward(x, dy, dx backend.Tensor, t backend.BatchNormTensors, dWeight, dBias backend.Tensor) {
	p.fail("BatchNorm2dBackward", "not implemented")
}
