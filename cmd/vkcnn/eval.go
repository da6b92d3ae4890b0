package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
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
		confusionPath string
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
			info, err := readModelInfo(model)
			if err != nil {
				return err
			}
			if err := checkData(info, model, d, cmd.ErrOrStderr()); err != nil {
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
			confusion := confusionMatrix(len(d.Classes), pred, e.Labels())
			printEval(cmd.OutOrStdout(), d.Classes, loss, acc, confusion, confusionPath)
			if confusionPath != "" {
				if err := writeConfusion(confusionPath, d.Classes, confusion); err != nil {
					return err
				}
			}
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
	cmd.Flags().StringVar(&confusionPath, "confusion", "", "also write the confusion matrix to this CSV file (rows: true class, columns: predicted; printed in full for up to 16 classes, summarized above)")
	cmd.Flags().StringVar(&predictions, "predictions", "", "also write each test image's true and predicted class to this CSV file")
	cmd.Flags().StringVar(&logitsPath, "logits", "", "also write each test image's logits to this file: raw little-endian float32, images x classes, from the network alone, without --tta (what vkcnn export's ONNX model computes)")
	return cmd
}

// fullMatrixClasses is the most classes whose confusion matrix eval prints
// in full; beyond, a terminal line cannot hold a row, so eval prints the
// per-class accuracies and the most confused pairs, and --confusion FILE
// has the matrix.
const fullMatrixClasses = 16

// confusedPairs is how many of the most confused pairs eval lists.
const confusedPairs = 10

// confusionMatrix counts test images by true class (row) and predicted
// class (column).
func confusionMatrix(k int, pred []uint32, labels []uint8) [][]int {
	confusion := make([][]int, k)
	for i := range confusion {
		confusion[i] = make([]int, k)
	}
	for i, p := range pred {
		if int(labels[i]) < k && int(p) < k {
			confusion[labels[i]][p]++
		}
	}
	return confusion
}

// printEval prints the accuracy and the confusion matrix, or for many
// classes its summary (csv: where the full matrix goes, "" for nowhere).
func printEval(w io.Writer, classes []string, loss, acc float64, confusion [][]int, csv string) {
	n := 0
	for _, row := range confusion {
		for _, v := range row {
			n += v
		}
	}
	fmt.Fprintf(w, "Accuracy of the network on the %d test images: %.2f %% (loss %.4f)\n\n", n, 100*acc, loss)
	if len(classes) <= fullMatrixClasses {
		printMatrix(w, classes, confusion)
		return
	}
	printSummary(w, classes, confusion)
	if csv == "" {
		fmt.Fprintln(w, "\n(the full confusion matrix: --confusion FILE writes it as CSV)")
	} else {
		fmt.Fprintf(w, "\nthe full confusion matrix is in %s\n", csv)
	}
}

// rowAccuracy is the percentage of row i's images predicted right, and
// whether the row has any.
func rowAccuracy(confusion [][]int, i int) (float64, bool) {
	total := 0
	for _, v := range confusion[i] {
		total += v
	}
	if total == 0 {
		return 0, false
	}
	return 100 * float64(confusion[i][i]) / float64(total), true
}

// printMatrix prints the whole matrix with each class's accuracy.
func printMatrix(w io.Writer, classes []string, confusion [][]int) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "true \\ predicted\t")
	for _, c := range classes {
		fmt.Fprintf(tw, "%.5s\t", c)
	}
	fmt.Fprintln(tw, "accuracy\t")
	for i, row := range confusion {
		fmt.Fprintf(tw, "%s\t", classes[i])
		for _, n := range row {
			fmt.Fprintf(tw, "%d\t", n)
		}
		if a, ok := rowAccuracy(confusion, i); ok {
			fmt.Fprintf(tw, "%.1f %%\t\n", a)
		} else {
			fmt.Fprintln(tw, "-\t")
		}
	}
	tw.Flush()
}

// printSummary prints each class's accuracy, four to a line, and the most
// confused pairs of classes.
func printSummary(w io.Writer, classes []string, confusion [][]int) {
	const perLine = 4
	fmt.Fprintln(w, "accuracy per class:")
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for i, c := range classes {
		a := "-"
		if v, ok := rowAccuracy(confusion, i); ok {
			a = fmt.Sprintf("%.1f %%", v)
		}
		fmt.Fprintf(tw, "  %s\t%s\t", c, a)
		if i%perLine == perLine-1 || i == len(classes)-1 {
			fmt.Fprintln(tw)
		}
	}
	tw.Flush()

	type pair struct{ t, p, n int }
	var pairs []pair
	for t, row := range confusion {
		for p, n := range row {
			if p != t && n > 0 {
				pairs = append(pairs, pair{t, p, n})
			}
		}
	}
	// Most images first; ties in class order, so the list is reproducible.
	sort.SliceStable(pairs, func(a, b int) bool { return pairs[a].n > pairs[b].n })
	if len(pairs) == 0 {
		fmt.Fprintln(w, "\nno image was confused with another class")
		return
	}
	fmt.Fprintf(w, "\nmost confused (true -> predicted: images, share of the true class):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, p := range pairs[:min(confusedPairs, len(pairs))] {
		total := 0
		for _, v := range confusion[p.t] {
			total += v
		}
		fmt.Fprintf(tw, "  %s\t-> %s:\t%d\t(%.1f %%)\n", classes[p.t], classes[p.p], p.n, 100*float64(p.n)/float64(total))
	}
	tw.Flush()
}

// writeConfusion writes the confusion matrix as CSV, atomically: a header
// of the predicted classes' names, then one row per true class, its name
// first.
func writeConfusion(path string, classes []string, confusion [][]int) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(append([]string{"true \\ predicted"}, classes...))
		for i, row := range confusion {
			rec := []string{classes[i]}
			for _, n := range row {
				rec = append(rec, strconv.Itoa(n))
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("writing --confusion %s: %w", path, err)
	}
	return nil
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
