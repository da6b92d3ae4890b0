package layers

import (
	"github.com/vkcnn/vkcnn/backend"
)

// ReLU is max(x, 0).
type ReLU struct{}

// Params: none.
func (ReLU) Params() []*Param { return nil }

// Bind allocates the output.
func (ReLU) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	y, dy, err := outputs(b, m.Train, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return &boundReLU{x, dx, y, dy}, nil
}

type boundReLU struct{ x, dx, y, dy backend.Tensor }

func (l *boundReLU) Out() backend.Tensor   { return l.y }
func (l *boundReLU) DOut() backend.Tensor  { return l.dy }
func (l *boundReLU) Forward(o backend.Ops) { o.ReLU(l.x, l.y) }
func (l *boundReLU) Backward(o backend.Ops) {
	if l.dx != nil {
		o.ReLUBackward(l.y, l.dy, l.dx)
	}
}

// GELU is x·Φ(x) in its exact erf form, torch.nn.GELU's default.
type GELU struct{}

// Params: none.
func (GELU) Params() []*Param { return nil }

// Bind allocates the output; backward reads the input, so the two are
// separate tensors.
func (GELU) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	y, dy, err := outputs(b, m.Train, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return &boundGELU{x, dx, y, dy}, nil
}

type boundGELU struct{ x, dx, y, dy backend.Tensor }

func (l *boundGELU) Out() backend.Tensor   { return l.y }
func (l *boundGELU) DOut() backend.Tensor  { return l.dy }
func (l *boundGELU) Forward(o backend.Ops) { o.GELU(l.x, l.y) }
func (l *boundGELU) Backward(o backend.Ops) {
	if l.dx != nil {
		o.GELUBackward(l.x, l.dy, l.dx)
	}
}

// Scale multiplies by a constant (airbench scales its logits by 1/9).
type Scale struct{ Factor float32 }

// Params: none.
func (Scale) Params() []*Param { return nil }

// Bind allocates the output.
func (s Scale) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	y, dy, err := outputs(b, m.Train, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return &boundScale{s.Factor, x, dx, y, dy}, nil
}

type boundScale struct {
	f            float32
	x, dx, y, dy backend.Tensor
}

func (l *boundScale) Out() backend.Tensor   { return l.y }
func (l *boundScale) DOut() backend.Tensor  { return l.dy }
func (l *boundScale) Forward(o backend.Ops) { o.Scale(l.x, l.y, l.f) }
func (l *boundScale) Backward(o backend.Ops) {
	if l.dx != nil {
		o.Scale(l.dy, l.dx, l.f)
	}
}

// Dropout zeroes each element with probability P while training and scales
// the rest by 1/(1-P); it is the identity in evaluation. Its draws come from
// the counter-based generator (backend.Keep) with the model's seed, the
// layer's Stream, and the step counter, so both backends draw alike.
type Dropout struct {
	P      float32
	Stream uint32
}

// Params: none.
func (*Dropout) Params() []*Param { return nil }

// Bind allocates the output when training; in evaluation the output is x.
func (d *Dropout) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	if !m.Train {
		return identity{x, dx}, nil
	}
	y, dy, err := outputs(b, m.Train, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return &boundDropout{d.P, m.Seed, d.Stream, m.Ctr, x, dx, y, dy}, nil
}

type boundDropout struct {
	p                 float32
	seed, stream      uint32
	ctr, x, dx, y, dy backend.Tensor
}

func (l *boundDropout) Out() backend.Tensor  { return l.y }
func (l *boundDropout) DOut() backend.Tensor { return l.dy }
func (l *boundDropout) Forward(o backend.Ops) {
	o.Dropout(l.x, l.y, l.ctr, l.p, l.seed, l.stream)
}
func (l *boundDropout) Backward(o backend.Ops) {
	if l.dx != nil {
		o.DropoutBackward(l.dy, l.dx, l.ctr, l.p, l.seed, l.stream)
	}
}
