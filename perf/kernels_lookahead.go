package perf

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// airbenchKernels lists the benchmarks of airbench's data and optimizer
// extras: its gather at each batch size (reflect padding 2, flips from the
// index list) and Lookahead once, over a 256-channel 3x3 convolution's
// weights (the largest of airbench's parameters).
func airbenchKernels(batches []int) []Kernel {
	var ks []Kernel
	for _, n := range batches {
		ks = append(ks, GatherReflect(n))
	}
	return append(ks, Lookahead("conv256.weight", 256, 256, 3, 3))
}

// GatherReflect builds a batch of n images as airbench's loader does:
// random 32x32 crops of the images reflect-padded by 2, mirrored where
// bit 31 of the index entry says (half of them), normalized. Work is
// counted as Gather's: the crop moves no more bytes.
func GatherReflect(n int) Kernel {
	k := Gather(n)
	k.Name, k.Shape = "gather.reflect-indexflip", k.Shape+", reflect pad 2, index flips"
	o := backend.GatherParams{Mean: [4]float32{0.4914, 0.4822, 0.4465}, Std: [4]float32{0.2470, 0.2435, 0.2616},
		Pad: 2, Reflect: true, IndexFlip: true, Seed: 1}
	k.setup = func(a *arena) (func(backend.Ops), error) {
		r := gatherRecords * n
		records := a.records(r)
		idx := make([]uint32, n)
		for i, j := range a.rng.Perm(r)[:n] {
			idx[i] = uint32(j) | uint32(i%2)<<31
		}
		indices, ctr := a.u32(idx, n), a.counters()
		x, labels := a.out(n, 3, side, side), a.outU32(n)
		return func(o2 backend.Ops) { o2.Gather(records, indices, ctr, x, labels, o) }, a.err
	}
	return k
}

// Lookahead is the Lookahead pull of a parameter of the given shape and its
// slow copy. FLOPs: 3 an element (b-a, times w, plus a); bytes: p and ema
// read and written, and the decay.
func Lookahead(param string, shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "lookahead." + param, Op: "Lookahead", Shape: dims(shape...) + fmt.Sprintf(", decay %v", lookaheadDecay),
		Work: Work{FLOPs: 3 * e, Bytes: 4*4*e + 4},
		setup: func(a *arena) (func(backend.Ops), error) {
			p, ema := a.rand(shape...), a.rand(shape...)
			decay := a.upload(a.alloc(backend.F32, 1), []float32{lookaheadDecay})
			return func(o backend.Ops) { o.Lookahead(p, ema, decay) }, a.err
		},
	}
}

// lookaheadDecay is the largest decay of airbench's Lookahead schedule,
// 0.95^5 (it pulls every five steps).
const lookaheadDecay = 0.7737809
