package backend

import (
	"fmt"
	"reflect"
	"slices"
)

// The checks below validate an op's arguments the same way for every
// backend; each returns an error naming the op and what does not fit. They
// never panic on a missing tensor (a nil interface or a typed nil pointer),
// and they look at tensors only through the Tensor interface, so whether a
// tensor belongs to the backend is left to the backend.

// argNames maps the roles the checks below know their tensors by to the
// parameter names of Ops, per op, so that a message says "dy" rather than
// "output". A role an op does not list is its own name (MatMul's a, b and c,
// for instance), and so is every role of an op not in Ops.
var argNames = map[string]map[string]string{
	"Conv2d":                {"input": "x", "weights": "w", "output": "y", "bias": "b"},
	"Conv2dBackwardData":    {"input": "dx", "weights": "w", "output": "dy"},
	"Conv2dBackwardWeights": {"input": "x", "weights": "dw", "output": "dy", "bias": "db"},
	"MaxPool2d":             {"input": "x", "output": "y"},
	"MaxPool2dBackward":     {"input": "dx", "output": "dy"},
	"AvgPool2d":             {"input": "x", "output": "y"},
	"AvgPool2dBackward":     {"input": "dx", "output": "dy"},
	"AddBias":               {"matrix": "y", "vector": "b"},
	"BiasGrad":              {"matrix": "dy", "vector": "db"},
	"ReLU":                  {"input": "x", "operand 1": "y"},
	"ReLUBackward":          {"input": "y", "operand 1": "dy", "operand 2": "dx"},
	"Dropout":               {"input": "x", "operand 1": "y", "counters": "ctr"},
	"DropoutBackward":       {"input": "dy", "operand 1": "dx", "counters": "ctr"},
	"Argmax":                {"input": "x", "predictions": "pred"},
	"SGD":                   {"input": "p", "operand 1": "g", "operand 2": "buf", "schedule": "Schedule", "counters": "Ctr"},
	"Gather":                {"batch": "x", "counters": "ctr"},
	"Step":                  {"counters": "ctr"},
	"Lookahead":             {"input": "p", "operand 1": "ema"},
	"GELU":                  {"input": "x", "operand 1": "y"},
	"GELUBackward":          {"input": "x", "operand 1": "dy", "operand 2": "dx"},
	"Add":                   {"input": "a", "operand 1": "b", "operand 2": "y"},
	"Scale":                 {"input": "x", "operand 1": "y"},
}

func argName(op, role string) string {
	if n, ok := argNames[op][role]; ok {
		return n
	}
	return role
}

// Absent says whether an optional tensor argument is missing: a nil
// interface, or a nil pointer (or other nil value) of a backend's type.
func Absent(t Tensor) bool {
	if t == nil {
		return true
	}
	switch v := reflect.ValueOf(t); v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// want checks that t is present, of dtype dt and, unless dims is 0, of
// rank dims.
func want(op, role string, t Tensor, dt DType, dims int) error {
	name := argName(op, role)
	if Absent(t) {
		return fmt.Errorf("%s: %s is missing", op, name)
	}
	if t.DType() != dt {
		return fmt.Errorf("%s: %s is %v%v, want %v", op, name, t.DType(), t.Shape(), dt)
	}
	if dims > 0 && len(t.Shape()) != dims {
		return fmt.Errorf("%s: %s has shape %v, want %d dimensions", op, name, t.Shape(), dims)
	}
	return nil
}

// wantShape is want with an exact shape.
func wantShape(op, role string, t Tensor, dt DType, shape ...int) error {
	if err := want(op, role, t, dt, 0); err != nil {
		return err
	}
	if !slices.Equal(t.Shape(), shape) {
		return fmt.Errorf("%s: %s has shape %v, want %v", op, argName(op, role), t.Shape(), shape)
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
// [N,K,OH,OW] (y may be absent) and returns the convolution's dimensions.
// The backward ops pass their tensors in the same roles: dx or x as the
// input, w or dw as the weights, dy as the output.
func CheckConv(op string, x, w, y Tensor, stride, pad int) (ConvShape, error) {
	if err := firstErr(want(op, "input", x, F32, 4), want(op, "weights", w, F32, 4)); err != nil {
		return ConvShape{}, err
	}
	xs, ws := x.Shape(), w.Shape()
	c := ConvShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], K: ws[0], R: ws[2], S: ws[3], Stride: stride, Pad: pad}
	if stride < 1 || pad < 0 {
		return c, fmt.Errorf("%s: stride %d, padding %d: need stride >= 1 and padding >= 0", op, stride, pad)
	}
	in, wn := argName(op, "input"), argName(op, "weights")
	if ws[1] != c.C {
		return c, fmt.Errorf("%s: %s %v has %d channels, %s %v expects %d", op, in, xs, c.C, wn, ws, ws[1])
	}
	if c.H+2*pad < c.R || c.W+2*pad < c.S {
		return c, fmt.Errorf("%s: %dx%d kernel of %s %v does not fit %s %v padded by %d", op, c.R, c.S, wn, ws, in, xs, pad)
	}
	c.OH = (c.H+2*pad-c.R)/stride + 1
	c.OW = (c.W+2*pad-c.S)/stride + 1
	if !Absent(y) {
		if err := wantShape(op, "output", y, F32, c.N, c.K, c.OH, c.OW); err != nil {
			return c, err
		}
	}
	return c, nil
}

// CheckBias validates a bias (or its gradient) of k elements; an absent one
// is allowed.
func CheckBias(op string, b Tensor, k int) error {
	if Absent(b) {
		return nil
	}
	return wantShape(op, "bias", b, F32, k)
}

// PoolShape holds the dimensions of a max-pool.
type PoolShape struct {
	N, C, H, W, OH, OW, Kernel, Stride int
}

// CheckPool validates max-pool's input x, output y and argmax (the backward
// op passes dx as the input and dy as the output).
func CheckPool(op string, x, y, argmax Tensor, kernel, stride int) (PoolShape, error) {
	if err := firstErr(want(op, "input", x, F32, 4), want(op, "output", y, F32, 4), want(op, "argmax", argmax, U32, 4)); err != nil {
		return PoolShape{}, err
	}
	xs := x.Shape()
	p := PoolShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], Kernel: kernel, Stride: stride}
	if kernel < 1 || stride < 1 {
		return p, fmt.Errorf("%s: kernel %d and stride %d: need both >= 1", op, kernel, stride)
	}
	if kernel > p.H || kernel > p.W {
		return p, fmt.Errorf("%s: kernel %d does not fit %s %v", op, kernel, argName(op, "input"), xs)
	}
	p.OH = (p.H-kernel)/stride + 1
	p.OW = (p.W-kernel)/stride + 1
	return p, firstErr(wantShape(op, "output", y, F32, p.N, p.C, p.OH, p.OW), wantShape(op, "argmax", argmax, U32, p.N, p.C, p.OH, p.OW))
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
		return m, n, k, fmt.Errorf("%s: inner dimensions differ: op(a) is %dx%d (a %v, transA %v), op(b) is %dx%d (b %v, transB %v)",
			op, m, k, a.Shape(), transA, kb, n, b.Shape(), transB)
	}
	return m, n, k, wantShape(op, "c", c, F32, m, n)
}

// CheckRows validates a matrix y [N,M] against a vector of M elements and
// returns N and M.
func CheckRows(op string, y, v Tensor) (n, m int, err error) {
	if err := firstErr(want(op, "matrix", y, F32, 2), want(op, "vector", v, F32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = y.Shape()[0], y.Shape()[1]
	return n, m, wantShape(op, "vector", v, F32, m)
}

// CheckSame validates that the float tensors all have a's shape.
func CheckSame(op string, a Tensor, others ...Tensor) error {
	if err := want(op, "input", a, F32, 0); err != nil {
		return err
	}
	for i, t := range others {
		role := fmt.Sprintf("operand %d", i+1)
		if err := want(op, role, t, F32, 0); err != nil {
			return err
		}
		if !slices.Equal(t.Shape(), a.Shape()) {
			return fmt.Errorf("%s: %s has shape %v, %s has %v", op, argName(op, "input"), a.Shape(), argName(op, role), t.Shape())
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
	return wantShape(op, "counters", ctr, U32, 2)
}

// CheckLoss validates SoftmaxCrossEntropy's arguments and returns N and M.
// dlogits may be absent. The label smoothing ε must lie in [0,1): at 1 the
// target would ignore the label, and NaN would poison every loss silently.
func CheckLoss(op string, logits, labels, dlogits, loss, correct Tensor, o LossParams) (n, m int, err error) {
	if err := firstErr(want(op, "logits", logits, F32, 2), want(op, "labels", labels, U32, 1),
		want(op, "loss", loss, F32, 1), want(op, "correct", correct, U32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = logits.Shape()[0], logits.Shape()[1]
	if err := firstErr(wantShape(op, "labels", labels, U32, n), wantShape(op, "loss", loss, F32, 1), wantShape(op, "correct", correct, U32, 1)); err != nil {
		return n, m, err
	}
	if !Absent(dlogits) {
		if err := wantShape(op, "dlogits", dlogits, F32, n, m); err != nil {
			return n, m, err
		}
	}
	if eps := o.LabelSmoothing; !(eps >= 0 && eps < 1) {
		return n, m, fmt.Errorf("%s: label smoothing %v: need 0 <= LabelSmoothing < 1", op, eps)
	}
	return n, m, nil
}

// CheckArgmax validates x [N,M] and pred U32 [N].
func CheckArgmax(op string, x, pred Tensor) (n, m int, err error) {
	if err := firstErr(want(op, "input", x, F32, 2), want(op, "predictions", pred, U32, 1)); err != nil {
		return 0, 0, err
	}
	n, m = x.Shape()[0], x.Shape()[1]
	return n, m, wantShape(op, "predictions", pred, U32, n)
}

// CheckSGD validates a parameter, its gradient and momentum buffer and the
// hyperparameters. The buffer may be absent only when Momentum is 0: it
// would then only ever hold the last gradient. Schedule (F32 [S], S >= 1)
// and Ctr (the counters) come together, since one is read at the other; the
// schedule's values are on the device and are not checked.
func CheckSGD(op string, p, g, buf Tensor, o SGDParams) error {
	ts := []Tensor{g, buf}
	if o.Momentum == 0 && Absent(buf) {
		ts = ts[:1]
	}
	if err := CheckSame(op, p, ts...); err != nil {
		return err
	}
	if !(o.LR >= 0) || !(o.Momentum >= 0 && o.Momentum < 1) || !(o.WeightDecay >= 0) {
		return fmt.Errorf("%s: lr %v, momentum %v, weight decay %v: need lr >= 0, 0 <= momentum < 1, weight decay >= 0", op, o.LR, o.Momentum, o.WeightDecay)
	}
	switch hasS, hasC := !Absent(o.Schedule), !Absent(o.Ctr); {
	case hasS != hasC:
		return fmt.Errorf("%s: Schedule and Ctr go together (the step counter picks the schedule's entry): give both or neither", op)
	case !hasS:
		return nil
	}
	if err := firstErr(want(op, "schedule", o.Schedule, F32, 1), CheckCounters(op, o.Ctr)); err != nil {
		return err
	}
	if o.Schedule.Len() == 0 {
		return fmt.Errorf("%s: Schedule is empty: need at least one entry", op)
	}
	return nil
}

// CheckGather validates Gather's arguments and returns the batch size. The
// image shape is x's [N,C,H,W]; records must have rows of 1+C·H·W bytes.
func CheckGather(op string, records, indices, ctr, x, labels Tensor, o GatherParams) (int, error) {
	if err := firstErr(want(op, "records", records, U8, 2), want(op, "indices", indices, U32, 1),
		CheckCounters(op, ctr), want(op, "batch", x, F32, 4), want(op, "labels", labels, U32, 1)); err != nil {
		return 0, err
	}
	xs := x.Shape()
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	if c < 1 || c > MaxGatherChannels || h < 1 || w < 1 {
		return n, fmt.Errorf("%s: %s has shape %v: want 1-%d channels and a positive height and width", op, argName(op, "batch"), xs, MaxGatherChannels)
	}
	if rs := records.Shape(); rs[1] != 1+c*h*w {
		return n, fmt.Errorf("%s: %s has shape %v, want [%d %d] (a label byte and %dx%dx%d pixels, as %s %v)",
			op, argName(op, "records"), rs, rs[0], 1+c*h*w, c, h, w, argName(op, "batch"), xs)
	}
	if err := wantShape(op, "labels", labels, U32, n); err != nil {
		return n, err
	}
	side := min(h, w)
	if o.Pad < 0 || o.Pad > side {
		return n, fmt.Errorf("%s: crop padding %d: need 0-%d (the shorter side of %dx%d images)", op, o.Pad, side, h, w)
	}
	// A reflection of more than side-1 pixels would have to reflect twice
	// (PyTorch refuses it too): one reflection is what the kernels compute.
	if o.Reflect && o.Pad >= side {
		return n, fmt.Errorf("%s: reflect padding %d: need less than the image side %d (or zero padding)", op, o.Pad, side)
	}
	if o.Fixed {
		if o.Flip || o.IndexFlip {
			return n, fmt.Errorf("%s: Fixed with Flip %v, IndexFlip %v: a fixed view sets the mirror itself (Mirror); unset Flip and IndexFlip", op, o.Flip, o.IndexFlip)
		}
		if o.DX < 0 || o.DX > 2*o.Pad || o.DY < 0 || o.DY > 2*o.Pad {
			return n, fmt.Errorf("%s: fixed view offsets DX %d, DY %d: need 0-%d (2·Pad) each", op, o.DX, o.DY, 2*o.Pad)
		}
	}
	return n, nil
}
