package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/recipe"
)

func evalCommand() *cobra.Command {
	var (
		data          dataFlags
		model, device string
		archFlag      string
		predictions   string
		tta           int
		logitsPath    string
		limitTest     int
	)
	cmd := &cobra.Command{
		Use:   "eval --model FILE",
		Short: "Test accuracy of trained weights: overall, per class, and the confusion matrix",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return fmt.Errorf("--model is required: the model.safetensors of a vkcnn train run")
			}
			if limitTest < 0 {
				return fmt.Errorf("--limit-test %d: must be >= 0 (0: all)", limitTest)
			}
			d, err := data.load(cmd)
			if err != nil {
				return err
			}
			b, nw, err := openModel(device, model, archFlag, input(d), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer b.Close()
			test := limit(d.Test, limitTest, "--limit-test", cmd.ErrOrStderr())
			if !cmd.Flags().Changed("tta") && recipeFor(nw.Name) == "airbench" {
				tta = recipe.AirbenchTTA
			}
			if tta < 0 || tta > 2 {
				return fmt.Errorf("--tta %d: want 0, 1 or 2", tta)
			}
			e, err := layers.NewEvaluator(b, nw.Model, test.Records, 0, tta)
			if err != nil {
				return err
			}
			defer e.Close()
			loss, acc, pred, err := e.Evaluate()
			if err != nil {
				return err
			}
			printEval(cmd.OutOrStdout(), d.Classes, loss, acc, pred, e.Labels())
			if predictions != "" {
				if err := writePredictions(predictions, d.Classes, pred, e.Labels()); err != nil {
					return err
				}
			}
			if logitsPath != "" {
				return writeLogits(logitsPath, b, nw.Model, test, input(d))
			}
			return nil
		},
	}
	data.add(cmd)
	cmd.Flags().StringVar(&model, "model", "", "weights to evaluate (model.safetensors)")
	cmd.Flags().StringVar(&device, "device", "auto", "auto, cpu, or a Vulkan device index")
	cmd.Flags().IntVar(&limitTest, "limit-test", 0, "use only the first N test images (0: all)")
	addArchFlag(cmd, &archFlag, "")
	cmd.Flags().IntVar(&tta, "tta", 0, "test-time augmentation: 0 none, 1 mirror, 2 mirror and translates (default 2 for the airbench networks)")
	cmd.Flags().StringVar(&predictions, "predictions", "", "also write each test image's true and predicted class to this CSV file")
	cmd.Flags().StringVar(&logitsPath, "logits", "", "also write each test image's logits to this file: raw little-endian float32, images x classes, from the network alone, without --tta (what vkcnn export's ONNX model computes)")
	return cmd
}

func printEval(w io.Writer, classes []string, loss, acc float64, pred []uint32, labels []uint8) {
	k := len(classes)
	confusion := make([][]int, k)
	for i := range confusion {
		confusion[i] = make([]int, k)
	}
	for i, p := range pred {
		confusion[labels[i]][p]++
	}
	fmt.Fprintf(w, "Accuracy of the network on the %d test images: %.2f %% (loss %.4f)\n\n", len(pred), 100*acc, loss)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "true \\ predicted\t")
	for _, c := range classes {
		fmt.Fprintf(tw, "%.5s\t", c)
	}
	fmt.Fprintln(tw, "accuracy\t")
	for i, row := range confusion {
		total := 0
		fmt.Fprintf(tw, "%s\t", classes[i])
		for _, n := range row {
			fmt.Fprintf(tw, "%d\t", n)
			total += n
		}
		if total > 0 {
			fmt.Fprintf(tw, "%.1f %%\t\n", 100*float64(row[i])/float64(total))
		} else {
			fmt.Fprintln(tw, "-\t")
		}
	}
	tw.Flush()
}

// writePredictions writes one CSV line per test image: its index, true
// class and predicted class, by number and name.
func writePredictions(path string, classes []string, pred []uint32, labels []uint8) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"index", "label", "prediction", "label_name", "prediction_name"})
		for i, p := range pred {
			cw.Write([]string{strconv.Itoa(i), strconv.Itoa(int(labels[i])), strconv.Itoa(int(p)), classes[labels[i]], classes[p]})
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("writing --predictions %s: %w", path, err)
	}
	return nil
}
