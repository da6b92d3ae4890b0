package layers

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/vkcnn/vkcnn/backend"
)

// Model is a network over images [N,C,H,W] ending in one logit per class:
// a tree of modules run in order (Layers is the top-level Sequential).
type Model struct {
	Layers []Layer
	// Mean and Std, when set (one per input channel), normalize the
	// pixels, scaled to [0,1], before the first layer: (v-Mean)/Std.
	Mean, Std []float32
	// Input is the shape [C,H,W] of the images the model was built for:
	// it sizes the trainer's and evaluator's batches and their records
	// (1+C·H·W bytes). nil means CIFAR-10's [3,32,32].
	Input []int

	// packs hold the trainable parameters' values, gradients and momenta,
	// each kind in one storage per pack, so that one optimizer dispatch
	// updates them all (see Alloc).
	packs []*paramPack
	// unfused binds every op on its own (see Mode.unfused) and allocates
	// every parameter alone, updated by SGD ops of its own: the reference
	// recording the fused and packed one is tested against.
	unfused bool
}

// InputShape returns the image shape the model takes: Input, or
// CIFAR-10's 3x32x32 when Input is nil.
func (m *Model) InputShape() (c, h, w int) {
	if len(m.Input) == 3 {
		return m.Input[0], m.Input[1], m.Input[2]
	}
	return 3, backend.ImageSide, backend.ImageSide
}

// checkInput reports an Input that is not three positive sizes.
func (m *Model) checkInput() error {
	if m.Input == nil {
		return nil
	}
	if len(m.Input) != 3 || m.Input[0] < 1 || m.Input[1] < 1 || m.Input[2] < 1 {
		return fmt.Errorf("model input %v: want [C,H,W], each at least 1", m.Input)
	}
	return nil
}

// Seed is the network of the PyTorch CIFAR-10 tutorial vkcnn starts from:
// conv1 Conv2d(3,32,3,pad 1) → ReLU → Dropout(0.3) → conv2 Conv2d(32,32,3,
// pad 1) → ReLU → MaxPool2d(2) → Flatten → fc3 Linear(8192,512) → ReLU →
// Dropout(0.5) → fc4 Linear(512,10).
func Seed() *Model { return CNN(32, 32, 512) }

// CNN is the seed network's shape with other widths: c1 and c2 channels in
// the two convolutions, hidden units in fc3, for CIFAR-10's 3x32x32 images
// and 10 classes. Small widths make quick tests.
func CNN(c1, c2, hidden int) *Model {
	return &Model{Input: []int{3, backend.ImageSide, backend.ImageSide}, Layers: []Layer{
		NewConv2d("conv1", 3, c1, 3, 1, 1), ReLU{}, &Dropout{P: 0.3, Stream: 1},
		NewConv2d("conv2", c1, c2, 3, 1, 1), ReLU{}, MaxPool2d{Kernel: 2, Stride: 2},
		Flatten{},
		NewLinear("fc3", c2*16*16, hidden), ReLU{}, &Dropout{P: 0.5, Stream: 2},
		NewLinear("fc4", hidden, backend.NumClasses),
	}}
}

// Params lists every state_dict entry (parameters, buffers, counters) in
// PyTorch's state_dict order.
func (m *Model) Params() []*Param { return params(m.Layers) }

// Trainable lists the parameters the optimizer updates.
func (m *Model) Trainable() []*Param {
	var ps []*Param
	for _, p := range m.Params() {
		if p.Trains() {
			ps = append(ps, p)
		}
	}
	return ps
}

// Alloc creates every parameter's tensors on b (values undefined until Init
// or SetWeights; momentum zero). The trainable parameters' values,
// gradients and momenta are parts of packs (backend.Backend.Pack), so that
// the optimizer updates all of them in one op.
func (m *Model) Alloc(b backend.Backend) error {
	packed := map[*Param]bool{}
	if !m.unfused {
		var err error
		if packed, err = m.allocPacks(b); err != nil {
			return err
		}
	}
	for _, p := range m.Params() {
		if packed[p] {
			continue
		}
		if err := p.alloc(b); err != nil {
			return err
		}
		if p.Momentum != nil {
			if err := b.Upload(p.Momentum, make([]float32, p.Len())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Init draws PyTorch's default initialization from seed and uploads it.
func (m *Model) Init(b backend.Backend, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x1a17))
	w := map[string][]float32{}
	for _, p := range m.Params() {
		if p.Kind == Counter {
			w[p.Name] = []float32{0}
			continue
		}
		w[p.Name] = p.initValues(rng)
	}
	return m.SetWeights(b, w)
}

// SetWeights sets every state_dict entry by name; each must be there with
// its exact number of elements (a counter's one value is its count).
func (m *Model) SetWeights(b backend.Backend, w map[string][]float32) error {
	return m.set(b, w, m.Params(), func(p *Param) backend.Tensor { return p.Value })
}

// SetMomenta uploads the SGD momentum buffers by parameter name.
func (m *Model) SetMomenta(b backend.Backend, w map[string][]float32) error {
	return m.set(b, w, m.Trainable(), func(p *Param) backend.Tensor { return p.Momentum })
}

func (m *Model) set(b backend.Backend, w map[string][]float32, ps []*Param, which func(*Param) backend.Tensor) error {
	for _, p := range ps {
		v, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("no values for %s", p.Name)
		}
		if len(v) != p.Len() {
			return fmt.Errorf("%s: %d values for shape %v", p.Name, len(v), p.Shape)
		}
		if p.Kind == Counter {
			p.Count = int64(v[0])
			continue
		}
		if err := b.Upload(which(p), v); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}

// Weights downloads every state_dict entry by name (a counter as its one value).
func (m *Model) Weights(b backend.Backend) (map[string][]float32, error) {
	return m.get(b, m.Params(), func(p *Param) backend.Tensor { return p.Value })
}

// Momenta downloads the SGD momentum buffers by parameter name.
func (m *Model) Momenta(b backend.Backend) (map[string][]float32, error) {
	return m.get(b, m.Trainable(), func(p *Param) backend.Tensor { return p.Momentum })
}

func (m *Model) get(b backend.Backend, ps []*Param, which func(*Param) backend.Tensor) (map[string][]float32, error) {
	w := map[string][]float32{}
	for _, p := range ps {
		if p.Kind == Counter {
			w[p.Name] = []float32{float32(p.Count)}
			continue
		}
		v := make([]float32, p.Len())
		if err := b.Download(which(p), v); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		w[p.Name] = v
	}
	return w, nil
}

// Shapes lists every state_dict entry's name and shape, in order.
func (m *Model) Shapes() (names []string, shapes [][]int) {
	for _, p := range m.Params() {
		names = append(names, p.Name)
		shapes = append(shapes, slices.Clone(p.Shape))
	}
	return names, shapes
}

// advance counts steps training steps in the counters that track them
// (BatchNorm's num_batches_tracked).
func (m *Model) advance(steps int) {
	for _, p := range m.Params() {
		if p.Kind == Counter {
			p.Count += int64(steps)
		}
	}
}

// normalization is the gather's normalization of the model's input.
func (m *Model) normalization() (backend.GatherParams, error) {
	var g backend.GatherParams
	if err := m.checkInput(); err != nil {
		return g, err
	}
	if len(m.Std) == 0 {
		return g, nil
	}
	c, _, _ := m.InputShape()
	if len(m.Mean) != c || len(m.Std) != c {
		return g, fmt.Errorf("normalization with %d means and %d deviations: the data has %d channels", len(m.Mean), len(m.Std), c)
	}
	if c > backend.MaxGatherChannels {
		return g, fmt.Errorf("normalization of %d channels: at most %d are supported", c, backend.MaxGatherChannels)
	}
	copy(g.Mean[:], m.Mean)
	copy(g.Std[:], m.Std)
	return g, nil
}

// bind binds the model to input x; dropout draws with seed and the step in ctr.
func (m *Model) bind(b backend.Backend, x backend.Tensor, train bool, ctr backend.Tensor, seed uint32) (chain, error) {
	c, err := bindChain(b, m.Layers, x, nil, Mode{Train: train, Ctr: ctr, Seed: seed, unfused: m.unfused})
	if err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("the model has no layers")
	}
	return c, nil
}

// Logits runs the model in evaluation mode on n images (pixels: n×C×H×W
// floats in [0,1], C×H×W the size the model was built for) and returns
// n×classes logits.
func (m *Model) Logits(b backend.Backend, pixels []float32, n, c, h, w int) ([]float32, error) {
	if len(pixels) != n*c*h*w {
		return nil, fmt.Errorf("%d pixel values for %d images of %dx%dx%d", len(pixels), n, c, h, w)
	}
	if mc, mh, mw := m.InputShape(); m.Input != nil && (c != mc || h != mh || w != mw) {
		return nil, fmt.Errorf("images of %dx%dx%d for a model built for %dx%dx%d", c, h, w, mc, mh, mw)
	}
	if len(m.Std) > 0 {
		if len(m.Mean) != c || len(m.Std) != c {
			return nil, fmt.Errorf("normalization for %d channels, images with %d", len(m.Std), c)
		}
		norm := make([]float32, len(pixels))
		plane := h * w
		for i, v := range pixels {
			ch := i / plane % c
			norm[i] = (v - m.Mean[ch]) / m.Std[ch]
		}
		pixels = norm
	}
	o := &owned{Backend: b}
	defer o.free()
	x, err := o.NewTensor(backend.F32, n, c, h, w)
	if err != nil {
		return nil, err
	}
	if err := o.Upload(x, pixels); err != nil {
		return nil, err
	}
	nt, err := m.bind(o, x, false, nil, 0)
	if err != nil {
		return nil, err
	}
	p := o.NewProgram()
	defer p.Close()
	nt.Forward(p)
	if err := p.Run(1); err != nil {
		return nil, err
	}
	out := make([]float32, nt.Out().Len())
	return out, o.Download(nt.Out(), out)
}
