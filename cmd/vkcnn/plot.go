package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/metrics"
)

func plotCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "plot METRICS",
		Short: "Draw loss and accuracy per epoch from a metrics file (JSON lines from vkcnn train)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			epochs, err := metrics.Read(args[0])
			if err != nil {
				return err
			}
			if err := metrics.Plot(epochs, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "curves.png", "PNG file to write")
	return cmd
}
