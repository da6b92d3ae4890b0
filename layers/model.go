package layers

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/vkcnn/vkcnn/backend"
)

// Model is a Sequential network over CIFAR-10 images [N,3,32,32] ending in
// 10 logits.
type Model struct {
	Layers []Layer
}

// Seed is the network of the PyTorch CIFAR-10 tutorial vkcnn starts from:
// conv1 Conv2d(3,32,3,pad 1) → ReLU → Dropout(0.3) → conv2 Conv2d(32,32,3,
// pad 1) → ReLU → MaxPool2d(2) → Flatten → fc3 Linear(8192,512) → ReLU →
// Dropout(0.5) → fc4 Linear(512,10).
func Seed() *Model { return CNN(32, 32, 512) }

// CNN is the seed network's shape with other widths: c1 and c2 channels in
// the two convolutions, hidden units in fc3. Small widths make quick tests.
func CNN(c1, c2, hidden int) *Model {
	return &Model{Layers: []Layer{
		NewConv2d("conv1", 3, c1, 3, 1, 1), ReLU{}, &Dropout{P: 0.3, Stream: 1},
		NewConv2d("conv2", c1, c2, 3, 1, 1), ReLU{}, MaxPool2d{Kernel: 2, Stride: 2},
		Flatten{},
		NewLinear("fc3", c2*16*16, hidden), ReLU{}, &Dropout{P: 0.5, Stream: 2},
		NewLinear("fc4", hidden, backend.NumClasses),
	}}
}

// Params lists the learnable tensors in state_dict order.
func (m *Model) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Alloc creates every parameter's tensors on b (values undefined until Init
// or SetWeights; momentum zero).
func (m *Model) Alloc(b backend.Backend) error {
	for _, p := range m.Params() {
		if err := p.alloc(b); err != nil {
			return err
		}
		if err := b.Upload(p.Momentum, make([]float32, p.Len())); err != nil {
			return err
		}
	}
	return nil
}

// Init draws PyTorch's default initialization from seed and uploads it.
func (m *Model) Init(b backend.Backend, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x1a17))
	w := map[string][]float32{}
	for _, p := range m.Params() {
		w[p.Name] = p.initValues(rng)
	}
	return m.SetWeights(b, w)
}

// SetWeights uploads parameter values by name; every parameter must be there
// with its exact number of elements.
func (m *Model) SetWeights(b backend.Backend, w map[string][]float32) error {
	return m.set(b, w, func(p *Param) backend.Tensor { return p.Value })
}

// SetMomenta uploads the SGD momentum buffers by parameter name.
func (m *Model) SetMomenta(b backend.Backend, w map[string][]float32) error {
	return m.set(b, w, func(p *Param) backend.Tensor { return p.Momentum })
}

func (m *Model) set(b backend.Backend, w map[string][]float32, which func(*Param) backend.Tensor) error {
	for _, p := range m.Params() {
		v, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("no values for %s", p.Name)
		}
		if len(v) != p.Len() {
			return fmt.Errorf("%s: %d values for shape %v", p.Name, len(v), p.Shape)
		}
		if err := b.Upload(which(p), v); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}

// Weights downloads the parameter values by name.
func (m *Model) Weights(b backend.Backend) (map[string][]float32, error) {
	return m.get(b, func(p *Param) backend.Tensor { return p.Value })
}

// Momenta downloads the SGD momentum buffers by parameter name.
func (m *Model) Momenta(b backend.Backend) (map[string][]float32, error) {
	return m.get(b, func(p *Param) backend.Tensor { return p.Momentum })
}

func (m *Model) get(b backend.Backend, which func(*Param) backend.Tensor) (map[string][]float32, error) {
	w := map[string][]float32{}
	for _, p := range m.Params() {
		v := make([]float32, p.Len())
		if err := b.Download(which(p), v); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		w[p.Name] = v
	}
	return w, nil
}

// Shapes lists every parameter's name and shape, in state_dict order.
func (m *Model) Shapes() (names []string, shapes [][]int) {
	for _, p := range m.Params() {
		names = append(names, p.Name)
		shapes = append(shapes, slices.Clone(p.Shape))
	}
	return names, shapes
}

// net is the model bound to one batch.
type net struct {
	layers []Bound
}

// bind binds every layer in order to input x; dropout layers draw with seed
// and the step in ctr.
func (m *Model) bind(b backend.Backend, x backend.Tensor, train bool, ctr backend.Tensor, seed uint32) (*net, error) {
	n := &net{}
	in, din := x, backend.Tensor(nil)
	for i, l := range m.Layers {
		if d, ok := l.(*Dropout); ok {
			d.ctr, d.Seed = ctr, seed
		}
		bl, err := l.Bind(b, in, din, train)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, l, err)
		}
		n.layers = append(n.layers, bl)
		in, din = bl.Out(), bl.DOut()
	}
	return n, nil
}

func (n *net) out() backend.Tensor  { return n.layers[len(n.layers)-1].Out() }
func (n *net) dout() backend.Tensor { return n.layers[len(n.layers)-1].DOut() }

func (n *net) forward(o backend.Ops) {
	for _, l := range n.layers {
		l.Forward(o)
	}
}

func (n *net) backward(o backend.Ops) {
	for i := len(n.layers) - 1; i >= 0; i-- {
		n.layers[i].Backward(o)
	}
}

// Logits runs the model without dropout on n images (pixels: n×3×32×32
// floats in [0,1]) and returns n×10 logits.
func (m *Model) Logits(b backend.Backend, pixels []float32, n int) ([]float32, error) {
	x, err := b.NewTensor(backend.F32, n, 3, backend.ImageSide, backend.ImageSide)
	if err != nil {
		return nil, err
	}
	if err := b.Upload(x, pixels); err != nil {
		return nil, err
	}
	nt, err := m.bind(b, x, false, nil, 0)
	if err != nil {
		return nil, err
	}
	p := b.NewProgram()
	defer p.Close()
	nt.forward(p)
	if err := p.Run(1); err != nil {
		return nil, err
	}
	out := make([]float32, nt.out().Len())
	return out, b.Download(nt.out(), out)
}
