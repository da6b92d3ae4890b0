package layers

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
)

// tinyGraph uses every module kind a zoo network does, at sizes a finite
// difference check affords: BatchNorm (one with a frozen weight), GELU, a
// residual block with a projection shortcut and one with the identity,
// bias-free convolutions, average and global max pooling, a bias-free
// linear layer and a constant scale, for 3 classes of 3x8x8 images.
func tinyGraph() *Model {
	return &Model{Layers: []Layer{
		NewConv2dNoBias("stem", 3, 4, 3, 1, 1),
		NewBatchNorm2d("bn", 4, 1e-5, 0.1, false),
		GELU{},
		&Residual{
			Body: []Layer{
				NewConv2dNoBias("down.conv1", 4, 6, 3, 2, 1),
				NewBatchNorm2d("down.bn1", 6, 1e-5, 0.1, true),
				ReLU{},
				NewConv2d("down.conv2", 6, 6, 3, 1, 1),
			},
			Shortcut: []Layer{NewConv2dNoBias("down.shortcut.0", 4, 6, 1, 2, 0), NewBatchNorm2d("down.shortcut.1", 6, 1e-5, 0.1, false)},
		},
		&Residual{Body: []Layer{NewConv2d("same.conv", 6, 6, 3, 1, 1), GELU{}}},
		AvgPool2d{Kernel: 2},
		MaxPool2d{Global: true},
		Flatten{},
		NewLinearNoBias("head", 6, 3),
		Scale{Factor: 0.5},
	}}
}

// graphStep is one recorded training step of a model on a fixed batch,
// without the optimizer, so that running it again recomputes the loss and
// the gradients of the same weights.
type graphStep struct {
	b    backend.Backend
	m    *Model
	loss backend.Tensor
	p    backend.Program
	n    int
}

func newGraphStep(t *testing.T, b backend.Backend, m *Model, rng *rand.Rand, n, c, h, w, classes int) *graphStep {
	t.Helper()
	x, err := b.NewTensor(backend.F32, n, c, h, w)
	if err != nil {
		t.Fatal(err)
	}
	pixels := make([]float32, x.Len())
	for i := range pixels {
		pixels[i] = float32(rng.NormFloat64())
	}
	labels := make([]uint32, n)
	for i := range labels {
		labels[i] = uint32(rng.IntN(classes))
	}
	lt, _ := b.NewTensor(backend.U32, n)
	loss, _ := b.NewTensor(backend.F32, 1)
	correct, _ := b.NewTensor(backend.U32, 1)
	for _, up := range []error{b.Upload(x, pixels), b.Upload(lt, labels)} {
		if up != nil {
			t.Fatal(up)
		}
	}
	nt, err := m.bind(b, x, true, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := b.NewProgram()
	nt.Forward(p)
	p.SoftmaxCrossEntropy(nt.Out(), lt, nt.DOut(), loss, correct, backend.LossParams{})
	nt.Backward(p)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	return &graphStep{b: b, m: m, loss: loss, p: p, n: n}
}

// run returns the mean loss of the current weights (and leaves their
// gradients in the parameters' Grad tensors).
func (g *graphStep) run(t *testing.T) float64 {
	t.Helper()
	if err := g.b.Upload(g.loss, []float32{0}); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Run(1); err != nil {
		t.Fatal(err)
	}
	l := make([]float32, 1)
	if err := g.b.Download(g.loss, l); err != nil {
		t.Fatal(err)
	}
	return float64(l[0]) / float64(g.n)
}

// randomWeights gives every float entry random values (BatchNorm's weight
// and bias too, so that they matter) and uploads them.
func randomWeights(t *testing.T, b backend.Backend, m *Model, rng *rand.Rand) map[string][]float32 {
	t.Helper()
	w := map[string][]float32{}
	for _, p := range m.Params() {
		v := make([]float32, p.Len())
		for i := range v {
			switch {
			case p.Kind == Counter:
			case strings.HasSuffix(p.Name, "running_var"):
				v[i] = 0.5 + rng.Float32()
			default:
				v[i] = rng.Float32() - 0.5
			}
		}
		w[p.Name] = v
	}
	if err := m.SetWeights(b, w); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestGraphGradients checks the gradients that backward through the whole
// graph gives every trained parameter (through residual joins, fan-out,
// BatchNorm, GELU and the pools) against central differences of the loss.
// A frozen parameter must get no gradient tensor at all.
func TestGraphGradients(t *testing.T) {
	b := cpu.New()
	m := tinyGraph()
	if err := m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	w := randomWeights(t, b, m, rng)
	g := newGraphStep(t, b, m, rng, 4, 3, 8, 8, 3)
	g.run(t)
	grads := map[string][]float32{}
	for _, p := range m.Params() {
		if !p.Trains() {
			if p.Grad != nil {
				t.Errorf("%s does not train but has a gradient tensor", p.Name)
			}
			continue
		}
		v := make([]float32, p.Len())
		if err := b.Download(p.Grad, v); err != nil {
			t.Fatal(err)
		}
		grads[p.Name] = v
	}
	if len(grads) != 13 {
		t.Fatalf("%d trained parameters, want 13 (all but down.bn1.weight)", len(grads))
	}
	const h = 2e-3
	for _, p := range m.Params() {
		if !p.Trains() {
			continue
		}
		var diff, norm float64
		for _, i := range sample(rng, p.Len(), 12) {
			orig := w[p.Name][i]
			at := func(v float32) float64 {
				vals := slices.Clone(w[p.Name])
				vals[i] = v
				if err := b.Upload(p.Value, vals); err != nil {
					t.Fatal(err)
				}
				return g.run(t)
			}
			num := (at(orig+h) - at(orig-h)) / (2 * h)
			at(orig)
			got := float64(grads[p.Name][i])
			diff += (got - num) * (got - num)
			norm += num * num
		}
		if rel := math.Sqrt(diff / max(norm, 1e-12)); !(rel < 2e-2) {
			t.Errorf("%s: backward's gradient differs from finite differences by %.3g (relative)", p.Name, rel)
		}
	}
}

// sample picks up to k distinct indices below n.
func sample(rng *rand.Rand, n, k int) []int {
	p := rng.Perm(n)
	return p[:min(n, k)]
}

// TestBatchNormRunningStats: a training step moves the running statistics
// and counts the step in num_batches_tracked; evaluation uses the running
// statistics (so the same image gives the same logits whatever else is in
// its batch).
func TestBatchNormRunningStats(t *testing.T) {
	b := cpu.New()
	m := tinyGraph()
	if err := m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	if err := m.Init(b, 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	g := newGraphStep(t, b, m, rng, 4, 3, 8, 8, 3)
	before, _ := m.Weights(b)
	g.run(t)
	after, _ := m.Weights(b)
	if slices.Equal(before["bn.running_mean"], after["bn.running_mean"]) || slices.Equal(before["bn.running_var"], after["bn.running_var"]) {
		t.Error("a training forward left bn's running statistics as they were")
	}
	m.advance(3)
	if w, _ := m.Weights(b); w["bn.num_batches_tracked"][0] != 3 {
		t.Errorf("num_batches_tracked = %v after 3 steps, want 3", w["bn.num_batches_tracked"])
	}

	pixels := make([]float32, 2*3*8*8)
	for i := range pixels {
		pixels[i] = rng.Float32()
	}
	both, err := m.Logits(b, pixels, 2, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	one, err := m.Logits(b, pixels[:3*8*8], 1, 3, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(both[:3], one) {
		t.Errorf("evaluation logits of an image depend on its batch: %v alone, %v beside another", one, both[:3])
	}
}

// miniResNet is a ResNet at CIFAR's input size, small enough for lavapipe:
// a strided stem, an identity block and a downsampling block with a
// projection shortcut, global average pooling, a linear classifier.
func miniResNet() *Model {
	block := func(name string, in, out, stride int) *Residual {
		r := &Residual{Body: []Layer{
			NewConv2dNoBias(name+".conv1", in, out, 3, stride, 1), NewBatchNorm2d(name+".bn1", out, 1e-5, 0.1, false), ReLU{},
			NewConv2dNoBias(name+".conv2", out, out, 3, 1, 1), NewBatchNorm2d(name+".bn2", out, 1e-5, 0.1, false),
		}}
		if stride != 1 || in != out {
			r.Shortcut = []Layer{NewConv2dNoBias(name+".shortcut.0", in, out, 1, stride, 0), NewBatchNorm2d(name+".shortcut.1", out, 1e-5, 0.1, false)}
		}
		return r
	}
	return &Model{
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25},
		Layers: []Layer{
			NewConv2dNoBias("conv1", 3, 8, 3, 2, 1), NewBatchNorm2d("bn1", 8, 1e-5, 0.1, false), ReLU{},
			block("layer1.0", 8, 8, 1), ReLU{},
			block("layer2.0", 8, 16, 2), ReLU{},
			AvgPool2d{Global: true}, Flatten{}, NewLinear("linear", 16, backend.NumClasses),
		},
	}
}

// miniAirbench has airbench's pieces at CIFAR's input size: a 2x2
// unpadded convolution, GELU, BatchNorm with a frozen weight, pooling in
// floor mode (31 → 15 → 5), global max pooling, a bias-free head and a
// scale of the logits.
func miniAirbench() *Model {
	return &Model{
		Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616},
		Layers: []Layer{
			NewConv2d("whiten", 3, 8, 2, 1, 0), GELU{},
			NewConv2dNoBias("block1.conv1", 8, 12, 3, 1, 1), MaxPool2d{Kernel: 2},
			NewBatchNorm2d("block1.norm1", 12, 1e-12, 0.4, true), GELU{},
			MaxPool2d{Kernel: 3}, MaxPool2d{Global: true}, Flatten{},
			NewLinearNoBias("head", 12, backend.NumClasses), Scale{Factor: 1.0 / 9},
		},
	}
}

var graphModels = map[string]func() *Model{"resnet": miniResNet, "airbench": miniAirbench}

// TestGraphBackendsAgree: from the same weights, the first steps' losses of
// networks with residual blocks, BatchNorm and GELU agree between the CPU
// reference and Vulkan.
func TestGraphBackendsAgree(t *testing.T) {
	bs := backends(t)
	if bs["vulkan"] == nil {
		t.Skip("no Vulkan device: nothing to compare the CPU reference with")
	}
	const steps = 10
	train, test := easyData(steps*quick.BatchSize, 10, 8)
	for name, newModel := range graphModels {
		t.Run(name, func(t *testing.T) {
			want := stepLosses(t, bs["cpu"], newModel, train, test, steps)
			got := stepLosses(t, bs["vulkan"], newModel, train, test, steps)
			if len(want) != steps || len(got) != steps {
				t.Fatalf("got %d and %d step losses, want %d", len(want), len(got), steps)
			}
			for i := range want {
				if rel := math.Abs(got[i]-want[i]) / math.Abs(want[i]); !(rel <= 1e-3) {
					t.Errorf("step %d: loss %.6f on Vulkan, %.6f on the CPU (relative difference %.2g)", i, got[i], want[i], rel)
				}
			}
			if slices.Equal(want[:3], want[3:6]) {
				t.Error("losses do not change from step to step: is the model learning at all?")
			}
		})
	}
}

// TestGraphLearns: both networks learn the synthetic data set on every
// backend, and the evaluation (running statistics) sees it too.
func TestGraphLearns(t *testing.T) {
	train, test := easyData(480, 200, 9)
	for bname, b := range backends(t) {
		for name, newModel := range graphModels {
			t.Run(bname+"/"+name, func(t *testing.T) {
				m := newModel()
				if err := m.Alloc(b); err != nil {
					t.Fatal(err)
				}
				if err := m.Init(b, 2); err != nil {
					t.Fatal(err)
				}
				tr, err := NewTrainer(b, m, quick, train, test)
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				var acc float64
				for epoch := range 6 {
					if _, err := tr.Epoch(context.Background(), epoch, nil); err != nil {
						t.Fatal(err)
					}
					if _, acc, _, err = tr.Evaluate(); err != nil {
						t.Fatal(err)
					}
					if acc >= 0.9 {
						break
					}
				}
				if acc < 0.9 {
					t.Errorf("held-out accuracy %.2f after training, want >= 0.90", acc)
				}
			})
		}
	}
}
