package layers

import (
	"github.com/vkcnn/vkcnn/backend"
)

// ReLU is max(x, 0).
type ReLU struct{}

// Params: none.
func (ReLU) Params() []*Param { return nil }

// Bind allocates the output.
func (ReLU) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	y, dy, err := outputs(b, train, x.Shape()...)
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

// Dropout zeroes each element with probability P while training and scales
// the rest by 1/(1-P); it is the identity in evaluation. Its draws come from
// the counter-based generator (backend.Keep) with the model's seed, the
// layer's Stream, and the step counter, so both backends draw alike.
type Dropout struct {
	P      float32
	Stream uint32
	Seed   uint32 // set by the model
	ctr    backend.Tensor
}

// Params: none.
func (*Dropout) Params() []*Param { return nil }

// Bind allocates the output when training; in evaluation the output is x.
func (d *Dropout) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	if !train {
		return identity{x}, nil
	}
	y, dy, err := outputs(b, train, x.Shape()...)
	if err != nil {
		return nil, err
	}
	return &boundDropout{d.P, d.Seed, d.Stream, d.ctr, x, dx, y, dy}, nil
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

// identity passes its input through (dropout in evaluation).
type identity struct{ x backend.Tensor }

func (i identity) Out() backend.Tensor  { return i.x }
func (i identity) DOut() backend.Tensor { return nil }
func (identity) Forward(backend.Ops)    {}
func (identity) Backward(backend.Ops)   {}
