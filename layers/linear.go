package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Linear is a fully connected layer, as torch.nn.Linear: y = x·Wᵀ + b;
// Bias is nil for bias=False.
type Linear struct {
	In, Out      int
	Weight, Bias *Param
}

// NewLinear describes a layer with bias named name (name.weight [out,in],
// name.bias [out]).
func NewLinear(name string, in, out int) *Linear {
	l := NewLinearNoBias(name, in, out)
	l.Bias = &Param{Name: name + ".bias", Shape: []int{out}, FanIn: in}
	return l
}

// NewLinearNoBias describes a layer without bias (bias=False).
func NewLinearNoBias(name string, in, out int) *Linear {
	return &Linear{In: in, Out: out,
		Weight: &Param{Name: name + ".weight", Shape: []int{out, in}, FanIn: in},
	}
}

// Params are the weight and the bias, if any.
func (l *Linear) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}

// Bind allocates the output for input x [N,In].
func (l *Linear) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	if s := x.Shape(); len(s) != 2 || s[1] != l.In {
		return nil, fmt.Errorf("%s: input %v, want [N,%d]", l.Weight.Name, s, l.In)
	}
	y, dy, err := outputs(b, m.Train, x.Shape()[0], l.Out)
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
	if b.l.Bias != nil {
		o.AddBias(b.y, b.l.Bias.Value)
	}
}

func (b *boundLinear) Backward(o backend.Ops) {
	if dw := b.l.Weight.grad(); dw != nil {
		o.MatMul(b.dy, b.x, dw, true, false) // dW = dYᵀ·X
	}
	if b.l.Bias != nil && b.l.Bias.Trains() {
		o.BiasGrad(b.dy, b.l.Bias.Grad)
	}
	if b.dx != nil {
		o.MatMul(b.dy, b.l.Weight.Value, b.dx, false, false) // dX = dY·W
	}
}
