package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// window resolves a pooling layer's kernel and stride for input x: a global
// pool takes the whole (square) map; a zero stride defaults to the kernel,
// as PyTorch's does.
func window(op string, x backend.Tensor, kernel, stride int, global bool) (k, s int, err error) {
	sh := x.Shape()
	if len(sh) != 4 {
		return 0, 0, fmt.Errorf("%s: input %v, want [N,C,H,W]", op, sh)
	}
	if global {
		if sh[2] != sh[3] {
			return 0, 0, fmt.Errorf("%s: global pooling of a %dx%d map: only square maps are supported", op, sh[2], sh[3])
		}
		return sh[2], sh[2], nil
	}
	if stride == 0 {
		stride = kernel
	}
	if kernel < 1 || stride < 1 || kernel > sh[2] || kernel > sh[3] {
		return 0, 0, fmt.Errorf("%s: kernel %d, stride %d do not fit a %dx%d map", op, kernel, stride, sh[2], sh[3])
	}
	return kernel, stride, nil
}

// MaxPool2d takes the maximum over Kernel x Kernel windows, Stride apart
// (torch.nn.MaxPool2d: stride 0 means the kernel; floor mode, so a partial
// window at the edge is dropped). Global pools the whole map to 1x1.
type MaxPool2d struct {
	Kernel, Stride int
	Global         bool
}

// Params: none.
func (MaxPool2d) Params() []*Param { return nil }

// Bind allocates the output and the argmax positions backward routes through.
func (p MaxPool2d) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	k, st, err := window("MaxPool2d", x, p.Kernel, p.Stride, p.Global)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	oh, ow := (s[2]-k)/st+1, (s[3]-k)/st+1
	y, dy, err := outputs(b, m.Train, s[0], s[1], oh, ow)
	if err != nil {
		return nil, err
	}
	arg, err := b.NewTensor(backend.U32, s[0], s[1], oh, ow)
	if err != nil {
		return nil, err
	}
	return &boundPool{k, st, x, dx, y, dy, arg}, nil
}

type boundPool struct {
	kernel, stride    int
	x, dx, y, dy, arg backend.Tensor
}

func (l *boundPool) Out() backend.Tensor   { return l.y }
func (l *boundPool) DOut() backend.Tensor  { return l.dy }
func (l *boundPool) Forward(o backend.Ops) { o.MaxPool2d(l.x, l.y, l.arg, l.kernel, l.stride) }
func (l *boundPool) Backward(o backend.Ops) {
	if l.dx != nil {
		o.MaxPool2dBackward(l.dy, l.arg, l.dx, l.kernel, l.stride)
	}
}

// AvgPool2d averages Kernel x Kernel windows, Stride apart
// (torch.nn.AvgPool2d without padding; stride 0 means the kernel). Global
// averages the whole map (AdaptiveAvgPool2d(1) on a square map).
type AvgPool2d struct {
	Kernel, Stride int
	Global         bool
}

// Params: none.
func (AvgPool2d) Params() []*Param { return nil }

// Bind allocates the output.
func (p AvgPool2d) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	k, st, err := window("AvgPool2d", x, p.Kernel, p.Stride, p.Global)
	if err != nil {
		return nil, err
	}
	s := x.Shape()
	y, dy, err := outputs(b, m.Train, s[0], s[1], (s[2]-k)/st+1, (s[3]-k)/st+1)
	if err != nil {
		return nil, err
	}
	return &boundAvgPool{k, st, x, dx, y, dy}, nil
}

type boundAvgPool struct {
	kernel, stride int
	x, dx, y, dy   backend.Tensor
}

func (l *boundAvgPool) Out() backend.Tensor   { return l.y }
func (l *boundAvgPool) DOut() backend.Tensor  { return l.dy }
func (l *boundAvgPool) Forward(o backend.Ops) { o.AvgPool2d(l.x, l.y, l.kernel, l.stride) }
func (l *boundAvgPool) Backward(o backend.Ops) {
	if l.dx != nil {
		o.AvgPool2dBackward(l.dy, l.dx, l.kernel, l.stride)
	}
}

// Flatten reshapes [N, ...] to [N, rest]; it costs nothing, as both sides
// are views of the same storage.
type Flatten struct{}

// Params: none.
func (Flatten) Params() []*Param { return nil }

// Bind makes the output a view of x (and its gradient a view of dx).
func (Flatten) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	n := x.Shape()[0]
	rest := x.Len() / n
	y, err := b.View(x, n, rest)
	if err != nil {
		return nil, err
	}
	var dy backend.Tensor
	if m.Train && dx != nil {
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
