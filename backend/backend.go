// Package backend defines the operations a training step is made of, as one
// interface that two implementations share: the CPU reference (package
// backend/cpu, on gonum) and the Vulkan backend (package backend/vulkan, GLSL
// compute shaders).
//
// A step is described once as a Program: a list of op calls on tensors that the
// backend owns. The CPU backend keeps the calls as closures; the Vulkan backend
// records them into a command buffer. Run replays the whole list, so nothing
// that changes from step to step may be baked into the recording: it lives in
// tensors (the step counter, the epoch's index list) that the program reads.
//
// All float tensors are float32, row-major, images NCHW.
package backend

import "fmt"

// DType is the element type of a tensor.
type DType int

// The element types a tensor can hold.
const (
	F32 DType = iota // float32
	U32              // uint32: labels, indices, argmax positions, counters
	U8               // uint8: raw CIFAR-10 records
)

func (d DType) String() string {
	switch d {
	case F32:
		return "float32"
	case U32:
		return "uint32"
	case U8:
		return "uint8"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Size is the number of bytes one element takes.
func (d DType) Size() int {
	if d == U8 {
		return 1
	}
	return 4
}

// Tensor is a backend-owned array with a shape. Its data is reached only
// through Backend.Upload and Backend.Download.
type Tensor interface {
	Shape() []int
	DType() DType
	// Len is the number of elements, the product of Shape.
	Len() int
}

// Backend creates tensors and programs on one device.
type Backend interface {
	// Name says which device this is, for messages ("cpu", "llvmpipe (LLVM 15.0.6, 256 bits)").
	Name() string
	// NewTensor allocates a tensor. Its initial contents are undefined.
	NewTensor(dt DType, shape ...int) (Tensor, error)
	// View returns a tensor of the given shape over the first elements of t's
	// storage (a reshape when the sizes agree; a prefix, such as a smaller
	// batch, when the new shape is smaller).
	View(t Tensor, shape ...int) (Tensor, error)
	// Upload copies src ([]float32, []uint32 or []uint8, matching the dtype,
	// exactly t.Len() long) into t.
	Upload(t Tensor, src any) error
	// Download copies t into dst ([]float32, []uint32 or []uint8, t.Len() long).
	Download(t Tensor, dst any) error
	// Free releases t's storage, which its views share: neither t nor a view
	// of it may be used afterwards, nor a program that uses them run.
	Free(t Tensor) error
	// Pack allocates one storage for tensors of the given shapes and
	// returns them (parts) with a 1-D tensor over the whole storage (whole),
	// so that one op on whole reaches every part (Ops.SGDPacked updates
	// every parameter at once). Part i begins at element offsets[i] of
	// whole; parts begin where the device lets a binding begin, so there
	// may be gaps between them. Everything starts zeroed, gaps included,
	// and ops on the parts never touch the gaps. Free(whole) frees the
	// parts; a part must not be freed on its own.
	Pack(dt DType, shapes ...[]int) (whole Tensor, parts []Tensor, offsets []int, err error)
	// NewProgram starts an empty program.
	NewProgram() Program
	// Close frees every tensor and program of the backend.
	Close() error
}

// Program is a recorded list of ops. Op methods check their arguments and
// remember the first error, which Run (and Err) return; a program with an error
// never runs.
type Program interface {
	Ops
	// Run executes the whole program times times in a row and waits for it.
	// The first Run ends recording: no op may be added after it.
	Run(times int) error
	// Err is the first error an op call reported, or nil.
	Err() error
	// Close frees what the program holds (not the tensors it uses).
	Close() error
}

// Ops are the operations of a training step. Every op overwrites its outputs
// entirely unless it says it accumulates.
type Ops interface {
	// Conv2d: y = conv(x, w) + b. x [N,C,H,W], w [K,C,R,S], b [K] or nil
	// (no bias), y [N,K,OH,OW] with OH = (H+2*pad-R)/stride+1 (likewise OW).
	Conv2d(x, w, b, y Tensor, stride, pad int)
	// Conv2dEpilogue: Conv2d(x, w, b, y, stride, pad), then e applied to y
	// (e.Bias must be nil: b is the convolution's bias).
	Conv2dEpilogue(x, w, b, y Tensor, stride, pad int, e Epilogue)
	// Conv2dBackwardData: dx = gradient of the input, from dy and w.
	Conv2dBackwardData(dy, w, dx Tensor, stride, pad int)
	// Conv2dBackwardDataEpilogue: Conv2dBackwardData(dy, w, dx, stride,
	// pad), then e applied to dx (e.Bias must be nil).
	Conv2dBackwardDataEpilogue(dy, w, dx Tensor, stride, pad int, e Epilogue)
	// Conv2dBackwardWeights: dw and db = gradients of the weights and bias,
	// summed over the batch; db may be nil (a convolution without bias).
	Conv2dBackwardWeights(x, dy, dw, db Tensor, stride, pad int)

	// MaxPool2d: y = max over each kernel x kernel window (no padding),
	// argmax (U32, y's shape) = the index within the (h,w) plane of the input
	// where the max was found; ties go to the first in row-major order.
	// x [N,C,H,W], y [N,C,OH,OW] with OH = (H-kernel)/stride+1.
	MaxPool2d(x, y, argmax Tensor, kernel, stride int)
	// MaxPool2dBackward: dx = dy routed to each window's argmax, summed where
	// windows overlap, zero elsewhere.
	MaxPool2dBackward(dy, argmax, dx Tensor, kernel, stride int)

	// MatMul: c = op(a)·op(b), all 2-D, op transposing when the flag says.
	MatMul(a, b, c Tensor, transA, transB bool)
	// MatMulEpilogue: MatMul(a, b, c, transA, transB), then e (see
	// Epilogue) applied to c, to the bit as the unfused ops would: a
	// Linear layer's forward with its bias, ReLU and dropout, or an input
	// gradient masked by the ReLU (and dropout) before it.
	MatMulEpilogue(a, b, c Tensor, transA, transB bool, e Epilogue)
	// MatMulBiasGrad: MatMul(a, b, c, transA, transB) and the row sums of
	// op(a), db[m] = Σ_k op(a)[m,k] (db F32 [M]): a Linear layer's weight
	// gradient dW = dYᵀ·X with its bias gradient db = BiasGrad(dY).
	MatMulBiasGrad(a, b, c, db Tensor, transA, transB bool)
	// AddBias: y[i,j] += b[j] for y [N,M], b [M].
	AddBias(y, b Tensor)
	// BiasGrad: db[j] = sum over i of dy[i,j], for dy [N,M].
	BiasGrad(dy, db Tensor)

	// ReLU: y = max(x, 0). y may be x.
	ReLU(x, y Tensor)
	// ReLUBackward: dx = dy where y > 0, else 0 (y is ReLU's output). dx may be dy.
	ReLUBackward(y, dy, dx Tensor)

	// Dropout: y = x·mask/(1-p), mask drawn by Keep(seed, stream, step, i, p)
	// where step = ctr[0] (see Counters). y may be x.
	Dropout(x, y, ctr Tensor, p float32, seed, stream uint32)
	// DropoutBackward: dx = dy·mask/(1-p) with the mask of the same step. dx may be dy.
	DropoutBackward(dy, dx, ctr Tensor, p float32, seed, stream uint32)
	// ReLUDropoutBackward is the gradient through a ReLU followed by a
	// Dropout of probability p (p = 0: no dropout), from the Dropout's
	// output y: DropoutBackward(dy, dx) then ReLUBackward(y, dx, dx). y > 0
	// exactly where the mask kept a positive ReLU output, and dropped
	// elements are zero either way, so it is dx = dy/(1-p) where y > 0, else
	// 0, with no random draw; with p = 0 it is ReLUBackward(y, dy, dx),
	// bits and all. dx may be dy.
	ReLUDropoutBackward(y, dy, dx Tensor, p float32)

	// SoftmaxCrossEntropy: for logits [N,M] and labels (U32 [N]), adds the sum
	// over the batch of the cross-entropy -Σ_j target_j·log softmax(logits)_j
	// to loss[0] (F32 [1]), with target = (1-ε)·onehot(label) + ε/M and
	// ε = o.LabelSmoothing (PyTorch's label_smoothing; ε = 0 gives
	// -log softmax[label]), and the number of rows whose first maximum is at
	// the label to correct[0] (U32 [1]); writes dlogits = (softmax - target)/N,
	// or (softmax - target) with o.Sum (the gradient of the summed loss),
	// unless dlogits is nil.
	SoftmaxCrossEntropy(logits, labels, dlogits, loss, correct Tensor, o LossParams)
	// Argmax: pred[i] = index of the first maximum of row i, for x [N,M], pred U32 [N].
	Argmax(x, pred Tensor)

	// SGD updates p in place from its gradient g and momentum buffer buf
	// (PyTorch's torch.optim.SGD with dampening 0; buf starts at zero, which
	// makes the first step's buf equal to g, as PyTorch does).
	SGD(p, g, buf Tensor, o SGDParams)
	// SGDPacked updates parameters packed in p, g and buf (1-D F32 of one
	// length, as Backend.Pack makes them; buf absent only when no group has
	// momentum): for each group, SGD on each of its ranges of p, g and buf
	// with the group's hyperparameters (ranges must not overlap; elements
	// in no range are left alone). Then, when ctr is not nil, Step(ctr):
	// the training step's last op folded into its optimizer.
	SGDPacked(p, g, buf Tensor, groups []SGDGroup, ctr Tensor)

	// Gather builds a batch: for i < N (N = x's batch size), record
	// indices[ctr[1]*N + i] of records goes to x[i] scaled to [0,1],
	// optionally normalized and augmented, and its label to labels[i]
	// (U32 [N]). x (F32 [N,C,H,W]) decides the image shape, at most
	// MaxGatherChannels channels; records is U8 [R, 1+C·H·W], each row a
	// label byte and then the image's C planes of H rows of W bytes
	// (CIFAR-10's binary layout at 3x32x32; any data set's at its shape).
	Gather(records, indices, ctr, x, labels Tensor, o GatherParams)

	// Step advances the counters: ctr[0]++ (the global step, which seeds the
	// random draws) and ctr[1]++ (the batch within the epoch).
	Step(ctr Tensor)

	// Lookahead pulls p and its slow copy ema together (Lookahead, as
	// airbench uses it): with w = 1 - decay[0] (decay F32 [1]),
	// ema = lerp(ema, p, w) and then p = ema, where lerp(a, b, w) is
	// PyTorch's torch.lerp: a + w·(b-a) for w < 0.5, else b - (b-a)·(1-w).
	// p and ema are F32 of one shape.
	Lookahead(p, ema, decay Tensor)

	// AvgPool2d: y = mean over each kernel x kernel window, stride apart, no
	// padding (PyTorch's floor mode: a partial window at the edge is dropped).
	// x [N,C,H,W], y [N,C,OH,OW] with OH = (H-kernel)/stride+1. A kernel
	// and stride equal to H = W is global average pooling.
	AvgPool2d(x, y Tensor, kernel, stride int)
	// AvgPool2dBackward: dx = each dy/kernel² spread over its window,
	// summed where windows overlap, zero where no window reaches.
	AvgPool2dBackward(dy, dx Tensor, kernel, stride int)

	// BatchNorm2d normalizes each channel c of x [N,C,H,W] into y (same
	// shape; y may not be x) as torch.nn.BatchNorm2d does:
	// y = (x - mean_c)·invstd_c·Weight[c] + Bias[c], invstd = 1/sqrt(var+Eps).
	// With o.Train, mean and var are the batch's (var biased, over the N·H·W
	// values of the channel, which must be more than one), written to t.Mean
	// and t.InvStd for the backward pass, and the running statistics move:
	// RunningMean = (1-Momentum)·RunningMean + Momentum·mean, and likewise
	// RunningVar with the unbiased variance var·cnt/(cnt-1). Without o.Train,
	// mean and var are RunningMean and RunningVar, nothing is written but y,
	// and t.Mean and t.InvStd may be nil. Reductions run in a fixed order, so
	// a run is reproducible.
	BatchNorm2d(x, y Tensor, t BatchNormTensors, o BatchNormParams)
	// BatchNorm2dBackward is the gradient of a training-mode BatchNorm2d
	// from the t.Mean and t.InvStd its forward saved: with
	// xhat = (x-mean)·invstd and sums over a channel's cnt values,
	// dBias = Σdy, dWeight = Σdy·xhat,
	// dx = Weight·invstd/cnt·(cnt·dy - dBias - xhat·dWeight).
	// dx, dWeight and dBias may each be nil (not wanted: a first layer, a
	// frozen weight or bias); RunningMean and RunningVar are not read.
	BatchNorm2dBackward(x, dy, dx Tensor, t BatchNormTensors, dWeight, dBias Tensor)

	// GELU: y = x·Φ(x) = x/2·(1+erf(x/√2)), the exact form (PyTorch's
	// default approximate='none'). y may be x.
	GELU(x, y Tensor)
	// GELUBackward: dx = dy·(Φ(x) + x·φ(x)), φ the standard normal density,
	// from GELU's input x. dx may be dy.
	GELUBackward(x, dy, dx Tensor)

	// Add: y = a + b element-wise, all of one shape; y may be a or b. It
	// joins a residual block's branches and sums a gradient that fans out
	// to two consumers.
	Add(a, b, y Tensor)
	// Scale: y = alpha·x element-wise; y may be x. With alpha 1 it is an
	// exact copy.
	Scale(x, y Tensor, alpha float32)
}

// BatchNormTensors are one BatchNorm2d layer's per-channel tensors, each F32 [C].
type BatchNormTensors struct {
	Weight, Bias            Tensor // the affine transform
	RunningMean, RunningVar Tensor // moved by training, used by evaluation
	Mean, InvStd            Tensor // the batch's statistics, saved for backward
}

// BatchNormParams are one BatchNorm2d layer's settings (PyTorch's eps and
// momentum) and its mode.
type BatchNormParams struct {
	Eps, Momentum float32
	// Train normalizes with the batch's statistics and updates the running
	// ones; otherwise the running statistics are used.
	Train bool
}

// SGDParams are the optimizer's hyperparameters.
type SGDParams struct {
	LR, Momentum, WeightDecay float32
	Nesterov                  bool
	// Schedule, when not nil (F32 [S]), multiplies LR at each step by
	// Schedule[min(ctr[0], S-1)], with ctr = Ctr (see Counters): a per-step
	// learning-rate schedule (PyTorch's LambdaLR) that a recorded step reads
	// from the device, so one recording serves every step. Weight decay is
	// not scaled (PyTorch's coupled weight decay enters the gradient).
	Schedule, Ctr Tensor
}

// LossParams say how SoftmaxCrossEntropy forms the loss.
type LossParams struct {
	// LabelSmoothing ε in [0,1) mixes the one-hot target with the uniform
	// distribution, as PyTorch's CrossEntropyLoss(label_smoothing=ε).
	LabelSmoothing float32
	// Sum makes dlogits the gradient of the batch's summed loss
	// (reduction='sum'), not of its mean.
	Sum bool
}

// GatherParams say how Gather turns records into a batch.
type GatherParams struct {
	// Mean and Std normalize channel c after scaling to [0,1]:
	// (v-Mean[c])/Std[c]; entries past the image's channels are ignored. A
	// zero Std[c] (+0 or -0) leaves channel c unnormalized. The test is on
	// the bits, not a float comparison, so a subnormal Std normalizes on a
	// device that flushes subnormals to zero as it does on the CPU.
	Mean, Std [MaxGatherChannels]float32
	// Pad > 0 takes a random HxW crop of the image zero-padded by Pad
	// pixels on every side. Pad must be at most the shorter side.
	Pad int
	// Flip mirrors half the images horizontally, at random.
	Flip bool
	// Reflect pads by reflection (PyTorch's 'reflect' mode: the edge pixel
	// is not repeated, so padded column -1 is column 1) instead of zeros.
	// Pad must then be less than the shorter side.
	Reflect bool
	// IndexFlip takes each image's mirror decision from bit 31 of its entry
	// in the index list (the record index is the other 31 bits) instead of
	// drawing it, for flips the trainer decides per image and epoch
	// (airbench's alternating flip); Flip is then ignored.
	IndexFlip bool
	// Fixed applies one view to every image instead of drawing it: the
	// offsets DX, DY in [0, 2·Pad] and Mirror (test-time augmentation).
	Fixed  bool
	DX, DY int
	Mirror bool
	// With dx, dy, mirror = Augmentation(Seed, ctr[0], i, Pad, Flip) (or as
	// Fixed, IndexFlip say), output pixel (c, y, x) of image i is input
	// pixel (c, y+dy-Pad, sx+dx-Pad) with sx = W-1-x when mirror, else x;
	// outside the image it is zero (before normalization), or with Reflect
	// the pixel reflected back into it.
	// Seed seeds the crop and flip draws (with the step, ctr[0]).
	Seed uint32
}

// Counters are the two U32 words of the ctr tensor that a program reads and
// Step advances.
const (
	CounterStep  = 0 // global step: seeds dropout and augmentation
	CounterBatch = 1 // batch index within the epoch: offsets Gather into the index list
)

// MaxGatherChannels is the most image channels Gather takes: its scaling
// and normalization are a table of 256 values per channel, which the GPU
// keeps in shared memory, and Mean and Std travel as push constants. RGB
// and grey images (3 and 1) are what the data sets have; 4 leaves room for
// RGBA or RGB plus a mask.
const MaxGatherChannels = 4

// CIFAR-10's record layout, the shape of the seed network (CNN) and the
// tests' data; Gather itself takes any shape from its tensors.
const (
	ImageSide  = 32
	ImageSize  = 3 * ImageSide * ImageSide
	RecordSize = 1 + ImageSize
	NumClasses = 10
)

// GatherPixel is Gather's scale of a pixel byte: v·GatherPixel in float32
// (not v/255), so that both backends compute the same bits.
const GatherPixel = 1.0 / 255
