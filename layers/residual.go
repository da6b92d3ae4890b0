package layers

import (
	"fmt"
	"slices"

	"github.com/vkcnn/vkcnn/backend"
)

// Residual is a block whose output is Body(x) + Shortcut(x): the input fans
// out to two branches that join by addition, as in a ResNet BasicBlock. An
// empty Shortcut is the identity. (An activation after the sum is the next
// layer's business.)
type Residual struct {
	Body, Shortcut []Layer
}

// Params lists the body's entries, then the shortcut's, the order in which
// PyTorch modules that register them so list them.
func (r *Residual) Params() []*Param {
	return append(params(r.Body), params(r.Shortcut)...)
}

// Bind binds both branches to x. Each branch writes its own gradient of x,
// and Backward sums them into dx: a tensor that feeds two consumers gets
// the sum of their gradients.
func (r *Residual) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	if len(r.Body) == 0 {
		return nil, fmt.Errorf("residual block with an empty body")
	}
	br := &boundResidual{x: x, dx: dx}
	var dxBody, dxShort backend.Tensor
	if m.Train && dx != nil {
		var err error
		if dxBody, err = b.NewTensor(backend.F32, x.Shape()...); err != nil {
			return nil, err
		}
		if len(r.Shortcut) > 0 {
			if dxShort, err = b.NewTensor(backend.F32, x.Shape()...); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if br.body, err = bindChain(b, r.Body, x, dxBody, m); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	br.dxBody = dxBody
	short := identity{x, nil}
	br.short = short
	if len(r.Shortcut) > 0 {
		c, err := bindChain(b, r.Shortcut, x, dxShort, m)
		if err != nil {
			return nil, fmt.Errorf("shortcut: %w", err)
		}
		br.short, br.dxShort = c, dxShort
	}
	bs, ss := br.body.Out().Shape(), br.short.Out().Shape()
	if !slices.Equal(bs, ss) {
		return nil, fmt.Errorf("the body's output %v and the shortcut's %v differ: they must match to be added (give the shortcut a 1x1 convolution with the body's channels and stride)", bs[1:], ss[1:])
	}
	if br.y, err = b.NewTensor(backend.F32, bs...); err != nil {
		return nil, err
	}
	return br, nil
}

type boundResidual struct {
	x, dx           backend.Tensor
	body            chain
	short           Bound
	dxBody, dxShort backend.Tensor
	y               backend.Tensor
}

func (r *boundResidual) Out() backend.Tensor { return r.y }

// DOut is the body's own output gradient, so the body needs no copy of it.
func (r *boundResidual) DOut() backend.Tensor { return r.body.DOut() }

func (r *boundResidual) Forward(o backend.Ops) {
	r.body.Forward(o)
	r.short.Forward(o)
	o.Add(r.body.Out(), r.short.Out(), r.y)
}

func (r *boundResidual) Backward(o backend.Ops) {
	dy := r.body.DOut()
	if ds := r.short.DOut(); ds != nil {
		o.Scale(dy, ds, 1) // the sum's gradient reaches both branches
		r.short.Backward(o)
	}
	r.body.Backward(o)
	if r.dx == nil {
		return
	}
	if r.dxShort != nil {
		o.Add(r.dxBody, r.dxShort, r.dx)
	} else {
		o.Add(r.dxBody, dy, r.dx) // the identity's gradient is dy itself
	}
}
