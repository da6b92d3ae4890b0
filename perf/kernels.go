package perf

import (
	"fmt"
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/backend"
)

// Work is what one run of a kernel does (see the package documentation for
// how it is counted).
type Work struct {
	FLOPs float64
	Bytes float64
}

// Intensity is the arithmetic intensity, FLOPs per byte.
func (w Work) Intensity() float64 {
	if w.Bytes == 0 {
		return 0
	}
	return w.FLOPs / w.Bytes
}

// Kernel is one benchmark: one op of backend.Ops at one shape.
type Kernel struct {
	// Name says which op of which layer, e.g. "conv.conv2.backward-weights"
	// or "matmul.fc3.forward"; the --filter of `vkcnn bench` matches it.
	Name string
	// Op is the backend.Ops method timed.
	Op string
	// Shape describes the operands, e.g. "32x8192 · (512x8192)ᵀ".
	Shape string
	// Batch is the batch size (0 where the op has none, such as SGD).
	Batch int
	// Large marks the big shapes, beyond the seed model's.
	Large bool
	Work  Work
	// setup allocates and fills the operands and returns the op's call.
	setup func(a *arena) (func(backend.Ops), error)
}

// Seed model widths (layers.Seed): conv1 3→32, conv2 32→32, fc3 8192→512,
// fc4 512→10, on 32x32 images.
const (
	side    = backend.ImageSide
	conv1C  = 32
	conv2C  = 32
	hidden  = 512
	classes = backend.NumClasses
	fc3In   = conv2C * (side / 2) * (side / 2)
)

// Large says which big shapes to add.
type Large int

const (
	// NoLarge leaves the big shapes out.
	NoLarge Large = iota
	// FullLarge is a 4096x4096x4096 matmul and 256-channel 3x3 convolutions
	// on 32x32 at batch 128: work that should reach a GPU's peak.
	FullLarge
	// ScaledLarge is the same kinds at sizes a CPU (or a CPU Vulkan driver
	// such as lavapipe) finishes in about a second: a 1024x1024x1024 matmul
	// and the convolutions at batch 4.
	ScaledLarge
)

// LargeShapes describes the big shapes of l, for messages.
func LargeShapes(l Large) string {
	switch l {
	case FullLarge:
		return "matmul 4096x4096x4096, 256-channel 3x3 convolutions on 32x32 at batch 128"
	case ScaledLarge:
		return "matmul 1024x1024x1024, 256-channel 3x3 convolutions on 32x32 at batch 4"
	}
	return "none"
}

// Kernels lists the benchmarks: every op of the seed model's training step
// (and evaluation's argmax) at each batch size, in the step's order, SGD on
// fc3's weights once, airbench's gather at each batch size and its
// Lookahead once, then the large shapes. conv1's backward-data is timed
// too, though the step skips it (the images need no gradient).
func Kernels(batches []int, large Large) []Kernel {
	var ks []Kernel
	for _, n := range batches {
		ks = append(ks, Gather(n))
		ks = append(ks, Convs("conv1", n, 3, conv1C)...)
		ks = append(ks, ReLU(n, conv1C, side, side), ReLUBackward(n, conv1C, side, side),
			Dropout(n, conv1C, side, side), DropoutBackward(n, conv1C, side, side))
		ks = append(ks, Convs("conv2", n, conv1C, conv2C)...)
		ks = append(ks, MaxPool(n, conv2C, side), MaxPoolBackward(n, conv2C, side))
		ks = append(ks, Linear("fc3", n, fc3In, hidden)...)
		ks = append(ks, AddBias("fc3", n, hidden), BiasGrad("fc3", n, hidden))
		ks = append(ks, Linear("fc4", n, hidden, classes)...)
		ks = append(ks, SoftmaxCrossEntropy(n, classes), SmoothedSoftmaxCrossEntropy(n, classes), Argmax(n, classes))
		// The ops the zoo networks add (layers/zoo).
		ks = append(ks, batchNormKernels(n)...)
		ks = append(ks, arithKernels(n)...)
		ks = append(ks, avgPoolKernels(n)...)
		// The fused ops the step records in place of some of the above.
		ks = append(ks, fusedKernels(n)...)
	}
	ks = append(ks, SGD("fc3.weight", hidden, fc3In), ScheduledSGD("fc3.weight", hidden, fc3In), PackedSGD())
	ks = append(ks, airbenchKernels(batches)...)
	first := len(ks)
	switch large {
	case FullLarge:
		ks = append(ks, MatMul("matmul.large", 4096, 4096, 4096))
		ks = append(ks, Convs("large", 128, 256, 256)...)
	case ScaledLarge:
		ks = append(ks, MatMul("matmul.large", 1024, 1024, 1024))
		ks = append(ks, Convs("large", 4, 256, 256)...)
	}
	for i := first; i < len(ks); i++ {
		ks[i].Large = true
	}
	return ks
}

func f32(n ...int) float64 {
	v := 4.0
	for _, d := range n {
		v *= float64(d)
	}
	return v
}

func dims(d ...int) string {
	s := ""
	for i, v := range d {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(v)
	}
	return s
}

// Convs is forward, backward-data and backward-weights of a 3x3 convolution
// with padding 1 from c to k channels on 32x32 images at batch n.
func Convs(layer string, n, c, k int) []Kernel {
	const r, pad = 3, 1
	h, oh := side, side
	macs := 2 * float64(n) * float64(k) * float64(oh*oh) * float64(c*r*r)
	outs := float64(n * k * oh * oh)
	x, w, y := []int{n, c, h, h}, []int{k, c, r, r}, []int{n, k, oh, oh}
	shape := fmt.Sprintf("x %s, w %s", dims(x...), dims(w...))
	name := "conv." + layer + "."
	return []Kernel{
		{
			Name: name + "forward", Op: "Conv2d", Shape: shape, Batch: n,
			Work: Work{FLOPs: macs + outs, Bytes: f32(x...) + f32(w...) + f32(k) + f32(y...)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tx, tw, tb, ty := a.rand(x...), a.rand(w...), a.rand(k), a.out(y...)
				return func(o backend.Ops) { o.Conv2d(tx, tw, tb, ty, 1, pad) }, a.err
			},
		},
		{
			Name: name + "backward-data", Op: "Conv2dBackwardData", Shape: shape, Batch: n,
			Work: Work{FLOPs: macs, Bytes: f32(y...) + f32(w...) + f32(x...)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tdy, tw, tdx := a.rand(y...), a.rand(w...), a.out(x...)
				return func(o backend.Ops) { o.Conv2dBackwardData(tdy, tw, tdx, 1, pad) }, a.err
			},
		},
		{
			Name: name + "backward-weights", Op: "Conv2dBackwardWeights", Shape: shape, Batch: n,
			Work: Work{FLOPs: macs + outs, Bytes: f32(x...) + f32(y...) + f32(w...) + f32(k)},
			setup: func(a *arena) (func(backend.Ops), error) {
				tx, tdy, tdw, tdb := a.rand(x...), a.rand(y...), a.out(w...), a.out(k)
				return func(o backend.Ops) { o.Conv2dBackwardWeights(tx, tdy, tdw, tdb, 1, pad) }, a.err
			},
		},
	}
}

// MatMul is c[m,n] = a[m,k]·b[k,n] with no transposes.
func MatMul(name string, m, n, k int) Kernel {
	return matmul(name, m, n, k, false, false, 0)
}

// matmul is c = op(a)·op(b) for an m x n output and inner dimension k.
func matmul(name string, m, n, k int, transA, transB bool, batch int) Kernel {
	ad, bd := []int{m, k}, []int{k, n}
	as, bs := dims(ad...), dims(bd...)
	if transA {
		ad, as = []int{k, m}, "("+dims(k, m)+")ᵀ"
	}
	if transB {
		bd, bs = []int{n, k}, "("+dims(n, k)+")ᵀ"
	}
	return Kernel{
		Name: name, Op: "MatMul", Shape: as + " · " + bs, Batch: batch,
		Work: Work{FLOPs: 2 * float64(m) * float64(n) * float64(k), Bytes: f32(m, k) + f32(k, n) + f32(m, n)},
		setup: func(a *arena) (func(backend.Ops), error) {
			ta, tb, tc := a.rand(ad...), a.rand(bd...), a.out(m, n)
			return func(o backend.Ops) { o.MatMul(ta, tb, tc, transA, transB) }, a.err
		},
	}
}

// Linear is the three matmuls of a fully connected layer (in → out) at
// batch n, as layers.Linear records them: y = x·Wᵀ, dX = dY·W, dW = dYᵀ·X.
func Linear(layer string, n, in, out int) []Kernel {
	name := "matmul." + layer + "."
	return []Kernel{
		matmul(name+"forward", n, out, in, false, true, n),
		matmul(name+"backward-data", n, in, out, false, false, n),
		matmul(name+"backward-weights", out, in, n, true, false, n),
	}
}

// AddBias is y[n,m] += b[m].
func AddBias(layer string, n, m int) Kernel {
	return Kernel{
		Name: "add-bias." + layer, Op: "AddBias", Shape: fmt.Sprintf("y %s, b %d", dims(n, m), m), Batch: n,
		Work: Work{FLOPs: float64(n * m), Bytes: 2*f32(n, m) + f32(m)},
		setup: func(a *arena) (func(backend.Ops), error) {
			y, b := a.rand(n, m), a.rand(m)
			return func(o backend.Ops) { o.AddBias(y, b) }, a.err
		},
	}
}

// BiasGrad is db[m] = column sums of dy[n,m].
func BiasGrad(layer string, n, m int) Kernel {
	return Kernel{
		Name: "bias-grad." + layer, Op: "BiasGrad", Shape: fmt.Sprintf("dy %s", dims(n, m)), Batch: n,
		Work: Work{FLOPs: float64(n * m), Bytes: f32(n, m) + f32(m)},
		setup: func(a *arena) (func(backend.Ops), error) {
			dy, db := a.rand(n, m), a.out(m)
			return func(o backend.Ops) { o.BiasGrad(dy, db) }, a.err
		},
	}
}

func elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ReLU is y = max(x, 0) on a tensor of the given shape.
func ReLU(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "relu.forward", Op: "ReLU", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 2 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, y := a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.ReLU(x, y) }, a.err
		},
	}
}

// ReLUBackward is dx = dy where y > 0.
func ReLUBackward(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "relu.backward", Op: "ReLUBackward", Shape: dims(shape...), Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 3 * 4 * e},
		setup: func(a *arena) (func(backend.Ops), error) {
			y, dy, dx := a.rand(shape...), a.rand(shape...), a.out(shape...)
			return func(o backend.Ops) { o.ReLUBackward(y, dy, dx) }, a.err
		},
	}
}

// dropoutP is conv1's dropout probability in the seed model.
const dropoutP = 0.3

// Dropout is y = x·mask/(1-p), p = 0.3 as after conv1.
func Dropout(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "dropout.forward", Op: "Dropout", Shape: dims(shape...) + ", p 0.3", Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 2*4*e + 8},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, y, ctr := a.rand(shape...), a.out(shape...), a.counters()
			return func(o backend.Ops) { o.Dropout(x, y, ctr, dropoutP, 1, 1) }, a.err
		},
	}
}

// DropoutBackward is dx = dy·mask/(1-p).
func DropoutBackward(shape ...int) Kernel {
	e := float64(elems(shape))
	return Kernel{
		Name: "dropout.backward", Op: "DropoutBackward", Shape: dims(shape...) + ", p 0.3", Batch: shape[0],
		Work: Work{FLOPs: e, Bytes: 2*4*e + 8},
		setup: func(a *arena) (func(backend.Ops), error) {
			dy, dx, ctr := a.rand(shape...), a.out(shape...), a.counters()
			return func(o backend.Ops) { o.DropoutBackward(dy, dx, ctr, dropoutP, 1, 1) }, a.err
		},
	}
}

// MaxPool is the seed's 2x2, stride 2 max-pool of [n,c,h,h].
func MaxPool(n, c, h int) Kernel {
	x, y := []int{n, c, h, h}, []int{n, c, h / 2, h / 2}
	out := float64(elems(y))
	return Kernel{
		Name: "maxpool.forward", Op: "MaxPool2d", Shape: dims(x...) + ", 2x2", Batch: n,
		Work: Work{FLOPs: 3 * out, Bytes: f32(x...) + 2*f32(y...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			tx, ty, arg := a.rand(x...), a.out(y...), a.outU32(y...)
			return func(o backend.Ops) { o.MaxPool2d(tx, ty, arg, 2, 2) }, a.err
		},
	}
}

// MaxPoolBackward routes dy [n,c,h/2,h/2] back to [n,c,h,h] through the
// argmax of a forward pass on random input.
func MaxPoolBackward(n, c, h int) Kernel {
	x, y := []int{n, c, h, h}, []int{n, c, h / 2, h / 2}
	return Kernel{
		Name: "maxpool.backward", Op: "MaxPool2dBackward", Shape: dims(y...) + " → " + dims(x...), Batch: n,
		Work: Work{FLOPs: 0, Bytes: 2*f32(y...) + f32(x...)},
		setup: func(a *arena) (func(backend.Ops), error) {
			tx, ty, arg := a.rand(x...), a.out(y...), a.outU32(y...)
			a.run(func(o backend.Ops) { o.MaxPool2d(tx, ty, arg, 2, 2) })
			dy, dx := a.rand(y...), a.out(x...)
			return func(o backend.Ops) { o.MaxPool2dBackward(dy, arg, dx, 2, 2) }, a.err
		},
	}
}

// SoftmaxCrossEntropy is the loss and its gradient over [n,m] logits.
// FLOPs: 5 a logit (the row maximum, subtract and exponentiate, sum,
// normalize, subtract the one-hot).
func SoftmaxCrossEntropy(n, m int) Kernel {
	return softmaxCE("softmax-ce", n, m, backend.LossParams{})
}

// SmoothedSoftmaxCrossEntropy is SoftmaxCrossEntropy with label smoothing
// 0.2 and the summed loss's gradient (airbench's loss), whose extra per-logit
// sum is timed here; the work is counted as the plain loss's.
func SmoothedSoftmaxCrossEntropy(n, m int) Kernel {
	return softmaxCE("softmax-ce.smooth", n, m, backend.LossParams{LabelSmoothing: 0.2, Sum: true})
}

func softmaxCE(name string, n, m int, lo backend.LossParams) Kernel {
	shape := dims(n, m)
	if lo != (backend.LossParams{}) {
		shape += fmt.Sprintf(", smoothing %v, sum %v", lo.LabelSmoothing, lo.Sum)
	}
	return Kernel{
		Name: name, Op: "SoftmaxCrossEntropy", Shape: shape, Batch: n,
		Work: Work{FLOPs: 5 * float64(n*m), Bytes: 2*f32(n, m) + f32(n) + 16},
		setup: func(a *arena) (func(backend.Ops), error) {
			logits, labels, dl := a.rand(n, m), a.labels(n, m), a.out(n, m)
			loss, correct := a.zeros(backend.F32, 1), a.zeros(backend.U32, 1)
			return func(o backend.Ops) { o.SoftmaxCrossEntropy(logits, labels, dl, loss, correct, lo) }, a.err
		},
	}
}

// Argmax is evaluation's prediction over [n,m] logits.
func Argmax(n, m int) Kernel {
	return Kernel{
		Name: "argmax", Op: "Argmax", Shape: dims(n, m), Batch: n,
		Work: Work{FLOPs: float64(n * m), Bytes: f32(n, m) + f32(n)},
		setup: func(a *arena) (func(backend.Ops), error) {
			x, pred := a.rand(n, m), a.outU32(n)
			return func(o backend.Ops) { o.Argmax(x, pred) }, a.err
		},
	}
}

// seedSGD is the seed's optimizer.
var seedSGD = backend.SGDParams{LR: 0.001, Momentum: 0.9}

// SGD is the momentum update of a [rows, cols] parameter. FLOPs: 4 an
// element (buf = m·buf + g, p -= lr·buf); bytes: p, g and buf read, p and
// buf written.
func SGD(param string, rows, cols int) Kernel {
	return Kernel{
		Name: "sgd." + param, Op: "SGD", Shape: dims(rows, cols) + ", momentum 0.9",
		Work: Work{FLOPs: 4 * float64(rows*cols), Bytes: 5 * f32(rows, cols)},
		setup: func(a *arena) (func(backend.Ops), error) {
			p, g, buf := a.rand(rows, cols), a.rand(rows, cols), a.rand(rows, cols)
			return func(o backend.Ops) { o.SGD(p, g, buf, seedSGD) }, a.err
		},
	}
}

// scheduleSteps is the length of ScheduledSGD's learning-rate schedule,
// about an epoch of steps at batch 32 on CIFAR-10.
const scheduleSteps = 1563

// ScheduledSGD is SGD with a learning-rate schedule read on the device (one
// entry and the counter per step on top of SGD's work).
func ScheduledSGD(param string, rows, cols int) Kernel {
	return Kernel{
		Name: "sgd." + param + ".schedule", Op: "SGD", Shape: dims(rows, cols) + fmt.Sprintf(", momentum 0.9, schedule of %d", scheduleSteps),
		Work: Work{FLOPs: 4 * float64(rows*cols), Bytes: 5*f32(rows, cols) + 12},
		setup: func(a *arena) (func(backend.Ops), error) {
			p, g, buf := a.rand(rows, cols), a.rand(rows, cols), a.rand(rows, cols)
			// A linear decay to 0, the shape airbench's schedule ends with.
			sched := make([]float32, scheduleSteps)
			for i := range sched {
				sched[i] = 1 - float32(i)/scheduleSteps
			}
			o := seedSGD
			o.Schedule = a.upload(a.alloc(backend.F32, scheduleSteps), sched)
			o.Ctr = a.counters()
			return func(ops backend.Ops) { ops.SGD(p, g, buf, o) }, a.err
		},
	}
}

// gatherRecords is how many records Gather's benchmark draws from (per
// image of the batch): enough that a batch is not one contiguous run.
const gatherRecords = 4

// Gather builds a batch of n images from random records in a shuffled
// order, without augmentation (the seed's recipe). FLOPs: 1 a pixel (the
// scale); bytes: the records read, the indices, the images and labels
// written.
func Gather(n int) Kernel {
	return Kernel{
		Name: "gather", Op: "Gather", Shape: fmt.Sprintf("%d of %d records → %s", n, gatherRecords*n, dims(n, 3, side, side)), Batch: n,
		Work: Work{FLOPs: float64(n * backend.ImageSize),
			Bytes: float64(n*backend.RecordSize) + f32(n) + f32(n, backend.ImageSize) + f32(n) + 8},
		setup: func(a *arena) (func(backend.Ops), error) {
			r := gatherRecords * n
			records := a.records(r)
			idx := make([]uint32, n)
			for i, j := range a.rng.Perm(r)[:n] {
				idx[i] = uint32(j)
			}
			indices, ctr := a.u32(idx, n), a.counters()
			x, labels := a.out(n, 3, side, side), a.outU32(n)
			return func(o backend.Ops) { o.Gather(records, indices, ctr, x, labels, backend.GatherParams{}) }, a.err
		},
	}
}

// arena allocates a kernel's operands on one backend, remembers the first
// error, and frees what it allocated.
type arena struct {
	b       backend.Backend
	rng     *rand.Rand
	tensors []backend.Tensor
	err     error
}

func newArena(b backend.Backend, seed uint64) *arena {
	return &arena{b: b, rng: rand.New(rand.NewPCG(seed, 0xbe9c4))}
}

func (a *arena) fail(err error) {
	if a.err == nil && err != nil {
		a.err = err
	}
}

func (a *arena) alloc(dt backend.DType, shape ...int) backend.Tensor {
	if a.err != nil {
		return nil
	}
	t, err := a.b.NewTensor(dt, shape...)
	if err != nil {
		a.fail(fmt.Errorf("%s%v: %w", dt, shape, err))
		return nil
	}
	a.tensors = append(a.tensors, t)
	return t
}

func (a *arena) upload(t backend.Tensor, data any) backend.Tensor {
	if t != nil && a.err == nil {
		a.fail(a.b.Upload(t, data))
	}
	return t
}

// rand is a float tensor uniform in [-1, 1).
func (a *arena) rand(shape ...int) backend.Tensor {
	v := make([]float32, elems(shape))
	for i := range v {
		v[i] = a.rng.Float32()*2 - 1
	}
	return a.upload(a.alloc(backend.F32, shape...), v)
}

// out is an output tensor (contents undefined).
func (a *arena) out(shape ...int) backend.Tensor { return a.alloc(backend.F32, shape...) }

// outU32 is a uint32 output tensor.
func (a *arena) outU32(shape ...int) backend.Tensor { return a.alloc(backend.U32, shape...) }

// zeros is a tensor of zeros.
func (a *arena) zeros(dt backend.DType, n int) backend.Tensor {
	t := a.alloc(dt, n)
	if dt == backend.U32 {
		return a.upload(t, make([]uint32, n))
	}
	return a.upload(t, make([]float32, n))
}

func (a *arena) u32(v []uint32, shape ...int) backend.Tensor {
	return a.upload(a.alloc(backend.U32, shape...), v)
}

// counters is the ctr tensor at step 0, batch 0.
func (a *arena) counters() backend.Tensor { return a.u32([]uint32{0, 0}, 2) }

// labels are n random labels below m.
func (a *arena) labels(n, m int) backend.Tensor {
	v := make([]uint32, n)
	for i := range v {
		v[i] = uint32(a.rng.IntN(m))
	}
	return a.u32(v, n)
}

// records are r random CIFAR-10 records.
func (a *arena) records(r int) backend.Tensor {
	v := make([]uint8, r*backend.RecordSize)
	for i := range v {
		v[i] = uint8(a.rng.Uint32())
	}
	for i := range r {
		v[i*backend.RecordSize] = uint8(a.rng.IntN(classes))
	}
	return a.upload(a.alloc(backend.U8, r, backend.RecordSize), v)
}

// run runs ops once in a program of their own (to prepare operands).
func (a *arena) run(record func(backend.Ops)) {
	if a.err != nil {
		return
	}
	p := a.b.NewProgram()
	record(p)
	a.fail(p.Run(1))
	p.Close()
}

// release frees the operands, whose device memory would otherwise last as
// long as the backend. Programs that use them must be closed first.
func (a *arena) release() {
	for _, t := range a.tensors {
		a.b.Free(t)
	}
	a.tensors = nil
}
