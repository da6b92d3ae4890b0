package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// TODO(stub): replaced by the real implementation.
func (p *Program) BatchNorm2d(x, y backend.Tensor, t backend.BatchNormTensors, o backend.BatchNormParams) {
	p.fail(fmt.Errorf("BatchNorm2d: not implemented"))
}
func (p *Program) BatchNorm2dBackward(x, dy, dx backend.Tensor, t backend.BatchNormTensors, dWeight, dBias backend.Tensor) {
	p.fail(fmt.Errorf("BatchNorm2dBackward: not implemented"))
}
