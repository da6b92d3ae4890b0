package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/dashboard"
	"github.com/vkcnn/vkcnn/dataset"
)

// dataFlags are the flags that say which data set to read and how.
type dataFlags struct {
	source, dir, format, labels string
	imageSize                   int
	strict                      bool
	// loaded is the data set load read, for what the checkpoint records of it.
	loaded *dataset.Dataset
}

// defaultImageSize is --image-size's default: CIFAR's side, so that the zoo
// networks fit an image folder as they are.
const defaultImageSize = 32

func (f *dataFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "data", "", "the data set: cifar10, cifar100, mnist or fashion-mnist (downloaded into --data-dir); "+
		"an archive or extracted directory of CIFAR-10/100 (binary or Python layout) or of MNIST's four IDX files; "+
		"an image folder ROOT with ROOT/train/CLASS/*.png|jpg and ROOT/test/CLASS/*; or a URL (default: cifar10)")
	fl.StringVar(&f.dir, "data-dir", "", "where downloads and converted image folders are cached (default $VKCNN_DATA, else the user cache directory/vkcnn)")
	fl.StringVar(&f.format, "data-format", "", "which data set to read where --data holds several: "+strings.Join(dataset.Formats(), ", ")+" (default: the one there is)")
	fl.StringVar(&f.labels, "labels", "fine", "CIFAR-100's labels: fine (100 classes) or coarse (20 superclasses)")
	fl.IntVar(&f.imageSize, "image-size", defaultImageSize, "image folders: the side of the square images they are converted to (shorter side scaled, centre cropped)")
	fl.BoolVar(&f.strict, "strict", false, "image folders: refuse an unreadable image instead of skipping it with a warning")
}

// check refuses bad values of the data flags, naming the flag.
func (f *dataFlags) check() error {
	switch strings.ToLower(f.labels) {
	case "fine", "coarse":
	default:
		return fmt.Errorf("--labels %q: want fine (CIFAR-100's 100 classes) or coarse (its 20 superclasses)", f.labels)
	}
	if f.imageSize < 1 || f.imageSize > 4096 {
		return fmt.Errorf("--image-size %d: want 1-4096 pixels (32 gives CIFAR-sized images)", f.imageSize)
	}
	return nil
}

// load reads the data set the flags name, downloading it first if needed.
// Its errors are one line naming the file, with the flags' names in the
// advice.
func (f *dataFlags) load(cmd *cobra.Command) (*dataset.Dataset, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	log := cmd.ErrOrStderr()
	d, err := dataset.Load(dataset.Options{
		Source:    f.source,
		Format:    f.format,
		Labels:    f.labels,
		ImageSize: f.imageSize,
		Strict:    f.strict,
		CacheDir:  f.dir,
		Progress:  log,
		Warn:      func(msg string) { fmt.Fprintln(log, "warning:", flagNames(msg)) },
	})
	if err != nil {
		return nil, oneLine(errors.New(flagNames(err.Error())))
	}
	if d.Name != dataset.ImageFolder {
		for _, name := range []string{"image-size", "strict"} {
			if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
				fmt.Fprintf(log, "warning: --%s applies to image folders; %s is %s, so it is ignored\n", name, d.Source, d.Name)
			}
		}
	}
	f.loaded = d
	return d, nil
}

// flagNames puts the command's flag names into package dataset's messages,
// which speak of options because the package does not know its caller.
func flagNames(msg string) string {
	return strings.NewReplacer(
		"the format option", "--data-format",
		"the coarse labels option", "--labels coarse",
		"the strict option", "--strict",
	).Replace(msg)
}

// oneLine is err's message on one line: a wrapped error from a decoder or
// the system may carry newlines, and vkcnn's errors are one line each.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.ContainsAny(msg, "\r\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(msg)), " "))
}

// input is what the data decides about a network: the image shape and the
// number of classes.
func input(d *dataset.Dataset) arch.Input {
	return arch.Input{C: d.Channels, H: d.Height, W: d.Width, Classes: len(d.Classes)}
}

// dashboardShape is d's image shape as the dashboard records it: the
// dashboard draws its gallery from the test split's records (package
// dataset's layout, which it shares) of any shape.
func dashboardShape(d *dataset.Dataset) dashboard.Shape {
	return dashboard.Shape{Channels: d.Channels, Height: d.Height, Width: d.Width}
}
