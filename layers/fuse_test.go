package layers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/cifar10"
)

// trainSteps trains a fresh model (fused and packed, or not) from the same
// weights for one epoch of steps single steps and returns its weights, its
// momenta and each step's loss.
func trainSteps(t *testing.T, b backend.Backend, newModel func() *Model, c Config, unfused bool, train, test []byte) (w, mom map[string][]float32, losses []float64) {
	t.Helper()
	m := newModel()
	m.unfused = unfused
	if err := m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	if err := m.Init(b, 5); err != nil {
		t.Fatal(err)
	}
	c.StepsPerRun = 1
	tr, err := NewTrainer(b, m, c, train, test)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var sum float64
	if _, err := tr.Epoch(context.Background(), 0, func(p Progress) {
		step := p.Loss*float64(p.Images) - sum
		sum += step
		losses = append(losses, step/float64(c.BatchSize))
	}); err != nil {
		t.Fatal(err)
	}
	if w, err = m.Weights(b); err != nil {
		t.Fatal(err)
	}
	if mom, err = m.Momenta(b); err != nil {
		t.Fatal(err)
	}
	return w, mom, losses
}

// fusionConfigs: the seed recipe, and one with parameter groups (the
// biases apart, with Nesterov and weight decay), a learning-rate schedule
// and a parameter frozen part-way, which packs must keep apart.
func fusionConfigs() map[string]Config {
	groups := quick
	groups.Epochs = 2
	groups.Schedule = func(step, total int) float64 { return 1 - float64(step)/float64(total) }
	groups.FreezeAfter = map[string]int{"conv1.weight": 0}
	groups.GroupSGD = func(p *Param, base backend.SGDParams) backend.SGDParams {
		if strings.HasSuffix(p.Name, ".bias") {
			base.LR, base.WeightDecay, base.Nesterov = base.LR*2, 5e-4, true
		}
		return base
	}
	return map[string]Config{"seed": quick, "groups": groups}
}

// TestFusedStepIsExact: on the CPU reference, training with the fused ops
// and packed parameters gives the same bits as with every op and every SGD
// on its own; on Vulkan, the same within the GEMMs' rounding.
func TestFusedStepIsExact(t *testing.T) {
	train, test := easyData(6*quick.BatchSize, 10, 4)
	for name, b := range backends(t) {
		for cname, c := range fusionConfigs() {
			t.Run(name+"/"+cname, func(t *testing.T) {
				w0, m0, l0 := trainSteps(t, b, small, c, true, train, test)
				w1, m1, l1 := trainSteps(t, b, small, c, false, train, test)
				// One report per step, and one at the end of the epoch.
				if len(l0) != len(l1) || len(l0) < 6 {
					t.Fatalf("%d and %d losses reported, want the same, at least 6", len(l0), len(l1))
				}
				for _, sets := range [][2]map[string][]float32{{w0, w1}, {m0, m1}} {
					for k, want := range sets[0] {
						got := sets[1][k]
						for i := range want {
							if name == "cpu" && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s[%d]: fused %v, unfused %v", k, i, got[i], want[i])
							}
							if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*(1+math.Abs(float64(want[i])))) {
								t.Fatalf("%s[%d]: fused %v, unfused %v", k, i, got[i], want[i])
							}
						}
					}
				}
				for i := range l0[:6] {
					if rel := math.Abs(l1[i]-l0[i]) / math.Abs(l0[i]); !(rel <= 1e-4) {
						t.Errorf("step %d: loss %.7f fused, %.7f unfused", i, l1[i], l0[i])
					}
				}
			})
		}
	}
}

// TestSeedStepCommands: the seed model's training step at batch 32 records
// at most 30 dispatches on Vulkan (42 before fusion and packing), fewer
// than the unfused recording, with fewer barriers too.
func TestSeedStepCommands(t *testing.T) {
	b := backends(t)["vulkan"]
	if b == nil {
		t.Skip("no Vulkan device")
	}
	data := cifar10.Synthetic(32, 32, 1)
	count := func(unfused bool) (int, int) {
		m := Seed()
		m.unfused = unfused
		if err := m.Alloc(b); err != nil {
			t.Fatal(err)
		}
		c := Config{BatchSize: 32, SGD: backend.SGDParams{LR: 0.001, Momentum: 0.9}, Seed: 1, EvalBatch: 32}
		tr, err := NewTrainer(b, m, c, data.Train.Records, data.Test.Records)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		d, br, ok := tr.StepCommands()
		if !ok {
			t.Fatal("the Vulkan backend does not count its commands")
		}
		return d, br
	}
	d1, b1 := count(false)
	d0, b0 := count(true)
	t.Logf("seed step, batch 32: %d dispatches and %d barriers fused, %d and %d unfused", d1, b1, d0, b0)
	if d1 > 30 || d1 >= d0 || b1 >= b0 {
		t.Errorf("fused: %d dispatches, %d barriers; unfused: %d, %d: want at most 30 dispatches and fewer of both", d1, b1, d0, b0)
	}
}

// TestFuseChain: the seed model's chain fuses into conv1+ReLU+dropout,
// conv2+ReLU, pool, flatten, fc3+ReLU+dropout, fc4, with the input
// gradients of conv2 and fc4 masked; in evaluation there is no dropout to
// take, and nothing to mask.
func TestFuseChain(t *testing.T) {
	b := backends(t)["cpu"]
	for _, train := range []bool{true, false} {
		m := Seed()
		if err := m.Alloc(b); err != nil {
			t.Fatal(err)
		}
		x, _ := b.NewTensor(backend.F32, 2, 3, 32, 32)
		ctr, _ := b.NewTensor(backend.U32, 2)
		c, err := m.bind(b, x, train, ctr, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range c {
			s := fmt.Sprintf("%T", l)
			if f, ok := l.(*fusedAct); ok {
				s = fmt.Sprintf("fused(%T,dropout=%v,masked=%v)", f.gemm, f.drop != nil, f.maskDone)
			}
			got = append(got, strings.TrimPrefix(s, "*layers."))
		}
		want := map[bool]string{
			true: "fused(*layers.boundConv,dropout=true,masked=true) fused(*layers.boundConv,dropout=false,masked=false) " +
				"boundPool layers.view fused(*layers.boundLinear,dropout=true,masked=true) boundLinear",
			false: "fused(*layers.boundConv,dropout=false,masked=false) layers.identity fused(*layers.boundConv,dropout=false,masked=false) " +
				"boundPool layers.view fused(*layers.boundLinear,dropout=false,masked=false) layers.identity boundLinear",
		}[train]
		if g := strings.Join(got, " "); g != want {
			t.Errorf("train=%v:\n got %s\nwant %s", train, g, want)
		}
	}
}
