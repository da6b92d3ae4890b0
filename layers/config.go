package layers

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// Config is a training recipe.
type Config struct {
	BatchSize int
	SGD       backend.SGDParams
	// GroupSGD, when set, gives a parameter hyperparameters of its own
	// (PyTorch's parameter groups: airbench trains BatchNorm biases with 64
	// times the learning rate); base is SGD.
	GroupSGD func(p *Param, base backend.SGDParams) backend.SGDParams
	// Schedule, when set, multiplies every parameter's learning rate at
	// global step s of total by Schedule(s, total) (PyTorch's LambdaLR). The
	// factors are computed once and read on the device, so the recorded
	// step serves the whole run. It needs Epochs.
	Schedule func(step, total int) float64
	// FreezeAfter stops training the named parameters from that epoch on
	// (airbench freezes its whitening bias after 3 epochs): their learning
	// rate is zero from the first step of the epoch, which leaves them as
	// they are.
	FreezeAfter map[string]int
	// Loss sets label smoothing and whether the gradient is the summed loss's.
	Loss backend.LossParams
	// Augment says how training images are cropped and flipped.
	Augment Augment
	// Lookahead, when set, keeps a slow copy of the model state.
	Lookahead *Lookahead
	// DropLast drops the last short batch of an epoch, as PyTorch's
	// DataLoader(drop_last=True) does.
	DropLast bool
	// Epochs is the run's length, possibly fractional (airbench trains 9.9
	// epochs): training stops after ceil(Epochs·steps per epoch) steps. Zero
	// means no limit (and no Schedule or Lookahead).
	Epochs float64
	// TTA is the test-time augmentation of evaluation: 0 none, 1 the mean of
	// the image's and its mirror's logits, 2 also two one-pixel diagonal
	// translates, each with its mirror (airbench's weights 1/4, 1/4, 1/8 x 4).
	TTA int
	// Seed drives initialization, shuffling, dropout and augmentation.
	Seed uint64
	// EvalBatch is the batch size of evaluation (0: DefaultEvalBatch).
	EvalBatch int
	// StepsPerRun fixes how many steps one submit runs (0: tuned to about
	// a quarter of a second); 1 reports progress after every step.
	StepsPerRun int
}

// DefaultEvalBatch is evaluation's batch size: large enough to keep a GPU
// busy, small enough that evaluation's activations beside training's keep
// airbench94 at batch 1024 within 4 GiB.
const DefaultEvalBatch = 500

// Flip says how training images are mirrored.
type Flip int

// The flip modes.
const (
	NoFlip Flip = iota
	// RandomFlip mirrors each image with probability 1/2 at every step.
	RandomFlip
	// AlternatingFlip mirrors each image at random in epoch 0 and the other
	// way in every odd epoch (airbench), so that every image is seen both
	// ways in any two consecutive epochs.
	AlternatingFlip
)

// Augment is the random cropping and flipping of training images.
type Augment struct {
	// Pad > 0 takes a random 32x32 crop of the image padded by Pad pixels.
	Pad int
	// Reflect pads by reflection rather than zeros.
	Reflect bool
	Flip    Flip
}

// TutorialAugment is vkcnn train --augment: random crops with 4 pixels of
// zero padding and random flips.
var TutorialAugment = Augment{Pad: 4, Flip: RandomFlip}

// Lookahead keeps a slow copy of every float state_dict entry (parameters,
// frozen ones and buffers such as BatchNorm's running statistics): every
// Every steps, ema = lerp(ema, θ, 1 - Decay(step, total)) and θ = ema, and
// at the last step θ = ema.
type Lookahead struct {
	Every int
	Decay func(step, total int) float64
}

// AirbenchSchedule is airbench94's learning-rate factor: linear from 0.2 at
// step 0 to 1 at 23% of the steps, then linear to 0.07 at the last step.
func AirbenchSchedule(step, total int) float64 {
	warm := int(float64(total) * 0.23)
	if step < warm {
		f := float64(step) / float64(warm)
		return 0.2*(1-f) + f
	}
	f := float64(step-warm) / float64(total-warm)
	return (1 - f) + 0.07*f
}

// AirbenchDecay is airbench94's Lookahead decay: 0.95⁵·(step/total)³.
func AirbenchDecay(step, total int) float64 {
	return math.Pow(0.95, 5) * math.Pow(float64(step)/float64(total), 3)
}

// check refuses recipes that cannot run.
func (c *Config) check() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d: must be at least 1", c.BatchSize)
	case c.Epochs < 0 || math.IsNaN(c.Epochs) || math.IsInf(c.Epochs, 0):
		return fmt.Errorf("epochs %v: must be a finite number >= 0", c.Epochs)
	case (c.Schedule != nil || c.Lookahead != nil) && c.Epochs == 0:
		return fmt.Errorf("a learning-rate schedule or Lookahead needs the run's length (Epochs)")
	case c.Lookahead != nil && c.Lookahead.Every < 1:
		return fmt.Errorf("lookahead every %d steps: must be at least 1", c.Lookahead.Every)
	case c.TTA < 0 || c.TTA > 2:
		return fmt.Errorf("test-time augmentation level %d: must be 0, 1 or 2", c.TTA)
	case c.Augment.Pad < 0 || c.Augment.Reflect && c.Augment.Pad >= backend.ImageSide:
		return fmt.Errorf("augmentation padding %d: must be >= 0 (and below %d when reflecting)", c.Augment.Pad, backend.ImageSide)
	case c.Loss.LabelSmoothing < 0 || c.Loss.LabelSmoothing >= 1 || c.Loss.LabelSmoothing != c.Loss.LabelSmoothing:
		return fmt.Errorf("label smoothing %v: must be in [0, 1)", c.Loss.LabelSmoothing)
	}
	return nil
}

// stepsPerEpoch is the number of training steps of one epoch of n images.
func (c *Config) stepsPerEpoch(n int) int {
	if c.DropLast {
		return n / c.BatchSize
	}
	return (n + c.BatchSize - 1) / c.BatchSize
}

// TotalSteps is how many steps the run takes on n training images (0 when
// Epochs is 0: no limit).
func (c *Config) TotalSteps(n int) int {
	return int(math.Ceil(c.Epochs*float64(c.stepsPerEpoch(n)) - 1e-9))
}
