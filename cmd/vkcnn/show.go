package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/images"
	"github.com/vkcnn/vkcnn/layers"
)

func showCommand() *cobra.Command {
	var (
		data dataFlags
		out  string
		seed uint64
	)
	cmd := &cobra.Command{
		Use:   "show --out batch.png",
		Short: "Draw a grid of 64 training images labelled with their classes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := data.load(cmd)
			if err != nil {
				return err
			}
			order := layers.Order(d.Train.N, seed, 0)
			n := min(64, d.Train.N)
			imgs := make([][]byte, n)
			labels := make([]string, n)
			for i := range n {
				imgs[i] = d.Train.Image(int(order[i]))
				labels[i] = d.Classes[d.Train.Label(int(order[i]))]
			}
			if err := images.SavePNG(out, images.GridOf(imgs, d.Channels, d.Height, d.Width, labels, 8)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d images to %s\n", n, out)
			return nil
		},
	}
	data.add(cmd)
	cmd.Flags().StringVar(&out, "out", "batch.png", "PNG file to write")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "which shuffled batch to show")
	return cmd
}
