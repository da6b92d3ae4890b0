package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// A training step used to end with one SGD op per trainable parameter and a
// Step: on a GPU, a dispatch and a barrier each, more than a fifth of the
// seed model's step. Packing every parameter's value, gradient and momentum
// into three storages lets one SGDPacked op update them all and advance the
// counters too.

// packLimit bounds the elements of one pack: a pack is bound whole by the
// optimizer, and 64 MiB of float32 stays well inside every device's
// storage-buffer range (Vulkan guarantees 128 MiB).
const packLimit = 16 << 20

// paramPack is a run of trainable parameters whose values, gradients and
// momenta are parts of three packs.
type paramPack struct {
	value, grad, momentum backend.Tensor // the wholes
	params                []*Param
	offsets               []int // where each parameter begins in the wholes
	lens                  []int
}

// allocPacks allocates the trainable parameters in packs of at most
// packLimit elements (one alone when larger) and says which it allocated.
// A backend that cannot pack leaves every parameter to Param.alloc.
func (m *Model) allocPacks(b backend.Backend) (map[*Param]bool, error) {
	m.packs = nil
	packed := map[*Param]bool{}
	var run []*Param
	size := 0
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		pk, err := newPack(b, run)
		if err != nil {
			return err
		}
		m.packs = append(m.packs, pk)
		for _, p := range run {
			packed[p] = true
		}
		run, size = nil, 0
		return nil
	}
	for _, p := range m.Trainable() {
		if size > 0 && size+p.Len() > packLimit {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		run = append(run, p)
		size += p.Len()
	}
	return packed, flush()
}

// newPack allocates ps's values, gradients and momenta (zeroed) as parts of
// three packs.
func newPack(b backend.Backend, ps []*Param) (*paramPack, error) {
	shapes := make([][]int, len(ps))
	pk := &paramPack{params: ps}
	for i, p := range ps {
		shapes[i] = p.Shape
		pk.lens = append(pk.lens, p.Len())
	}
	for k, set := range []func(whole backend.Tensor, parts []backend.Tensor){
		func(w backend.Tensor, parts []backend.Tensor) {
			pk.value = w
			for i, p := range ps {
				p.Value = parts[i]
			}
		},
		func(w backend.Tensor, parts []backend.Tensor) {
			pk.grad = w
			for i, p := range ps {
				p.Grad = parts[i]
			}
		},
		func(w backend.Tensor, parts []backend.Tensor) {
			pk.momentum = w
			for i, p := range ps {
				p.Momentum = parts[i]
			}
		},
	} {
		whole, parts, offsets, err := b.Pack(backend.F32, shapes...)
		if err != nil {
			return nil, fmt.Errorf("parameters %s to %s: %w", ps[0].Name, ps[len(ps)-1].Name, err)
		}
		if k == 0 {
			pk.offsets = offsets
		}
		set(whole, parts)
	}
	return pk, nil
}

// recordUpdate records the optimizer step over every trainable parameter
// with its hyperparameters in sgd, then Step(ctr): one SGDPacked per pack,
// its parameters grouped by identical hyperparameters, the last advancing
// the counters; SGD for a parameter outside every pack.
func (m *Model) recordUpdate(o backend.Ops, sgd map[*Param]backend.SGDParams, ctr backend.Tensor) {
	inPack := map[*Param]bool{}
	for _, pk := range m.packs {
		for _, p := range pk.params {
			inPack[p] = true
		}
	}
	for _, p := range m.Trainable() {
		if so, ok := sgd[p]; ok && !inPack[p] {
			o.SGD(p.Value, p.Grad, p.Momentum, so)
		}
	}
	if len(m.packs) == 0 {
		o.Step(ctr)
		return
	}
	for i, pk := range m.packs {
		var c backend.Tensor
		if i == len(m.packs)-1 {
			c = ctr
		}
		o.SGDPacked(pk.value, pk.grad, pk.momentum, pk.groups(sgd), c)
	}
}

// groups gathers the pack's parameters by identical hyperparameters (the
// trainer gives each group the same SGDParams value, schedule tensor
// included), in order of first appearance. Neighbours of one group form one
// range, the gap between them included: gaps are zero in all three packs,
// and SGD keeps a zero a zero.
func (pk *paramPack) groups(sgd map[*Param]backend.SGDParams) []backend.SGDGroup {
	var gs []backend.SGDGroup
	last := -1 // the group of the previous parameter, whose range may grow
	for i, p := range pk.params {
		so, ok := sgd[p]
		if !ok {
			last = -1
			continue
		}
		g := -1
		for j := range gs {
			if gs[j].SGDParams == so {
				g = j
				break
			}
		}
		if g < 0 {
			gs = append(gs, backend.SGDGroup{SGDParams: so})
			g = len(gs) - 1
		}
		end := pk.offsets[i] + pk.lens[i]
		if g == last {
			r := &gs[g].Ranges[len(gs[g].Ranges)-1]
			r.Len = end - r.Offset
		} else {
			gs[g].Ranges = append(gs[g].Ranges, backend.Range{Offset: pk.offsets[i], Len: pk.lens[i]})
		}
		last = g
	}
	return gs
}
