package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// TODO(stub): replaced by the real implementation.
func (p *Program) Lookahead(param, ema, decay backend.Tensor) {
	p.fail(fmt.Errorf("Lookahead: not implemented"))
}
