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
	return &boundLinear{l: l, x: x, dx: dx, y: y, dy: dy, fused: !m.unfused}, nil
}

type boundLinear struct {
	l            *Linear
	x, dx, y, dy backend.Tensor
	// fused adds the bias in the forward GEMM's store and takes the bias
	// gradient from the weight gradient's GEMM.
	fused bool
	// dxFused and dxMask, set by the fusion pass, send the input gradient
	// through the gradient mask of the ReLU (and dropout) before the layer,
	// straight to the gradient of that ReLU's input.
	dxFused backend.Tensor
	dxMask  backend.Epilogue
}

func (b *boundLinear) Out() backend.Tensor  { return b.y }
func (b *boundLinear) DOut() backend.Tensor { return b.dy }

func (b *boundLinear) Forward(o backend.Ops) {
	switch {
	case b.l.Bias != nil && b.fused:
		// The bias in the GEMM's store (see fuseChain for the ReLU after).
		b.forwardTo(o, b.y, backend.Epilogue{})
	case b.l.Bias != nil:
		o.MatMul(b.x, b.l.Weight.Value, b.y, false, true)
		o.AddBias(b.y, b.l.Bias.Value)
	default:
		o.MatMul(b.x, b.l.Weight.Value, b.y, false, true)
	}
}

func (b *boundLinear) Backward(o backend.Ops) {
	dw := b.l.Weight.grad()
	db := backend.Tensor(nil)
	if b.l.Bias != nil && b.l.Bias.Trains() {
		db = b.l.Bias.Grad
	}
	switch {
	case dw != nil && db != nil && b.fused:
		o.MatMulBiasGrad(b.dy, b.x, dw, db, true, false) // dW = dYᵀ·X, db = Σ rows of dY
	case dw != nil:
		o.MatMul(b.dy, b.x, dw, true, false)
		if db != nil {
			o.BiasGrad(b.dy, db)
		}
	case db != nil:
		o.BiasGrad(b.dy, db)
	}
	switch {
	case b.dxFused != nil:
		// dX = dY·W through the mask of the activation before the layer.
		o.MatMulEpilogue(b.dy, b.l.Weight.Value, b.dxFused, false, false, b.dxMask)
	case b.dx != nil:
		o.MatMul(b.dy, b.l.Weight.Value, b.dx, false, false) // dX = dY·W
	}
}

// The fusion pass's hooks (see gemmLayer).

func (b *boundLinear) input() (x, dx backend.Tensor) { return b.x, b.dx }
func (b *boundLinear) forwardTo(o backend.Ops, y backend.Tensor, e backend.Epilogue) {
	if b.l.Bias != nil {
		e.Bias = b.l.Bias.Value
	}
	o.MatMulEpilogue(b.x, b.l.Weight.Value, y, false, true, e)
}
func (b *boundLinear) maskInputGrad(dx backend.Tensor, e backend.Epilogue) {
	b.dxFused, b.dxMask = dx, e
}
