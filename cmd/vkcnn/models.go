package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
)

func modelsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the zoo's networks (vkcnn models show NAME prints one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			for _, name := range arch.Names() {
				text, _ := arch.Zoo(name)
				fmt.Fprintf(tw, "%s\t%s\n", name, summaryLine(name, text))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nvkcnn models show NAME prints a network's description (copy it to a file, edit it, and pass the file to --arch) and its layers")
			return nil
		},
	}
	cmd.AddCommand(modelsShowCommand())
	return cmd
}

// summaryLine is the description's first comment line without the name.
func summaryLine(name, text string) string {
	first, _, _ := strings.Cut(text, "\n")
	first = strings.TrimSpace(strings.TrimPrefix(first, "#"))
	return strings.TrimPrefix(strings.TrimPrefix(first, name+":"), " ")
}

func modelsShowCommand() *cobra.Command {
	var input string
	var classes int
	cmd := &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a network's description and a summary of its layers: output shapes, parameters, FLOPs",
		Example: `  vkcnn models show resnet18
  vkcnn models show resnet18 > my.net   # then edit my.net and train it with --arch my.net
  vkcnn models show my.net --input 1x28x28`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := arch.CIFAR10
			if _, err := fmt.Sscanf(input, "%dx%dx%d", &in.C, &in.H, &in.W); err != nil || fmt.Sprintf("%dx%dx%d", in.C, in.H, in.W) != input {
				return fmt.Errorf("--input %q: want channels x height x width, e.g. 3x32x32", input)
			}
			in.Classes = classes
			nw, err := arch.Load(args[0], in)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprint(w, nw.Source)
			if !strings.HasSuffix(nw.Source, "\n") {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "\n# summary for %dx%dx%d input, %d classes:\n", in.C, in.H, in.W, in.Classes)
			var sb strings.Builder
			if err := nw.Summary(&sb); err != nil {
				return err
			}
			// Commented, so the whole output is still a model file.
			for _, l := range strings.SplitAfter(strings.TrimSuffix(sb.String(), "\n"), "\n") {
				fmt.Fprint(w, "# "+l)
			}
			fmt.Fprintln(w)
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "3x32x32", "image shape, channels x height x width")
	cmd.Flags().IntVar(&classes, "classes", 10, "number of classes")
	return cmd
}
