package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Linear is a fully connected layer, as torch.nn.Linear: y = x·Wᵀ + b.
type Linear struct {
	In, Out      int
	Weight, Bias *Param
}

// NewLinear describes a layer named name (name.weight [out,in], name.bias [out]).
func NewLinear(name string, in, out int) *Linear {
	return &Linear{In: in, Out: out,
		Weight: &Param{Name: name + ".weight", Shape: []int{out, in}, FanIn: in},
		Bias:   &Param{Name: name + ".bias", Shape: []int{out}, FanIn: in},
	}
}

// Params are the weight and the bias.
func (l *Linear) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Bind allocates the output for input x [N,In].
func (l *Linear) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	if s := x.Shape(); len(s) != 2 || s[1] != l.In {
		return nil, fmt.Errorf("%s: input %v, want [N,%d]", l.Weight.Name, s, l.In)
	}
	y, dy, err := outputs(b, train, x.Shape()[0], l.Out)
	if err != nil {
		return nil, fmt.Errorf("%s output: %w", l.Weight.Name, err)
	}
	return &boundLinear{l, x, dx, y, dy}, nil
}

type boundLinear struct {
	l            *Linear
	x, dx, y, dy backend.Tensor
}

func (b *boundLinear) Out() backend.Tensor  { return b.y }
func (b *boundLinear) DOut() backend.Tensor { return b.dy }

func (b *boundLinear) Forward(o backend.Ops) {
	o.MatMul(b.x, b.l.Weight.Value, b.y, false, true)
	o.AddBias(b.y, b.l.Bias.Value)
}

func (b *boundLinear) Backward(o backend.Ops) {
	o.MatMul(b.dy, b.x, b.l.Weight.Grad, true, false) // dW = dYᵀ·X
	o.BiasGrad(b.dy, b.l.Bias.Grad)
	if b.dx != nil {
		o.MatMul(b.dy, b.l.Weight.Value, b.dx, false, false) // dX = dY·W
	}
}
