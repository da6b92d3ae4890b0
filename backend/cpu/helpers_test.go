package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// testBackend returns a backend with the given worker count, or all cores
// for 0, so tests can force batch splits that 2 cores would not produce.
func testBackend(workers int) *Backend {
	b := New()
	if workers > 0 {
		b.workers = workers
	}
	return b
}

func newF32(t testing.TB, b *Backend, vals []float32, shape ...int) backend.Tensor {
	t.Helper()
	x, err := b.NewTensor(backend.F32, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if vals != nil {
		if err := b.Upload(x, vals); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func newU32(t testing.TB, b *Backend, vals []uint32, shape ...int) backend.Tensor {
	t.Helper()
	x, err := b.NewTensor(backend.U32, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if vals != nil {
		if err := b.Upload(x, vals); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func upload(t testing.TB, b *Backend, x backend.Tensor, vals any) {
	t.Helper()
	if err := b.Upload(x, vals); err != nil {
		t.Fatal(err)
	}
}

func getF32(t testing.TB, b *Backend, x backend.Tensor) []float32 {
	t.Helper()
	out := make([]float32, x.Len())
	if err := b.Download(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func getU32(t testing.TB, b *Backend, x backend.Tensor) []uint32 {
	t.Helper()
	out := make([]uint32, x.Len())
	if err := b.Download(x, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t testing.TB, p backend.Program) {
	t.Helper()
	if err := p.Run(1); err != nil {
		t.Fatal(err)
	}
}

// uniform draws n values in [-1,1) with |v| >= 0.05: never zero, and far
// enough from ReLU's kink that a 1e-2 finite difference never crosses it.
func uniform(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(0.05 + 0.95*rng.Float64())
		if rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// spread returns n distinct values at least 0.05 apart in random order, so
// that perturbing one by 1e-2 never changes which element of a window is the
// maximum.
func spread(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i, j := range rng.Perm(n) {
		v[i] = float32(j)*0.05 - float32(n)*0.025 + 0.0125
	}
	return v
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// relErr is ||a-b|| / ||b||, the error measure of every numeric check.
func relErr(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		d := a[i] - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// dot is the scalar L = sum(y·r) whose gradient the backward ops compute.
func dot(y, r []float32) float64 {
	var s float64
	for i := range y {
		s += float64(y[i]) * float64(r[i])
	}
	return s
}

// Finite-difference setup shared by the gradient tests.
//
// Tolerance: the ops are linear or piecewise linear in the perturbed input,
// so central differences have no truncation error and the only error is the
// float32 rounding of the forward output. Each output carries a relative
// error of a few 1e-7 and L sums at most a few hundred of them, so L is off
// by ~1e-6 in absolute terms; divided by 2·eps = 2e-2 that is ~5e-5 per
// gradient entry, against entries of order 1. fdTol = 1e-3 leaves a margin of
// ~20x over that noise, while any real bug (a wrong index, a missing term, a
// transposed weight) moves the relative error to order 1.
const (
	fdEps = 1e-2
	fdTol = 1e-3
)

// numGrad returns dL/dvals by central differences, where L = sum(out·r)
// after running prog with vals uploaded to in. reset, if not nil, runs before
// each Run (for ops that accumulate into their output). The step is measured
// in float32 after rounding, so the rounding of x±eps does not bias it.
func numGrad(t testing.TB, b *Backend, prog backend.Program, in backend.Tensor, vals []float32,
	out backend.Tensor, r []float32, eps float64, reset func()) []float64 {
	t.Helper()
	x := append([]float32(nil), vals...)
	g := make([]float64, len(x))
	eval := func() float64 {
		upload(t, b, in, x)
		if reset != nil {
			reset()
		}
		run(t, prog)
		return dot(getF32(t, b, out), r)
	}
	for i, orig := range vals {
		xp := float32(float64(orig) + eps)
		xm := float32(float64(orig) - eps)
		x[i] = xp
		lp := eval()
		x[i] = xm
		lm := eval()
		x[i] = orig
		g[i] = (lp - lm) / (float64(xp) - float64(xm))
	}
	upload(t, b, in, vals)
	return g
}

func checkRel(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	if e := relErr(to64(got), want); !(e <= tol) {
		t.Errorf("%s: relative error %.3g > %.3g", what, e, tol)
	}
}
