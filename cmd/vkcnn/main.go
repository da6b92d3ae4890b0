// Command vkcnn trains convolutional networks on CIFAR-10 with Vulkan compute
// shaders, or with its CPU reference where no GPU is present.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "vkcnn",
		Short:         "Train CNNs on CIFAR-10 with Vulkan compute shaders",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(devicesCommand(), trainCommand(), evalCommand(), predictCommand(), showCommand(), plotCommand(), benchCommand(), modelsCommand(), exportCommand(), serveCommand())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vkcnn:", err)
		os.Exit(1)
	}
}
