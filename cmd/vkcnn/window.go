//go:build window

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/window"
)

// errWindowCPU is --window on the CPU reference, which has nothing to draw from.
var errWindowCPU = errors.New("--window draws with Vulkan from the tensors on the device, but this run uses the CPU reference: pass --device N (a Vulkan device from `vkcnn devices`; lavapipe works, slowly)")

// trainWindow is train's --window: a window that watches the run.
type trainWindow struct {
	on bool
	w  *window.Window
}

// addWindowFlag adds --window, which opens the window before anything else
// so that a missing display fails the command at once.
func addWindowFlag(cmd *cobra.Command, tw *trainWindow) {
	cmd.Flags().BoolVar(&tw.on, "window", false, "watch training in a window: the current batch, the first layer's filters and the loss curve, drawn by Vulkan from the tensors on the GPU (needs a Vulkan --device; closing it does not stop training)")
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if pre != nil {
			if err := pre(c, args); err != nil {
				return err
			}
		}
		if !tw.on {
			return nil
		}
		if d, _ := c.Flags().GetString("device"); d == "cpu" {
			return errWindowCPU
		}
		w, err := window.New(window.Options{Title: "vkcnn train", Log: c.ErrOrStderr()})
		if err != nil {
			return fmt.Errorf("--window: %w", err)
		}
		tw.w = w
		return nil
	}
}

// options asks the device for what presenting to the window needs.
func (tw *trainWindow) options(o *gpu.Options) {
	if tw.w != nil {
		tw.w.DeviceOptions(o)
	}
}

// start shows the run in the window; the returned function ends it.
func (tw *trainWindow) start(b backend.Backend, m *layers.Model, t *layers.Trainer, log io.Writer) (func(), error) {
	if tw.w == nil {
		return func() {}, nil
	}
	end := func() {
		if err := tw.w.Close(); err != nil {
			fmt.Fprintf(log, "warning: --window: %v\n", err)
		}
	}
	vb, ok := b.(*vulkan.Backend)
	if !ok {
		end()
		return nil, errWindowCPU
	}
	if err := tw.w.Show(vb, m, t); err != nil {
		end()
		return nil, fmt.Errorf("--window: %w", err)
	}
	return end, nil
}

// progress feeds the window's loss curve and then calls next.
func (tw *trainWindow) progress(next func(layers.Progress)) func(layers.Progress) {
	if tw.w == nil {
		return next
	}
	return func(p layers.Progress) {
		tw.w.Progress(p)
		next(p)
	}
}
