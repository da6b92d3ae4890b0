package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/recipe"
)

// recipeFlags are train's flags that make up the training recipe: what
// --resume restores and what each --arch brings as defaults.
type recipeFlags struct {
	name                string
	epochs              float64
	batch               int
	lr, momentum, decay float64
	nesterov, augment   bool
	crop                int
	padMode, flip       string
	smoothing           float64
	loss, schedule      string
	lookahead           int
	biasScale           float64
	whiten, dirac       bool
	whitenBiasEpochs    int
	dropLast            bool
	tta                 int
}

// recipeNames are the flags of recipeFlags, in the order they are listed.
var recipeNames = []string{"recipe", "epochs", "batch-size", "lr", "momentum", "weight-decay", "nesterov", "augment",
	"crop", "pad-mode", "flip", "label-smoothing", "loss", "schedule", "lookahead", "bias-lr-scale",
	"whiten", "whiten-bias-epochs", "dirac", "drop-last", "tta"}

func (r *recipeFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&r.name, "recipe", "", "defaults of the flags below: tutorial (the PyTorch tutorial's SGD) or airbench (airbench94's); default: airbench for the airbench networks, else tutorial")
	fl.Float64Var(&r.epochs, "epochs", 10, "epochs to train, possibly fractional (in all, counting those of a resumed run); airbench: 9.9")
	fl.IntVar(&r.batch, "batch-size", 32, "images per step; airbench: 1024")
	fl.Float64Var(&r.lr, "lr", 0.001, "learning rate (PyTorch's SGD lr); airbench: 11.5/(1024·(1+1/(1-momentum)))")
	fl.Float64Var(&r.momentum, "momentum", 0.9, "SGD momentum; airbench: 0.85")
	fl.Float64Var(&r.decay, "weight-decay", 0, "L2 weight decay (PyTorch's coupled weight_decay); airbench: 0.0153·batch/11.5")
	fl.BoolVar(&r.nesterov, "nesterov", false, "Nesterov momentum; airbench: on")
	fl.BoolVar(&r.augment, "augment", false, "the tutorial's augmentation: --crop 4 --pad-mode zero --flip random")
	fl.IntVar(&r.crop, "crop", 0, "random crops of images padded by this many pixels (0: none); airbench: 2")
	fl.StringVar(&r.padMode, "pad-mode", "zero", "padding of --crop: zero or reflect; airbench: reflect")
	fl.StringVar(&r.flip, "flip", "none", "horizontal flips: none, random, or alternating (each image one way in even epochs, the other in odd ones); airbench: alternating")
	fl.Float64Var(&r.smoothing, "label-smoothing", 0, "label smoothing of the cross-entropy; airbench: 0.2")
	fl.StringVar(&r.loss, "loss", "mean", "the loss the gradient is of: mean or sum over the batch; airbench: sum")
	fl.StringVar(&r.schedule, "schedule", "constant", "learning-rate factor per step: constant, airbench (0.2 → 1 at 23% of the steps → 0.07), or points FRACTION:FACTOR,... of a piecewise-linear schedule over the run, e.g. 0:0.2,0.23:1,1:0.07")
	fl.IntVar(&r.lookahead, "lookahead", 0, "Lookahead every N steps with airbench's decay (0: off); airbench: 5")
	fl.Float64Var(&r.biasScale, "bias-lr-scale", 1, "BatchNorm biases train with this times the learning rate (and weight decay over it); airbench: 64")
	fl.BoolVar(&r.whiten, "whiten", false, "initialize the first convolution as a whitening of 2x2 patches of the first 5,000 training images and freeze its weight; airbench: on")
	fl.IntVar(&r.whitenBiasEpochs, "whiten-bias-epochs", 0, "with --whiten, epochs the whitening bias trains before it is frozen (0: always); airbench: 3")
	fl.BoolVar(&r.dirac, "dirac", false, "initialize every convolution's first C_in filters as the identity and its bias as zero; airbench: on")
	fl.BoolVar(&r.dropLast, "drop-last", false, "drop each epoch's last short batch; airbench: on")
	fl.IntVar(&r.tta, "tta", 0, "test-time augmentation when evaluating: 0 none, 1 mirror, 2 mirror and translates; airbench: 2")
}

// recipeFor is the recipe an architecture brings by default.
func recipeFor(archName string) string {
	if strings.HasPrefix(archName, "airbench") {
		return "airbench"
	}
	return "tutorial"
}

// defaults sets every recipe flag the user did not give to the recipe's
// value; airbench's depend on the batch size and momentum, so those come
// first.
func (r *recipeFlags) defaults(fl *pflag.FlagSet, archName string) error {
	if !fl.Changed("recipe") {
		r.name = recipeFor(archName)
	}
	set := func(name, value string) {
		if !fl.Changed(name) {
			fl.Set(name, value) // values below are valid by construction
		}
	}
	switch r.name {
	case "tutorial":
		return nil // the flags' own defaults
	case "airbench":
		set("epochs", fmt.Sprint(recipe.AirbenchEpochs))
		set("batch-size", fmt.Sprint(recipe.AirbenchBatch))
		set("momentum", fmt.Sprint(recipe.AirbenchMomentum))
		lr, wd := recipe.AirbenchSGD(r.batch, r.momentum)
		set("lr", fmt.Sprint(lr))
		set("weight-decay", fmt.Sprint(wd))
		set("nesterov", "true")
		set("crop", fmt.Sprint(recipe.AirbenchTranslate))
		set("pad-mode", "reflect")
		set("flip", "alternating")
		set("label-smoothing", fmt.Sprint(recipe.AirbenchLabelSmoothing))
		set("loss", "sum")
		set("schedule", "airbench")
		set("lookahead", fmt.Sprint(recipe.AirbenchLookahead))
		set("bias-lr-scale", fmt.Sprint(recipe.AirbenchBiasScale))
		set("whiten", "true")
		set("whiten-bias-epochs", fmt.Sprint(recipe.AirbenchWhitenBiasEpochs))
		set("dirac", "true")
		set("drop-last", "true")
		set("tta", fmt.Sprint(recipe.AirbenchTTA))
		return nil
	}
	return fmt.Errorf("--recipe %q: want tutorial or airbench", r.name)
}

// values records the recipe for state.json, by flag name.
func (r *recipeFlags) values(fl *pflag.FlagSet) map[string]string {
	out := map[string]string{}
	for _, n := range recipeNames {
		out[n] = fl.Lookup(n).Value.String()
	}
	return out
}

// restore sets the recipe of a resumed run; --epochs, when given, extends
// it (a schedule then stretches over the new length).
func (r *recipeFlags) restore(fl *pflag.FlagSet, saved map[string]string) error {
	for _, n := range recipeNames {
		v, ok := saved[n]
		if !ok || n == "epochs" && fl.Changed(n) {
			continue
		}
		if err := fl.Set(n, v); err != nil {
			return fmt.Errorf("the saved --%s %q: %w", n, v, err)
		}
	}
	return nil
}

func (r *recipeFlags) check() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(r.epochs) || r.epochs <= 0:
		return fmt.Errorf("--epochs %v: must be a number > 0", r.epochs)
	case r.batch < 1:
		return fmt.Errorf("--batch-size %d: must be at least 1", r.batch)
	case !finite(r.lr) || r.lr < 0:
		return fmt.Errorf("--lr %v: must be a finite number >= 0 (the tutorial uses 0.001)", r.lr)
	case math.IsNaN(r.momentum) || r.momentum < 0 || r.momentum >= 1:
		return fmt.Errorf("--momentum %v: must be in [0, 1) (the tutorial uses 0.9)", r.momentum)
	case !finite(r.decay) || r.decay < 0:
		return fmt.Errorf("--weight-decay %v: must be a finite number >= 0", r.decay)
	case r.crop < 0 || r.crop > 16:
		return fmt.Errorf("--crop %d: must be between 0 and 16 pixels", r.crop)
	case r.padMode != "zero" && r.padMode != "reflect":
		return fmt.Errorf("--pad-mode %q: want zero or reflect", r.padMode)
	case r.flip != "none" && r.flip != "random" && r.flip != "alternating":
		return fmt.Errorf("--flip %q: want none, random or alternating", r.flip)
	case math.IsNaN(r.smoothing) || r.smoothing < 0 || r.smoothing >= 1:
		return fmt.Errorf("--label-smoothing %v: must be in [0, 1)", r.smoothing)
	case r.loss != "mean" && r.loss != "sum":
		return fmt.Errorf("--loss %q: want mean or sum", r.loss)
	case r.lookahead < 0:
		return fmt.Errorf("--lookahead %d: must be >= 0 (0: off)", r.lookahead)
	case !finite(r.biasScale) || r.biasScale <= 0:
		return fmt.Errorf("--bias-lr-scale %v: must be a number > 0", r.biasScale)
	case r.whitenBiasEpochs < 0:
		return fmt.Errorf("--whiten-bias-epochs %d: must be >= 0 (0: always trains)", r.whitenBiasEpochs)
	case r.tta < 0 || r.tta > 2:
		return fmt.Errorf("--tta %d: want 0, 1 or 2", r.tta)
	}
	_, err := parseSchedule(r.schedule)
	return err
}

// parseSchedule reads --schedule: a learning-rate factor per step of a run.
func parseSchedule(s string) (func(step, total int) float64, error) {
	switch s {
	case "constant":
		return nil, nil
	case "airbench":
		return layers.AirbenchSchedule, nil
	}
	bad := fmt.Errorf("--schedule %q: want constant, airbench, or FRACTION:FACTOR points such as 0:0.2,0.23:1,1:0.07 (fractions rising from 0 to 1)", s)
	var xs, ys []float64
	for _, pt := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(pt, ":")
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if !ok || err1 != nil || err2 != nil || y < 0 || math.IsNaN(y) || math.IsInf(y, 0) || len(xs) > 0 && !(x > xs[len(xs)-1]) {
			return nil, bad
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	if len(xs) < 2 || xs[0] != 0 || xs[len(xs)-1] != 1 {
		return nil, bad
	}
	return func(step, total int) float64 {
		f := float64(step) / float64(max(total-1, 1))
		for i := 1; i < len(xs); i++ {
			if f <= xs[i] {
				w := (f - xs[i-1]) / (xs[i] - xs[i-1])
				return ys[i-1]*(1-w) + ys[i]*w
			}
		}
		return ys[len(ys)-1]
	}, nil
}

// config is the layers.Config of the recipe for model m.
func (r *recipeFlags) config(m *layers.Model, seed uint64) layers.Config {
	c := layers.Config{
		BatchSize: r.batch,
		SGD:       backend.SGDParams{LR: float32(r.lr), Momentum: float32(r.momentum), WeightDecay: float32(r.decay), Nesterov: r.nesterov},
		Loss:      backend.LossParams{LabelSmoothing: float32(r.smoothing), Sum: r.loss == "sum"},
		Augment:   layers.Augment{Pad: r.crop, Reflect: r.padMode == "reflect", Flip: map[string]layers.Flip{"none": layers.NoFlip, "random": layers.RandomFlip, "alternating": layers.AlternatingFlip}[r.flip]},
		DropLast:  r.dropLast,
		Epochs:    r.epochs,
		TTA:       r.tta,
		Seed:      seed,
	}
	if r.augment {
		c.Augment = layers.TutorialAugment
	}
	c.Schedule, _ = parseSchedule(r.schedule) // checked
	if r.lookahead > 0 {
		c.Lookahead = &layers.Lookahead{Every: r.lookahead, Decay: layers.AirbenchDecay}
	}
	if r.biasScale != 1 {
		c.GroupSGD = recipe.BiasGroup(m, r.biasScale)
	}
	if r.whiten && r.whitenBiasEpochs > 0 {
		if w, err := recipe.Whitener(m); err == nil && w.Bias != nil {
			c.FreezeAfter = map[string]int{w.Bias.Name: r.whitenBiasEpochs}
		}
	}
	return c
}

// initRecipe applies the recipe's initialization to a freshly initialized
// model: Dirac convolutions and the whitening convolution, computed from
// the first training images as the model sees them (normalized), at the
// model's input shape.
func initRecipe(b backend.Backend, nw *arch.Network, train dataset.Split, r *recipeFlags) error {
	if !r.dirac && !r.whiten {
		return nil
	}
	m := nw.Model
	c, h, w := m.InputShape()
	size := c * h * w
	if train.RecordSize != 1+size {
		return fmt.Errorf("initializing %s: %d-byte records for a %dx%dx%d input", nw.Name, train.RecordSize, c, h, w)
	}
	n := min(train.N, recipe.AirbenchWhitenImages)
	images := make([]float32, n*size)
	normalize := len(m.Std) == c
	for i := range n {
		for j, v := range train.Image(i) {
			x := float32(v) / 255
			if normalize {
				ch := j / (h * w)
				x = (x - m.Mean[ch]) / m.Std[ch]
			}
			images[i*size+j] = x
		}
	}
	if err := recipe.AirbenchInit(b, m, r.dirac, r.whiten, images, n, h, w); err != nil {
		return fmt.Errorf("initializing %s: %w", nw.Name, err)
	}
	return nil
}
