package cpu

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// SoftmaxCrossEntropy records the loss, accuracy count and gradient of a
// softmax classifier. Rows are few (a batch), so one goroutine does them in
// order and the loss sum is the same on every run. Exponentials are taken in
// float64 after subtracting the row max, which keeps them finite and the
// per-row losses accurate. dlogits may be nil, or logits itself.
func (p *Program) SoftmaxCrossEntropy(logits, labels, dlogits, loss, correct backend.Tensor, o backend.LossParams) {
	const op = "SoftmaxCrossEntropy"
	if !p.start(op) {
		return
	}
	n, m, err := backend.CheckLoss(op, logits, labels, dlogits, loss, correct)
	if !p.check(err) {
		return
	}
	xt, lt, dt := p.tensor(op, "logits", logits), p.tensor(op, "labels", labels), p.optTensor(op, "dlogits", dlogits)
	losst, ct := p.tensor(op, "loss", loss), p.tensor(op, "correct", correct)
	if p.err != nil {
		return
	}
	invN := 1 / float64(n)
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
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - mx)
			}
			total += math.Log(sum) - (float64(row[l]) - mx)
			if dt != nil {
				d := dt.f[i*m:][:m]
				for j, v := range row {
					g := math.Exp(float64(v)-mx) / sum
					if j == int(l) {
						g--
					}
					d[j] = float32(g * invN)
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
