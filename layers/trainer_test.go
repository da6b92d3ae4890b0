package layers

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
)

// backends returns the CPU reference and, where Vulkan works, the default
// Vulkan device with validation on.
func backends(t *testing.T) map[string]backend.Backend {
	t.Helper()
	out := map[string]backend.Backend{"cpu": cpu.New()}
	v, err := vulkan.New(gpu.Options{Index: -1, Validate: true})
	if err != nil {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Logf("no Vulkan device (install mesa-vulkan-drivers): testing the CPU reference only: %v", err)
		return out
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("closing the Vulkan backend: %v", err)
		}
	})
	out["vulkan"] = v
	return out
}

// small is a quick model with the seed network's structure.
func small() *Model { return CNN(8, 8, 32) }

var quick = Config{BatchSize: 16, SGD: backend.SGDParams{LR: 0.01, Momentum: 0.9}, Seed: 7, EvalBatch: 100}

// TestLearnsSynthetic trains on a generated data set that a CNN can learn
// and expects at least 90% held-out accuracy on every backend.
func TestLearnsSynthetic(t *testing.T) {
	train, test := easyData(480, 200, 3)
	for name, b := range backends(t) {
		t.Run(name, func(t *testing.T) {
			m := small()
			if err := m.Alloc(b); err != nil {
				t.Fatal(err)
			}
			if err := m.Init(b, 1); err != nil {
				t.Fatal(err)
			}
			tr, err := NewTrainer(b, m, quick, train, test)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			var acc float64
			for epoch := range 5 {
				res, err := tr.Epoch(context.Background(), epoch, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, acc, _, err = tr.Evaluate()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("epoch %d: train loss %.3f, train accuracy %.2f, test accuracy %.2f", epoch, res.Loss, res.Accuracy, acc)
				if acc >= 0.9 {
					break
				}
			}
			if acc < 0.9 {
				t.Errorf("held-out accuracy %.2f after training, want >= 0.90", acc)
			}
		})
	}
}

// stepLosses trains steps single steps from the same initial weights and
// returns the mean loss after each.
func stepLosses(t *testing.T, b backend.Backend, newModel func() *Model, train, test []byte, steps int) []float64 {
	m := newModel()
	if err := m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	if err := m.Init(b, 5); err != nil {
		t.Fatal(err)
	}
	c := quick
	c.StepsPerRun = 1
	tr, err := NewTrainer(b, m, c, train, test)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var losses []float64
	var sum float64
	_, err = tr.Epoch(context.Background(), 0, func(p Progress) {
		if len(losses) < steps {
			// Progress is the running mean: recover this step's own loss.
			step := p.Loss*float64(p.Images) - sum
			sum += step
			losses = append(losses, step/float64(c.BatchSize))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return losses
}

// TestBackendsAgree: from the same weights and seed, the first 20 steps'
// losses (dropout included) agree between the CPU reference and Vulkan.
func TestBackendsAgree(t *testing.T) {
	bs := backends(t)
	if bs["vulkan"] == nil {
		t.Skip("no Vulkan device: nothing to compare the CPU reference with")
	}
	train, test := easyData(20*quick.BatchSize, 10, 4)
	want := stepLosses(t, bs["cpu"], small, train, test, 20)
	got := stepLosses(t, bs["vulkan"], small, train, test, 20)
	if len(want) != 20 || len(got) != 20 {
		t.Fatalf("got %d and %d step losses, want 20", len(want), len(got))
	}
	for i := range want {
		if rel := math.Abs(got[i]-want[i]) / math.Abs(want[i]); !(rel <= 1e-3) {
			t.Errorf("step %d: loss %.6f on Vulkan, %.6f on the CPU (relative difference %.2g)", i, got[i], want[i], rel)
		}
	}
	if slices.Equal(want[:5], want[5:10]) {
		t.Error("losses do not change from step to step: is the model learning at all?")
	}
}

// TestResumeIsExact: one epoch, then a fresh model and trainer loaded with
// the weights, momenta and step count, then a second epoch, ends with the
// same weights bit for bit as two uninterrupted epochs.
func TestResumeIsExact(t *testing.T) {
	train, test := easyData(100, 20, 5)
	b := cpu.New()
	c := quick
	c.Augment = TutorialAugment
	run := func(m *Model, epochs []int, step uint64) (*Trainer, map[string][]float32, map[string][]float32) {
		tr, err := NewTrainer(b, m, c, train, test)
		if err != nil {
			t.Fatal(err)
		}
		tr.Step = step
		for _, e := range epochs {
			if _, err := tr.Epoch(context.Background(), e, nil); err != nil {
				t.Fatal(err)
			}
		}
		w, _ := m.Weights(b)
		mo, _ := m.Momenta(b)
		return tr, w, mo
	}
	fresh := func() *Model {
		m := small()
		if err := m.Alloc(b); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := fresh()
	m.Init(b, 9)
	_, straight, _ := run(m, []int{0, 1}, 0)

	m1 := fresh()
	m1.Init(b, 9)
	tr1, w1, mo1 := run(m1, []int{0}, 0)
	m2 := fresh()
	if err := m2.SetWeights(b, w1); err != nil {
		t.Fatal(err)
	}
	if err := m2.SetMomenta(b, mo1); err != nil {
		t.Fatal(err)
	}
	_, resumed, _ := run(m2, []int{1}, tr1.Step)
	for name, w := range straight {
		if !slices.Equal(w, resumed[name]) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", name)
		}
	}
}

func TestTrainerRejectsBadInput(t *testing.T) {
	train, test := easyData(20, 10, 1)
	b := cpu.New()
	m := small()
	m.Alloc(b)
	for _, tc := range []struct {
		name        string
		c           Config
		train, test []byte
	}{
		{"batch 0", Config{BatchSize: 0}, train, test},
		{"batch larger than the data", Config{BatchSize: 21}, train, test},
		{"partial record", Config{BatchSize: 4}, train[:100], test},
		{"no test data", Config{BatchSize: 4}, train, nil},
	} {
		if _, err := NewTrainer(b, m, tc.c, tc.train, tc.test); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestDivergenceStops: an absurd learning rate makes the loss non-finite,
// and the epoch stops with ErrDiverged.
func TestDivergenceStops(t *testing.T) {
	train, test := easyData(320, 10, 1)
	b := cpu.New()
	m := small()
	m.Alloc(b)
	m.Init(b, 1)
	c := quick
	c.SGD.LR = 1e6
	c.StepsPerRun = 1
	tr, err := NewTrainer(b, m, c, train, test)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Epoch(context.Background(), 0, nil); err == nil || !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
}

func TestDiverged(t *testing.T) {
	for _, tc := range []struct {
		loss float64
		want bool
	}{{2.3, false}, {0, false}, {9999, false}, {math.NaN(), true}, {math.Inf(1), true}, {2.8e20, true}} {
		if got := diverged(tc.loss); got != tc.want {
			t.Errorf("diverged(%v) = %v, want %v", tc.loss, got, tc.want)
		}
	}
}

// TestEvaluateBatching: evaluation in batches that do not divide the test
// set gives the predictions of one whole batch, run after run.
func TestEvaluateBatching(t *testing.T) {
	_, test := easyData(32, 203, 6)
	b := cpu.New()
	m := small()
	m.Alloc(b)
	m.Init(b, 3)
	var want []uint32
	for _, batch := range []int{203, 64, 64, 1000} {
		e, err := NewEvaluator(b, m, test, batch, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, acc, pred, err := e.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pred) != 203 || acc < 0 || acc > 1 {
			t.Fatalf("batch %d: %d predictions, accuracy %v", batch, len(pred), acc)
		}
		if want == nil {
			want = pred
		} else if !slices.Equal(pred, want) {
			t.Errorf("batch %d: predictions differ from one whole batch's", batch)
		}
		e.Close()
	}
}
