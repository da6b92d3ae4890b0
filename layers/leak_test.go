package layers

import (
	"context"
	"testing"

	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/internal/memstat"
)

// TestNoLeaks opens a device, trains a small model an epoch and closes it
// all, 100 times. Validation fails Close for any Vulkan object left behind,
// and the Go heap must not keep growing. Resident memory is only reported:
// the loader, lavapipe and the validation layer each keep a little per
// device created (about 40-600 KiB, measured without vkcnn's objects).
func TestNoLeaks(t *testing.T) {
	if _, ok := backends(t)["vulkan"]; !ok {
		t.Skip("no Vulkan device")
	}
	rounds := 100
	if testing.Short() {
		rounds = 20
	}
	train, test := easyData(32, 16, 1)
	cycle := func() {
		b, err := vulkan.New(gpu.Options{Index: -1, Validate: true})
		if err != nil {
			t.Fatal(err)
		}
		m := small()
		if err := m.Alloc(b); err != nil {
			t.Fatal(err)
		}
		m.Init(b, 1)
		tr, err := NewTrainer(b, m, quick, train, test)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Epoch(context.Background(), 0, nil); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if err := b.Close(); err != nil {
			t.Fatalf("closing: %v", err)
		}
	}
	// Warm up: the driver's caches and the Go heap settle first.
	for range 5 {
		cycle()
	}
	heapBefore, rssBefore := memstat.LiveHeap(), memstat.Resident()
	for range rounds {
		cycle()
	}
	heapAfter, rssAfter := memstat.LiveHeap(), memstat.Resident()
	t.Logf("%d rounds: Go heap %d -> %d KiB, resident memory %d -> %d MiB", rounds, heapBefore>>10, heapAfter>>10, rssBefore>>20, rssAfter>>20)
	// A round allocates several MiB of Go memory (data sets, weights); what
	// it forgets to drop would add up to far more than this.
	if per := (heapAfter - heapBefore) / int64(rounds); per > 16<<10 {
		t.Errorf("the Go heap grew %d KiB a round over %d rounds", per>>10, rounds)
	}
}

// TestCloseFreesDeviceMemory: a trainer and an evaluator give back every
// byte of device memory they took (data sets, activations, scratch) when
// they close, so one device can train many models in turn.
func TestCloseFreesDeviceMemory(t *testing.T) {
	v, ok := backends(t)["vulkan"].(*vulkan.Backend)
	if !ok {
		t.Skip("no Vulkan device")
	}
	dev := v.Device()
	m := small()
	if err := m.Alloc(v); err != nil {
		t.Fatal(err)
	}
	m.Init(v, 1)
	base := dev.MemoryInUse()
	train, test := easyData(48, 40, 1)
	for range 3 {
		tr, err := NewTrainer(v, m, Config{BatchSize: 16, SGD: quick.SGD, EvalBatch: 16}, train, test)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Epoch(context.Background(), 0, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := tr.Evaluate(); err != nil {
			t.Fatal(err)
		}
		if dev.MemoryInUse() <= base {
			t.Fatal("training took no device memory: is MemoryInUse counting?")
		}
		tr.Close()
		e, err := NewEvaluator(v, m, test, 16, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := e.Evaluate(); err != nil {
			t.Fatal(err)
		}
		e.Close()
		if got := dev.MemoryInUse(); got != base {
			t.Fatalf("device memory in use %d bytes after closing, %d before", got, base)
		}
	}
}
