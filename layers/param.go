package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/backend"
)

// Kind says what a state_dict entry is and what training does with it.
type Kind int

// The kinds of state_dict entries.
const (
	// Learnable parameters have a gradient and a momentum buffer and are
	// updated by the optimizer.
	Learnable Kind = iota
	// Frozen parameters are in the state_dict but get no gradient and no
	// update (PyTorch's requires_grad=False).
	Frozen
	// Buffers are state the forward pass itself moves (BatchNorm's running
	// statistics); the optimizer leaves them alone.
	Buffer
	// Counters are integer buffers kept on the host (BatchNorm's
	// num_batches_tracked, an int64 in PyTorch): Value is nil and Count
	// holds the number.
	Counter
)

// Param is one entry of a model's state_dict: a learnable tensor with its
// gradient and SGD momentum buffer, a frozen one, a buffer or a counter.
type Param struct {
	// Name is the PyTorch state_dict name, e.g. "conv1.weight".
	Name  string
	Shape []int
	Kind  Kind
	// FanIn sets PyTorch's default initialization of Conv2d and Linear:
	// uniform in ±1/sqrt(FanIn). Zero means the constant Fill instead.
	FanIn int
	// Fill is the initial value of every element when FanIn is 0
	// (BatchNorm's weight 1, bias 0, running_var 1).
	Fill float32

	// Value always exists but for counters; Grad and Momentum exist for
	// learnable parameters only.
	Value, Grad, Momentum backend.Tensor
	// Count is a counter's value.
	Count int64
}

// Len is the number of elements.
func (p *Param) Len() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Trains says whether the parameter gets a gradient and optimizer updates.
func (p *Param) Trains() bool { return p.Kind == Learnable }

// grad is the gradient an op should write for p, or nil for one that does
// not train (ops skip a nil gradient).
func (p *Param) grad() backend.Tensor {
	if !p.Trains() {
		return nil
	}
	return p.Grad
}

// alloc creates the parameter's tensors on b.
func (p *Param) alloc(b backend.Backend) error {
	ts := []*backend.Tensor{&p.Value, &p.Grad, &p.Momentum}
	switch p.Kind {
	case Counter:
		ts = nil
	case Frozen, Buffer:
		ts = ts[:1]
	}
	for _, t := range ts {
		var err error
		if *t, err = b.NewTensor(backend.F32, p.Shape...); err != nil {
			return fmt.Errorf("parameter %s: %w", p.Name, err)
		}
	}
	return nil
}

// initValues draws PyTorch's default initialization for Conv2d and Linear:
// weights from kaiming_uniform_(a=sqrt(5)) and biases alike, both uniform in
// ±1/sqrt(fan_in); other entries start at their Fill.
func (p *Param) initValues(rng *rand.Rand) []float32 {
	v := make([]float32, p.Len())
	if p.FanIn == 0 {
		for i := range v {
			v[i] = p.Fill
		}
		return v
	}
	bound := 1 / math.Sqrt(float64(p.FanIn))
	for i := range v {
		v[i] = float32((rng.Float64()*2 - 1) * bound)
	}
	return v
}
