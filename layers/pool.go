package layers

import (
	"github.com/vkcnn/vkcnn/backend"
)

// MaxPool2d takes the maximum over Kernel x Kernel windows, Stride apart
// (torch.nn.MaxPool2d with stride defaulting to the kernel).
type MaxPool2d struct{ Kernel, Stride int }

// Params: none.
func (MaxPool2d) Params() []*Param { return nil }

// Bind allocates the output and the argmax positions backward routes through.
func (m MaxPool2d) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	s := x.Shape()
	if len(s) != 4 {
		_, err := backend.CheckPool("MaxPool2d", x, x, x, m.Kernel, m.Stride)
		return nil, err
	}
	oh, ow := (s[2]-m.Kernel)/m.Stride+1, (s[3]-m.Kernel)/m.Stride+1
	y, dy, err := outputs(b, train, s[0], s[1], oh, ow)
	if err != nil {
		return nil, err
	}
	arg, err := b.NewTensor(backend.U32, s[0], s[1], oh, ow)
	if err != nil {
		return nil, err
	}
	return &boundPool{m, x, dx, y, dy, arg}, nil
}

type boundPool struct {
	m                 MaxPool2d
	x, dx, y, dy, arg backend.Tensor
}

func (l *boundPool) Out() backend.Tensor   { return l.y }
func (l *boundPool) DOut() backend.Tensor  { return l.dy }
func (l *boundPool) Forward(o backend.Ops) { o.MaxPool2d(l.x, l.y, l.arg, l.m.Kernel, l.m.Stride) }
func (l *boundPool) Backward(o backend.Ops) {
	if l.dx != nil {
		o.MaxPool2dBackward(l.dy, l.arg, l.dx, l.m.Kernel, l.m.Stride)
	}
}

// Flatten reshapes [N, ...] to [N, rest]; it costs nothing, as both sides
// are views of the same storage.
type Flatten struct{}

// Params: none.
func (Flatten) Params() []*Param { return nil }

// Bind makes the output a view of x (and its gradient a view of dx).
func (Flatten) Bind(b backend.Backend, x, dx backend.Tensor, train bool) (Bound, error) {
	n := x.Shape()[0]
	rest := x.Len() / n
	y, err := b.View(x, n, rest)
	if err != nil {
		return nil, err
	}
	var dy backend.Tensor
	if train && dx != nil {
		if dy, err = b.View(dx, n, rest); err != nil {
			return nil, err
		}
	}
	return view{y, dy}, nil
}

type view struct{ y, dy backend.Tensor }

func (v view) Out() backend.Tensor  { return v.y }
func (v view) DOut() backend.Tensor { return v.dy }
func (view) Forward(backend.Ops)    {}
func (view) Backward(backend.Ops)   {}
