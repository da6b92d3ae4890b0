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

// within says whether got is within tol of want (computed in float64), NaN
// matching NaN only and an infinity only itself.
func within(got float32, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(float64(got)) {
		return math.IsNaN(want) && math.IsNaN(float64(got))
	}
	if math.IsInf(want, 0) {
		return float64(got) == want
	}
	return math.Abs(float64(got)-want) <= tol
}

// geluTolULP bounds the error of GELU and its gradient, which run
// shaders/gelu.glsl's float32 algorithm (gelu_math.go) and so cannot be
// held to 1 ULP of the true values as float64 math could: it is in ULPs of
// the float32 values that algorithm rounds. GELU(x) may be off by
// geluTolULP·|x|·ulp(Φ(x)) plus an ULP of the result, and the gradient's
// factor Φ + x·φ by geluTolULP·(ulp(Φ) + |x|·ulp(φ)). Relative to the terms
// rather than to the result, because the factor cancels near its zero
// (x ~ -0.75), and because Φ turns subnormal below x ~ -13 while x·Φ is
// still normal. Measured over every float32 in ±[2^-40, 16.5]: at most 6.48
// for GELU and 6.08 for the gradient. As plain ULPs of the result that is
// 6.7 for GELU wherever Φ is normal (10.1 where only x·Φ is), and 2.2e-7
// absolute for the gradient's factor.
const geluTolULP = 8

// geluTol returns the tolerances of GELU(x) and of Φ(x) + x·φ(x) (see
// geluTolULP), from float64 Φ(x) and φ(x). GELU's includes an ULP of the
// result for its final rounding, which matters alone where it is subnormal.
func geluTol(x, phi, pdf float64) (y, d float64) {
	up := ulp32(float32(phi))
	y = geluTolULP*math.Abs(x)*up + ulp32(float32(x*phi))
	return y, geluTolULP * (up + math.Abs(x)*ulp32(float32(pdf)))
}

// normal is Φ(x), by the erfc form that is accurate in both tails, and
// φ(x), in float64.
func normal(x float64) (phi, pdf float64) {
	return 0.5 * math.Erfc(-x/math.Sqrt2), math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
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
// formula x/2·(1+erf(x/√2)), within geluTol, out of place and in place.
// Inputs stay in [-5, 5], where that formula is still accurate to far below
// a float32 ULP (1+erf cancels only for x below about -6); TestGELUTails and
// TestGELUSweep check the tails.
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
					phi := (1 + math.Erf(v/math.Sqrt2)) / 2
					tol, _ := geluTol(v, phi, 0)
					if want := v * phi; !within(got, want, tol) {
						t.Fatalf("GELU(%v) = %v, want %v", xv[i], got, want)
					}
				}
			})
		}
	}
}

// TestGELUBackward checks dx against the float64 formula dy·(Φ(x) + x·φ(x))
// element by element, within |dy|·geluTol plus the rounding of the product
// by dy, and against central differences of GELU (float64 differences of
// the float32 forward, see numGrad). Inputs reach ±4, where both Φ and x·φ
// matter; dx = dy is checked too.
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
					phi := 0.5 * (1 + math.Erf(v/math.Sqrt2))
					pdf := math.Exp(-v*v/2) / math.Sqrt(2*math.Pi)
					_, tol := geluTol(v, phi, pdf)
					want := float64(r[i]) * (phi + v*pdf)
					if !within(g, want, math.Abs(float64(r[i]))*tol+ulp32(float32(want))) {
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

// TestGELUTails checks GELU and GELUBackward (dy = 1) at geluTails, within
// geluTol plus the table's own rounding, and the special values: ±0 keep
// their sign, NaN stays NaN, and infinities follow the formula as PyTorch
// does (GELU(+inf) = +inf, GELU(-inf) = -inf·0 = NaN, the gradient at ±inf
// NaN). Where the true value rounds to zero, so must the result, as the
// algorithm's exp underflows to exactly 0 there. GELU keeps the sign of that
// zero; the gradient's may be either (the shader adds Φ = +0 to x·φ = -0).
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
		v := float64(pt.x)
		tolY, tolD := 0.0, 0.0 // zeros, NaN and infinities: exact
		if pt.y != 0 && !math.IsNaN(float64(pt.y)) && !math.IsInf(v, 0) {
			phi, pdf := normal(v)
			tolY, tolD = geluTol(v, phi, pdf)
			tolY += ulp32(pt.y)
			tolD += ulp32(pt.d)
		}
		// The sign matters too: GELU of a negative number is -0 once it underflows.
		signOK := math.IsNaN(float64(pt.y)) || math.Signbit(float64(gy[i])) == math.Signbit(float64(pt.y))
		if !within(gy[i], float64(pt.y), tolY) || !signOK {
			t.Errorf("GELU(%v) = %v, want %v", pt.x, gy[i], pt.y)
		}
		if !within(gd[i], float64(pt.d), tolD) {
			t.Errorf("GELU'(%v) = %v, want %v", pt.x, gd[i], pt.d)
		}
	}
}

// The glsl functions are shaders/gelu.glsl, gelu.comp and gelu_backward.comp
// transcribed function by function, an element at a time, in the shader's
// words and order: the specification that gelu_math.go's blocked passes
// must match bit for bit (TestGELUSweep). Each product that feeds a sum is
// rounded explicitly, with no fused multiply-add, as lavapipe runs them.

// glslHalfSquare is halfSquare.
func glslHalfSquare(x float32) (hi, lo float32) {
	xh := math.Float32frombits(math.Float32bits(x) & 0xfffff000)
	d := x - xh
	s := x + xh
	return -0.5 * (xh * xh), -0.5 * (d * s)
}

// glslExpSplit is expSplit, roundEven and integer halving included.
func glslExpSplit(hi, lo float32) float32 {
	const log2e, ln2Hi, ln2Lo = 1.44269504, 0.693145752, 1.42860677e-6
	a := hi + lo
	under := a < -110
	if under {
		hi, lo = 0, 0
	}
	n := float32(math.RoundToEven(float64(float32((hi + lo) * log2e))))
	r := ((hi - float32(n*ln2Hi)) - float32(n*ln2Lo)) + lo
	e := float32(1.0 / 5040.0)
	e = float32(e*r) + 1.0/720.0
	e = float32(e*r) + 1.0/120.0
	e = float32(e*r) + 1.0/24.0
	e = float32(e*r) + 1.0/6.0
	e = float32(e*r) + 0.5
	e = float32(e*r) + 1.0
	e = float32(e*r) + 1.0
	k := int32(n)
	k1 := k / 2
	e *= math.Float32frombits(uint32(k1+127) << 23)
	e *= math.Float32frombits(uint32(k-k1+127) << 23)
	if under {
		return 0
	}
	return e
}

// glslErfcLog is erfcLog.
func glslErfcLog(t float32) float32 {
	u := (t - 0.575) * 2.35294127
	q := float32(-2.36492342e-05)
	q = float32(q*u) + 6.960475e-05
	q = float32(q*u) + 0.000129799082
	q = float32(q*u) - 0.00063389045
	q = float32(q*u) - 0.000215805529
	q = float32(q*u) + 0.00412304467
	q = float32(q*u) - 0.0015381967
	q = float32(q*u) - 0.0311691556
	q = float32(q*u) + 0.0182184614
	q = float32(q*u) + 0.58103478
	return float32(q*u) - 0.569994986
}

// glslNormalCdf is normalCdf; Go's `/` is correctly rounded, as divRN.
func glslNormalCdf(x, hi, lo float32) float32 {
	t := 1 / (1 + float32(float32(math.Abs(float64(x)))*0.353553391))
	tail := float32(0.5 * t * glslExpSplit(hi, lo+glslErfcLog(t)))
	if x < 0 {
		return tail
	}
	return 1 - tail
}

// glslNormalPdf is normalPdf.
func glslNormalPdf(hi, lo float32) float32 { return glslExpSplit(hi, lo) * 0.398942280 }

// glslClamp is GLSL's clamp(v, -GELU_CLAMP, GELU_CLAMP), NaN passing through.
func glslClamp(v float32) float32 {
	if v > 16 {
		return 16
	}
	if v < -16 {
		return -16
	}
	return v
}

// glslGELU is gelu.comp's body.
func glslGELU(v float32) float32 {
	c := glslClamp(v)
	hi, lo := glslHalfSquare(c)
	return v * glslNormalCdf(c, hi, lo)
}

// glslGELUBackward is gelu_backward.comp's body.
func glslGELUBackward(v, dy float32) float32 {
	c := glslClamp(v)
	hi, lo := glslHalfSquare(c)
	return dy * (glslNormalCdf(c, hi, lo) + float32(v*glslNormalPdf(hi, lo)))
}

// geluSweep is every 997th float32 bit pattern from 0 up, with both signs:
// 4.3 million values across every binade, subnormals and NaNs, and the
// infinities.
func geluSweep() []float32 {
	var v []float32
	for b := uint64(0); b < 1<<31; b += 997 {
		v = append(v, math.Float32frombits(uint32(b)), math.Float32frombits(uint32(b)|1<<31))
	}
	return append(v, float32(math.Inf(1)), float32(math.Inf(-1)))
}

// TestGELUSweep runs GELU and GELUBackward (in place, dx = dy) over
// geluSweep and checks every result bit for bit against glslGELU and
// glslGELUBackward, the shader's code transcribed element by element, so
// that gelu_math.go's blocked passes are shown to be the shader's algorithm
// (NaN only as NaN, its payload being the hardware's); and against float64
// Φ and φ within geluTol.
func TestGELUSweep(t *testing.T) {
	xv := geluSweep()
	n := len(xv)
	rng := rand.New(rand.NewPCG(41, 42))
	r := uniform(rng, n)
	b := New()
	x, y, dy := newF32(t, b, xv, n), newF32(t, b, nil, n), newF32(t, b, r, n)
	p := b.NewProgram()
	p.GELU(x, y)
	p.GELUBackward(x, dy, dy)
	run(t, p)
	gy, gd := getF32(t, b, y), getF32(t, b, dy)
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	for i, v := range xv {
		if want := glslGELU(v); !same(gy[i], want) {
			t.Fatalf("GELU(%v) = %v, the shader's algorithm gives %v", v, gy[i], want)
		}
		if want := glslGELUBackward(v, r[i]); !same(gd[i], want) {
			t.Fatalf("GELUBackward(x %v, dy %v) = %v, the shader's algorithm gives %v", v, r[i], gd[i], want)
		}
		if v != v || math.Abs(float64(v)) > 1e30 {
			continue // NaN, infinities and beyond: TestGELUTails
		}
		x := float64(v)
		phi, pdf := normal(x)
		tolY, tolD := geluTol(x, phi, pdf)
		if want := x * phi; !within(gy[i], want, tolY) {
			t.Fatalf("GELU(%v) = %v, want %v: off by %.3g of the tolerance", v, gy[i], want,
				math.Abs(float64(gy[i])-want)/tolY)
		}
		want := float64(r[i]) * (phi + x*pdf)
		if tol := math.Abs(float64(r[i]))*tolD + ulp32(float32(want)); !within(gd[i], want, tol) {
			t.Fatalf("GELUBackward(x %v, dy %v) = %v, want %v: off by %.3g of the tolerance", v, r[i], gd[i], want,
				math.Abs(float64(gd[i])-want)/tol)
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

// benchGELU times GELU (backward false) or GELUBackward on the shape of
// airbench-tiny's widest activation, [32,24,31,31], with values in ±4, on
// one worker (the per-core cost) and on all, and reports ns per element.
func benchGELU(b *testing.B, backward bool) {
	shape := []int{32, 24, 31, 31}
	n := 32 * 24 * 31 * 31
	for _, workers := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			be := testBackend(workers)
			rng := rand.New(rand.NewPCG(39, 40))
			x := newF32(b, be, spreadValues(rng, n, 4), shape...)
			dy := newF32(b, be, uniform(rng, n), shape...)
			out := newF32(b, be, nil, shape...)
			p := be.NewProgram()
			if backward {
				p.GELUBackward(x, dy, out)
			} else {
				p.GELU(x, out)
			}
			run(b, p) // warm up caches and the goroutine pool
			b.ResetTimer()
			for b.Loop() {
				if err := p.Run(1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
		})
	}
}

// BenchmarkGELU times the forward; see benchGELU.
func BenchmarkGELU(b *testing.B) { benchGELU(b, false) }

// BenchmarkGELUBackward times the gradient; see benchGELU.
func BenchmarkGELUBackward(b *testing.B) { benchGELU(b, true) }
