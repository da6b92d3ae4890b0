package cpu

import (
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// foreign is a tensor of some other backend.
type foreign struct{}

func (foreign) Shape() []int         { return []int{1} }
func (foreign) DType() backend.DType { return backend.F32 }
func (foreign) Len() int             { return 1 }

// TestProgramErrors records bad op calls and checks that each one is an
// error from Err and Run naming the op, never a panic, and that a later bad
// call does not replace the first error.
func TestProgramErrors(t *testing.T) {
	b := New()
	f := func(shape ...int) backend.Tensor { return newF32(t, b, nil, shape...) }
	u := func(shape ...int) backend.Tensor { return newU32(t, b, nil, shape...) }
	ctr := u(2)
	cases := []struct {
		name string
		rec  func(p backend.Program)
		want string // substring of the error
	}{
		{"conv channels", func(p backend.Program) { p.Conv2d(f(2, 3, 8, 8), f(4, 2, 3, 3), f(4), f(2, 4, 8, 8), 1, 1) }, "Conv2d: x [2 3 8 8] has 3 channels"},
		{"conv output shape", func(p backend.Program) { p.Conv2d(f(2, 3, 8, 8), f(4, 3, 3, 3), f(4), f(2, 4, 6, 6), 1, 1) }, "y has shape [2 4 6 6], want [2 4 8 8]"},
		{"conv bias", func(p backend.Program) { p.Conv2d(f(2, 3, 8, 8), f(4, 3, 3, 3), f(5), f(2, 4, 8, 8), 1, 1) }, "b has shape [5], want [4]"},
		{"conv stride", func(p backend.Program) { p.Conv2d(f(2, 3, 8, 8), f(4, 3, 3, 3), f(4), f(2, 4, 8, 8), 0, 1) }, "stride 0"},
		{"conv kernel too big", func(p backend.Program) { p.Conv2d(f(1, 1, 2, 2), f(1, 1, 5, 5), nil, f(1, 1, 1, 1), 1, 1) }, "does not fit"},
		{"conv rank", func(p backend.Program) { p.Conv2d(f(3, 8, 8), f(4, 3, 3, 3), f(4), f(2, 4, 8, 8), 1, 1) }, "x has shape [3 8 8], want 4 dimensions"},
		{"conv backward data dy", func(p backend.Program) { p.Conv2dBackwardData(f(2, 4, 7, 8), f(4, 3, 3, 3), f(2, 3, 8, 8), 1, 1) }, "Conv2dBackwardData: dy has shape"},
		{"conv backward weights dw", func(p backend.Program) {
			p.Conv2dBackwardWeights(f(2, 3, 8, 8), f(2, 4, 8, 8), f(4, 2, 3, 3), f(4), 1, 1)
		}, "Conv2dBackwardWeights"},
		{"conv in place", func(p backend.Program) { x := f(1, 1, 4, 4); p.Conv2d(x, f(1, 1, 1, 1), nil, x, 1, 0) }, "share storage"},
		{"matmul inner", func(p backend.Program) { p.MatMul(f(3, 4), f(5, 6), f(3, 6), false, false) }, "inner dimensions differ"},
		{"matmul output", func(p backend.Program) { p.MatMul(f(3, 4), f(6, 4), f(3, 4), false, true) }, "c has shape [3 4], want [3 6]"},
		{"matmul dtype", func(p backend.Program) { p.MatMul(u(3, 4), f(4, 6), f(3, 6), false, false) }, "a is uint32[3 4], want float32"},
		{"nil tensor", func(p backend.Program) { p.MatMul(nil, f(4, 6), f(3, 6), false, false) }, "MatMul: a is missing"},
		{"foreign tensor", func(p backend.Program) { p.ReLU(foreign{}, f(1)) }, "not a cpu tensor"},
		{"add bias", func(p backend.Program) { p.AddBias(f(3, 4), f(3)) }, "AddBias: b has shape [3], want [4]"},
		{"bias grad", func(p backend.Program) { p.BiasGrad(f(3, 4), f(3)) }, "BiasGrad"},
		{"relu shapes", func(p backend.Program) { p.ReLU(f(2, 3), f(3, 2)) }, "ReLU: x has shape [2 3], y has [3 2]"},
		{"relu backward", func(p backend.Program) { p.ReLUBackward(f(6), f(6), f(5)) }, "ReLUBackward"},
		{"dropout p", func(p backend.Program) { p.Dropout(f(6), f(6), ctr, 1, 0, 0) }, "Dropout: probability 1"},
		{"dropout ctr", func(p backend.Program) { p.Dropout(f(6), f(6), u(3), 0.5, 0, 0) }, "ctr has shape [3], want [2]"},
		{"dropout backward", func(p backend.Program) { p.DropoutBackward(f(6), f(6), ctr, -0.1, 0, 0) }, "DropoutBackward"},
		{"pool kernel", func(p backend.Program) { p.MaxPool2d(f(1, 1, 3, 3), f(1, 1, 1, 1), u(1, 1, 1, 1), 4, 1) }, "kernel 4 does not fit"},
		{"pool argmax dtype", func(p backend.Program) { p.MaxPool2d(f(1, 1, 4, 4), f(1, 1, 2, 2), f(1, 1, 2, 2), 2, 2) }, "argmax is float32"},
		{"pool backward", func(p backend.Program) { p.MaxPool2dBackward(f(1, 1, 3, 3), u(1, 1, 2, 2), f(1, 1, 4, 4), 2, 2) }, "MaxPool2dBackward: dy has shape [1 1 3 3], want [1 1 2 2]"},
		{"softmax labels", func(p backend.Program) {
			p.SoftmaxCrossEntropy(f(4, 10), u(3), f(4, 10), f(1), u(1), backend.LossParams{})
		}, "labels has shape [3], want [4]"},
		{"softmax loss", func(p backend.Program) { p.SoftmaxCrossEntropy(f(4, 10), u(4), nil, f(2), u(1), backend.LossParams{}) }, "loss has shape [2], want [1]"},
		{"argmax", func(p backend.Program) { p.Argmax(f(4, 10), u(5)) }, "Argmax"},
		{"sgd shapes", func(p backend.Program) { p.SGD(f(4), f(5), f(4), backend.SGDParams{LR: 1}) }, "SGD: p has shape [4], g has [5]"},
		{"sgd needs buf", func(p backend.Program) { p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 1, Momentum: 0.9}) }, "SGD: buf is missing"},
		{"gather x", func(p backend.Program) {
			r, _ := b.NewTensor(backend.U8, 2, backend.RecordSize)
			p.Gather(r, u(4), ctr, f(2, 3, 32, 31), u(2), backend.GatherParams{})
		}, "Gather: records has shape [2 3073], want [2 2977] (a label byte and 3x32x31 pixels, as x [2 3 32 31])"},
		{"gather records", func(p backend.Program) {
			r, _ := b.NewTensor(backend.U8, 2, 3072)
			p.Gather(r, u(4), ctr, f(2, 3, 32, 32), u(2), backend.GatherParams{})
		}, "records has shape [2 3072], want [2 3073]"},
		{"step", func(p backend.Program) { p.Step(f(2)) }, "Step: ctr is float32[2], want uint32"},
		// Rules the CPU shares with the Vulkan backend through backend.Check*.
		{"typed nil tensor", func(p backend.Program) { p.ReLU((*Tensor)(nil), f(1)) }, "ReLU: x is missing"},
		{"sgd hyperparameters", func(p backend.Program) { p.SGD(f(4), f(4), nil, backend.SGDParams{LR: -1}) }, "SGD: lr -1"},
		{"gather pad", func(p backend.Program) {
			r, _ := b.NewTensor(backend.U8, 2, backend.RecordSize)
			p.Gather(r, u(4), ctr, f(2, 3, 32, 32), u(2), backend.GatherParams{Pad: backend.ImageSide + 1})
		}, "Gather: crop padding 33"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			p.ReLU(f(3), f(3)) // a good op first: errors must not depend on position
			tc.rec(p)
			err := p.Err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err() = %v, want an error containing %q", err, tc.want)
			}
			p.MatMul(f(1, 2), f(3, 4), f(1, 4), false, false) // a second bad op
			if p.Err() != err {
				t.Errorf("a later bad op replaced the first error with %v", p.Err())
			}
			if rerr := p.Run(1); rerr != err {
				t.Errorf("Run = %v, want the recording error %v", rerr, err)
			}
		})
	}
}

// TestProgramLifecycle checks the rules around Run: ops after the first Run
// and any use after Close are errors, Run(0) does nothing, and Run(n) runs n
// times.
func TestProgramLifecycle(t *testing.T) {
	b := New()
	ctr := newU32(t, b, []uint32{0, 0}, 2)
	p := b.NewProgram()
	p.Step(ctr)
	if err := p.Run(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(3); err != nil {
		t.Fatal(err)
	}
	if c := getU32(t, b, ctr); c[0] != 3 || c[1] != 3 {
		t.Fatalf("ctr = %v after Run(0) and Run(3), want [3 3]", c)
	}
	if err := p.Run(-1); err == nil {
		t.Error("Run(-1): no error")
	}
	p.Step(ctr)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "after the program's first Run") {
		t.Errorf("op after Run: Err() = %v", err)
	}
	q := b.NewProgram()
	q.Step(ctr)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Run(1); err == nil {
		t.Error("Run after Close: no error")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunErrors checks that bad tensor contents found while running are
// errors from Run, not panics.
func TestRunErrors(t *testing.T) {
	b := New()
	t.Run("label out of range", func(t *testing.T) {
		p := b.NewProgram()
		p.SoftmaxCrossEntropy(newF32(t, b, nil, 2, 3), newU32(t, b, []uint32{0, 3}, 2), nil, newF32(t, b, nil, 1), newU32(t, b, nil, 1), backend.LossParams{})
		if err := p.Run(1); err == nil || !strings.Contains(err.Error(), "label 3 of row 1") {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("argmax out of range", func(t *testing.T) {
		p := b.NewProgram()
		p.MaxPool2dBackward(newF32(t, b, nil, 1, 2, 1, 1), newU32(t, b, []uint32{3, 4}, 1, 2, 1, 1), newF32(t, b, nil, 1, 2, 2, 2), 2, 2)
		if err := p.Run(1); err == nil || !strings.Contains(err.Error(), "argmax 4 at plane 1") {
			t.Fatalf("Run = %v", err)
		}
	})
}

// TestTensors covers NewTensor, View (sharing, prefix, growing back within
// the storage, limits) and the strictness of Upload and Download.
func TestTensors(t *testing.T) {
	b := New()
	if b.Name() != "cpu" {
		t.Errorf("Name = %q", b.Name())
	}
	for _, shape := range [][]int{{}, {0}, {3, -1}} {
		if _, err := b.NewTensor(backend.F32, shape...); err == nil {
			t.Errorf("NewTensor%v: no error", shape)
		}
	}
	x := newF32(t, b, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if s := x.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 3 || x.Len() != 6 || x.DType() != backend.F32 {
		t.Fatalf("tensor: shape %v len %d dtype %v", s, x.Len(), x.DType())
	}
	x.Shape()[0] = 99 // must not reach the tensor
	if x.Shape()[0] != 2 {
		t.Error("Shape returned the tensor's own slice")
	}
	prefix, err := b.View(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := getF32(t, b, prefix); !equalF32(got, []float32{1, 2, 3, 4}) {
		t.Errorf("prefix view = %v", got)
	}
	upload(t, b, prefix, []float32{9, 9, 9, 9})
	if got := getF32(t, b, x); !equalF32(got, []float32{9, 9, 9, 9, 5, 6}) {
		t.Errorf("write through the view: x = %v", got)
	}
	whole, err := b.View(prefix, 3, 2)
	if err != nil {
		t.Fatalf("view of a view back to the storage size: %v", err)
	}
	if whole.Len() != 6 {
		t.Errorf("view len %d", whole.Len())
	}
	for _, shape := range [][]int{{7}, {2, 0}, {}} {
		if _, err := b.View(x, shape...); err == nil {
			t.Errorf("View%v of 6 elements: no error", shape)
		}
	}
	if _, err := b.View(foreign{}, 1); err == nil {
		t.Error("View of a foreign tensor: no error")
	}
	bad := []struct {
		name string
		err  error
	}{
		{"short upload", b.Upload(x, []float32{1})},
		{"dtype upload", b.Upload(x, []uint32{1, 2, 3, 4, 5, 6})},
		{"type upload", b.Upload(x, []float64{1, 2, 3, 4, 5, 6})},
		{"long download", b.Download(x, make([]float32, 7))},
		{"dtype download", b.Download(x, make([]uint8, 6))},
		{"nil upload", b.Upload(nil, []float32{1})},
	}
	for _, c := range bad {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	r, err := b.NewTensor(backend.U8, 3)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, b, r, []uint8{7, 8, 9})
	got := make([]uint8, 3)
	if err := b.Download(r, got); err != nil || got[2] != 9 {
		t.Errorf("uint8 round trip: %v %v", got, err)
	}
}
