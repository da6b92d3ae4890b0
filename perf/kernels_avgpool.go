package perf

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// avgPoolKernels lists the benchmarks of the avgpool ops at batch n, at the shapes the zoo
// networks use them: ResNet-18's "avgpool 4" (arch/zoo/resnet18.net), a global pool over
// its last 4x4 map of 512 channels; and a global pool with a larger window, over the last
// 8x8 map of 64 channels of the CIFAR ResNets of He et al. (ResNet-20/56, not yet in
// arch/zoo).
func avgPoolKernels(n int) []Kernel {
	return []Kernel{
		AvgPool("resnet18", n, 512, 4, 4),
		AvgPoolBackward("resnet18", n, 512, 4, 4),
		AvgPool("global", n, 64, 8, 8),
		AvgPoolBackward("global", n, 64, 8, 8),
	}
}

// avgPoolDims are the input and output shapes of a kernel x kernel, stride
// kernel average pool of [n,c,h,h].
func avgPoolDims(n, c, h, kernel int) (x, y []int) {
	o := (h-kernel)/kernel + 1
	return []int{n, c, h, h}, []int{n, c, o, o}
}

// AvgPool is a kernel x kernel average pool with stride kernel of [n,c,h,h]
// (kernel = h: global average pooling). FLOPs: kernel² an output (the
// window's adds and the scale); x read, y written.
func AvgPool(layer string, n, c, h, kernel int) Kernel {
	x, y := avgPoolDims(n, c, h, kernel)
	return Kernel{
		Name: "avgpool." + layer + ".forward", Op: "AvgPool2d",
		Shape: fmt.Sprintf("%s, %dx%d", dims(x...), kernel, kernel), Batch: n,
		Work: Work{FLOPs: float64(elems(y) * kernel * kernel), Bytes: f32(x...) + f32(y...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			tx, ty := a.rand(x...), a.out(y...)
			return func(o backend.Ops) { o.AvgPool2d(tx, ty, kernel, kernel) }, a.err
		},
	}
}

// AvgPoolBackward spreads dy of AvgPool's output shape back over [n,c,h,h].
// FLOPs: kernel² an output, as forward (each dy added to, and scaled into,
// kernel² elements); dy read, dx written.
func AvgPoolBackward(layer string, n, c, h, kernel int) Kernel {
	x, y := avgPoolDims(n, c, h, kernel)
	return Kernel{
		Name: "avgpool." + layer + ".backward", Op: "AvgPool2dBackward",
		Shape: fmt.Sprintf("%s → %s, %dx%d", dims(y...), dims(x...), kernel, kernel), Batch: n,
		Work: Work{FLOPs: float64(elems(y) * kernel * kernel), Bytes: f32(y...) + f32(x...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			dy, dx := a.rand(y...), a.out(x...)
			return func(o backend.Ops) { o.AvgPool2dBackward(dy, dx, kernel, kernel) }, a.err
		},
	}
}
