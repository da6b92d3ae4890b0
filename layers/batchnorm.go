package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// BatchNorm2d normalizes each channel, as torch.nn.BatchNorm2d: with the
// batch's statistics while training (moving the running ones), with the
// running statistics in evaluation. Its state_dict entries are, in
// PyTorch's order, weight, bias, running_mean, running_var and
// num_batches_tracked.
type BatchNorm2d struct {
	C                   int
	Eps, Momentum       float32
	Weight, Bias        *Param
	RunningMean, RunVar *Param
	Tracked             *Param // num_batches_tracked, a host counter
}

// NewBatchNorm2d describes a BatchNorm2d over c channels named name with
// PyTorch's eps and momentum (defaults 1e-5 and 0.1); frozenWeight keeps
// the affine weight at 1 (requires_grad=False, as airbench does).
func NewBatchNorm2d(name string, c int, eps, momentum float32, frozenWeight bool) *BatchNorm2d {
	wk := Learnable
	if frozenWeight {
		wk = Frozen
	}
	vec := func(field string, k Kind, fill float32) *Param {
		return &Param{Name: name + "." + field, Shape: []int{c}, Kind: k, Fill: fill}
	}
	return &BatchNorm2d{C: c, Eps: eps, Momentum: momentum,
		Weight:      vec("weight", wk, 1),
		Bias:        vec("bias", Learnable, 0),
		RunningMean: vec("running_mean", Buffer, 0),
		RunVar:      vec("running_var", Buffer, 1),
		Tracked:     &Param{Name: name + ".num_batches_tracked", Shape: []int{}, Kind: Counter},
	}
}

// Params lists the state_dict entries in PyTorch's order.
func (n *BatchNorm2d) Params() []*Param {
	return []*Param{n.Weight, n.Bias, n.RunningMean, n.RunVar, n.Tracked}
}

// Bind allocates the output and, when training, the saved batch statistics.
func (n *BatchNorm2d) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	s := x.Shape()
	if len(s) != 4 || s[1] != n.C {
		return nil, fmt.Errorf("%s: input %v, want [N,%d,H,W]", moduleOf(n.Weight.Name), s, n.C)
	}
	y, dy, err := outputs(b, m.Train, s...)
	if err != nil {
		return nil, err
	}
	l := &boundBatchNorm{n: n, x: x, dx: dx, y: y, dy: dy, train: m.Train, t: backend.BatchNormTensors{
		Weight: n.Weight.Value, Bias: n.Bias.Value, RunningMean: n.RunningMean.Value, RunningVar: n.RunVar.Value,
	}}
	if m.Train {
		if s[0]*s[2]*s[3] < 2 {
			return nil, fmt.Errorf("%s: training needs more than one value per channel, got input %v (use a batch larger than 1)", moduleOf(n.Weight.Name), s)
		}
		if l.t.Mean, err = b.NewTensor(backend.F32, n.C); err != nil {
			return nil, err
		}
		if l.t.InvStd, err = b.NewTensor(backend.F32, n.C); err != nil {
			return nil, err
		}
	}
	return l, nil
}

type boundBatchNorm struct {
	n            *BatchNorm2d
	x, dx, y, dy backend.Tensor
	t            backend.BatchNormTensors
	train        bool
}

func (l *boundBatchNorm) Out() backend.Tensor  { return l.y }
func (l *boundBatchNorm) DOut() backend.Tensor { return l.dy }

func (l *boundBatchNorm) Forward(o backend.Ops) {
	o.BatchNorm2d(l.x, l.y, l.t, backend.BatchNormParams{Eps: l.n.Eps, Momentum: l.n.Momentum, Train: l.train})
}

func (l *boundBatchNorm) Backward(o backend.Ops) {
	o.BatchNorm2dBackward(l.x, l.dy, l.dx, l.t, l.n.Weight.grad(), l.n.Bias.grad())
}
