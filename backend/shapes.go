package backend

import (
	"fmt"
	"slices"
)

// The checks below validate an op's arguments the same way for every
// backend; each returns an error naming the op and what does not fit.

func want(op, name string, t Tensor, dt DType, dims int) error {
	if t == nil {
		return fmt.Errorf("%s: %s is missing", op, name)
	}
	if t.DType() != dt {
		return fmt.Errorf("%s: %s is %s, want %s", op, name, t.DType(), dt)
	}
	if dims > 0 && len(t.Shape()) != dims {
		return fmt.Errorf("%s: %s has shape %v, want %d dimensions", op, name, t.Shape(), dims)
	}
	return nil
}

func wantShape(op, name string, t Tensor, shape ...int) error {
	if !slices.Equal(t.Shape(), shape) {
		return fmt.Errorf("%s: %s has shape %v, want %v", op, name, t.Shape(), shape)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ConvShape holds the dimensions of a convolution.
type ConvShape struct {
	N, C, H, W  int // input
	K, R, S     int // filters
	OH, OW      int // output
	Stride, Pad int
}

// CheckConv validates x [N,C,H,W], w [K,C,R,S] and the output y
// [N,K,OH,OW] (y may be nil) and returns the convolution's dimensions.
func CheckConv(op string, x, w, y Tensor, stride, pad int) (ConvShape, error) {
	if err := firstErr(want(op, "input", x, F32, 4), want(op, "weights", w, F32, 4)); err != nil {
		return ConvShape{}, err
	}
	xs, ws := x.Shape(), w.Shape()
	c := ConvShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], K: ws[0], R: ws[2], S: ws[3], Stride: stride, Pad: pad}
	if stride < 1 || pad < 0 {
		return c, fmt.Errorf("%s: stride %d, padding %d: need stride >= 1 and padding >= 0", op, stride, pad)
	}
	if ws[1] != c.C {
		return c, fmt.Errorf("%s: weights %v have %d input channels, the input %v has %d", op, ws, ws[1], xs, c.C)
	}
	c.OH = (c.H+2*pad-c.R)/stride + 1
	c.OW = (c.W+2*pad-c.S)/stride + 1
	if c.H+2*pad < c.R || c.W+2*pad < c.S {
		return c, fmt.Errorf("%s: kernel %dx%d is larger than the padded input %dx%d", op, c.R, c.S, c.H+2*pad, c.W+2*pad)
	}
	if y != nil {
		if err := firstErr(want(op, "output", y, F32, 4), wantShape(op, "output", y, c.N, c.K, c.OH, c.OW)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// CheckBias validates a bias (or its gradient) of k elements; nil is allowed.
func CheckBias(op string, b Tensor, k int) error {
	if b == nil {
		return nil
	}
	return firstErr(want(op, "bias", b, F32, 1), wantShape(op, "bias", b, k))
}

// PoolShape holds the dimensions of a max-pool.
type PoolShape struct {
	N, C, H, W, OH, OW, Kernel, Stride int
}

// CheckPool validates max-pool's input x, output y and argmax.
func CheckPool(op string, x, y, argmax Tensor, kernel, stride int) (PoolShape, error) {
	if err := firstErr(want(op, "input", x, F32, 4), want(op, "output", y, F32, 4), want(op, "argmax", argmax, U32, 4)); err != nil {
		return PoolShape{}, err
	}
	xs := x.Shape()
	p := PoolShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], Kernel: kernel, Stride: stride}
	if kernel < 1 || stride < 1 || kernel > p.H || kernel > p.W {
		return p, fmt.Errorf("%s: kernel %d, stride %d on a %dx%d input: need 1 <= kernel <= the input, stride >= 1", op, kernel, stride, p.H, p.W)
	}
	p.OH = (p.H-kernel)/stride + 1
	p.OW = (p.W-kernel)/stride + 1
	return p, firstErr(wantShape(op, "output", y, p.N, p.C, p.OH, p.OW), wantShape(op, "argmax", argmax, p.N, p.C, p.OH, p.OW))
}

// CheckMatMul validates c = op(a)·op(b) and returns M, N and K (c is M x N,
// the inner dimension K).
func CheckMatMul(op string, a, b, c Tensor, transA, transB bool) (m, n, k int, err error) {
	if err := firstErr(want(op, "a", a, F32, 2), want(op, "b", b, F32, 2), want(op, "c", c, F32, 2)); err != nil {
		return 0, 0, 0, err
	}
	m, k = a.Shape()[0], a.Shape()[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape()[0], b.Shape()[1]
	if transB {
		kb, n = n, kb
	}
	if kb != k {
		return m, n, k, fmt.Errorf("%s: inner dimensions differ: a %v (transposed %v), b %v (transposed %v)", op, a.Shape(), transA, b.Shape(), transB)
	}
	return m, n, k, wantShape(op, "c", c, m, n)
}

// CheckRows validates a [N,M] matrix y (any rank >= 2 flattened to N rows)
// against a vector of M elements and returns N and M.
func CheckRows(op string, y, v Tensor) (n, m int, err error) {
	if err := firstErr(want(op, "matrix", y, F32, 2), want(op, "vector", v, F32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = y.Shape()[0], y.Shape()[1]
	return n, m, wantShape(op, "vector", v, m)
}

// CheckSame validates that the float tensors all have a's shape.
func CheckSame(op string, a Tensor, others ...Tensor) error {
	if err := want(op, "input", a, F32, 0); err != nil {
		return err
	}
	for _, t := range others {
		if err := want(op, "operand", t, F32, 0); err != nil {
			return err
		}
		if !slices.Equal(t.Shape(), a.Shape()) {
			return fmt.Errorf("%s: shapes %v and %v differ", op, a.Shape(), t.Shape())
		}
	}
	return nil
}

// CheckDropout validates dropout's probability and counter tensor.
func CheckDropout(op string, ctr Tensor, p float32) error {
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("%s: probability %v: need 0 <= p < 1", op, p)
	}
	return CheckCounters(op, ctr)
}

// CheckCounters validates the U32 [2] counter tensor.
func CheckCounters(op string, ctr Tensor) error {
	return firstErr(want(op, "counters", ctr, U32, 1), wantShape(op, "counters", ctr, 2))
}

// CheckLoss validates SoftmaxCrossEntropy's arguments and returns N and M.
// dlogits may be nil.
func CheckLoss(op string, logits, labels, dlogits, loss, correct Tensor) (n, m int, err error) {
	if err := firstErr(want(op, "logits", logits, F32, 2), want(op, "labels", labels, U32, 1),
		want(op, "loss", loss, F32, 1), want(op, "correct", correct, U32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = logits.Shape()[0], logits.Shape()[1]
	if err := firstErr(wantShape(op, "labels", labels, n), wantShape(op, "loss", loss, 1), wantShape(op, "correct", correct, 1)); err != nil {
		return n, m, err
	}
	if dlogits != nil {
		return n, m, CheckSame(op, logits, dlogits)
	}
	return n, m, nil
}

// CheckArgmax validates x [N,M] and pred U32 [N].
func CheckArgmax(op string, x, pred Tensor) (n, m int, err error) {
	if err := firstErr(want(op, "input", x, F32, 2), want(op, "predictions", pred, U32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = x.Shape()[0], x.Shape()[1]
	return n, m, wantShape(op, "predictions", pred, n)
}

// CheckSGD validates a parameter, its gradient and momentum buffer and the
// hyperparameters.
func CheckSGD(op string, p, g, buf Tensor, o SGDParams) error {
	if err := CheckSame(op, p, g, buf); err != nil {
		return err
	}
	if !(o.LR >= 0) || !(o.Momentum >= 0 && o.Momentum < 1) || !(o.WeightDecay >= 0) {
		return fmt.Errorf("%s: lr %v, momentum %v, weight decay %v: need lr >= 0, 0 <= momentum < 1, weight decay >= 0", op, o.LR, o.Momentum, o.WeightDecay)
	}
	return nil
}

// CheckGather validates Gather's arguments and returns the batch size.
func CheckGather(op string, records, indices, ctr, x, labels Tensor, o GatherParams) (int, error) {
	if err := firstErr(want(op, "records", records, U8, 2), want(op, "indices", indices, U32, 1),
		CheckCounters(op, ctr), want(op, "batch", x, F32, 4), want(op, "labels", labels, U32, 1)); err != nil {
		return 0, err
	}
	if records.Shape()[1] != RecordSize {
		return 0, fmt.Errorf("%s: records %v: want %d bytes a record", op, records.Shape(), RecordSize)
	}
	n := x.Shape()[0]
	if err := firstErr(wantShape(op, "batch", x, n, 3, ImageSide, ImageSide), wantShape(op, "labels", labels, n)); err != nil {
		return n, err
	}
	if o.Pad < 0 || o.Pad > ImageSide {
		return n, fmt.Errorf("%s: crop padding %d: need 0-%d", op, o.Pad, ImageSide)
	}
	return n, nil
}
