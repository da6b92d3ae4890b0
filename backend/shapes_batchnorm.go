package backend

import (
	"fmt"
	"math"
	"slices"
)

// BatchNormShape holds the dimensions of a batch normalization.
type BatchNormShape struct {
	N, C, H, W int
	// Count is how many values each channel's statistics are taken over:
	// N·H·W, the cnt of the op contract.
	Count int
}

// CheckBatchNorm validates BatchNorm2d's arguments and returns its
// dimensions. x and y are [N,C,H,W]; Weight, Bias, RunningMean and
// RunningVar are [C], and in training so are Mean and InvStd, which
// evaluation neither reads nor writes (they may then be absent). Training
// needs more than one value per channel: the unbiased running variance
// divides by cnt-1, and PyTorch refuses it too.
func CheckBatchNorm(op string, x, y Tensor, t BatchNormTensors, o BatchNormParams) (BatchNormShape, error) {
	s, err := checkBatchNormInput(op, x, "y", y)
	if err != nil {
		return s, err
	}
	if !(o.Eps >= 0) || math.IsInf(float64(o.Eps), 0) {
		return s, fmt.Errorf("%s: eps %v: need a finite eps >= 0", op, o.Eps)
	}
	if !(o.Momentum >= 0 && o.Momentum <= 1) {
		return s, fmt.Errorf("%s: momentum %v: need 0 <= momentum <= 1", op, o.Momentum)
	}
	chans := []namedTensor{{"t.Weight", t.Weight}, {"t.Bias", t.Bias}, {"t.RunningMean", t.RunningMean}, {"t.RunningVar", t.RunningVar}}
	if o.Train {
		chans = append(chans, namedTensor{"t.Mean", t.Mean}, namedTensor{"t.InvStd", t.InvStd})
	}
	for _, ct := range chans {
		if err := wantChannels(op, ct.name, ct.t, s); err != nil {
			return s, err
		}
	}
	if o.Train && s.Count < 2 {
		return s, fmt.Errorf("%s: training needs more than one value per channel, and x %v has %d (N·H·W); use evaluation mode (Train false) for a single 1x1 image", op, x.Shape(), s.Count)
	}
	return s, nil
}

// CheckBatchNormBackward validates BatchNorm2dBackward's arguments and
// returns the dimensions. x, dy and dx (unless absent) are [N,C,H,W];
// t.Mean and t.InvStd are [C], and so is t.Weight when dx is wanted (only
// dx reads it), and dWeight and dBias unless absent. The forward it
// differentiates ran in training mode, so cnt must be more than one here
// as well.
func CheckBatchNormBackward(op string, x, dy, dx Tensor, t BatchNormTensors, dWeight, dBias Tensor) (BatchNormShape, error) {
	s, err := checkBatchNormInput(op, x, "dy", dy)
	if err != nil {
		return s, err
	}
	if !Absent(dx) {
		if err := wantLike(op, "dx", dx, x); err != nil {
			return s, err
		}
		if err := wantChannels(op, "t.Weight", t.Weight, s); err != nil {
			return s, err
		}
	}
	for _, ct := range []namedTensor{{"t.Mean", t.Mean}, {"t.InvStd", t.InvStd}} {
		if err := wantChannels(op, ct.name, ct.t, s); err != nil {
			return s, err
		}
	}
	for _, ct := range []namedTensor{{"dWeight", dWeight}, {"dBias", dBias}} {
		if Absent(ct.t) {
			continue
		}
		if err := wantChannels(op, ct.name, ct.t, s); err != nil {
			return s, err
		}
	}
	if s.Count < 2 {
		return s, fmt.Errorf("%s: x %v has %d value per channel (N·H·W), and a training-mode forward needs more than one", op, x.Shape(), s.Count)
	}
	return s, nil
}

// namedTensor is a tensor argument with the name messages call it by.
type namedTensor struct {
	name string
	t    Tensor
}

// checkBatchNormInput validates x [N,C,H,W] and the tensor of its shape
// named other, and returns the dimensions.
func checkBatchNormInput(op string, x Tensor, other string, o Tensor) (BatchNormShape, error) {
	if err := want(op, "x", x, F32, 4); err != nil {
		return BatchNormShape{}, err
	}
	xs := x.Shape()
	s := BatchNormShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3]}
	s.Count = s.N * s.H * s.W
	return s, wantLike(op, other, o, x)
}

// wantLike checks that the float tensor name has x's shape.
func wantLike(op, name string, t, x Tensor) error {
	if err := want(op, name, t, F32, 0); err != nil {
		return err
	}
	if !slices.Equal(t.Shape(), x.Shape()) {
		return fmt.Errorf("%s: %s has shape %v, x has %v: want the same", op, name, t.Shape(), x.Shape())
	}
	return nil
}

// wantChannels checks that the float tensor name holds one value per
// channel.
func wantChannels(op, name string, t Tensor, s BatchNormShape) error {
	if err := want(op, name, t, F32, 0); err != nil {
		return err
	}
	if !slices.Equal(t.Shape(), []int{s.C}) {
		return fmt.Errorf("%s: %s has shape %v, want [%d] (one value per channel of x [%d %d %d %d])", op, name, t.Shape(), s.C, s.N, s.C, s.H, s.W)
	}
	return nil
}
