package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// TestReLU checks the forward exactly and the backward against finite
// differences. Inputs keep |x| >= 0.05, so a 1e-2 step never crosses the
// kink. Sizes straddle minChunk so that both the serial and the split loop
// run; the backward is also run in place (dx = dy).
func TestReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	b := New()
	for _, shape := range [][]int{{3, 5}, {2, 3, 5, 7}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		xv, r := uniform(rng, n), uniform(rng, n)
		x := newF32(t, b, xv, shape...)
		y := newF32(t, b, nil, shape...)
		dy := newF32(t, b, r, shape...)
		fwd := b.NewProgram()
		fwd.ReLU(x, y)
		run(t, fwd)
		bwd := b.NewProgram()
		bwd.ReLUBackward(y, dy, dy)
		run(t, bwd)
		checkRel(t, "dx", getF32(t, b, dy), numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), fdTol)
	}
	n := 3*minChunk + 7
	xv, r := uniform(rng, n), uniform(rng, n)
	x := newF32(t, b, xv, n)
	dy := newF32(t, b, r, n)
	p := b.NewProgram()
	p.ReLU(x, x) // in place
	p.ReLUBackward(x, dy, dy)
	run(t, p)
	y, dx := getF32(t, b, x), getF32(t, b, dy)
	for i, v := range xv {
		wantY, wantDx := float32(0), float32(0)
		if v > 0 {
			wantY, wantDx = v, r[i]
		}
		if y[i] != wantY || dx[i] != wantDx {
			t.Fatalf("element %d: relu(%v) = %v, grad %v; want %v, %v", i, v, y[i], dx[i], wantY, wantDx)
		}
	}
}

// TestDropoutGradient checks DropoutBackward against finite differences of
// Dropout at the same step: for a fixed mask, dropout is linear.
func TestDropoutGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	b := New()
	for _, p := range []float32{0, 0.3, 0.5} {
		xv, r := uniform(rng, 2*3*5*7), uniform(rng, 2*3*5*7)
		x := newF32(t, b, xv, 2, 3, 5, 7)
		y := newF32(t, b, nil, 2, 3, 5, 7)
		dy := newF32(t, b, r, 2, 3, 5, 7)
		dx := newF32(t, b, nil, 2, 3, 5, 7)
		ctr := newU32(t, b, []uint32{41, 3}, 2)
		fwd := b.NewProgram()
		fwd.Dropout(x, y, ctr, p, 7, 1)
		bwd := b.NewProgram()
		bwd.DropoutBackward(dy, dx, ctr, p, 7, 1)
		run(t, bwd)
		checkRel(t, "dx", getF32(t, b, dx), numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), fdTol)
	}
}

// TestDropoutMask checks the mask against backend.Keep element by element
// (the CPU loop hoists part of the hash), the kept fraction, the scaling,
// and that the mask is a function of seed, stream and step only.
func TestDropoutMask(t *testing.T) {
	const (
		n      = 1 << 20
		p      = 0.3
		seed   = 12345
		stream = 2
	)
	b := New()
	xv := make([]float32, n)
	for i := range xv {
		xv[i] = 1 + float32(i%7)
	}
	x := newF32(t, b, xv, n)
	y := newF32(t, b, nil, n)
	ctr := newU32(t, b, []uint32{1000, 0}, 2)
	prog := b.NewProgram()
	prog.Dropout(x, y, ctr, p, seed, stream)
	prog.Step(ctr)

	run(t, prog) // step 1000
	first := getF32(t, b, y)
	kept := 0
	for i, v := range first {
		keep := backend.Keep(seed, stream, 1000, uint32(i), p)
		want := float32(0)
		if keep {
			kept++
			want = xv[i] / (1 - p)
		}
		if v != want {
			t.Fatalf("element %d: %v, want %v (keep %v)", i, v, want, keep)
		}
	}
	// The kept count is binomial with sd sqrt(n·p·(1-p)) ~ 470, i.e. 4.5e-4
	// of n; 5e-3 is more than 10 sd yet catches a p or 1-p mix-up.
	if frac := float64(kept) / n; math.Abs(frac-(1-p)) > 5e-3 {
		t.Errorf("kept fraction %.4f, want %.4f", frac, 1-p)
	}

	run(t, prog) // step 1001: a different mask
	second := getF32(t, b, y)
	upload(t, b, ctr, []uint32{1000, 0})
	run(t, prog) // step 1000 again: the first mask
	again := getF32(t, b, y)
	diff := 0
	for i := range first {
		if again[i] != first[i] {
			t.Fatalf("step 1000 replayed: element %d is %v, was %v", i, again[i], first[i])
		}
		if (second[i] == 0) != (first[i] == 0) {
			diff++
		}
	}
	// Independent masks disagree on a fraction 2p(1-p) = 0.42 of elements.
	if frac := float64(diff) / n; math.Abs(frac-2*p*(1-p)) > 1e-2 {
		t.Errorf("masks of consecutive steps differ on %.4f of elements, want %.4f", frac, 2*p*(1-p))
	}

	other := b.NewProgram()
	other.Dropout(x, y, ctr, p, seed, stream+1)
	upload(t, b, ctr, []uint32{1000, 0})
	run(t, other)
	if got := getF32(t, b, y); equalF32(got, first) {
		t.Error("another stream gave the same mask")
	}
}

func equalF32(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestPositiveMask pins the branch-free y > 0 test of ReLUBackward on the
// values where bit tricks go wrong: signed zeros, NaNs, infinities and
// denormals.
func TestPositiveMask(t *testing.T) {
	nan := float32(math.NaN())
	negNaN := math.Float32frombits(math.Float32bits(nan) | 1<<31)
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), nan, negNaN, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1, -1, math.MaxFloat32, -math.MaxFloat32} {
		want := uint32(0)
		if v > 0 {
			want = ^uint32(0)
		}
		if got := positive(v); got != want {
			t.Errorf("positive(%v) = %#x, want %#x", v, got, want)
		}
	}
}
