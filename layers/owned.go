package layers

import "github.com/vkcnn/vkcnn/backend"

// owned is a backend that remembers the tensors allocated through it, so
// that a trainer or evaluator frees everything it made when it closes.
type owned struct {
	backend.Backend
	tensors []backend.Tensor
}

func (o *owned) NewTensor(dt backend.DType, shape ...int) (backend.Tensor, error) {
	t, err := o.Backend.NewTensor(dt, shape...)
	if err == nil {
		o.tensors = append(o.tensors, t)
	}
	return t, err
}

// free releases every tensor allocated through o.
func (o *owned) free() {
	for _, t := range o.tensors {
		o.Backend.Free(t)
	}
	o.tensors = nil
}
