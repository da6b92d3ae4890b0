package main

import (
	"github.com/vkcnn/vkcnn/internal/terminal"

	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/metrics"
	"github.com/vkcnn/vkcnn/recipe"
)

type trainFlags struct {
	data dataFlags
	recipeFlags
	seed                  uint64
	device, out, init     string
	arch                  string
	resume, metrics       string
	limitTrain, limitTest int
	serve                 string // the dashboard's address (--serve)

	window trainWindow // --window (window.go, window_stub.go)
}

func trainCommand() *cobra.Command {
	f := &trainFlags{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a network on a data set (by default the PyTorch tutorial's CNN on CIFAR-10, 10 epochs of SGD)",
		Long: `Trains a network (--arch) with a recipe (--recipe), writing checkpoints and
metrics to --out after every epoch.

Each --arch brings its recipe's defaults: the tutorial's for seed, resnet18
and model files (SGD lr 0.001, momentum 0.9, batch 32, 10 epochs); airbench94's
for airbench94 and airbench-tiny (batch 1024, 9.9 epochs, Nesterov SGD with
momentum 0.85, label smoothing 0.2 on the summed loss, BatchNorm biases at 64x
the learning rate, a warm-up and decay schedule, Lookahead every 5 steps,
whitening and Dirac initialization, reflect-padded crops of 2 pixels with
alternating flips, test-time augmentation 2). Every flag below overrides its
part of the recipe, so any network can use any technique.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return train(cmd, f)
		},
	}
	f.data.add(cmd)
	fl := cmd.Flags()
	f.recipeFlags.add(cmd)
	fl.Uint64Var(&f.seed, "seed", 0, "random seed: initialization, shuffling, dropout, augmentation")
	fl.StringVar(&f.device, "device", "auto", "auto, cpu, or a Vulkan device index (see `vkcnn devices`)")
	fl.StringVar(&f.out, "out", "", "directory for checkpoints and metrics (default ./runs/DATE-TIME)")
	fl.StringVar(&f.init, "init", "", "start from these weights (a safetensors file, e.g. a PyTorch state_dict)")
	fl.StringVar(&f.resume, "resume", "", "continue the run whose --out directory this is")
	fl.StringVar(&f.metrics, "metrics", "", "also append each epoch's metrics (JSON lines) to this file")
	fl.IntVar(&f.limitTrain, "limit-train", 0, "use only the first N training images (0: all)")
	fl.IntVar(&f.limitTest, "limit-test", 0, "use only the first N test images (0: all)")
	addArchFlag(cmd, &f.arch, arch.Default)
	addServeFlag(cmd, &f.serve)
	addWindowFlag(cmd, &f.window)
	return cmd
}

func (f *trainFlags) check() error {
	switch {
	case f.limitTrain < 0 || f.limitTest < 0:
		return fmt.Errorf("--limit-train and --limit-test must be >= 0 (0: all)")
	case f.init != "" && f.resume != "":
		return fmt.Errorf("--init and --resume both given: --resume already restores the weights")
	}
	return f.recipeFlags.check()
}

func train(cmd *cobra.Command, f *trainFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := f.check(); err != nil {
		return err
	}
	var state *checkpoint.State
	archName, archText, err := arch.Source(f.arch)
	if err != nil {
		return err
	}
	if f.resume != "" {
		s, err := checkpoint.LoadState(f.resume)
		if err != nil {
			return err
		}
		state = &s
		// The run goes on with its own network and recipe.
		if src, ok := s.Meta[archSourceKey]; ok {
			if cmd.Flags().Changed("arch") && !sameNetwork(f.arch, archText, s.Meta) {
				return fmt.Errorf("--arch %s differs from the network of the run in %s (%s): drop --arch to resume it", f.arch, f.resume, s.Meta[archNameKey])
			}
			archName, archText = s.Meta[archNameKey], src
		}
		f.seed = s.Seed
		if err := f.recipeFlags.restore(cmd.Flags(), s.Recipe); err != nil {
			return fmt.Errorf("resuming from %s: %w", f.resume, err)
		}
		if f.out == "" {
			f.out = f.resume
		}
	}
	if err := f.recipeFlags.defaults(cmd.Flags(), archName); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	if state != nil && float64(state.Epoch) >= f.epochs {
		return fmt.Errorf("the run in %s has already trained %d epochs: ask for more with --epochs", f.resume, state.Epoch)
	}
	if f.out == "" {
		f.out = filepath.Join("runs", time.Now().Format("20060102-150405"))
	}
	if err := writableDir(f.out); err != nil {
		return err
	}

	data, err := f.data.load(cmd)
	if err != nil {
		return err
	}
	trainSet := limit(data.Train, f.limitTrain, "--limit-train", stderr)
	testSet := limit(data.Test, f.limitTest, "--limit-test", stderr)

	b, err := openBackend(f.device, stderr, f.window.options)
	if err != nil {
		return err
	}
	defer b.Close()
	nw, err := networkFor(archName, archText, data, resumeMeta(state), f.resume, stderr)
	if err != nil {
		return err
	}
	m := nw.Model
	if f.whiten {
		if err := recipe.FreezeWhitener(m); err != nil {
			return fmt.Errorf("--whiten: %w", err)
		}
	}
	if err := m.Alloc(b); err != nil {
		return err
	}
	switch {
	case state != nil:
		if err := restore(b, m, *state); err != nil {
			return fmt.Errorf("resuming from %s: %w", f.resume, err)
		}
	case f.init != "":
		if err := loadWeights(b, m, f.init); err != nil {
			return err
		}
	default:
		if err := m.Init(b, f.seed); err != nil {
			return err
		}
		if err := initRecipe(b, nw, trainSet, &f.recipeFlags); err != nil {
			return err
		}
	}
	cfg := f.recipeFlags.config(m, f.seed)
	t, err := layers.NewTrainer(b, m, cfg, trainSet.Records, testSet.Records)
	if err != nil {
		return batchHint(err, f.batch)
	}
	defer t.Close()
	first := 0
	if state != nil {
		first, t.Step = state.Epoch, state.Step
		if err := restoreLookahead(t, *state); err != nil {
			return fmt.Errorf("resuming from %s: %w", f.resume, err)
		}
	}
	fmt.Fprintf(stderr, "training %s (%s recipe) on %s: %d training and %d test images, batch %d, %v epochs; writing to %s\n",
		nw.Name, f.name, b.Name(), trainSet.N, testSet.N, f.batch, f.epochs, f.out)
	dash, err := startDashboard(cmd, f, nw, archText, b, trainSet, testSet, dashboardShape(data), data.Classes, first)
	if err != nil {
		return err
	}
	defer dash.close()
	endWindow, err := f.window.start(b, m, t, stderr)
	if err != nil {
		return err
	}
	defer endWindow()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for epoch := first; float64(epoch) < f.epochs && !t.Done(); epoch++ {
		bar := newBar(stderr, trainSet.N, epoch)
		res, err := t.Epoch(ctx, epoch, f.window.progress(dash.progress(epoch, t.LR, bar.update)))
		bar.finish()
		if err != nil {
			return epochError(err, epoch, f.out)
		}
		testLoss, acc, pred, err := t.Evaluate()
		if err != nil {
			return epochError(fmt.Errorf("evaluating after epoch %d: %w", epoch, err), epoch, f.out)
		}
		e := metrics.Epoch{
			Epoch:           epoch,
			LR:              t.LR(),
			TrainLoss:       res.Loss,
			TrainAccuracy:   100 * res.Accuracy,
			TestAccuracy:    100 * acc,
			Seconds:         res.Seconds,
			ImagesPerSecond: float64(res.Images) / res.Seconds,
		}
		fmt.Fprintf(stdout, "Epoch %d: Accuracy: %d %%\n", epoch, int(math.Round(e.TestAccuracy)))
		fmt.Fprintf(stdout, "  train loss %.4f, train accuracy %.1f %%, test accuracy %.2f %%, %.1f s, %.0f images/s\n",
			e.TrainLoss, e.TrainAccuracy, e.TestAccuracy, e.Seconds, e.ImagesPerSecond)
		if err := save(cmd, b, nw, t, f, epoch+1); err != nil {
			return epochError(fmt.Errorf("saving epoch %d: %w", epoch, err), epoch, f.out)
		}
		for _, path := range []string{filepath.Join(f.out, "metrics.jsonl"), f.metrics} {
			if path == "" {
				continue
			}
			if err := metrics.Append(path, e); err != nil {
				return err
			}
		}
		dash.epoch(e, testLoss, pred)
	}
	fmt.Fprintf(stderr, "done: weights in %s\n", filepath.Join(f.out, checkpoint.ModelFile))
	return nil
}

// epochError says what an interrupted or failed epoch left behind.
func epochError(err error, epoch int, out string) error {
	kept := "no epoch had finished, so there is no checkpoint yet"
	if epoch > 0 { // this run, or the one it resumes, saved epoch-1's checkpoint
		kept = fmt.Sprintf("the checkpoint of epoch %d in %s is intact; continue with: vkcnn train --resume %s", epoch-1, out, out)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted during epoch %d: %s", epoch, kept)
	}
	return fmt.Errorf("%w; %s", err, kept)
}

// save writes the weights and the training state after epochs epochs.
func save(cmd *cobra.Command, b backend.Backend, nw *arch.Network, t *layers.Trainer, f *trainFlags, epochs int) error {
	weights, momenta, err := stateTensors(b, nw.Model)
	if err != nil {
		return err
	}
	slow, err := t.LookaheadState()
	if err != nil {
		return err
	}
	for _, p := range nw.Model.Params() {
		if v, ok := slow[p.Name]; ok {
			momenta = append(momenta, checkpoint.Tensor{Name: p.Name + lookaheadSuffix, Shape: slices.Clone(p.Shape), Data: v})
		}
	}
	return checkpoint.SaveState(f.out, checkpoint.State{
		Epoch: epochs, Step: t.Step, Seed: f.seed,
		LR: f.lr, Momentum: f.momentum, WeightDecay: f.decay, BatchSize: f.batch, Augment: f.augment,
		Weights: weights, Momenta: momenta, Meta: modelMeta(nw, f.data.loaded), Recipe: f.recipeFlags.values(cmd.Flags()),
	})
}

// lookaheadSuffix names a parameter's Lookahead slow copy in optimizer.safetensors.
const lookaheadSuffix = ".lookahead"

// restoreLookahead uploads the slow copy a resumed run saved.
func restoreLookahead(t *layers.Trainer, s checkpoint.State) error {
	slow := map[string][]float32{}
	for _, m := range s.Momenta {
		if name, ok := strings.CutSuffix(m.Name, lookaheadSuffix); ok {
			slow[name] = m.Data
		}
	}
	if len(slow) == 0 {
		return nil
	}
	return t.SetLookaheadState(slow)
}

// restore uploads a saved run's weights and momenta, checking that each
// parameter is there with its shape.
func restore(b backend.Backend, m *layers.Model, s checkpoint.State) error {
	names, shapes := m.Shapes()
	want := map[string][]int{}
	for i, n := range names {
		want[n] = shapes[i]
	}
	byName := func(ts []checkpoint.Tensor, suffix string) (map[string][]float32, error) {
		out := map[string][]float32{}
		for _, t := range ts {
			name := strings.TrimSuffix(t.Name, suffix)
			if shape, ok := want[name]; !ok || !slices.Equal(shape, t.Shape) {
				return nil, fmt.Errorf("%s has shape %v, the model wants %v", t.Name, t.Shape, shape)
			}
			out[name] = t.Data
		}
		return out, nil
	}
	w, err := byName(s.Weights, "")
	if err != nil {
		return err
	}
	var momenta []checkpoint.Tensor
	for _, t := range s.Momenta {
		if strings.HasSuffix(t.Name, ".momentum") {
			momenta = append(momenta, t)
		}
	}
	mo, err := byName(momenta, ".momentum")
	if err != nil {
		return err
	}
	if err := m.SetWeights(b, w); err != nil {
		return err
	}
	return m.SetMomenta(b, mo)
}

// limit applies --limit-train or --limit-test, clamping with a warning.
func limit(s dataset.Split, n int, flag string, log io.Writer) dataset.Split {
	if n == 0 {
		return s
	}
	if n > s.N {
		fmt.Fprintf(log, "warning: %s %d is more than the %d images there are: using all of them\n", flag, n, s.N)
		return s
	}
	return s.Limit(n)
}

// batchHint turns an out-of-memory error into advice about the batch size.
func batchHint(err error, batch int) error {
	var oom interface{ OutOfMemory() bool }
	if errors.As(err, &oom) && oom.OutOfMemory() {
		return fmt.Errorf("batch size %d does not fit in the device's memory (%w): use a smaller --batch-size", batch, err)
	}
	return err
}

// writableDir creates dir if needed and checks a file can be made in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the output directory: %w (choose another with --out)", err)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("cannot write in the output directory %s: %w (choose another with --out)", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// bar shows an epoch's progress: a bar on a terminal, else a line every 10%.
type bar struct {
	w     io.Writer
	pb    *progressbar.ProgressBar
	epoch int
	next  int
	start time.Time
}

func newBar(w io.Writer, total, epoch int) *bar {
	b := &bar{w: w, epoch: epoch, next: total / 10, start: time.Now()}
	if terminal.Is(w) {
		b.pb = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", epoch)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return b
}

func (b *bar) update(p layers.Progress) {
	if b.pb != nil {
		b.pb.Describe(fmt.Sprintf("epoch %d loss %.3f", b.epoch, p.Loss))
		b.pb.Set(p.Images)
		return
	}
	if p.Images >= b.next && p.Images < p.Total {
		rate := float64(p.Images) / time.Since(b.start).Seconds()
		fmt.Fprintf(b.w, "epoch %d: %d/%d images, loss %.4f, %.0f images/s\n", b.epoch, p.Images, p.Total, p.Loss, rate)
		b.next = p.Images + p.Total/10
	}
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
