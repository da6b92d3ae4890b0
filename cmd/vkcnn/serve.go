package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/dashboard"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/metrics"
)

func serveCommand() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve RUNS_DIR",
		Short: "Serve a dashboard of training runs, finished and running; compare their curves",
		Long: `Serve a dashboard of the runs in RUNS_DIR: the --out directory of a vkcnn train
run, or a directory of them (such as ./runs). Running runs update live. The
server is read only and, by default, reachable from this machine only.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("serve takes one runs directory, e.g. vkcnn serve ./runs")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := dashboard.OpenDir(args[0])
			if err != nil {
				return err
			}
			defer d.Close()
			if !cmd.Flags().Changed("addr") {
				addr = "" // the default, or a free port if it is taken
			}
			srv, err := dashboard.Listen(addr, d.Handler())
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			defer srv.Close()
			if srv.Warning != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", srv.Warning)
			}
			n := len(d.Runs())
			if n == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: no runs in %s yet (directories with %s or metrics.jsonl): they appear as they start\n", args[0], dashboard.EventsFile)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "dashboard of %d runs in %s: %s (read only; Ctrl-C stops)\n", n, args[0], srv.URL)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", dashboard.DefaultAddr, "where to listen: HOST:PORT, :PORT or PORT (host 127.0.0.1 unless named; port 0: a free one)")
	return cmd
}

// serveDefault is --serve's value when given without an address.
const serveDefault = "default"

// addServeFlag adds train's --serve [ADDR]. pflag takes an optional value
// only as --serve=ADDR, so --serve ADDR leaves ADDR as an argument: the
// command has none of its own, so one argument after --serve is its address.
func addServeFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "serve", "", "serve a live dashboard at ADDR (HOST:PORT, :PORT or PORT; host 127.0.0.1 unless named); alone: "+dashboard.DefaultAddr+", or a free port if it is taken")
	cmd.Flags().Lookup("serve").NoOptDefVal = serveDefault
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error {
		if *addr == serveDefault && len(a) == 1 {
			*addr = a[0]
			return nil
		}
		if args == nil {
			return nil
		}
		return args(c, a)
	}
}

// trainDashboard is what train tells the dashboard: it records the run into
// its --out directory (for vkcnn serve) and, with --serve, serves it live.
// A nil *trainDashboard does nothing.
type trainDashboard struct {
	hub *dashboard.Hub
	srv *dashboard.Server
	b   backend.Backend
	m   *layers.Model
	log io.Writer
}

// startDashboard starts recording the run, and serving it if --serve asks;
// the gallery shows the first of testSet's records, images of that shape.
func startDashboard(cmd *cobra.Command, f *trainFlags, nw *arch.Network, archText string, b backend.Backend, trainSet, testSet dataset.Split, shape dashboard.Shape, classes []string, first int) (*trainDashboard, error) {
	abs, err := filepath.Abs(f.out)
	if err != nil {
		return nil, err
	}
	params := 0
	for _, p := range nw.Model.Trainable() {
		params += p.Len()
	}
	flags := map[string]string{}
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "help" {
			flags[fl.Name] = fl.Value.String()
		}
	})
	data := f.data.source
	if data == "" {
		data = "the official CIFAR-10 archive"
	}
	s := dashboard.Settings{
		Run: filepath.Base(abs), Command: "vkcnn " + strings.Join(os.Args[1:], " "),
		Arch: nw.Name, ArchText: archText, Params: params, Device: b.Name(), Data: data,
		TrainImages: trainSet.N, TestImages: testSet.N, Classes: classes,
		Epochs: f.epochs, FirstEpoch: first, BatchSize: f.batch, Flags: flags, Image: shape,
	}
	hub, err := dashboard.NewHub(f.out, s, testSet.Records)
	if err != nil {
		return nil, err
	}
	d := &trainDashboard{hub: hub, b: b, m: nw.Model, log: cmd.ErrOrStderr()}
	if f.serve != "" {
		addr := f.serve
		if addr == serveDefault {
			addr = ""
		}
		if d.srv, err = dashboard.Listen(addr, hub.Handler()); err != nil {
			hub.Close()
			return nil, fmt.Errorf("--serve: %w", err)
		}
		if d.srv.Warning != "" {
			fmt.Fprintln(d.log, "warning:", d.srv.Warning)
		}
		fmt.Fprintf(d.log, "dashboard: %s (read only; it stops with the training)\n", d.srv.URL)
	}
	return d, nil
}

// progress returns the epoch's progress callback: next (the progress bar),
// then the dashboard, with the learning rate lr gives at that step.
func (d *trainDashboard) progress(epoch int, lr func() float64, next func(layers.Progress)) func(layers.Progress) {
	if d == nil {
		return next
	}
	return func(p layers.Progress) {
		next(p)
		d.hub.Progress(dashboard.Progress{Epoch: epoch, Images: p.Images, Total: p.Total, Loss: p.Loss, LR: lr()})
	}
}

// epoch records an evaluated epoch, with the first layer's filters.
func (d *trainDashboard) epoch(e metrics.Epoch, testLoss float64, pred []uint32) {
	if d == nil {
		return
	}
	d.hub.Epoch(dashboard.Epoch{
		Epoch: e.Epoch, TrainLoss: e.TrainLoss, TrainAccuracy: e.TrainAccuracy,
		TestLoss: testLoss, TestAccuracy: e.TestAccuracy,
		Seconds: e.Seconds, ImagesPerSecond: e.ImagesPerSecond,
		Predictions: pred, Filters: firstFilters(d.b, d.m),
	})
}

// firstFilters downloads the weights of the model's first convolution (nil
// if it has none, or the download fails: the dashboard goes without).
func firstFilters(b backend.Backend, m *layers.Model) *dashboard.Filters {
	for _, p := range m.Params() {
		if len(p.Shape) != 4 || p.Value == nil {
			continue
		}
		data := make([]float32, p.Len())
		if err := b.Download(p.Value, data); err != nil {
			return nil
		}
		return &dashboard.Filters{Name: p.Name, Shape: p.Shape, Data: data}
	}
	return nil
}

// close records the end of the run and stops serving it.
func (d *trainDashboard) close() {
	if d == nil {
		return
	}
	if err := d.hub.Close(); err != nil {
		fmt.Fprintln(d.log, "warning:", err)
	}
	if d.srv != nil {
		d.srv.WaitEnd(5 * time.Second)
		d.srv.Close()
	}
}
