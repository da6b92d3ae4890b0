package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/images"
)

func predictCommand() *cobra.Command {
	var model, device, archFlag string
	cmd := &cobra.Command{
		Use:   "predict --model FILE IMAGE...",
		Short: "The top 3 classes of PNG or JPEG images (resized to 32x32)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return fmt.Errorf("--model is required: the model.safetensors of a vkcnn train run")
			}
			var pixels []float32
			for _, path := range args {
				img, err := images.Decode(path)
				if err != nil {
					return err
				}
				pixels = append(pixels, img...)
			}
			// Images are resized to CIFAR-10's; checkpoints do not yet record
			// another input.
			in := arch.CIFAR10
			b, nw, err := openModel(device, model, archFlag, in, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer b.Close()
			logits, err := nw.Model.Logits(b, pixels, len(args), in.C, in.H, in.W)
			if err != nil {
				return err
			}
			classes := cifar10.ClassNames()
			for i, path := range args {
				probs := softmax(logits[i*len(classes) : (i+1)*len(classes)])
				order := make([]int, len(probs))
				for j := range order {
					order[j] = j
				}
				sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
				fmt.Fprintf(cmd.OutOrStdout(), "%s:", path)
				for _, c := range order[:3] {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s %.1f%%", classes[c], 100*probs[c])
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "weights to use (model.safetensors)")
	cmd.Flags().StringVar(&device, "device", "auto", "auto, cpu, or a Vulkan device index")
	addArchFlag(cmd, &archFlag, "")
	return cmd
}

func softmax(x []float32) []float64 {
	hi := math.Inf(-1)
	for _, v := range x {
		hi = math.Max(hi, float64(v))
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - hi)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
