package backend

import (
	"strings"
	"testing"
)

// fake is a tensor of no backend: the checks see tensors only through the
// interface.
type fake struct {
	dt    DType
	shape []int
}

func (t *fake) Shape() []int { return t.shape }
func (t *fake) DType() DType { return t.dt }
func (t *fake) Len() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func f32(shape ...int) Tensor { return &fake{F32, shape} }
func u32(shape ...int) Tensor { return &fake{U32, shape} }
func u8(shape ...int) Tensor  { return &fake{U8, shape} }

// TestChecks runs each check on arguments it must accept (want "") and on
// ones it must reject with a message containing want. None may panic, on a
// nil interface or a typed nil pointer alike.
func TestChecks(t *testing.T) {
	var typedNil *fake
	sgd := SGDParams{LR: 0.1, Momentum: 0.9}
	cases := []struct {
		name  string
		check func() error
		want  string
	}{
		{"conv", func() error {
			_, err := CheckConv("Conv2d", f32(2, 3, 8, 8), f32(4, 3, 3, 3), f32(2, 4, 8, 8), 1, 1)
			return err
		}, ""},
		{"conv without output", func() error {
			_, err := CheckConv("Conv2d", f32(2, 3, 8, 8), f32(4, 3, 3, 3), typedNil, 2, 1)
			return err
		}, ""},
		{"conv channels", func() error { _, err := CheckConv("Conv2d", f32(2, 3, 8, 8), f32(4, 2, 3, 3), nil, 1, 1); return err }, "Conv2d: x [2 3 8 8] has 3 channels, w [4 2 3 3] expects 2"},
		{"conv stride", func() error { _, err := CheckConv("Conv2d", f32(2, 3, 8, 8), f32(4, 3, 3, 3), nil, 0, 1); return err }, "stride 0"},
		{"conv kernel", func() error { _, err := CheckConv("Conv2d", f32(1, 1, 2, 2), f32(1, 1, 5, 5), nil, 1, 1); return err }, "does not fit"},
		{"conv rank", func() error { _, err := CheckConv("Conv2d", f32(3, 8, 8), f32(4, 3, 3, 3), nil, 1, 1); return err }, "x has shape [3 8 8], want 4 dimensions"},
		{"conv missing weights", func() error { _, err := CheckConv("Conv2d", f32(2, 3, 8, 8), typedNil, nil, 1, 1); return err }, "Conv2d: w is missing"},
		{"conv backward data dy", func() error {
			_, err := CheckConv("Conv2dBackwardData", f32(2, 3, 8, 8), f32(4, 3, 3, 3), f32(2, 4, 7, 8), 1, 1)
			return err
		}, "Conv2dBackwardData: dy has shape [2 4 7 8], want [2 4 8 8]"},
		{"bias absent", func() error { return CheckBias("Conv2d", nil, 4) }, ""},
		{"bias typed nil", func() error { return CheckBias("Conv2d", typedNil, 4) }, ""},
		{"bias shape", func() error { return CheckBias("Conv2dBackwardWeights", f32(5), 4) }, "db has shape [5], want [4]"},
		{"pool", func() error {
			_, err := CheckPool("MaxPool2d", f32(1, 2, 4, 4), f32(1, 2, 2, 2), u32(1, 2, 2, 2), 2, 2)
			return err
		}, ""},
		{"pool kernel", func() error {
			_, err := CheckPool("MaxPool2d", f32(1, 1, 3, 3), f32(1, 1, 1, 1), u32(1, 1, 1, 1), 4, 1)
			return err
		}, "kernel 4 does not fit x [1 1 3 3]"},
		{"pool argmax dtype", func() error {
			_, err := CheckPool("MaxPool2d", f32(1, 1, 4, 4), f32(1, 1, 2, 2), f32(1, 1, 2, 2), 2, 2)
			return err
		}, "argmax is float32[1 1 2 2], want uint32"},
		{"matmul", func() error {
			_, _, _, err := CheckMatMul("MatMul", f32(4, 3), f32(6, 4), f32(3, 6), true, true)
			return err
		}, ""},
		{"matmul inner", func() error {
			_, _, _, err := CheckMatMul("MatMul", f32(3, 4), f32(5, 6), f32(3, 6), false, false)
			return err
		}, "inner dimensions differ"},
		{"matmul missing", func() error {
			_, _, _, err := CheckMatMul("MatMul", nil, f32(4, 6), f32(3, 6), false, false)
			return err
		}, "MatMul: a is missing"},
		{"rows", func() error { _, _, err := CheckRows("AddBias", f32(3, 4), f32(4)); return err }, ""},
		{"rows vector", func() error { _, _, err := CheckRows("BiasGrad", f32(3, 4), f32(3)); return err }, "BiasGrad: db has shape [3], want [4]"},
		{"same", func() error { return CheckSame("ReLUBackward", f32(2, 3), f32(2, 3), f32(2, 3)) }, ""},
		{"same shapes", func() error { return CheckSame("ReLU", f32(2, 3), f32(3, 2)) }, "ReLU: x has shape [2 3], y has [3 2]"},
		{"same dtype", func() error { return CheckSame("ReLU", u32(6), f32(6)) }, "x is uint32[6], want float32"},
		{"dropout p", func() error { return CheckDropout("Dropout", u32(2), 1) }, "probability 1"},
		{"counters missing", func() error { return CheckCounters("Step", nil) }, "Step: ctr is missing"},
		{"counters typed nil", func() error { return CheckCounters("Step", typedNil) }, "Step: ctr is missing"},
		{"counters shape", func() error { return CheckCounters("Step", u32(3)) }, "ctr has shape [3], want [2]"},
		{"loss", func() error {
			_, _, err := CheckLoss("SoftmaxCrossEntropy", f32(4, 10), u32(4), typedNil, f32(1), u32(1), LossParams{})
			return err
		}, ""},
		{"loss dlogits", func() error {
			_, _, err := CheckLoss("SoftmaxCrossEntropy", f32(4, 10), u32(4), f32(4, 9), f32(1), u32(1), LossParams{})
			return err
		}, "dlogits has shape [4 9], want [4 10]"},
		{"argmax", func() error { _, _, err := CheckArgmax("Argmax", f32(4, 10), u32(5)); return err }, "pred has shape [5], want [4]"},
		{"sgd", func() error { return CheckSGD("SGD", f32(4), f32(4), f32(4), sgd) }, ""},
		{"sgd no momentum, no buffer", func() error { return CheckSGD("SGD", f32(4), f32(4), nil, SGDParams{LR: 0.1}) }, ""},
		{"sgd no momentum, typed nil buffer", func() error { return CheckSGD("SGD", f32(4), f32(4), typedNil, SGDParams{LR: 0.1}) }, ""},
		{"sgd momentum needs buffer", func() error { return CheckSGD("SGD", f32(4), f32(4), nil, sgd) }, "SGD: buf is missing"},
		{"sgd buffer shape", func() error { return CheckSGD("SGD", f32(4), f32(4), f32(5), SGDParams{LR: 0.1}) }, "p has shape [4], buf has [5]"},
		{"sgd momentum 1", func() error { return CheckSGD("SGD", f32(4), f32(4), f32(4), SGDParams{LR: 0.1, Momentum: 1}) }, "momentum 1"},
		{"sgd negative lr", func() error { return CheckSGD("SGD", f32(4), f32(4), nil, SGDParams{LR: -1}) }, "lr -1"},
		{"gather", func() error {
			_, err := CheckGather("Gather", u8(5, RecordSize), u32(8), u32(2), f32(2, 3, 32, 32), u32(2), GatherParams{Pad: 4})
			return err
		}, ""},
		{"gather records", func() error {
			_, err := CheckGather("Gather", u8(5, 3072), u32(8), u32(2), f32(2, 3, 32, 32), u32(2), GatherParams{})
			return err
		}, "records has shape [5 3072], want [5 3073]"},
		{"gather batch", func() error {
			_, err := CheckGather("Gather", u8(5, RecordSize), u32(8), u32(2), f32(2, 3, 32, 31), u32(2), GatherParams{})
			return err
		}, "Gather: records has shape [5 3073], want [5 2977] (a label byte and 3x32x31 pixels, as x [2 3 32 31])"},
		{"gather MNIST", func() error {
			_, err := CheckGather("Gather", u8(5, 785), u32(8), u32(2), f32(2, 1, 28, 28), u32(2), GatherParams{Pad: 2, Reflect: true})
			return err
		}, ""},
		{"gather channels", func() error {
			_, err := CheckGather("Gather", u8(5, 1+5*4), u32(8), u32(2), f32(2, 5, 2, 2), u32(2), GatherParams{})
			return err
		}, "Gather: x has shape [2 5 2 2]: want 1-4 channels"},
		{"gather labels", func() error {
			_, err := CheckGather("Gather", u8(5, RecordSize), u32(8), u32(2), f32(2, 3, 32, 32), u32(3), GatherParams{})
			return err
		}, "labels has shape [3], want [2]"},
		{"gather pad", func() error {
			_, err := CheckGather("Gather", u8(5, RecordSize), u32(8), u32(2), f32(2, 3, 32, 32), u32(2), GatherParams{Pad: 33})
			return err
		}, "crop padding 33"},
		{"gather missing counters", func() error {
			_, err := CheckGather("Gather", u8(5, RecordSize), u32(8), nil, f32(2, 3, 32, 32), u32(2), GatherParams{})
			return err
		}, "Gather: ctr is missing"},
		{"unlisted op uses role names", func() error { return CheckSame("Custom", f32(2), f32(3)) }, "Custom: input has shape [2], operand 1 has [3]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAbsent(t *testing.T) {
	var typedNil *fake
	for _, c := range []struct {
		t    Tensor
		want bool
	}{{nil, true}, {typedNil, true}, {f32(1), false}} {
		if got := Absent(c.t); got != c.want {
			t.Errorf("Absent(%#v) = %v, want %v", c.t, got, c.want)
		}
	}
}
