package layers

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend/cpu"
)

// shapedData generates n records of c x h x w images a small CNN learns in
// a few epochs: class k is noise with a bright 3x3 block at a place of its
// own (a grid of 4-pixel steps), in every channel at a level that tells
// apart the classes sharing a place, so that the data has what MNIST, CIFAR-100 or an image folder give the
// trainer: other channel counts, sizes that are not 32 or not square, and
// other class counts. Blocks keep 3 pixels from the border, so that crops
// of up to 2 pixels keep them.
func shapedData(n, c, h, w, classes int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 29))
	rs := 1 + c*h*w
	cols, rows := max(1, (w-6)/4), max(1, (h-6)/4)
	out := make([]byte, n*rs)
	for i := range n {
		rec := out[i*rs:]
		k := i % classes
		rec[0] = byte(k)
		pos, variant := k%(cols*rows), k/(cols*rows)
		by, bx := 3+4*(pos/cols), 3+4*(pos%cols)
		for ch := range c {
			level := 150 + 100*((variant+ch)%3)/2
			for y := range h {
				for x := range w {
					v := rng.IntN(60)
					if y >= by && y < by+3 && x >= bx && x < bx+3 {
						v = level - rng.IntN(20)
					}
					rec[1+(ch*h+y)*w+x] = byte(v)
				}
			}
		}
	}
	return out
}

// shapedModel is conv-relu-maxpool-linear for c x h x w images.
func shapedModel(c, h, w, classes int) *Model {
	return &Model{Input: []int{c, h, w}, Layers: []Layer{
		NewConv2d("conv1", c, 8, 3, 1, 1), ReLU{}, MaxPool2d{Kernel: 2, Stride: 2},
		Flatten{}, NewLinear("fc", 8*(h/2)*(w/2), classes),
	}}
}

// inputCases are the shapes the input tests train on: MNIST's, normalized
// with its published figures; a non-square RGB image with 20 classes and
// reflect-padded crops of 1 pixel; four channels (the most Gather takes) with zero
// padding.
var inputCases = []struct {
	c, h, w, classes int
	mean, std        []float32
	aug              Augment
}{
	{1, 28, 28, 10, []float32{0.1307}, []float32{0.3081}, Augment{}},
	{3, 24, 20, 20, nil, nil, Augment{Pad: 1, Reflect: true}},
	{4, 16, 16, 4, []float32{0.5, 0.4, 0.3, 0.2}, []float32{0.25, 0.5, 1, 2}, Augment{Pad: 1}},
}

// TestLearnsShapes trains on images of other shapes than CIFAR-10's, on
// every backend, to well above chance; the trainer and evaluator take the
// shape from Model.Input.
func TestLearnsShapes(t *testing.T) {
	bs := backends(t)
	for _, ic := range inputCases {
		train := shapedData(40*ic.classes, ic.c, ic.h, ic.w, ic.classes, 1)
		test := shapedData(10*ic.classes, ic.c, ic.h, ic.w, ic.classes, 2)
		for name, b := range bs {
			t.Run(fmt.Sprintf("%dx%dx%d %d classes %s", ic.c, ic.h, ic.w, ic.classes, name), func(t *testing.T) {
				m := shapedModel(ic.c, ic.h, ic.w, ic.classes)
				m.Mean, m.Std = ic.mean, ic.std
				if err := m.Alloc(b); err != nil {
					t.Fatal(err)
				}
				if err := m.Init(b, 1); err != nil {
					t.Fatal(err)
				}
				c := quick
				c.Augment = ic.aug
				tr, err := NewTrainer(b, m, c, train, test)
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				var acc float64
				for epoch := range 8 {
					if _, err := tr.Epoch(context.Background(), epoch, nil); err != nil {
						t.Fatal(err)
					}
					if _, acc, _, err = tr.Evaluate(); err != nil {
						t.Fatal(err)
					}
					if acc >= 0.8 {
						break
					}
				}
				t.Logf("held-out accuracy %.2f (chance %.2f)", acc, 1/float64(ic.classes))
				if acc < 0.8 {
					t.Errorf("held-out accuracy %.2f after training, want >= 0.80", acc)
				}
			})
		}
	}
}

// TestBackendsAgreeShapes: for each input shape, the first 10 steps'
// losses agree between the CPU reference and Vulkan from the same weights.
func TestBackendsAgreeShapes(t *testing.T) {
	bs := backends(t)
	if bs["vulkan"] == nil {
		t.Skip("no Vulkan device: nothing to compare the CPU reference with")
	}
	for _, ic := range inputCases {
		t.Run(fmt.Sprintf("%dx%dx%d", ic.c, ic.h, ic.w), func(t *testing.T) {
			train := shapedData(10*quick.BatchSize, ic.c, ic.h, ic.w, ic.classes, 3)
			test := shapedData(10, ic.c, ic.h, ic.w, ic.classes, 4)
			model := func() *Model {
				m := shapedModel(ic.c, ic.h, ic.w, ic.classes)
				m.Mean, m.Std = ic.mean, ic.std
				return m
			}
			want := stepLosses(t, bs["cpu"], model, train, test, 10)
			got := stepLosses(t, bs["vulkan"], model, train, test, 10)
			if len(want) != 10 || len(got) != 10 {
				t.Fatalf("got %d and %d step losses, want 10", len(want), len(got))
			}
			for i := range want {
				if rel := math.Abs(got[i]-want[i]) / math.Abs(want[i]); !(rel <= 1e-3) {
					t.Errorf("step %d: loss %.6f on Vulkan, %.6f on the CPU (relative difference %.2g)", i, got[i], want[i], rel)
				}
			}
		})
	}
}

// TestTrainerRejectsOtherShapes: records of another size than the model's
// input, or an input Gather cannot take, are refused with the shapes named.
func TestTrainerRejectsOtherShapes(t *testing.T) {
	b := cpu.New()
	cifar, _ := easyData(20, 10, 1)
	mnist := shapedData(20, 1, 28, 28, 10, 1)
	for _, tc := range []struct {
		name        string
		m           *Model
		train, test []byte
		want        string
	}{
		{"CIFAR records, MNIST model", shapedModel(1, 28, 28, 10), cifar, mnist, "61460 bytes are not whole records of 785 bytes (a label byte and a 1x28x28 image"},
		{"MNIST records, CIFAR model", small(), mnist, cifar, "15700 bytes are not whole records of 3073 bytes"},
		{"MNIST test records, MNIST model with CIFAR's normalization", func() *Model {
			m := shapedModel(1, 28, 28, 10)
			m.Mean, m.Std = []float32{0.4914, 0.4822, 0.4465}, []float32{0.2470, 0.2435, 0.2616}
			return m
		}(), mnist, mnist, "normalization with 3 means and 3 deviations: the data has 1 channels"},
		{"five channels", shapedModel(5, 4, 4, 2), shapedData(20, 5, 4, 4, 2, 1), shapedData(4, 5, 4, 4, 2, 1), "want 1-4 channels"},
		{"bad input", &Model{Input: []int{3, 32}, Layers: small().Layers}, cifar, cifar, "model input [3 32]: want [C,H,W]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.Alloc(b); err != nil {
				t.Fatal(err)
			}
			tr, err := NewTrainer(b, tc.m, Config{BatchSize: 4}, tc.train, tc.test)
			if err == nil {
				tr.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}
