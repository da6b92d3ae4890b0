package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("bias_add", 16, gpu.ReadWrite, gpu.Read)
	register("bias_grad", 8, gpu.Read, gpu.Write)
}

// biasGradCols is how many columns one bias_grad workgroup sums; each is
// summed by the workgroup's other dimension, local/biasGradCols threads (a
// power of two: 8 on every device that meets Requirements), whose partial
// sums a fixed tree adds.
const biasGradCols = 32

// AddBias records y[i,j] += b[j].
func (p *Program) AddBias(y, b backend.Tensor) {
	rows, cols, err := backend.CheckRows("AddBias", y, b)
	if !p.ok(err) {
		return
	}
	p.dispatch("bias_add", p.elementSpec(), p.elementGrid(rows*cols), pushConstants(append([]any{rows, cols}, divisors(cols)...)...), y, b)
}

// BiasGrad records db[j] = sum over i of dy[i,j], in an order fixed by the
// shape, so that two runs give the same bits.
func (p *Program) BiasGrad(dy, db backend.Tensor) {
	rows, cols, err := backend.CheckRows("BiasGrad", dy, db)
	if !p.ok(err) {
		return
	}
	wy := max(1, p.b.local/biasGradCols)
	p.dispatch("bias_grad", []uint32{biasGradCols, wy}, [3]uint32{groups(cols, biasGradCols), 1, 1},
		pushConstants(rows, cols), dy, db)
}
