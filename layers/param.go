package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/backend"
)

// Param is a learnable tensor with its gradient and SGD momentum buffer.
type Param struct {
	// Name is the PyTorch state_dict name, e.g. "conv1.weight".
	Name  string
	Shape []int
	// FanIn sets PyTorch's default initialization: uniform in ±1/sqrt(FanIn).
	FanIn int

	Value, Grad, Momentum backend.Tensor
}

// Len is the number of elements.
func (p *Param) Len() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// alloc creates the parameter's tensors on b.
func (p *Param) alloc(b backend.Backend) error {
	for _, t := range []*backend.Tensor{&p.Value, &p.Grad, &p.Momentum} {
		var err error
		if *t, err = b.NewTensor(backend.F32, p.Shape...); err != nil {
			return fmt.Errorf("parameter %s: %w", p.Name, err)
		}
	}
	return nil
}

// initValues draws PyTorch's default initialization for Conv2d and Linear:
// weights from kaiming_uniform_(a=sqrt(5)) and biases alike, both uniform in
// ±1/sqrt(fan_in).
func (p *Param) initValues(rng *rand.Rand) []float32 {
	bound := 1 / math.Sqrt(float64(p.FanIn))
	v := make([]float32, p.Len())
	for i := range v {
		v[i] = float32((rng.Float64()*2 - 1) * bound)
	}
	return v
}
