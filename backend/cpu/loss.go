package cpu

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// SoftmaxCrossEntropy records the loss, accuracy count and gradient of a
// softmax classifier, with PyTorch's label smoothing: the target is
// (1-ε)·onehot + ε/M. Rows are few (a batch), so one goroutine does them in
// order and the loss sum is the same on every run. Exponentials are taken in
// float64 after subtracting the row max, which keeps them finite and the
// per-row losses accurate. dlogits may be nil, or logits itself.
func (p *Program) SoftmaxCrossEntropy(logits, labels, dlogits, loss, correct backend.Tensor, o backend.LossParams) {
	const op = "SoftmaxCrossEntropy"
	if !p.start(op) {
		return
	}
	n, m, err := backend.CheckLoss(op, logits, labels, dlogits, loss, correct, o)
	if !p.check(err) {
		return
	}
	xt, lt, dt := p.tensor(op, "logits", logits), p.tensor(op, "labels", labels), p.optTensor(op, "dlogits", dlogits)
	losst, ct := p.tensor(op, "loss", loss), p.tensor(op, "correct", correct)
	if p.err != nil {
		return
	}
	scale := 1 / float64(n)
	if o.Sum {
		scale = 1
	}
	// With z = x - max and lse = log Σ exp z, -log p_j = lse - z_j, so a
	// row's loss is lse - on·z_label - off·Σz: three terms that are each >= 0,
	// added without cancellation. ε = 0 gives on = 1, off = 0 and exactly
	// the unsmoothed loss and gradient.
	eps := float64(o.LabelSmoothing)
	on, off := 1-eps, eps/float64(m)
	p.add(func() error {
		for i, l := range lt.u {
			if int(l) >= m {
				return fmt.Errorf("cpu: %s: label %d of row %d is not below the %d classes", op, l, i, m)
			}
		}
		var total float64
		var hits uint32
		for i, l := range lt.u {
			row := xt.f[i*m:][:m]
			best, arg := row[0], 0
			for j, v := range row {
				if v > best {
					best, arg = v, j
				}
			}
			if arg == int(l) {
				hits++
			}
			mx := float64(best)
			var sum, zsum float64
			for _, v := range row {
				z := float64(v) - mx
				sum += math.Exp(z)
				zsum += z
			}
			total += math.Log(sum) - on*(float64(row[l])-mx) - off*zsum
			if dt != nil {
				d := dt.f[i*m:][:m]
				for j, v := range row {
					g := math.Exp(float64(v)-mx)/sum - off
					if j == int(l) {
						g -= on
					}
					d[j] = float32(g * scale)
				}
			}
		}
		losst.f[0] = float32(float64(losst.f[0]) + total)
		ct.u[0] += hits
		return nil
	})
}

// Argmax records pred[i] = the first maximum of row i, the tie rule
// SoftmaxCrossEntropy counts accuracy with.
func (p *Program) Argmax(x, pred backend.Tensor) {
	const op = "Argmax"
	if !p.start(op) {
		return
	}
	_, m, err := backend.CheckArgmax(op, x, pred)
	if !p.check(err) {
		return
	}
	xt, pt := p.tensor(op, "x", x), p.tensor(op, "pred", pred)
	if p.err != nil {
		return
	}
	p.add(func() error {
		for i := range pt.u {
			row := xt.f[i*m:][:m]
			best, arg := row[0], 0
			for j, v := range row {
				if v > best {
					best, arg = v, j
				}
			}
			pt.u[i] = uint32(arg)
		}
		return nil
	})
}
