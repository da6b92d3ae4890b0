package perf

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// The fused ops the seed model's step records in place of the unfused ones
// listed beside them (layers' fusion pass): each is timed at the shape it
// replaces, so a row here compares with the sum of the rows it stands for.
func fusedKernels(n int) []Kernel {
	conv1 := []int{n, conv1C, side, side}
	return []Kernel{
		convEpilogue("conv.conv1.forward+relu+dropout", n, 3, conv1C, true),
		convEpilogue("conv.conv2.forward+relu", n, conv1C, conv2C, false),
		convBackwardDataMask("conv.conv2.backward-data+relu-dropout-mask", n, conv1C, conv2C),
		linearEpilogue("matmul.fc3.forward+bias+relu+dropout", n, fc3In, hidden),
		linearBiasGrad("matmul.fc3.backward-weights+bias", n, fc3In, hidden),
		linearBiasGrad("matmul.fc4.backward-weights+bias", n, hidden, classes),
		linearDataMask("matmul.fc4.backward-data+relu-dropout-mask", n, hidden, classes),
		ReLUDropoutBackward(conv1...),
	}
}

// fusedDropout is the seed model's dropout as an epilogue draws it.
func fusedDropout(a *arena, p float32, stream uint32) backend.Epilogue {
	return backend.Epilogue{ReLU: true, Ctr: a.counters(), P: p, Seed: 1, Stream: stream}
}

// convEpilogue is a 3x3, padding 1 convolution with bias from c to k
// channels at batch n, its ReLU (and dropout) in the store.
func convEpilogue(name string, n, c, k int, dropout bool) Kernel {
	const r, pad = 3, 1
	x, w, y := []int{n, c, side, side}, []int{k, c, r, r}, []int{n, k, side, side}
	macs := 2 * float64(n*k*side*side) * float64(c*r*r)
	return Kernel{
		Name: name, Op: "Conv2dEpilogue", Shape: fmt.Sprintf("x %s, w %s", dims(x...), dims(w...)), Batch: n,
		Work: Work{FLOPs: macs + 2*float64(elems(y)), Bytes: f32(x...) + f32(w...) + f32(k) + f32(y...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			tx, tw, tb, ty := a.rand(x...), a.rand(w...), a.rand(k), a.out(y...)
			e := backend.Epilogue{ReLU: true}
			if dropout {
				e = fusedDropout(a, 0.3, 1)
			}
			return func(o backend.Ops) { o.Conv2dEpilogue(tx, tw, tb, ty, 1, pad, e) }, a.err
		},
	}
}

// convBackwardDataMask is a convolution's input gradient through the
// gradient mask of the ReLU and dropout (p 0.3) before it.
func convBackwardDataMask(name string, n, c, k int) Kernel {
	const r, pad = 3, 1
	x, w, y := []int{n, c, side, side}, []int{k, c, r, r}, []int{n, k, side, side}
	return Kernel{
		Name: name, Op: "Conv2dBackwardDataEpilogue", Shape: fmt.Sprintf("x %s, w %s", dims(x...), dims(w...)), Batch: n,
		Work: Work{FLOPs: 2 * float64(n*k*side*side) * float64(c*r*r), Bytes: f32(y...) + f32(w...) + 2*f32(x...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			tdy, tw, tdx, mask := a.rand(y...), a.rand(w...), a.out(x...), a.rand(x...)
			e := backend.Epilogue{Mask: mask, MaskP: 0.3}
			return func(o backend.Ops) { o.Conv2dBackwardDataEpilogue(tdy, tw, tdx, 1, pad, e) }, a.err
		},
	}
}

// linearEpilogue is a Linear layer's forward x·Wᵀ with its bias, ReLU and
// dropout (p 0.5) in the store.
func linearEpilogue(name string, n, in, out int) Kernel {
	return Kernel{
		Name: name, Op: "MatMulEpilogue", Shape: fmt.Sprintf("%s · (%s)ᵀ", dims(n, in), dims(out, in)), Batch: n,
		Work: Work{FLOPs: 2*float64(n*out)*float64(in) + 3*float64(n*out), Bytes: f32(n, in) + f32(out, in) + f32(out) + f32(n, out)},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, w, b, y := a.rand(n, in), a.rand(out, in), a.rand(out), a.out(n, out)
			e := fusedDropout(a, 0.5, 2)
			e.Bias = b
			return func(o backend.Ops) { o.MatMulEpilogue(x, w, y, false, true, e) }, a.err
		},
	}
}

// linearBiasGrad is a Linear layer's weight gradient dYᵀ·X with the bias
// gradient from the same GEMM.
func linearBiasGrad(name string, n, in, out int) Kernel {
	return Kernel{
		Name: name, Op: "MatMulBiasGrad", Shape: fmt.Sprintf("(%s)ᵀ · %s", dims(n, out), dims(n, in)), Batch: n,
		Work: Work{FLOPs: 2 * float64(out*(in+1)) * float64(n), Bytes: f32(n, out) + f32(n, in) + f32(out, in) + f32(out)},
		setup: func(a *arena) (func(backend.Ops), error) {
			dy, x, dw, db := a.rand(n, out), a.rand(n, in), a.out(out, in), a.out(out)
			return func(o backend.Ops) { o.MatMulBiasGrad(dy, x, dw, db, true, false) }, a.err
		},
	}
}

// linearDataMask is a Linear layer's input gradient dY·W through the
// gradient mask of the ReLU and dropout (p 0.5) before it.
func linearDataMask(name string, n, in, out int) Kernel {
	return Kernel{
		Name: name, Op: "MatMulEpilogue", Shape: fmt.Sprintf("%s · %s", dims(n, out), dims(out, in)), Batch: n,
		Work: Work{FLOPs: 2 * float64(n*in) * float64(out), Bytes: f32(n, out) + f32(out, in) + 2*f32(n, in)},
		setup: func(a *arena) (func(backend.Ops), error) {
			dy, w, dx, mask := a.rand(n, out), a.rand(out, in), a.out(n, in), a.rand(n, in)
			e := backend.Epilogue{Mask: mask, MaskP: 0.5}
			return func(o backend.Ops) { o.MatMulEpilogue(dy, w, dx, false, false, e) }, a.err
		},
	}
}

// ReLUDropoutBackward is the gradient through a ReLU and a dropout (p 0.3)
// in one pass, from the dropout's output.
func ReLUDropoutBackward(shape ...int) Kernel {
	return Kernel{
		Name: "relu-dropout.backward", Op: "ReLUDropoutBackward", Shape: dims(shape...) + ", p 0.3", Batch: shape[0],
		Work: Work{FLOPs: float64(elems(shape)), Bytes: 3 * f32(shape...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			y, dy, dx := a.rand(shape...), a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.ReLUDropoutBackward(y, dy, dx, 0.3) }, a.err
		},
	}
}

// PackedSGD is the seed model's whole optimizer step: SGD on all eight
// parameters, packed, in one op, with Step folded in.
func PackedSGD() Kernel {
	shapes := [][]int{{conv1C, 3, 3, 3}, {conv1C}, {conv2C, conv1C, 3, 3}, {conv2C}, {hidden, fc3In}, {hidden}, {classes, hidden}, {classes}}
	total := 0
	for _, s := range shapes {
		total += elems(s)
	}
	return Kernel{
		Name: "sgd.packed", Op: "SGDPacked", Shape: fmt.Sprintf("the seed's 8 parameters, %d elements, momentum 0.9, + Step", total),
		Work: Work{FLOPs: 4 * float64(total), Bytes: 5 * f32(total)},
		setup: func(a *arena) (func(backend.Ops), error) {
			var wholes [3]backend.Tensor
			var offsets []int
			for i := range wholes {
				if a.err != nil {
					break
				}
				w, _, off, err := a.b.Pack(backend.F32, shapes...)
				if err != nil {
					a.fail(err)
					break
				}
				a.tensors = append(a.tensors, w)
				v := make([]float32, w.Len())
				for j := range v {
					v[j] = a.rng.Float32()*2 - 1
				}
				a.upload(w, v)
				wholes[i], offsets = w, off
			}
			if a.err != nil {
				return nil, a.err
			}
			g := backend.SGDGroup{SGDParams: seedSGD}
			last := len(shapes) - 1
			g.Ranges = []backend.Range{{Offset: 0, Len: offsets[last] + elems(shapes[last])}}
			ctr := a.counters()
			return func(o backend.Ops) { o.SGDPacked(wholes[0], wholes[1], wholes[2], []backend.SGDGroup{g}, ctr) }, a.err
		},
	}
}
