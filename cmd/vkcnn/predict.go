package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/images"
)

func predictCommand() *cobra.Command {
	var (
		model, device, archFlag string
		data                    dataFlags
	)
	cmd := &cobra.Command{
		Use:   "predict --model FILE IMAGE...",
		Short: "The top 3 classes of PNG or JPEG images (resized to the model's input)",
		Long: `Prints the 3 most likely classes of each image, with their probabilities.

Each image is converted to the model's input as its checkpoint records it:
its channels (grey for MNIST's models, RGB otherwise) and size, stretched to
that size, or for a model trained on an image folder scaled and centre
cropped as the folder's images were. Checkpoints record their class names;
for weights that do not (from elsewhere), --data names the data set whose
classes and image shape they have (default CIFAR-10's).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return fmt.Errorf("--model is required: the model.safetensors of a vkcnn train run")
			}
			info, err := readModelInfo(model)
			if err != nil {
				return err
			}
			if data.source != "" {
				d, err := data.load(cmd)
				if err != nil {
					return err
				}
				if err := checkData(info, model, d, cmd.ErrOrStderr()); err != nil {
					return err
				}
				info = modelInfo{in: input(d), classes: d.Classes, dataset: d.Name, recorded: true}
			}
			in := info.in
			fit := images.Stretch
			if info.dataset == dataset.ImageFolder {
				fit = images.CenterCrop
			}
			var pixels []float32
			for _, path := range args {
				img, err := images.DecodeAs(path, in.C, in.H, in.W, fit)
				if err != nil {
					return err
				}
				pixels = append(pixels, img...)
			}
			b, nw, err := openModel(device, model, archFlag, in, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer b.Close()
			logits, err := nw.Model.Logits(b, pixels, len(args), in.C, in.H, in.W)
			if err != nil {
				return err
			}
			classes := info.classes
			top := min(3, len(classes))
			for i, path := range args {
				probs := softmax(logits[i*len(classes) : (i+1)*len(classes)])
				order := make([]int, len(probs))
				for j := range order {
					order[j] = j
				}
				sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
				fmt.Fprintf(cmd.OutOrStdout(), "%s:", path)
				for _, c := range order[:top] {
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
	data.add(cmd)
	// Here --data is only for weights that do not record their data.
	cmd.Flags().Lookup("data").Usage = "for weights that do not record their classes and input (from elsewhere): the data set they were trained on, as train's --data (default: what the checkpoint records, else CIFAR-10)"
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
