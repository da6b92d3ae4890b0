package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Conv2d is a 2-D convolution with bias, as torch.nn.Conv2d.
type Conv2d struct {
	In, Out, Kernel, Stride, Pad int
	Weight, Bias                 *Param
}

// NewConv2d describes a convolution named name (its parameters are
// name.weight [out,in,k,k] and name.bias [out]).
func NewConv2d(name string, in, out, kernel, stride, pad int) *Conv2d {
	fan := in * kernel * kernel
	return &Conv2d{In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad,
		Weight: &Param{Name: name + ".weight", Shape: []int{out, in, kernel, kernel}, FanIn: fan},
		Bias:   &Param{Name: name + ".bias", Shape: []int{out}, FanIn: fan},
	}
}

// Params are the weight and the bias.
func (c *Conv2d) Params() []*Param { return []*Param{c.Weight, c.Bias} }

// Bind allocates the output for input x [N,In,H,W].
func (c *Conv2d) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	s, err := backend.CheckConv("Conv2d", x, c.Weight.Value, nil, c.Stride, c.Pad)
	if err != nil {
		return nil, err
	}
	y, dy, err := outputs(b, train, s.N, s.K, s.OH, s.OW)
	if err != nil {
		return nil, fmt.Errorf("%s output: %w", c.Weight.Name, err)
	}
	return &boundConv{c, x, dx, y, dy}, nil
}

type boundConv struct {
	c            *Conv2d
	x, dx, y, dy backend.Tensor
}

func (l *boundConv) Out() backend.Tensor  { return l.y }
func (l *boundConv) DOut() backend.Tensor { return l.dy }

func (l *boundConv) Forward(o backend.Ops) {
	o.Conv2d(l.x, l.c.Weight.Value, l.c.Bias.Value, l.y, l.c.Stride, l.c.Pad)
}

func (l *boundConv) Backward(o backend.Ops) {
	o.Conv2dBackwardWeights(l.x, l.dy, l.c.Weight.Grad, l.c.Bias.Grad, l.c.Stride, l.c.Pad)
	if l.dx != nil {
		o.Conv2dBackwardData(l.dy, l.c.Weight.Value, l.dx, l.c.Stride, l.c.Pad)
	}
}
