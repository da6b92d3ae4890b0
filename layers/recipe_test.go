package layers

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/backend/cpu"
)

// TestAirbenchSchedule checks the learning-rate factor at the steps that
// define it for airbench94's 476 steps: 0.2 at step 0, 1 at the end of the
// warm-up (int(0.23·476) = 109), 0.07 at the run's end, linear between.
func TestAirbenchSchedule(t *testing.T) {
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0.2}, {109, 1}, {476, 0.07},
		{54, 0.2 + 0.8*54.0/109}, {292, 1 - 0.93*183.0/367},
	} {
		if got := AirbenchSchedule(tc.step, 476); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("step %d: factor %v, want %v", tc.step, got, tc.want)
		}
	}
}

// TestAirbenchDecay: 0.95⁵·(step/total)³.
func TestAirbenchDecay(t *testing.T) {
	for _, tc := range []struct {
		step, total int
		want        float64
	}{{0, 476, 0}, {476, 476, 0.7737809375}, {238, 476, 0.7737809375 / 8}} {
		if got := AirbenchDecay(tc.step, tc.total); math.Abs(got-tc.want) > 1e-10 {
			t.Errorf("decay(%d, %d) = %v, want %v", tc.step, tc.total, got, tc.want)
		}
	}
}

// TestTotalSteps: fractional epochs round up to a whole step, and dropping
// the last batch changes the steps per epoch.
func TestTotalSteps(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		n    int
		want int
	}{
		{Config{BatchSize: 1024, DropLast: true, Epochs: 9.9}, 50000, 476},
		{Config{BatchSize: 1024, Epochs: 9.9}, 50000, 486},
		{Config{BatchSize: 32, Epochs: 10}, 50000, 15630},
		{Config{BatchSize: 10, Epochs: 0.5}, 100, 5},
	} {
		if got := tc.c.TotalSteps(tc.n); got != tc.want {
			t.Errorf("%+v on %d images: %d steps, want %d", tc.c, tc.n, got, tc.want)
		}
	}
}

// TestAlternatingFlip: under AlternatingFlip each image's mirror bit is
// random in epoch 0 (about half set), the opposite in epoch 1, and back in
// epoch 2; the record index is untouched.
func TestAlternatingFlip(t *testing.T) {
	train, test := easyData(200, 10, 1)
	b := cpu.New()
	m := small()
	if err := m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	c := quick
	c.Augment = Augment{Pad: 2, Reflect: true, Flip: AlternatingFlip}
	tr, err := NewTrainer(b, m, c, train, test)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	flipOf := func(epoch int) map[uint32]bool {
		out := map[uint32]bool{}
		for _, e := range tr.order(epoch) {
			out[e&^(1<<31)] = e>>31 == 1
		}
		return out
	}
	e0, e1, e2 := flipOf(0), flipOf(1), flipOf(2)
	set := 0
	for img := range uint32(200) {
		if e0[img] {
			set++
		}
		if e1[img] == e0[img] || e2[img] != e0[img] {
			t.Fatalf("image %d: mirrored %v, %v, %v in epochs 0-2: want alternating", img, e0[img], e1[img], e2[img])
		}
	}
	if set < 70 || set > 130 {
		t.Errorf("%d of 200 images mirrored in epoch 0: want about half", set)
	}
}

// TestLookaheadTrainer checks the trainer's Lookahead by its limits: with
// decay 1 every update returns the weights to the slow copy, which never
// moves (so after each update the model is as it started); with decay 0
// the slow copy follows the weights and training is as without Lookahead.
func TestLookaheadTrainer(t *testing.T) {
	train, test := easyData(64, 10, 2)
	b := cpu.New()
	run := func(l *Lookahead, epochs float64) map[string][]float32 {
		m := small()
		if err := m.Alloc(b); err != nil {
			t.Fatal(err)
		}
		if err := m.Init(b, 4); err != nil {
			t.Fatal(err)
		}
		c := quick
		c.Lookahead, c.Epochs, c.StepsPerRun = l, epochs, 1
		tr, err := NewTrainer(b, m, c, train, test)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		for e := 0; !tr.Done(); e++ {
			if _, err := tr.Epoch(context.Background(), e, nil); err != nil {
				t.Fatal(err)
			}
		}
		w, _ := m.Weights(b)
		return w
	}
	constant := func(d float64) func(int, int) float64 { return func(int, int) float64 { return d } }
	plain := run(nil, 1)
	follow := run(&Lookahead{Every: 2, Decay: constant(0)}, 1)
	back := run(&Lookahead{Every: 2, Decay: constant(1)}, 1)
	m := small()
	m.Alloc(b)
	m.Init(b, 4)
	initial, _ := m.Weights(b)
	for name := range plain {
		if !slices.Equal(follow[name], plain[name]) {
			t.Errorf("%s: decay 0 changed training", name)
		}
		if !slices.Equal(back[name], initial[name]) {
			t.Errorf("%s: decay 1 did not return to the initial weights", name)
		}
		if slices.Equal(plain[name], initial[name]) && name != "fc4.bias" {
			t.Errorf("%s: training did not move it, so the test proves nothing", name)
		}
	}
}

// TestTTAViews: the views of each test-time augmentation level and their
// weights, airbench's: the image and its mirror at 1/4 each, the one-pixel
// up-left and down-right translates (reflect-padded) and their mirrors at
// 1/8 each; every level's weights sum to 1.
func TestTTAViews(t *testing.T) {
	type v struct {
		pad, dx, dy int
		mirror      bool
		w           float32
	}
	want := [][]v{
		{{0, 0, 0, false, 1}},
		{{0, 0, 0, false, 0.5}, {0, 0, 0, true, 0.5}},
		{{0, 0, 0, false, 0.25}, {0, 0, 0, true, 0.25}, {1, 0, 0, false, 0.125}, {1, 0, 0, true, 0.125}, {1, 2, 2, false, 0.125}, {1, 2, 2, true, 0.125}},
	}
	for level, views := range ttaViews {
		var sum float32
		for i, got := range views {
			g := got.g
			w := want[level][i]
			if g.Pad != w.pad || g.DX != w.dx || g.DY != w.dy || g.Mirror != w.mirror || got.w != w.w ||
				level > 0 && !g.Fixed || g.Pad > 0 && !g.Reflect {
				t.Errorf("level %d view %d: %+v weight %v, want %+v", level, i, g, got.w, w)
			}
			sum += got.w
		}
		if sum != 1 {
			t.Errorf("level %d: weights sum to %v", level, sum)
		}
	}
}
