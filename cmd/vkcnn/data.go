package main

import (
	"fmt"

	"github.com/spf13/cobra"

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
