package vulkan

import (
	"fmt"
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// logitsInput is an [n,m] logit matrix: uniform in [-scale, scale), or, with
// ties, a few integer levels so that rows often hold equal maxima.
func (h *harness) logitsInput(n, m int, scale float32, ties bool) pair {
	v := make([]float32, n*m)
	for i := range v {
		if ties {
			v[i] = float32(h.rng.IntN(3)) - 0.5
		} else {
			v[i] = (h.rng.Float32()*2 - 1) * scale
		}
	}
	return h.inputValues(v, n, m)
}

var lossCases = []struct {
	n, m  int
	scale float32
	ties  bool
}{
	{32, 10, 3, false}, // the seed model's batch
	{1, 10, 3, false},
	{37, 3, 1, false},
	{1000, 10, 5, false},
	{3000, 10, 2, false}, // more rows than invocations
	{32, 10, 80, false},  // far from 0: needs the max subtracted
	{64, 10, 1, true},
	{5, 1, 1, false},
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	for _, c := range lossCases {
		for _, mode := range []string{"grad", "nograd", "inplace"} {
			t.Run(fmt.Sprintf("%dx%d/scale=%v/ties=%v/%s", c.n, c.m, c.scale, c.ties, mode), func(t *testing.T) {
				h := newHarness(t)
				logits := h.logitsInput(c.n, c.m, c.scale, c.ties)
				labels := h.inputU32(uint32(c.m), c.n)
				loss := h.inputValues([]float32{1.5}, 1)
				correct := h.alloc(backend.U32, []int{1})
				h.upload(correct, []uint32{7})
				var dl pair
				switch mode {
				case "grad":
					dl = h.output(backend.F32, c.n, c.m)
				case "inplace":
					dl = logits
				}
				// Two runs: both accumulate into loss and correct.
				h.run(2, func(o backend.Ops, s side) {
					var d backend.Tensor
					if mode != "nograd" {
						d = s(dl)
					}
					o.SoftmaxCrossEntropy(s(logits), s(labels), d, s(loss), s(correct), backend.LossParams{})
				})
				h.close("loss", loss, tolReduction)
				h.same("correct", correct)
				if mode != "nograd" {
					h.close("dlogits", dl, tolElementwise)
				}
				if mode != "inplace" {
					checkLossSpec(t, h, logits, labels, loss, correct, 2, backend.LossParams{}, nil)
				}
			})
		}
	}
}

// smoothCases are the shapes the label-smoothing variants run at: the seed's
// batch, odd class counts (7, 100) and batch sizes, one row, one class, and
// more rows than the workgroup has invocations.
var smoothCases = []struct {
	n, m  int
	scale float32
}{
	{32, 10, 3},
	{37, 7, 2},
	{13, 100, 4},
	{1, 10, 3},
	{5, 1, 1},
	{1000, 10, 5},
	{32, 10, 80},
}

// TestSoftmaxCrossEntropySmoothing runs label smoothing ε ∈ {0, 0.1, 0.2},
// each with the mean's and the sum's gradient, on both backends and checks
// the GPU's loss, hits and gradient against the CPU's and the spec.
func TestSoftmaxCrossEntropySmoothing(t *testing.T) {
	for _, c := range smoothCases {
		for _, eps := range []float32{0, 0.1, 0.2} {
			for _, sum := range []bool{false, true} {
				o := backend.LossParams{LabelSmoothing: eps, Sum: sum}
				t.Run(fmt.Sprintf("%dx%d/scale=%v/eps=%v/sum=%v", c.n, c.m, c.scale, eps, sum), func(t *testing.T) {
					h := newHarness(t)
					logits := h.logitsInput(c.n, c.m, c.scale, false)
					labels := h.inputU32(uint32(c.m), c.n)
					loss := h.inputValues([]float32{1.5}, 1)
					correct := h.alloc(backend.U32, []int{1})
					h.upload(correct, []uint32{7})
					dl := h.output(backend.F32, c.n, c.m)
					h.run(2, func(ops backend.Ops, s side) {
						ops.SoftmaxCrossEntropy(s(logits), s(labels), s(dl), s(loss), s(correct), o)
					})
					h.close("loss", loss, tolReduction)
					h.same("correct", correct)
					h.close("dlogits", dl, tolElementwise)
					checkLossSpec(t, h, logits, labels, loss, correct, 2, o, &dl)
				})
			}
		}
	}
}

// checkLossSpec recomputes loss and hits from the spec in float64, so that
// the two backends cannot agree on a wrong answer: per row -Σ_j
// target_j·log softmax_j with target = (1-ε)·onehot + ε/M, and, when dl is
// not nil, the gradient (softmax - target), over N unless o.Sum.
func checkLossSpec(t *testing.T, h *harness, logits, labels, loss, correct pair, runs int, o backend.LossParams, dl *pair) {
	t.Helper()
	x := h.floats(h.gpu, logits.gpu)
	l := h.uints(h.gpu, labels.gpu)
	m := len(x) / len(l)
	eps := float64(o.LabelSmoothing)
	scale := 1 / float64(len(l))
	if o.Sum {
		scale = 1
	}
	var total float64
	var hits uint32
	grad := make([]float64, len(x))
	for i, label := range l {
		row := x[i*m:][:m]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best == int(label) {
			hits++
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - row[best]))
		}
		for j, v := range row {
			target := eps / float64(m)
			if j == int(label) {
				target += 1 - eps
			}
			logp := float64(v-row[best]) - math.Log(sum)
			total -= target * logp
			grad[i*m+j] = (math.Exp(logp) - target) * scale
		}
	}
	wantLoss := 1.5 + float64(runs)*total
	if got := float64(h.floats(h.gpu, loss.gpu)[0]); math.Abs(got-wantLoss) > 1e-4*math.Abs(wantLoss) {
		t.Errorf("loss %v, the spec gives %v", got, wantLoss)
	}
	if got, want := h.uints(h.gpu, correct.gpu)[0], 7+uint32(runs)*hits; got != want {
		t.Errorf("correct %d, the spec gives %d", got, want)
	}
	if dl == nil {
		return
	}
	var diff, norm float64
	for i, g := range h.floats(h.gpu, dl.gpu) {
		d := float64(g) - grad[i]
		diff += d * d
		norm += grad[i] * grad[i]
	}
	// M = 1 makes every gradient 0 (softmax and target are both 1): the
	// absolute error is what is left to check.
	if rel := math.Sqrt(diff / max(norm, 1)); !(rel <= tolElementwise) {
		t.Errorf("dlogits: relative error %.3g from the spec", rel)
	}
}

// TestSoftmaxCrossEntropyDeterministic runs the reduction twice from the same
// inputs: the loss must have the same bits.
func TestSoftmaxCrossEntropyDeterministic(t *testing.T) {
	h := newHarness(t)
	b := h.gpu
	const n, m = 3000, 10
	logits := h.logitsInput(n, m, 4, false)
	labels := h.inputU32(m, n)
	var bits [2]uint32
	for run := range bits {
		loss := h.inputValues([]float32{0}, 1)
		correct := h.alloc(backend.U32, []int{1})
		h.upload(correct, []uint32{0})
		p := b.NewProgram()
		p.SoftmaxCrossEntropy(logits.gpu, labels.gpu, nil, loss.gpu, correct.gpu, backend.LossParams{})
		if err := p.Run(1); err != nil {
			t.Fatal(err)
		}
		p.Close()
		bits[run] = math.Float32bits(h.floats(b, loss.gpu)[0])
	}
	if bits[0] != bits[1] {
		t.Errorf("two runs: loss bits %#08x and %#08x", bits[0], bits[1])
	}
}

// TestSoftmaxCrossEntropyBadLabel checks what the GPU does with a label past
// the classes, an error the CPU reports but a kernel cannot: the loss turns
// NaN, and nothing is read or written out of place.
func TestSoftmaxCrossEntropyBadLabel(t *testing.T) {
	h := newHarness(t)
	b := h.gpu
	logits := h.logitsInput(4, 10, 1, false)
	labels := h.alloc(backend.U32, []int{4})
	h.upload(labels, []uint32{1, 2, 1 << 30, 3})
	loss := h.inputValues([]float32{0}, 1)
	correct := h.alloc(backend.U32, []int{1})
	h.upload(correct, []uint32{0})
	dl := h.output(backend.F32, 4, 10)
	p := b.NewProgram()
	p.SoftmaxCrossEntropy(logits.gpu, labels.gpu, dl.gpu, loss.gpu, correct.gpu, backend.LossParams{})
	if err := p.Run(1); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if v := h.floats(b, loss.gpu)[0]; !math.IsNaN(float64(v)) {
		t.Errorf("loss with a label past the classes: %v, want NaN", v)
	}
	for i, v := range h.floats(b, dl.gpu) {
		if math.IsNaN(float64(v)) {
			t.Fatalf("dlogits element %d not written", i)
		}
	}
}

func TestArgmax(t *testing.T) {
	for _, c := range lossCases {
		t.Run(fmt.Sprintf("%dx%d/ties=%v", c.n, c.m, c.ties), func(t *testing.T) {
			h := newHarness(t)
			x := h.logitsInput(c.n, c.m, c.scale, c.ties)
			pred := h.output(backend.U32, c.n)
			h.run(1, func(o backend.Ops, s side) { o.Argmax(s(x), s(pred)) })
			h.same("pred", pred)
			v, got := h.floats(h.gpu, x.gpu), h.uints(h.gpu, pred.gpu)
			for i, a := range got {
				row := v[i*c.m:][:c.m]
				for j := range int(a) {
					if row[j] >= row[a] {
						t.Fatalf("row %d: argmax %d, but column %d holds %v >= %v", i, a, j, row[j], row[a])
					}
				}
			}
		})
	}
}
