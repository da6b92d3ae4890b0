package backend

import (
	"errors"
	"fmt"
)

// Fused ops do in one op what a sequence of unfused ops does, to the bit
// (where the unfused ops of a backend are bit-exact, so is the fused op; a
// GEMM's own sum is whatever the backend's GEMM gives). They exist because
// on a GPU a small model's step costs about as much per dispatch and barrier
// as per FLOP: each fused op is one dispatch where its composition was two
// to four, and its intermediate tensors are never written.

// Epilogue is what a fused GEMM (Ops.MatMulEpilogue, Conv2dEpilogue,
// Conv2dBackwardDataEpilogue) does to its output y before storing it, each
// step optional, in this order:
//
//	Bias:    AddBias(y, Bias)                      (MatMulEpilogue only)
//	ReLU:    ReLU(y, y)
//	Dropout: Dropout(y, y, Ctr, P, Seed, Stream)   when Ctr is not nil
//	Mask:    ReLUDropoutBackward(Mask, y, y, MaskP) when Mask is not nil
//
// The first three are a layer's forward (Linear or Conv2d, ReLU, Dropout);
// Mask is the backward of a ReLU (and dropout) that the GEMM's input came
// out of, applied to the input gradient the GEMM computes.
type Epilogue struct {
	Bias Tensor // F32 [N] for a MatMul output [M,N]; nil: none
	ReLU bool
	// Ctr, P, Seed, Stream: Dropout's arguments; nil Ctr: no dropout.
	Ctr          Tensor
	P            float32
	Seed, Stream uint32
	// Mask is the output of ReLU, or of ReLU then Dropout with probability
	// MaskP (0: no dropout), of y's shape; nil: none.
	Mask  Tensor
	MaskP float32
}

// Empty says whether e does nothing.
func (e Epilogue) Empty() bool {
	return Absent(e.Bias) && !e.ReLU && Absent(e.Ctr) && Absent(e.Mask)
}

// Unfused records e on y as the unfused ops it stands for: the definition
// of every fused op's epilogue, and how the CPU reference runs it.
func (e Epilogue) Unfused(o Ops, y Tensor) {
	if !Absent(e.Bias) {
		o.AddBias(y, e.Bias)
	}
	if e.ReLU {
		o.ReLU(y, y)
	}
	if !Absent(e.Ctr) {
		o.Dropout(y, y, e.Ctr, e.P, e.Seed, e.Stream)
	}
	if !Absent(e.Mask) {
		o.ReLUDropoutBackward(e.Mask, y, y, e.MaskP)
	}
}

// CheckEpilogue validates e for an op writing y; bias says whether the op
// takes e.Bias (MatMulEpilogue) or not (the convolutions).
func CheckEpilogue(op string, y Tensor, e Epilogue, bias bool) error {
	var errs []error
	if !Absent(e.Bias) {
		if !bias {
			errs = append(errs, fmt.Errorf("%s: Epilogue.Bias is for MatMul; a convolution takes its bias itself", op))
		} else {
			_, _, err := CheckRows(op, y, e.Bias)
			errs = append(errs, err)
		}
	}
	if !Absent(e.Ctr) {
		errs = append(errs, CheckDropout(op, e.Ctr, e.P))
	}
	if !Absent(e.Mask) {
		errs = append(errs, CheckSame(op, y, e.Mask), checkProb(op, e.MaskP))
	}
	return errors.Join(errs...)
}

func checkProb(op string, p float32) error {
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("%s: dropout probability %v: need 0 <= p < 1", op, p)
	}
	return nil
}

// CheckReLUDropoutBackward validates ReLUDropoutBackward's arguments.
func CheckReLUDropoutBackward(op string, y, dy, dx Tensor, p float32) error {
	return firstErr(CheckSame(op, y, dy, dx), checkProb(op, p))
}

// CheckRowSums validates MatMulBiasGrad's db for an op(a) of m rows.
func CheckRowSums(op string, db Tensor, m int) error {
	return wantShape(op, "db", db, F32, m)
}

// Range is the elements [Offset, Offset+Len) of a 1-D tensor.
type Range struct{ Offset, Len int }

// SGDGroup is one parameter group of Ops.SGDPacked: its hyperparameters
// and the ranges of the packed tensors they apply to.
type SGDGroup struct {
	SGDParams
	Ranges []Range
}

// CheckSGDPacked validates SGDPacked's arguments: p, g and buf 1-D F32 of
// one length (buf may be absent only when no group has momentum), every
// group's hyperparameters as SGD wants them, ranges inside the tensors and
// not overlapping, and ctr, when given, a counter tensor.
func CheckSGDPacked(op string, p, g, buf Tensor, groups []SGDGroup, ctr Tensor) error {
	if err := want(op, "p", p, F32, 1); err != nil {
		return err
	}
	var errs []error
	n := p.Len()
	type span struct{ lo, hi int }
	var spans []span
	for i, gr := range groups {
		if err := CheckSGD(op, p, g, buf, gr.SGDParams); err != nil {
			errs = append(errs, fmt.Errorf("group %d: %w", i, err))
		}
		for _, r := range gr.Ranges {
			if r.Offset < 0 || r.Len <= 0 || r.Offset+r.Len > n {
				errs = append(errs, fmt.Errorf("%s: group %d: range [%d, %d) is empty or outside the %d elements", op, i, r.Offset, r.Offset+r.Len, n))
				continue
			}
			spans = append(spans, span{r.Offset, r.Offset + r.Len})
		}
	}
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.lo < b.hi && b.lo < a.hi {
				errs = append(errs, fmt.Errorf("%s: ranges [%d, %d) and [%d, %d) overlap", op, a.lo, a.hi, b.lo, b.hi))
			}
		}
	}
	if !Absent(ctr) {
		errs = append(errs, CheckCounters(op, ctr))
	}
	return errors.Join(errs...)
}
