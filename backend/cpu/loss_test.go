package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// naiveSCE is the textbook definition in float64: per-row loss
// -Σ_j target_j·log p_j with target = (1-eps)·onehot + eps/M, summed;
// first-max accuracy; and the gradient p - target of the summed loss, over N
// unless sum (the mean loss's gradient).
func naiveSCE(x []float32, labels []uint32, m int, eps float64, sum bool) (loss float64, correct uint32, d []float64) {
	n := len(labels)
	scale := 1 / float64(n)
	if sum {
		scale = 1
	}
	d = make([]float64, n*m)
	for i, l := range labels {
		row := x[i*m:][:m]
		arg := 0
		for j := range row {
			if row[j] > row[arg] {
				arg = j
			}
		}
		if arg == int(l) {
			correct++
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v))
		}
		for j, v := range row {
			target := eps / float64(m)
			if j == int(l) {
				target += 1 - eps
			}
			p := math.Exp(float64(v)) / z
			loss -= target * math.Log(p)
			d[i*m+j] = (p - target) * scale
		}
	}
	return loss, correct, d
}

// lossParams are the variants every loss test covers: PyTorch's default,
// label smoothing of 0.1 (airbench's and the usual ImageNet choice) and
// 0.2, each with the mean's and the sum's gradient.
var lossParams = func() []backend.LossParams {
	var ps []backend.LossParams
	for _, eps := range []float32{0, 0.1, 0.2} {
		for _, sum := range []bool{false, true} {
			ps = append(ps, backend.LossParams{LabelSmoothing: eps, Sum: sum})
		}
	}
	return ps
}()

// TestSoftmaxCrossEntropy checks loss, accuracy and dlogits against the
// definition, and that loss and correct accumulate over runs.
func TestSoftmaxCrossEntropy(t *testing.T) {
	for _, sh := range [][2]int{{3, 7}, {1, 2}, {32, 10}, {5, 100}, {4, 1}} {
		for _, o := range lossParams {
			t.Run(fmt.Sprintf("%dx%d/eps=%v/sum=%v", sh[0], sh[1], o.LabelSmoothing, o.Sum), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(21, uint64(sh[0]*1000+sh[1])))
				b := New()
				n, m := sh[0], sh[1]
				xv := uniform(rng, n*m)
				for i := range xv {
					xv[i] *= 4
				}
				lv := make([]uint32, n)
				for i := range lv {
					lv[i] = uint32(rng.IntN(m))
				}
				lv[0] = 0
				xv[0] = 9 // row 0 is predicted right, so correct cannot be 0 by accident
				x := newF32(t, b, xv, n, m)
				labels := newU32(t, b, lv, n)
				d := newF32(t, b, nil, n, m)
				loss := newF32(t, b, []float32{0.5}, 1)
				correct := newU32(t, b, []uint32{2}, 1)
				p := b.NewProgram()
				p.SoftmaxCrossEntropy(x, labels, d, loss, correct, o)
				if err := p.Run(2); err != nil {
					t.Fatal(err)
				}
				wantLoss, wantCorrect, wantD := naiveSCE(xv, lv, m, float64(o.LabelSmoothing), o.Sum)
				checkRel(t, "loss", getF32(t, b, loss), []float64{0.5 + 2*wantLoss}, 1e-6)
				if got := getU32(t, b, correct)[0]; got != 2+2*wantCorrect {
					t.Errorf("correct = %d, want %d", got, 2+2*wantCorrect)
				}
				checkRel(t, "dlogits", getF32(t, b, d), wantD, 1e-6)
			})
		}
	}
}

// TestSoftmaxCrossEntropyGradient checks dlogits against finite differences
// of the op's own loss output, divided by N unless o.Sum (dlogits is then
// the gradient of the mean loss). The loss comes back as float32, so its
// rounding (~2e-7 relative) over 2·eps is the noise floor; eps = 1e-2 keeps
// that near 1e-5 while the O(eps²) truncation error of the smooth softmax
// stays below 1e-4, well inside fdTol. eps = 1e-3 would put the rounding
// noise near 1e-4. Label smoothing adds a term linear in the logits, which
// central differences take exactly.
func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	b := New()
	for _, o := range lossParams {
		for _, sh := range [][2]int{{3, 7}, {2, 5}, {1, 3}, {2, 10}} {
			t.Run(fmt.Sprintf("%dx%d/eps=%v/sum=%v", sh[0], sh[1], o.LabelSmoothing, o.Sum), func(t *testing.T) {
				n, m := sh[0], sh[1]
				xv := uniform(rng, n*m)
				lv := make([]uint32, n)
				for i := range lv {
					lv[i] = uint32(rng.IntN(m))
				}
				x := newF32(t, b, xv, n, m)
				labels := newU32(t, b, lv, n)
				d := newF32(t, b, nil, n, m)
				loss := newF32(t, b, nil, 1)
				correct := newU32(t, b, nil, 1)
				bwd := b.NewProgram()
				bwd.SoftmaxCrossEntropy(x, labels, d, loss, correct, o)
				run(t, bwd)
				fwd := b.NewProgram()
				fwd.SoftmaxCrossEntropy(x, labels, nil, loss, correct, o)
				reset := func() { upload(t, b, loss, []float32{0}) }
				r := []float32{float32(1 / float64(n))}
				if o.Sum {
					r[0] = 1
				}
				checkRel(t, "dlogits", getF32(t, b, d), numGrad(t, b, fwd, x, xv, loss, r, 1e-2, reset), fdTol)
			})
		}
	}
}

// TestSoftmaxCrossEntropyStable feeds logits whose exponentials overflow
// float32 and float64 alike; subtracting the row max must keep it finite.
func TestSoftmaxCrossEntropyStable(t *testing.T) {
	b := New()
	x := newF32(t, b, []float32{1000, 990, -1000, 1e30, 1e30, 0}, 2, 3)
	labels := newU32(t, b, []uint32{1, 1}, 2)
	d := newF32(t, b, nil, 2, 3)
	loss := newF32(t, b, []float32{0}, 1)
	correct := newU32(t, b, []uint32{0}, 1)
	p := b.NewProgram()
	p.SoftmaxCrossEntropy(x, labels, d, loss, correct, backend.LossParams{})
	run(t, p)
	// Row 0: loss = log(1+e^-10+...) + 10; row 1: log 2 (a tie, lost to the
	// first maximum for accuracy).
	want := math.Log1p(math.Exp(-10)) + 10 + math.Ln2
	checkRel(t, "loss", getF32(t, b, loss), []float64{want}, 1e-6)
	if c := getU32(t, b, correct)[0]; c != 0 {
		t.Errorf("correct = %d, want 0 (row 1's first maximum is column 0)", c)
	}
	for i, v := range getF32(t, b, d) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("dlogits[%d] = %v", i, v)
		}
	}
}

// TestArgmax checks the first-maximum rule on ties.
func TestArgmax(t *testing.T) {
	b := New()
	x := newF32(t, b, []float32{1, 3, 3, 0, -1, -1, -2, -1, 5, 5, 5, 5}, 3, 4)
	pred := newU32(t, b, nil, 3)
	p := b.NewProgram()
	p.Argmax(x, pred)
	run(t, p)
	want := []uint32{1, 0, 0}
	got := getU32(t, b, pred)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pred = %v, want %v", got, want)
		}
	}
}

// TestSoftmaxCrossEntropyErrors: a label smoothing outside [0,1) is refused
// when the op is recorded, and the program does not run.
func TestSoftmaxCrossEntropyErrors(t *testing.T) {
	b := New()
	for _, eps := range []float32{-0.1, 1, 1.5, float32(math.NaN()), float32(math.Inf(1))} {
		t.Run(fmt.Sprint(eps), func(t *testing.T) {
			p := b.NewProgram()
			p.SoftmaxCrossEntropy(newF32(t, b, nil, 2, 3), newU32(t, b, nil, 2), nil, newF32(t, b, nil, 1), newU32(t, b, nil, 1),
				backend.LossParams{LabelSmoothing: eps})
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), "label smoothing") {
				t.Errorf("recorded error %v, want one about the label smoothing", err)
			}
			if p.Run(1) == nil {
				t.Error("a program with an error ran")
			}
		})
	}
}
