//go:build !window

package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/layers"
)

// errNoWindow is what --window says in a build without the window: GLFW
// needs the X11 headers to compile, so the default build leaves it out.
var errNoWindow = errors.New("--window is not in this build of vkcnn: install the X11 headers GLFW needs (apt-get install libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl-dev) and build with the window tag: go build -tags window ./cmd/vkcnn")

// trainWindow is train's --window, which this build only refuses.
type trainWindow struct{ on bool }

// addWindowFlag adds --window, which fails the command before it does
// anything.
func addWindowFlag(cmd *cobra.Command, tw *trainWindow) {
	cmd.Flags().BoolVar(&tw.on, "window", false, "watch training in a window (needs a build with -tags window)")
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if tw.on {
			return errNoWindow
		}
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
}

func (*trainWindow) options(*gpu.Options) {}

func (*trainWindow) start(backend.Backend, *layers.Model, *layers.Trainer, io.Writer) (func(), error) {
	return func() {}, nil
}

func (*trainWindow) progress(next func(layers.Progress)) func(layers.Progress) { return next }
