package recipe

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/layers"
)

// Airbench94's hyperparameters (legacy/airbench94.py), in its decoupled
// form: the learning rate and weight decay are per 1024 examples.
const (
	AirbenchBatch            = 1024
	AirbenchEpochs           = 9.9
	AirbenchLR               = 11.5
	AirbenchMomentum         = 0.85
	AirbenchWeightDecay      = 0.0153
	AirbenchBiasScale        = 64.0
	AirbenchLabelSmoothing   = 0.2
	AirbenchWhitenBiasEpochs = 3
	AirbenchLookahead        = 5
	AirbenchTranslate        = 2
	AirbenchTTA              = 2
	AirbenchWhitenImages     = 5000
)

// AirbenchSGD converts airbench's decoupled learning rate and weight decay
// to PyTorch's SGD arguments for a batch size and momentum: the summed loss
// takes lr = 11.5/(1024·(1+1/(1-momentum))), and weight_decay = wd/lr with
// wd = 0.0153·batch/(1024·(1+1/(1-momentum))).
func AirbenchSGD(batch int, momentum float64) (lr, weightDecay float64) {
	kilostep := 1024 * (1 + 1/(1-momentum))
	lr = AirbenchLR / kilostep
	wd := AirbenchWeightDecay * float64(batch) / kilostep
	return lr, wd / lr
}

// BatchNormBiases is the set of a model's BatchNorm biases (airbench's
// "norm biases" parameter group).
func BatchNormBiases(m *layers.Model) map[*layers.Param]bool {
	out := map[*layers.Param]bool{}
	layers.Walk(m.Layers, func(l layers.Layer) {
		if bn, ok := l.(*layers.BatchNorm2d); ok {
			out[bn.Bias] = true
		}
	})
	return out
}

// BiasGroup is a layers.Config.GroupSGD that trains BatchNorm biases with
// scale times the learning rate and weight_decay/scale (the same decay per
// step), as airbench's second parameter group.
func BiasGroup(m *layers.Model, scale float64) func(*layers.Param, backend.SGDParams) backend.SGDParams {
	biases := BatchNormBiases(m)
	return func(p *layers.Param, o backend.SGDParams) backend.SGDParams {
		if biases[p] {
			o.LR *= float32(scale)
			o.WeightDecay /= float32(scale)
		}
		return o
	}
}

// Whitener is the first layer as a whitening convolution: the model's
// first layer must be a convolution with 2·C·k·k output channels.
func Whitener(m *layers.Model) (*layers.Conv2d, error) {
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("whitening: the model has no layers")
	}
	c, ok := m.Layers[0].(*layers.Conv2d)
	if !ok {
		return nil, fmt.Errorf("whitening initializes the first layer, which must be a convolution (it is %T)", m.Layers[0])
	}
	if want := 2 * c.In * c.Kernel * c.Kernel; c.Out != want {
		return nil, fmt.Errorf("whitening: %s has %d output channels, a %dx%d whitening of %d channels needs %d", c.Weight.Name, c.Out, c.Kernel, c.Kernel, c.In, want)
	}
	return c, nil
}

// FreezeWhitener freezes the whitening convolution's weight: call it
// before the model is allocated, so no gradient is kept for it.
func FreezeWhitener(m *layers.Model) error {
	c, err := Whitener(m)
	if err == nil {
		c.Weight.Kind = layers.Frozen
	}
	return err
}

// AirbenchInit applies airbench's initialization to a model that holds
// PyTorch's default one: every convolution's first C_in filters become the
// identity (Dirac) and its bias zero; with whiten, the first layer's
// weight becomes the whitening filters of the patches of images (the first
// training images, n x C x H x W floats normalized as the model sees them).
func AirbenchInit(b backend.Backend, m *layers.Model, dirac bool, whiten bool, images []float32, n, h, w int) error {
	weights, err := m.Weights(b)
	if err != nil {
		return err
	}
	if dirac {
		layers.Walk(m.Layers, func(l layers.Layer) {
			c, ok := l.(*layers.Conv2d)
			if !ok {
				return
			}
			Dirac(weights[c.Weight.Name], c.Out, c.In, c.Kernel, c.Kernel)
			if c.Bias != nil {
				clear(weights[c.Bias.Name])
			}
		})
	}
	if whiten {
		c, err := Whitener(m)
		if err != nil {
			return err
		}
		f, err := Whitening(images, n, c.In, h, w, c.Kernel, WhitenEps)
		if err != nil {
			return err
		}
		weights[c.Weight.Name] = f
		if c.Bias != nil {
			clear(weights[c.Bias.Name])
		}
	}
	return m.SetWeights(b, weights)
}
