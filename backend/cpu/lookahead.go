package cpu

import "github.com/vkcnn/vkcnn/backend"

// TODO(stub): replaced by the real implementation.
func (p *Program) Lookahead(param, ema, decay backend.Tensor) { p.fail("Lookahead", "not implemented") }
