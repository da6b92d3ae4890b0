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
}

// TrainImages rounds images up to whole batches (at least one).
func TrainImages(images, batch int) int {
	return max(1, (images+batch-1)/batch) * batch
}

// Train measures the seed model (layers.Seed, PyTorch's initialization,
// the seed's SGD) on b at one batch size, on generated CIFAR-shaped records
// (cifar10.Synthetic), images of them (rounded up to whole batches) for
// training and as many for the test set. Training: one warm-up epoch (it
// compiles pipelines and tunes the steps per submit), then one timed
// layers.Trainer.Epoch, whose every step is the recorded gather-through-SGD
// sequence replayed. Evaluation: one warm-up pass over the test set, then
// one timed layers evaluation, at the same batch size.
func Train(b backend.Backend, batch, images int, seed uint64) (train, eval Throughput, err error) {
	if batch < 1 || images < 1 {
		return train, eval, fmt.Errorf("batch %d, %d images: both must be at least 1", batch, images)
	}
	images = TrainImages(images, batch)
	data := cifar10.Synthetic(images, images, seed)
	m := layers.Seed()
	if err := m.Alloc(b); err != nil {
		return train, eval, err
	}
	if err := m.Init(b, seed); err != nil {
		return train, eval, err
	}
	cfg := layers.Config{BatchSize: batch, SGD: seedSGD, Seed: seed, EvalBatch: batch}
	t, err := layers.NewTrainer(b, m, cfg, data.Train.Records, data.Test.Records)
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
	base := Throughput{Backend: b.Name(), DeviceType: DeviceType(b), Batch: batch}
	train, eval = base, base
	train.What, train.Images, train.Seconds = "train", res.Images, res.Seconds
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
	return train, eval, nil
}
