package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// arithSizes are the element counts of the arith tests: one element, odd
// ones that fill no vector or chunk, and one past 3·minChunk so that the
// split loop of parallelFor runs too.
var arithSizes = []int{1, 7, 1000, 4097, 3*minChunk + 7}

// ulp32 is the spacing of float32 values at |v| (the smallest subnormal at 0).
func ulp32(v float32) float64 {
	a := float32(math.Abs(float64(v)))
	return float64(math.Nextafter32(a, float32(math.Inf(1))) - a)
}

// withinULP says whether got is within k ULPs of want (computed in float64),
// NaN matching NaN only.
func withinULP(got float32, want float64, k float64) bool {
	if math.IsNaN(want) || math.IsNaN(float64(got)) {
		return math.IsNaN(want) && math.IsNaN(float64(got))
	}
	if math.IsInf(want, 0) {
		return float64(got) == want
	}
	return math.Abs(float64(got)-want) <= k*ulp32(float32(want))
}

// spreadValues draws n values uniform in ±[0.05, limit), never zero.
func spreadValues(rng *rand.Rand, n int, limit float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(0.05 + (limit-0.05)*rng.Float64())
		if rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// TestGELU checks GELU element by element against the textbook float64
// formula x/2·(1+erf(x/√2)), out of place and in place. Inputs stay in
// [-5, 5], where that formula is still accurate to far below a float32 ULP
// (1+erf cancels only for x below about -6); the tails are TestGELUTails'.
func TestGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	b := New()
	for _, n := range arithSizes {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/inplace=%v", n, inPlace), func(t *testing.T) {
				xv := spreadValues(rng, n, 5)
				x := newF32(t, b, xv, n)
				y := x
				if !inPlace {
					y = newF32(t, b, nil, n)
				}
				p := b.NewProgram()
				p.GELU(x, y)
				run(t, p)
				for i, got := range getF32(t, b, y) {
					v := float64(xv[i])
					if want := v / 2 * (1 + math.Erf(v/math.Sqrt2)); !withinULP(got, want, 1) {
						t.Fatalf("GELU(%v) = %v, want %v", xv[i], got, want)
					}
				}
			})
		}
	}
}

// TestGELUBackward checks dx against the float64 formula dy·(Φ(x) + x·φ(x))
// element by element, and against central differences of GELU (float64
// differences of the float32 forward, see numGrad). Inputs reach ±4, where
// both Φ and x·φ matter; dx = dy is checked too.
func TestGELUBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	b := New()
	for _, n := range arithSizes {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/inplace=%v", n, inPlace), func(t *testing.T) {
				xv, r := spreadValues(rng, n, 4), uniform(rng, n)
				x := newF32(t, b, xv, n)
				dy := newF32(t, b, r, n)
				dx := dy
				if !inPlace {
					dx = newF32(t, b, nil, n)
				}
				bwd := b.NewProgram()
				bwd.GELUBackward(x, dy, dx)
				run(t, bwd)
				got := getF32(t, b, dx)
				for i, g := range got {
					v := float64(xv[i])
					d := 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi)
					if want := float64(r[i]) * d; !withinULP(g, want, 1) {
						t.Fatalf("GELUBackward(x %v, dy %v) = %v, want %v", xv[i], r[i], g, want)
					}
				}
				if n > 1000 {
					return // numGrad reruns the forward twice per element
				}
				y := newF32(t, b, nil, n)
				fwd := b.NewProgram()
				fwd.GELU(x, y)
				// Central differences of a smooth function: the truncation
				// error eps²/6·max|GELU'''| is 1.3e-5 and the float32
				// rounding of y over 2·eps about as much (2e-5 seen),
				// against gradients of order 1.
				checkRel(t, "dx", got, numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), 2e-4)
			})
		}
	}
}

// geluTails are GELU and its derivative at points where float arithmetic
// goes wrong, from mpmath at 50 digits rounded to float32: far tails (where
// 1+erf is 0 even in float64, results subnormal, or Φ is exactly 1 in
// float32), the zero of the derivative, tiny and huge magnitudes.
var geluTails = []struct{ x, y, d float32 }{
	{-3.39999995e+38, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
	{-1.00000002e+30, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
	{-20, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
	{-15, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
	{-14, -1.0930128e-43, -1.52741533e-42},
	{-13, -7.95231385e-38, -1.03373048e-36},
	{-10, -7.61985298e-23, -7.61840008e-22},
	{-8, -4.97676834e-15, -3.9796071e-14},
	{-5, -1.43325781e-06, -7.14694579e-06},
	{-3, -0.00404969417, -0.0119456472},
	{-1, -0.158655256, -0.0833154693},
	{-0.751791477, -0.169971213, 2.04917345e-08},
	{-9.99999968e-21, -4.99999984e-21, 0.5},
	{9.99999968e-21, 4.99999984e-21, 0.5},
	{0.5, 0.345731229, 0.86749512},
	{1, 0.841344774, 1.08331549},
	{3, 2.99595022, 1.01194561},
	{5, 4.99999857, 1.00000715},
	{8, 8, 1},
	{20, 20, 1},
	{1.00000002e+30, 1.00000002e+30, 1},
	{3.39999995e+38, 3.39999995e+38, 1},
}

// TestGELUTails checks GELU and GELUBackward (dy = 1) at geluTails to
// 1 ULP, and the special values: ±0 keep their sign, NaN stays NaN, and
// infinities follow the formula as PyTorch does (GELU(+inf) = +inf, GELU(-inf)
// = -inf·0 = NaN, the gradient at ±inf NaN).
func TestGELUTails(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	type point struct{ x, y, d float32 }
	points := []point{{0, 0, 0.5}, {negZero, negZero, 0.5}, {nan, nan, nan}, {inf, inf, nan}, {-inf, nan, nan}}
	for _, p := range geluTails {
		points = append(points, point(p))
	}
	b := New()
	n := len(points)
	xv, ones := make([]float32, n), make([]float32, n)
	for i, p := range points {
		xv[i], ones[i] = p.x, 1
	}
	x, y := newF32(t, b, xv, n), newF32(t, b, nil, n)
	dy, dx := newF32(t, b, ones, n), newF32(t, b, nil, n)
	p := b.NewProgram()
	p.GELU(x, y)
	p.GELUBackward(x, dy, dx)
	run(t, p)
	gy, gd := getF32(t, b, y), getF32(t, b, dx)
	for i, pt := range points {
		// The sign matters too: GELU of a negative number is -0 once it underflows.
		signOK := math.IsNaN(float64(pt.y)) || math.Signbit(float64(gy[i])) == math.Signbit(float64(pt.y))
		if !withinULP(gy[i], float64(pt.y), 1) || !signOK {
			t.Errorf("GELU(%v) = %v, want %v", pt.x, gy[i], pt.y)
		}
		if !withinULP(gd[i], float64(pt.d), 1) {
			t.Errorf("GELU'(%v) = %v, want %v", pt.x, gd[i], pt.d)
		}
	}
}

// arithWide draws n values of random sign with magnitudes log-uniform in
// [1e-20, 1e20], and makes every eighth of them cancel its partner in other
// (b = -a), so that sums reach exact zeros. Magnitudes stay far from the
// subnormals so that a device that flushes them still owes the exact bits.
func arithWide(rng *rand.Rand, n int, other []float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		if other != nil && i%8 == 3 {
			v[i] = -other[i]
			continue
		}
		v[i] = float32(math.Pow(10, 40*rng.Float64()-20))
		if rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// TestAdd checks y = a + b bit for bit against float64 addition rounded to
// float32 (exact: float64 holds the sum of two float32 values well enough
// that rounding it once more is the float32 sum), with y apart from, equal
// to a, equal to b, and with a, b and y all one tensor.
func TestAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	b := New()
	for _, n := range arithSizes {
		for _, alias := range []string{"none", "y=a", "y=b", "a=b=y"} {
			t.Run(fmt.Sprintf("n=%d/%s", n, alias), func(t *testing.T) {
				av := arithWide(rng, n, nil)
				bv := arithWide(rng, n, av)
				a, bb := newF32(t, b, av, n), newF32(t, b, bv, n)
				y := newF32(t, b, nil, n)
				switch alias {
				case "y=a":
					y = a
				case "y=b":
					y = bb
				case "a=b=y":
					bb, y, bv = a, a, av
				}
				p := b.NewProgram()
				p.Add(a, bb, y)
				run(t, p)
				for i, got := range getF32(t, b, y) {
					want := float32(float64(av[i]) + float64(bv[i]))
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%v + %v = %v, want %v", av[i], bv[i], got, want)
					}
				}
			})
		}
	}
}

// TestScale checks y = alpha·x bit for bit against the float64 product
// rounded to float32 (exact: the product of two float32 values fits in a
// float64), in and out of place, for alphas that are exact, inexact, negative
// and zero. alpha 1 must copy the bits of any float, subnormals and NaN
// payloads included.
func TestScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	b := New()
	for _, n := range arithSizes {
		for _, alpha := range []float32{1, -1, 0.5, 1.0 / 9, 3.7, 0} {
			for _, inPlace := range []bool{false, true} {
				t.Run(fmt.Sprintf("n=%d/alpha=%v/inplace=%v", n, alpha, inPlace), func(t *testing.T) {
					xv := arithWide(rng, n, nil)
					if alpha == 1 {
						for i := range xv {
							xv[i] = math.Float32frombits(rng.Uint32()) // NaNs and subnormals too
						}
					}
					x := newF32(t, b, xv, n)
					y := x
					if !inPlace {
						y = newF32(t, b, nil, n)
					}
					p := b.NewProgram()
					p.Scale(x, y, alpha)
					run(t, p)
					for i, got := range getF32(t, b, y) {
						want := xv[i]
						if alpha != 1 {
							want = float32(float64(alpha) * float64(xv[i]))
						}
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%v·%v (%#08x) = %v (%#08x), want %v", alpha, xv[i], math.Float32bits(xv[i]),
								got, math.Float32bits(got), want)
						}
					}
				})
			}
		}
	}
}

// TestArithErrors checks that wrong arguments are errors naming the op and
// the argument, never panics: a shape mismatch, a wrong dtype, a missing
// tensor.
func TestArithErrors(t *testing.T) {
	b := New()
	f := newF32(t, b, nil, 2, 3)
	g := newF32(t, b, nil, 3, 2)
	u := newU32(t, b, nil, 2, 3)
	cases := []struct {
		name   string
		call   func(backend.Ops)
		expect []string
	}{
		{"GELU shape", func(o backend.Ops) { o.GELU(f, g) }, []string{"GELU", "x", "y", "[3 2]"}},
		{"GELU dtype", func(o backend.Ops) { o.GELU(u, f) }, []string{"GELU", "x", "uint32"}},
		{"GELU missing", func(o backend.Ops) { o.GELU(f, nil) }, []string{"GELU", "y", "missing"}},
		{"GELUBackward shape", func(o backend.Ops) { o.GELUBackward(f, g, f) }, []string{"GELUBackward", "dy", "[3 2]"}},
		{"GELUBackward dtype", func(o backend.Ops) { o.GELUBackward(f, f, u) }, []string{"GELUBackward", "dx", "uint32"}},
		{"Add shape", func(o backend.Ops) { o.Add(f, f, g) }, []string{"Add", "a", "y", "[3 2]"}},
		{"Add dtype", func(o backend.Ops) { o.Add(f, u, f) }, []string{"Add", "b", "uint32"}},
		{"Add missing", func(o backend.Ops) { o.Add(nil, f, f) }, []string{"Add", "a", "missing"}},
		{"Scale shape", func(o backend.Ops) { o.Scale(g, f, 2) }, []string{"Scale", "x", "y", "[2 3]"}},
		{"Scale dtype", func(o backend.Ops) { o.Scale(f, u, 1) }, []string{"Scale", "y", "uint32"}},
		{"Scale typed nil", func(o backend.Ops) { o.Scale(f, (*Tensor)(nil), 2) }, []string{"Scale", "y", "missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.NewProgram()
			c.call(p)
			err := p.Run(1)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range c.expect {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
