package vulkan

import (
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

func init() {
	register("softmax_ce", 28, gpu.Read, gpu.Read, gpu.Write, gpu.ReadWrite, gpu.ReadWrite)
	register("argmax", 8, gpu.Read, gpu.Write)
}

// SoftmaxCrossEntropy records loss[0] += the batch's summed cross-entropy
// against the target (1-ε)·onehot + ε/M (ε = o.LabelSmoothing), correct[0]
// += its hits and, unless dlogits is nil, dlogits = (softmax - target)/N, or
// without the 1/N when o.Sum. One workgroup reduces the batch in a fixed
// order, so repeated runs give the same bits. A label >= M (an error on the
// CPU) makes the loss NaN instead of reading past its row.
func (p *Program) SoftmaxCrossEntropy(logits, labels, dlogits, loss, correct backend.Tensor, o backend.LossParams) {
	if backend.Absent(dlogits) {
		dlogits = nil
	}
	n, m, err := backend.CheckLoss("SoftmaxCrossEntropy", logits, labels, dlogits, loss, correct, o)
	if !p.ok(err) {
		return
	}
	grad := dlogits != nil
	if !grad {
		// The binding still needs a buffer; loss is written by this
		// dispatch anyway, so standing in for dlogits adds no hazard.
		dlogits = loss
	}
	// The target's parts are formed here in float64 and each rounded once,
	// as close to the CPU's float64 values as a float32 can be (with one
	// class the label's target is exactly 1, as on the CPU).
	eps := float64(o.LabelSmoothing)
	on, off := 1-eps, eps/float64(m)
	// One workgroup of the element-wise size reduces the batch: a batch of
	// up to a few thousand rows of ~10 logits is a few microseconds' work,
	// less than a second dispatch to combine workgroups would cost.
	p.dispatch("softmax_ce", p.elementSpec(), [3]uint32{1, 1, 1},
		pushConstants(n, m, grad, o.Sum, float32(on), float32(off), float32(on+off)), logits, labels, dlogits, loss, correct)
}

// Argmax records pred[i] = the column of the first maximum of row i.
func (p *Program) Argmax(x, pred backend.Tensor) {
	n, m, err := backend.CheckArgmax("Argmax", x, pred)
	if !p.ok(err) {
		return
	}
	p.dispatch("argmax", p.elementSpec(), p.elementGrid(n), pushConstants(n, m), x, pred)
}
