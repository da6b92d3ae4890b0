package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("bias_add", 8, gpu.ReadWrite, gpu.Read)
	register("bias_grad", 8, gpu.Read, gpu.Write)
}

// biasAddLocal is bias_add's workgroup size: a multiple of every subgroup
// size in use.
const biasAddLocal = 256

// bias_grad's workgroup: biasGradCols columns, each summed by biasGradRows
// threads (a power of two) whose partial sums a fixed tree adds.
const (
	biasGradCols = 32
	biasGradRows = 8
)

// AddBias records y[i,j] += b[j].
func (p *Program) AddBias(y, b backend.Tensor) {
	rows, cols, err := backend.CheckRows("AddBias", y, b)
	if !p.ok(err) {
		return
	}
	g := max(1, min(groups(rows*cols, biasAddLocal), 65535))
	p.dispatch("bias_add", []uint32{biasAddLocal}, [3]uint32{g, 1, 1}, pushConstants(rows, cols), y, b)
}

// BiasGrad records db[j] = sum over i of dy[i,j], in an order fixed by the
// shape, so that two runs give the same bits.
func (p *Program) BiasGrad(dy, db backend.Tensor) {
	rows, cols, err := backend.CheckRows("BiasGrad", dy, db)
	if !p.ok(err) {
		return
	}
	p.dispatch("bias_grad", []uint32{biasGradCols, biasGradRows}, [3]uint32{groups(cols, biasGradCols), 1, 1},
		pushConstants(rows, cols), dy, db)
}
