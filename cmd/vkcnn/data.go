package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/cifar10"
)

// dataFlags are the flags that say where CIFAR-10 comes from.
type dataFlags struct {
	source, dir string
}

func (f *dataFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.source, "data", "", "CIFAR-10: a cifar-10-binary.tar.gz, an extracted cifar-10-batches-bin directory, or a URL (default: download the official archive)")
	cmd.Flags().StringVar(&f.dir, "data-dir", "", "where downloads are cached (default $VKCNN_DATA, else the user cache directory/vkcnn)")
}

func (f *dataFlags) load(cmd *cobra.Command) (*cifar10.Dataset, error) {
	return cifar10.Load(cifar10.Options{
		Source:   f.source,
		CacheDir: f.dir,
		Progress: cmd.ErrOrStderr(),
		Warn:     func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) },
	})
}

// input is what the data decides about a network: CIFAR-10's image shape
// and its number of classes.
func input(d *cifar10.Dataset) arch.Input {
	return arch.Input{C: 3, H: cifar10.ImageSide, W: cifar10.ImageSide, Classes: len(d.Classes)}
}
