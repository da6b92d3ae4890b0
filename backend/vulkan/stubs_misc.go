package vulkan

import "github.com/vkcnn/vkcnn/backend"

// Placeholders until the kernels land; each records an error.

func (p *Program) MaxPool2d(x, y, argmax backend.Tensor, kernel, stride int) { p.fail(errNotYet) }
func (p *Program) MaxPool2dBackward(dy, argmax, dx backend.Tensor, kernel, stride int) {
	p.fail(errNotYet)
}
func (p *Program) ReLU(x, y backend.Tensor)              { p.fail(errNotYet) }
func (p *Program) ReLUBackward(y, dy, dx backend.Tensor) { p.fail(errNotYet) }
func (p *Program) Dropout(x, y, ctr backend.Tensor, pr float32, seed, stream uint32) {
	p.fail(errNotYet)
}
func (p *Program) DropoutBackward(dy, dx, ctr backend.Tensor, pr float32, seed, stream uint32) {
	p.fail(errNotYet)
}
func (p *Program) SoftmaxCrossEntropy(logits, labels, dlogits, loss, correct backend.Tensor) {
	p.fail(errNotYet)
}
func (p *Program) Argmax(x, pred backend.Tensor)                      { p.fail(errNotYet) }
func (p *Program) SGD(pr, g, buf backend.Tensor, o backend.SGDParams) { p.fail(errNotYet) }
func (p *Program) Gather(records, indices, ctr, x, labels backend.Tensor, o backend.GatherParams) {
	p.fail(errNotYet)
}
func (p *Program) Step(ctr backend.Tensor) { p.fail(errNotYet) }
