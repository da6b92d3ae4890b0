package vulkan

import (
	"errors"

	"github.com/vkcnn/vkcnn/backend"
)

// Placeholders until the kernels land; each records an error.
var errNotYet = errors.New("not implemented yet")

func (p *Program) Conv2d(x, w, b, y backend.Tensor, stride, pad int)              { p.fail(errNotYet) }
func (p *Program) Conv2dBackwardData(dy, w, dx backend.Tensor, stride, pad int)   { p.fail(errNotYet) }
func (p *Program) Conv2dBackwardWeights(x, dy, dw, db backend.Tensor, s, pad int) { p.fail(errNotYet) }
func (p *Program) MatMul(a, b, c backend.Tensor, transA, transB bool)             { p.fail(errNotYet) }
func (p *Program) AddBias(y, b backend.Tensor)                                    { p.fail(errNotYet) }
func (p *Program) BiasGrad(dy, db backend.Tensor)                                 { p.fail(errNotYet) }
