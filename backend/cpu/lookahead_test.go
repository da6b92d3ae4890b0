package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// naiveLerp is torch.lerp(a, b, w) for float32 operands, written from
// PyTorch's formula with each operation rounded to float32 on its own.
func naiveLerp(a, b, w float32) float32 {
	if w < 0.5 {
		step := float32(w * float32(b-a))
		return float32(a + step)
	}
	oneMinus := float32(1 - w)
	back := float32(float32(b-a) * oneMinus)
	return float32(b - back)
}

// lookaheadDecays are the decays the tests run: w = 1-decay on both sides
// of 0.5 and at 0.5, the ends (w 1: ema takes p; w 0: p takes ema), and
// decays so close to 0 or 1 that w is within a few ULP of 1 or tiny.
var lookaheadDecays = []float32{0, 0.3, 0.5, 0.7, 1, 1e-7, 3e-8, 0.99999994, 1 - 1.0/(1<<20)}

// TestLookahead checks Lookahead against the float32 formula bit for bit and
// against a float64 lerp within rounding, at several shapes (one large
// enough to split over workers), and the exact ends: decay 0 leaves p and
// moves ema to it, decay 1 moves p back to ema.
func TestLookahead(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for _, shape := range [][]int{{1}, {7}, {5, 3, 3, 3}, {3, 70001}} {
		for _, decay := range lookaheadDecays {
			t.Run(fmt.Sprint(shape, decay), func(t *testing.T) {
				b := testBackend(4)
				n := 1
				for _, d := range shape {
					n *= d
				}
				pv, ev := uniform(rng, n), uniform(rng, n)
				p, ema := newF32(t, b, pv, shape...), newF32(t, b, ev, shape...)
				prog := b.NewProgram()
				prog.Lookahead(p, ema, newF32(t, b, []float32{decay}, 1))
				run(t, prog)
				gp, ge := getF32(t, b, p), getF32(t, b, ema)
				w := 1 - decay
				for i := range n {
					want := naiveLerp(ev[i], pv[i], w)
					if math.Float32bits(gp[i]) != math.Float32bits(want) || math.Float32bits(ge[i]) != math.Float32bits(want) {
						t.Fatalf("element %d: lerp(%v, %v, %v): p %v, ema %v, want %v", i, ev[i], pv[i], w, gp[i], ge[i], want)
					}
					a, bb, w64 := float64(ev[i]), float64(pv[i]), float64(w)
					exact := a + w64*(bb-a)
					if tol := 4e-7 * (math.Abs(a) + math.Abs(bb)); math.Abs(float64(want)-exact) > tol {
						t.Fatalf("element %d: lerp(%v, %v, %v) = %v, float64 says %v", i, a, bb, w64, want, exact)
					}
					switch decay {
					case 0:
						if gp[i] != pv[i] {
							t.Fatalf("decay 0: p[%d] moved from %v to %v", i, pv[i], gp[i])
						}
					case 1:
						if gp[i] != ev[i] {
							t.Fatalf("decay 1: p[%d] is %v, want ema's %v", i, gp[i], ev[i])
						}
					}
				}
			})
		}
	}
}

// TestLookaheadDecayAtRunTime replays one recording with the decay changed
// between runs: each run must use the decay the tensor holds then.
func TestLookaheadDecayAtRunTime(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(3, 9))
	const n = 33
	pv, ev := uniform(rng, n), uniform(rng, n)
	p, ema, decay := newF32(t, b, pv, n), newF32(t, b, ev, n), newF32(t, b, []float32{0.2}, 1)
	prog := b.NewProgram()
	prog.Lookahead(p, ema, decay)
	for _, d := range []float32{0.2, 0.95, 0.6} {
		upload(t, b, decay, []float32{d})
		// p moves between runs, as a training step's optimizer moves it.
		for i := range pv {
			pv[i] += float32(rng.Float64() - 0.5)
		}
		upload(t, b, p, pv)
		run(t, prog)
		got := getF32(t, b, ema)
		for i := range n {
			ev[i] = naiveLerp(ev[i], pv[i], 1-d)
			pv[i] = ev[i]
			if got[i] != ev[i] {
				t.Fatalf("decay %v: ema[%d] = %v, want %v", d, i, got[i], ev[i])
			}
		}
	}
}

// TestLookaheadErrors checks the refusals: mismatched shapes and dtypes, a
// decay that is not [1], and p, ema or decay sharing storage.
func TestLookaheadErrors(t *testing.T) {
	b := New()
	p, ema, decay := newF32(t, b, nil, 4, 3), newF32(t, b, nil, 4, 3), newF32(t, b, []float32{0.5}, 1)
	view := func(x backend.Tensor, shape ...int) backend.Tensor {
		v, err := b.View(x, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name          string
		p, ema, decay backend.Tensor
		want          string
	}{
		{"ema shape", p, newF32(t, b, nil, 12), decay, "Lookahead: p has shape [4 3], ema has [12]"},
		{"ema dtype", p, newU32(t, b, nil, 4, 3), decay, "Lookahead: ema is uint32[4 3], want float32"},
		{"p missing", nil, ema, decay, "Lookahead: p is missing"},
		{"decay shape", p, ema, newF32(t, b, nil, 2), "Lookahead: decay has shape [2], want [1]"},
		{"decay dtype", p, ema, newU32(t, b, nil, 1), "Lookahead: decay is uint32[1], want float32"},
		{"decay missing", p, ema, nil, "Lookahead: decay is missing"},
		{"ema is p", p, p, decay, "ema and p share storage"},
		{"ema a view of p", p, view(p, 4, 3), decay, "ema and p share storage"},
		{"decay in p", p, ema, view(p, 1), "p and decay share storage"},
		{"decay in ema", p, ema, view(ema, 1), "ema and decay share storage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prog := b.NewProgram()
			prog.Lookahead(tc.p, tc.ema, tc.decay)
			if err := prog.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if prog.Run(1) == nil {
				t.Fatal("a program with a refused Lookahead ran")
			}
		})
	}
}
