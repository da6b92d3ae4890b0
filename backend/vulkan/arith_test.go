package vulkan

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
)

// arithShapes are the arith ops' test shapes: one element, odd counts that
// fill no workgroup, one just past 16 workgroups, and a residual block's
// activation at batch 2.
var arithShapes = [][]int{{1}, {7}, {1000}, {4097}, {2, 64, 16, 16}}

// Tolerances of GELU against the CPU's correctly rounded float64 values.
// shaders/gelu.glsl uses only operations Vulkan requires to be correctly
// rounded, so what lavapipe shows holds on every device: at most 6 ULP on
// 2M points of [-15, 15] where the result is normal. Below 2^-122 (where Φ
// turns subnormal, which devices may flush and which holds few digits) an
// absolute error of 2^-122 is allowed. The gradient's factor Φ + x·φ cancels
// near its zero (x ~ -0.75), so its error is also allowed to be absolute:
// 1.8e-7 at most (1.5 ULP of 1) on the same points, times dy.
const (
	geluULPs    = 8
	geluTiny    = 0x1p-122
	geluGradAbs = 4e-7
)

// geluAgree checks the GPU output of GELU (dy absent) or GELUBackward (dy
// present) element by element against the CPU's, NaN for NaN, within the
// tolerances above, and returns the largest error as a fraction of what is
// allowed.
func (h *harness) geluAgree(name string, out pair, dy *pair) float64 {
	h.t.Helper()
	want, got := h.floats(h.cpu, out.cpu), h.floats(h.gpu, out.gpu)
	var g []float32
	if dy != nil {
		g = h.floats(h.cpu, dy.cpu)
	}
	worst := 0.0
	for i, w := range want {
		v := got[i]
		if math.IsNaN(float64(w)) || math.IsNaN(float64(v)) || math.IsInf(float64(w), 0) {
			if !(v == w || math.IsNaN(float64(v)) && math.IsNaN(float64(w))) {
				h.t.Fatalf("%s: element %d is %v on the GPU, %v on the CPU", name, i, v, w)
			}
			continue
		}
		diff := math.Abs(float64(v) - float64(w))
		if math.Abs(float64(w)) < geluTiny {
			if !(diff <= geluTiny) {
				h.t.Fatalf("%s: element %d is %v on the GPU, %v on the CPU", name, i, v, w)
			}
			continue
		}
		allow := geluULPs * ulp(w)
		if dy != nil {
			allow += geluGradAbs * math.Abs(float64(g[i]))
		}
		if !(diff <= allow) {
			h.t.Fatalf("%s: element %d is %v on the GPU, %v on the CPU: off by %.3g ULP", name, i, v, w, diff/ulp(w))
		}
		worst = max(worst, diff/allow)
	}
	return worst
}

// ulp is the spacing of float32 values at |v|.
func ulp(v float32) float64 {
	a := float32(math.Abs(float64(v)))
	return float64(math.Nextafter32(a, float32(math.Inf(1))) - a)
}

// geluInput is n values of random sign, never zero: magnitudes uniform in
// [0.05, 8) (both of GELU's regimes and the bend between them) or, when
// large, log-uniform in [1e-30, 1e30] (saturation on both sides, and
// x·Φ(x) ~ x/2 for tiny x).
func (h *harness) geluInput(n int, large bool) pair {
	v := make([]float32, n)
	for i := range v {
		if large {
			v[i] = float32(math.Pow(10, 60*h.rng.Float64()-30))
		} else {
			v[i] = float32(0.05 + 7.95*h.rng.Float64())
		}
		if h.rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return h.inputValues(v, n)
}

// TestGELU runs the forward and the backward on both backends, out of place
// and in place (y = x; dx = dy), on moderate and on huge and tiny values:
// every element within geluULPs of the reference, and the relative error of
// the whole output within 1e-6.
func TestGELU(t *testing.T) {
	for _, shape := range arithShapes {
		for _, large := range []bool{false, true} {
			for _, inPlace := range []bool{false, true} {
				t.Run(fmt.Sprint(shape, "/large=", large, "/inplace=", inPlace), func(t *testing.T) {
					h := newHarness(t)
					n := 1
					for _, d := range shape {
						n *= d
					}
					x := h.geluInput(n, large)
					dy := h.input(n)
					dyIn := dy // dy's values, kept apart: in place, dx overwrites dy
					y, dx := x, dy
					if inPlace {
						dyIn = h.inputValues(h.floats(h.cpu, dy.cpu), n)
					} else {
						y, dx = h.output(backend.F32, n), h.output(backend.F32, n)
					}
					// The backward first: in place, the forward overwrites x.
					h.run(1, func(o backend.Ops, s side) {
						o.GELUBackward(s(x), s(dy), s(dx))
						o.GELU(s(x), s(y))
					})
					fwd := h.geluAgree("y", y, nil)
					bwd := h.geluAgree("dx", dx, &dyIn)
					t.Logf("largest error, of the tolerance: y %.2f, dx %.2f", fwd, bwd)
					h.close("y", y, 1e-6)
					h.close("dx", dx, 1e-6)
				})
			}
		}
	}
}

// TestGELUSpecial runs GELU and its gradient on values where float
// arithmetic goes wrong: NaN stays NaN; -inf gives NaN in the forward and
// ±inf give NaN in the backward, as the formula (and PyTorch) do; ±0 keep
// their sign;
// the far tails saturate to x and to -0 without NaN, or come out subnormal
// (which a device may flush).
func TestGELUSpecial(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	v := []float32{float32(math.NaN()), inf, -inf, 0, negZero, 1e-30, -1e-30,
		math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30, 1e19, -1e19, 20, -20, 16, -16, 15.9, -15.9,
		-15, -14.5, -14, -13.5, -13, -12, -10, -9, -8, -6, -5.4, 5.4, 6, -0.7517915, 0.5, -0.5, 3, -3}
	n := len(v)
	h := newHarness(t)
	x, dy := h.inputValues(v, n), h.input(n)
	y, dx := h.output(backend.F32, n), h.output(backend.F32, n)
	h.run(1, func(o backend.Ops, s side) {
		o.GELU(s(x), s(y))
		o.GELUBackward(s(x), s(dy), s(dx))
	})
	fwd := h.geluAgree("y", y, nil)
	bwd := h.geluAgree("dx", dx, &dy)
	t.Logf("largest error, of the tolerance: y %.2f, dx %.2f", fwd, bwd)
	want, got := h.floats(h.cpu, y.cpu), h.floats(h.gpu, y.gpu)
	for i := range want {
		if !math.IsNaN(float64(want[i])) && math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) {
			t.Errorf("GELU(%v) = %v on the GPU, %v on the CPU: the sign differs", v[i], got[i], want[i])
		}
	}
}

// arithValues is n values of random sign with magnitudes log-uniform in
// [1e-20, 1e20]; where other is given, every eighth is the negation of
// other's, so that sums reach exact zeros. The magnitudes stay clear of the
// subnormals, which devices may flush: Add and Scale owe exact bits
// everywhere else.
func (h *harness) arithValues(n int, other []float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		if other != nil && i%8 == 3 {
			v[i] = -other[i]
			continue
		}
		v[i] = float32(math.Pow(10, 40*h.rng.Float64()-20))
		if h.rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// TestAdd runs y = a + b on both backends with y apart, y = a, y = b and
// a = b = y: the outputs must have the same bits.
func TestAdd(t *testing.T) {
	for _, shape := range arithShapes {
		for _, alias := range []string{"none", "y=a", "y=b", "a=b=y"} {
			t.Run(fmt.Sprint(shape, "/", alias), func(t *testing.T) {
				h := newHarness(t)
				av := h.arithValues(elemCount(shape), nil)
				a := h.inputValues(av, shape...)
				b := h.inputValues(h.arithValues(len(av), av), shape...)
				y := h.output(backend.F32, shape...)
				switch alias {
				case "y=a":
					y = a
				case "y=b":
					y = b
				case "a=b=y":
					b, y = a, a
				}
				h.run(1, func(o backend.Ops, s side) { o.Add(s(a), s(b), s(y)) })
				h.bitIdentical("y", y)
			})
		}
	}
}

// TestScale runs y = alpha·x on both backends, in and out of place, for
// exact, inexact, negative and zero alphas: the same bits. With alpha 1 the
// input is random bit patterns, NaNs and subnormals included, which must
// come through as they are.
func TestScale(t *testing.T) {
	for _, shape := range arithShapes {
		for _, alpha := range []float32{1, -1, 0.5, 1.0 / 9, 3.7, 0} {
			for _, inPlace := range []bool{false, true} {
				t.Run(fmt.Sprint(shape, "/alpha=", alpha, "/inplace=", inPlace), func(t *testing.T) {
					h := newHarness(t)
					n := elemCount(shape)
					v := h.arithValues(n, nil)
					if alpha == 1 {
						for i := range v {
							v[i] = math.Float32frombits(h.rng.Uint32())
						}
					}
					x := h.inputValues(v, shape...)
					y := x
					if !inPlace {
						y = h.output(backend.F32, shape...)
					}
					h.run(1, func(o backend.Ops, s side) { o.Scale(s(x), s(y), alpha) })
					h.bitIdentical("y", y)
					if alpha == 1 {
						for i, g := range h.floats(h.gpu, y.gpu) {
							if math.Float32bits(g) != math.Float32bits(v[i]) {
								t.Fatalf("element %d: %#08x became %#08x", i, math.Float32bits(v[i]), math.Float32bits(g))
							}
						}
					}
				})
			}
		}
	}
}

func elemCount(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestArithGridStride lowers the dispatch limit to two workgroups, so that
// every invocation of the four kernels loops over several elements.
func TestArithGridStride(t *testing.T) {
	defer func(n int) { maxElementGroups = n }(maxElementGroups)
	maxElementGroups = 2
	const n = 4097 // 8 passes of 512 invocations, and one element more
	h := newHarness(t)
	x, dy := h.geluInput(n, false), h.input(n)
	av := h.arithValues(n, nil)
	a, b := h.inputValues(av, n), h.inputValues(h.arithValues(n, av), n)
	y, dx, sum, scaled := h.output(backend.F32, n), h.output(backend.F32, n), h.output(backend.F32, n), h.output(backend.F32, n)
	h.run(1, func(o backend.Ops, s side) {
		o.GELU(s(x), s(y))
		o.GELUBackward(s(x), s(dy), s(dx))
		o.Add(s(a), s(b), s(sum))
		o.Scale(s(a), s(scaled), 1.0/9)
	})
	h.geluAgree("y", y, nil)
	h.geluAgree("dx", dx, &dy)
	h.close("y", y, 1e-6)
	h.close("dx", dx, 1e-6)
	h.bitIdentical("a+b", sum)
	h.bitIdentical("a/9", scaled)
}

// TestArithErrors checks that wrong arguments are errors that name the op
// and the argument, not panics: a shape mismatch, a wrong dtype, a missing
// tensor, a tensor of another backend.
func TestArithErrors(t *testing.T) {
	g := gpuBackend(t)
	newT := func(dt backend.DType, shape ...int) backend.Tensor {
		x, err := g.NewTensor(dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		return x
	}
	f, tr, u := newT(backend.F32, 2, 3), newT(backend.F32, 3, 2), newT(backend.U32, 2, 3)
	foreign, err := cpu.New().NewTensor(backend.F32, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		call   func(backend.Ops)
		expect []string
	}{
		{"GELU shape", func(o backend.Ops) { o.GELU(f, tr) }, []string{"GELU", "x", "y", "[3 2]"}},
		{"GELU dtype", func(o backend.Ops) { o.GELU(u, f) }, []string{"GELU", "x", "uint32"}},
		{"GELU missing", func(o backend.Ops) { o.GELU(f, nil) }, []string{"GELU", "y", "missing"}},
		{"GELU foreign", func(o backend.Ops) { o.GELU(foreign, f) }, []string{"gelu"}},
		{"GELUBackward shape", func(o backend.Ops) { o.GELUBackward(f, tr, f) }, []string{"GELUBackward", "dy", "[3 2]"}},
		{"GELUBackward dtype", func(o backend.Ops) { o.GELUBackward(f, f, u) }, []string{"GELUBackward", "dx", "uint32"}},
		{"Add shape", func(o backend.Ops) { o.Add(f, f, tr) }, []string{"Add", "a", "y", "[3 2]"}},
		{"Add dtype", func(o backend.Ops) { o.Add(f, u, f) }, []string{"Add", "b", "uint32"}},
		{"Add missing", func(o backend.Ops) { o.Add(nil, f, f) }, []string{"Add", "a", "missing"}},
		{"Add foreign", func(o backend.Ops) { o.Add(f, foreign, f) }, []string{"add"}},
		{"Scale shape", func(o backend.Ops) { o.Scale(tr, f, 2) }, []string{"Scale", "x", "y", "[2 3]"}},
		{"Scale dtype", func(o backend.Ops) { o.Scale(f, u, 1) }, []string{"Scale", "y", "uint32"}},
		{"Scale typed nil", func(o backend.Ops) { o.Scale(f, (*Tensor)(nil), 2) }, []string{"Scale", "y", "missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := g.NewProgram()
			defer p.Close()
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
