package layers

import "github.com/vkcnn/vkcnn/backend"

// Read-only views of what training holds on the backend, for tools that
// watch a run (the training window) without driving it.

// Batch is the input of the training step [N,C,H,W]: the last full batch
// gathered (augmented and normalized) and trained on. It changes with every
// step; read it between Epoch's submits, never write it.
func (t *Trainer) Batch() backend.Tensor { return t.batch }

// FirstConv is the model's first convolution in the order Walk visits
// layers (its filters see the images themselves), or nil if it has none.
func (m *Model) FirstConv() *Conv2d {
	var first *Conv2d
	Walk(m.Layers, func(l Layer) {
		if c, ok := l.(*Conv2d); ok && first == nil {
			first = c
		}
	})
	return first
}
