package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Conv2d is a 2-D convolution, as torch.nn.Conv2d (square kernel, the same
// stride and padding on both axes); Bias is nil for bias=False.
type Conv2d struct {
	In, Out, Kernel, Stride, Pad int
	Weight, Bias                 *Param
}

// NewConv2d describes a convolution with bias named name (its parameters
// are name.weight [out,in,k,k] and name.bias [out]).
func NewConv2d(name string, in, out, kernel, stride, pad int) *Conv2d {
	c := NewConv2dNoBias(name, in, out, kernel, stride, pad)
	c.Bias = &Param{Name: name + ".bias", Shape: []int{out}, FanIn: c.Weight.FanIn}
	return c
}

// NewConv2dNoBias describes a convolution without bias (bias=False).
func NewConv2dNoBias(name string, in, out, kernel, stride, pad int) *Conv2d {
	fan := in * kernel * kernel
	return &Conv2d{In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad,
		Weight: &Param{Name: name + ".weight", Shape: []int{out, in, kernel, kernel}, FanIn: fan},
	}
}

// Params are the weight and the bias, if any.
func (c *Conv2d) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}

// Bind allocates the output for input x [N,In,H,W].
func (c *Conv2d) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	s, err := backend.CheckConv("Conv2d", x, c.Weight.Value, nil, c.Stride, c.Pad)
	if err != nil {
		return nil, err
	}
	y, dy, err := outputs(b, m.Train, s.N, s.K, s.OH, s.OW)
	if err != nil {
		return nil, fmt.Errorf("%s output: %w", c.Weight.Name, err)
	}
	l := &boundConv{c: c, x: x, dx: dx, y: y, dy: dy, dw: c.Weight.grad()}
	if c.Bias != nil {
		l.bias, l.db = c.Bias.Value, c.Bias.grad()
	}
	// A frozen weight beside a training bias (airbench's whitening layer)
	// still needs somewhere for the weight gradient the bias comes with.
	if m.Train && l.dw == nil && l.db != nil {
		if l.dw, err = b.NewTensor(backend.F32, c.Weight.Shape...); err != nil {
			return nil, err
		}
	}
	return l, nil
}

type boundConv struct {
	c            *Conv2d
	x, dx, y, dy backend.Tensor
	bias, dw, db backend.Tensor
	// dxFused and dxMask: as boundLinear's.
	dxFused backend.Tensor
	dxMask  backend.Epilogue
}

func (l *boundConv) Out() backend.Tensor  { return l.y }
func (l *boundConv) DOut() backend.Tensor { return l.dy }

func (l *boundConv) Forward(o backend.Ops) {
	o.Conv2d(l.x, l.c.Weight.Value, l.bias, l.y, l.c.Stride, l.c.Pad)
}

func (l *boundConv) Backward(o backend.Ops) {
	if l.dw != nil {
		o.Conv2dBackwardWeights(l.x, l.dy, l.dw, l.db, l.c.Stride, l.c.Pad)
	}
	switch {
	case l.dxFused != nil:
		o.Conv2dBackwardDataEpilogue(l.dy, l.c.Weight.Value, l.dxFused, l.c.Stride, l.c.Pad, l.dxMask)
	case l.dx != nil:
		o.Conv2dBackwardData(l.dy, l.c.Weight.Value, l.dx, l.c.Stride, l.c.Pad)
	}
}

// The fusion pass's hooks (see gemmLayer).

func (l *boundConv) input() (x, dx backend.Tensor) { return l.x, l.dx }
func (l *boundConv) forwardTo(o backend.Ops, y backend.Tensor, e backend.Epilogue) {
	o.Conv2dEpilogue(l.x, l.c.Weight.Value, l.bias, y, l.c.Stride, l.c.Pad, e)
}
func (l *boundConv) maskInputGrad(dx backend.Tensor, e backend.Epilogue) { l.dxFused, l.dxMask = dx, e }
