package cpu

import "github.com/vkcnn/vkcnn/backend"

// TODO(stub): replaced by the real implementation.
func (p *Program) GELU(x, y backend.Tensor)                 { p.fail("GELU", "not implemented") }
func (p *Program) GELUBackward(x, dy, dx backend.Tensor)    { p.fail("GELUBackward", "not implemented") }
func (p *Program) Add(a, b, y backend.Tensor)               { p.fail("Add", "not implemented") }
func (p *Program) Scale(x, y backend.Tensor, alpha float32) { p.fail("Scale", "not implemented") }
