// Package layers builds networks out of modules (Conv2d, BatchNorm2d, ReLU,
// GELU, Dropout, MaxPool2d, AvgPool2d, Flatten, Linear, Scale, and the
// containers Sequential and Residual) on a backend.Backend, and trains them:
// a training step (gather, forward, loss, backward, SGD) is recorded once as
// a backend.Program and replayed.
//
// A model is a tree of modules named as PyTorch names them, so that its
// state_dict (parameters, then buffers such as BatchNorm's running
// statistics, module by module) carries over to and from PyTorch.
package layers

import "github.com/vkcnn/vkcnn/backend"

// Layer is a module of a network: a description that can be bound to tensors
// of a given batch size any number of times (a training step, the last short
// batch of an epoch, evaluation), always sharing the same parameters.
type Layer interface {
	// Params are the layer's state_dict entries in PyTorch's order (none for
	// most layers; a container's are its children's).
	Params() []*Param
	// Bind allocates what the layer needs for input x. dx, when not nil, is
	// where Backward writes the gradient of the input.
	Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error)
}

// Mode is what a binding needs to know beyond the tensors.
type Mode struct {
	// Train selects the training behaviour: dropout on, BatchNorm on batch
	// statistics, gradients kept.
	Train bool
	// Ctr is the step counter tensor (backend.Counters) that seeds dropout.
	Ctr backend.Tensor
	// Seed seeds dropout.
	Seed uint32

	// unfused records every op on its own (no fused GEMM epilogues, see
	// fuseChain): the reference the fused recording is tested against.
	unfused bool
}

// Bound is a layer bound to tensors of one batch size.
type Bound interface {
	// Out is the output of Forward.
	Out() backend.Tensor
	// DOut is where the next layer's Backward writes the gradient of Out
	// (nil when not training).
	DOut() backend.Tensor
	// Forward records the forward pass.
	Forward(o backend.Ops)
	// Backward records the backward pass: from DOut, the gradient of the
	// input (into dx) and of the parameters (into their Grad).
	Backward(o backend.Ops)
}

// outputs allocates an output and, when training, its gradient.
func outputs(b backend.Backend, train bool, shape ...int) (y, dy backend.Tensor, err error) {
	if y, err = b.NewTensor(backend.F32, shape...); err != nil || !train {
		return y, nil, err
	}
	dy, err = b.NewTensor(backend.F32, shape...)
	return y, dy, err
}
