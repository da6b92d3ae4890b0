package perf

import (
	"context"
	"fmt"
	"time"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/layers"
)

// Throughput is images per second of whole training steps or of
// evaluation. Its JSON form is what `vkcnn bench train --json` prints, one
// object per measurement.
type Throughput struct {
	// Backend is "cpu" (the CPU reference) or the Vulkan device's name.
	Backend string `json:"backend"`
	// DeviceType is DeviceType's value for the backend.
	DeviceType string `json:"device_type"`
	// What is "train" or "eval".
	What            string  `json:"what"`
	Batch           int     `json:"batch"`
	ImagesPerSecond float64 `json:"images_per_second"`
	Images          int     `json:"images"`
	Seconds         float64 `json:"seconds"`
	// Arch is the network measured.
	Arch string `json:"arch"`
	// PeakMemory is the most device memory the backend held at once, in
	// bytes, where the backend tracks it (Vulkan devices; 0 elsewhere).
	PeakMemory int64 `json:"peak_memory_bytes,omitempty"`
	// DispatchesPerStep and BarriersPerStep are the compute dispatches and
	// hazard barriers one recorded training step holds (training rows of a
	// Vulkan device; 0 elsewhere): on a GPU, a small model's step costs
	// about as much per dispatch and barrier as per FLOP.
	DispatchesPerStep int `json:"dispatches_per_step,omitempty"`
	BarriersPerStep   int `json:"barriers_per_step,omitempty"`
}

// memoryPeaker is a backend that tracks its device memory.
type memoryPeaker interface{ MemoryPeak() int64 }

// peak is b's peak device memory, or 0 where it is not tracked.
func peak(b backend.Backend) int64 {
	if m, ok := b.(memoryPeaker); ok {
		return m.MemoryPeak()
	}
	return 0
}

// Net is a network to measure: a name and a constructor of fresh models
// (each backend needs its own).
type Net struct {
	Name  string
	Model func() *layers.Model
}

// SeedNet is the tutorial's network.
var SeedNet = Net{Name: "seed", Model: layers.Seed}

// TrainImages rounds images up to whole batches (at least one).
func TrainImages(images, batch int) int {
	return max(1, (images+batch-1)/batch) * batch
}

// Train measures a network (PyTorch's initialization, the seed's SGD) on b at one batch size, on generated CIFAR-shaped records
// (cifar10.Synthetic), images of them (rounded up to whole batches) for
// training and as many for the test set. Training: one warm-up epoch (it
// compiles pipelines and tunes the steps per submit), then one timed
// layers.Trainer.Epoch, whose every step is the recorded gather-through-SGD
// sequence replayed. Evaluation: one warm-up pass over the test set, then
// one timed layers evaluation, at the same batch size.
func Train(b backend.Backend, net Net, batch, images int, seed uint64) (train, eval Throughput, err error) {
	t, err := newTrainer(b, net, batch, images, seed, batch)
	if err != nil {
		return train, eval, err
	}
	defer t.Close()
	ctx := context.Background()
	if _, err := t.Epoch(ctx, 0, nil); err != nil {
		return train, eval, fmt.Errorf("warm-up epoch: %w", err)
	}
	res, err := t.Epoch(ctx, 1, nil)
	if err != nil {
		return train, eval, fmt.Errorf("timed epoch: %w", err)
	}
	base := Throughput{Backend: b.Name(), DeviceType: DeviceType(b), Batch: batch, Arch: net.Name}
	train, eval = base, base
	train.What, train.Images, train.Seconds = "train", res.Images, res.Seconds
	train.DispatchesPerStep, train.BarriersPerStep, _ = t.StepCommands()
	train.ImagesPerSecond = float64(res.Images) / res.Seconds

	if _, _, _, err := t.Evaluate(); err != nil {
		return train, eval, fmt.Errorf("warm-up evaluation: %w", err)
	}
	start := time.Now()
	if _, _, _, err := t.Evaluate(); err != nil {
		return train, eval, fmt.Errorf("evaluation: %w", err)
	}
	n, _ := t.TestSet()
	eval.What, eval.Images, eval.Seconds = "eval", n, time.Since(start).Seconds()
	eval.ImagesPerSecond = float64(n) / eval.Seconds
	train.PeakMemory, eval.PeakMemory = peak(b), peak(b)
	return train, eval, nil
}

// newTrainer initializes net on b and records its training step for images
// generated images (rounded up to whole batches) and a test set as large.
func newTrainer(b backend.Backend, net Net, batch, images int, seed uint64, evalBatch int) (*layers.Trainer, error) {
	if batch < 1 || images < 1 {
		return nil, fmt.Errorf("batch %d, %d images: both must be at least 1", batch, images)
	}
	images = TrainImages(images, batch)
	data := cifar10.Synthetic(images, images, seed)
	m := net.Model()
	if err := m.Alloc(b); err != nil {
		return nil, err
	}
	if err := m.Init(b, seed); err != nil {
		return nil, err
	}
	cfg := layers.Config{BatchSize: batch, SGD: seedSGD, Seed: seed, EvalBatch: evalBatch}
	return layers.NewTrainer(b, m, cfg, data.Train.Records, data.Test.Records)
}

// Memory is the peak device memory of training net at batch on b, with
// evaluation at vkcnn train's batch size, without running a step:
// everything a step and an evaluation use is allocated when they are
// recorded, so recording both is enough. It is 0 where the backend does not
// track its memory.
func Memory(b backend.Backend, net Net, batch int, seed uint64) (int64, error) {
	t, err := newTrainer(b, net, batch, max(batch, layers.DefaultEvalBatch), seed, 0)
	if err != nil {
		return 0, err
	}
	defer t.Close()
	if err := t.RecordEvaluation(); err != nil {
		return 0, err
	}
	return peak(b), nil
}
