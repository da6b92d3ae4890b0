package perf

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// batchNormKernels lists the benchmarks of the batchnorm ops at batch n, at the shapes the zoo
// networks use them.
func batchNormKernels(n int) []Kernel {
	var ks []Kernel
	// A ResNet's first stage on 32x32 images (many values per channel,
	// few channels) and a late one (many channels over small planes).
	for _, s := range [][3]int{{64, 32, 32}, {256, 8, 8}} {
		ks = append(ks, BatchNorm(n, s[0], s[1], s[2])...)
	}
	return ks
}

// bnEps and bnMomentum are torch.nn.BatchNorm2d's defaults.
const (
	bnEps      = 1e-5
	bnMomentum = 0.1
)

// BatchNorm is BatchNorm2d's training forward, evaluation forward and
// backward (all three gradients) over [n,c,h,w].
//
// FLOPs an element: training forward 7 (the sum; subtract the mean and
// multiply-add the square; subtract, multiply-add the affine map),
// evaluation 3, backward 9 (the sums of dy and of dy·(x-mean): 1 + 3; dx:
// subtract the mean, multiply-add, subtract, multiply). The per-channel
// work is left out. Bytes: x read and y written (dy and x read and dx
// written backward), and the [c] tensors each op reads or writes,
// the running statistics twice in training.
func BatchNorm(n, c, h, w int) []Kernel {
	x := []int{n, c, h, w}
	e := float64(elems(x))
	shape := dims(x...)
	name := fmt.Sprintf("batchnorm.%dx%dx%d.", c, h, w)
	train := backend.BatchNormParams{Eps: bnEps, Momentum: bnMomentum, Train: true}
	return []Kernel{
		{
			Name: name + "forward-train", Op: "BatchNorm2d", Shape: shape + ", train", Batch: n,
			// weight, bias read; running mean and var read and written; mean, invstd written
			Work: Work{FLOPs: 7 * e, Bytes: 2*f32(x...) + 8*f32(c)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tx, ty, t := a.rand(x...), a.out(x...), bnLayer(a, c)
				return func(o backend.Ops) { o.BatchNorm2d(tx, ty, t, train) }, a.err
			},
		},
		{
			Name: name + "forward-eval", Op: "BatchNorm2d", Shape: shape + ", eval", Batch: n,
			// weight, bias, running mean and var read
			Work: Work{FLOPs: 3 * e, Bytes: 2*f32(x...) + 4*f32(c)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tx, ty, t := a.rand(x...), a.out(x...), bnLayer(a, c)
				t.Mean, t.InvStd = nil, nil
				eval := train
				eval.Train = false
				return func(o backend.Ops) { o.BatchNorm2d(tx, ty, t, eval) }, a.err
			},
		},
		{
			Name: name + "backward", Op: "BatchNorm2dBackward", Shape: shape, Batch: n,
			// mean, invstd, weight read; dWeight, dBias written
			Work: Work{FLOPs: 9 * e, Bytes: 3*f32(x...) + 5*f32(c)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tx, ty, t := a.rand(x...), a.out(x...), bnLayer(a, c)
				a.run(func(o backend.Ops) { o.BatchNorm2d(tx, ty, t, train) })
				dy, dx, dw, db := a.rand(x...), a.out(x...), a.out(c), a.out(c)
				return func(o backend.Ops) { o.BatchNorm2dBackward(tx, dy, dx, t, dw, db) }, a.err
			},
		},
	}
}

// bnLayer allocates one BatchNorm2d layer's [c] tensors: random weights,
// biases and running means, running variances in [0.5, 1.5) (evaluation
// takes their square root), and outputs for the saved statistics.
func bnLayer(a *arena, c int) backend.BatchNormTensors {
	rv := make([]float32, c)
	for i := range rv {
		rv[i] = 0.5 + a.rng.Float32()
	}
	return backend.BatchNormTensors{
		Weight: a.rand(c), Bias: a.rand(c), RunningMean: a.rand(c),
		RunningVar: a.upload(a.alloc(backend.F32, c), rv),
		Mean:       a.out(c), InvStd: a.out(c),
	}
}
