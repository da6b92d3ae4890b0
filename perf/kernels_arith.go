package perf

import "github.com/vkcnn/vkcnn/backend"

// arithKernels lists the benchmarks of the arith ops at batch n, at the
// shapes the zoo networks use them: GELU and Add on a residual network's
// first stage ([n,64,32,32]: airbench's GELU after its first convolutions,
// ResNet's residual join), Scale on the logits (airbench scales them by 1/9).
func arithKernels(n int) []Kernel {
	act := []int{n, 64, side, side}
	return []Kernel{GELU(act...), GELUBackward(act...), Add("residual", act...), Scale("logits", 1.0/9, n, classes)}
}

// GELU is y = x·Φ(x) = x/2·(1+erf(x/√2)) on a tensor of the given shape.
// FLOPs: 4 an element (x/√2, erf, 1+erf, x/2·that), erf counted as one
// operation as softmax-ce counts exp.
func GELU(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "gelu.forward", Op: "GELU", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: 4 * e, Bytes: 2 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, y := a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.GELU(x, y) }, a.err
		},
	}
}

// GELUBackward is dx = dy·(Φ(x) + x·φ(x)). FLOPs: 11 an element: Φ as in
// GELU (4), φ = exp(-x²/2)/√(2π) (square, halve, exp, scale: 4), Φ + x·φ
// (a multiply-add: 2), times dy (1).
func GELUBackward(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "gelu.backward", Op: "GELUBackward", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: 11 * e, Bytes: 3 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, dy, dx := a.rand(shape...), a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.GELUBackward(x, dy, dx) }, a.err
		},
	}
}

// Add is y = a + b where the branches of the given use join.
func Add(use string, shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "add." + use, Op: "Add", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 3 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, y, sum := a.rand(shape...), a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.Add(x, y, sum) }, a.err
		},
	}
}

// Scale is y = alpha·x for the given use.
func Scale(use string, alpha float32, shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "scale." + use, Op: "Scale", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 2 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, y := a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.Scale(x, y, alpha) }, a.err
		},
	}
}
