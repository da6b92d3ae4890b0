package cpu

import (
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// TestSGD runs two steps of PyTorch's rule, from p0 = [1, -2] with gradients
// g1 = [0.5, 0.25] then g2 = [-1, 0.5] and lr = 0.1, against numbers worked
// out by hand (per step: d = g + wd·p; buf = m·buf + d; d = nesterov ? d +
// m·buf : buf; p -= lr·d; buf starts at zero).
func TestSGD(t *testing.T) {
	cases := []struct {
		name         string
		o            backend.SGDParams
		noBuf        bool
		wantP, wantB []float64
	}{{
		// p1 = p0 - 0.1·g1 = [0.95, -2.025]; p2 = p1 - 0.1·g2 = [1.05, -2.075].
		name: "plain", o: backend.SGDParams{LR: 0.1},
		wantP: []float64{1.05, -2.075}, wantB: []float64{-1, 0.5},
	}, {
		name: "plain without buf", o: backend.SGDParams{LR: 0.1}, noBuf: true,
		wantP: []float64{1.05, -2.075},
	}, {
		// buf1 = g1 = [0.5, 0.25]; p1 = [0.95, -2.025].
		// buf2 = 0.9·buf1 + g2 = [0.45-1, 0.225+0.5] = [-0.55, 0.725];
		// p2 = p1 - 0.1·buf2 = [1.005, -2.0975].
		name: "momentum", o: backend.SGDParams{LR: 0.1, Momentum: 0.9},
		wantP: []float64{1.005, -2.0975}, wantB: []float64{-0.55, 0.725},
	}, {
		// d1 = g1 + 0.01·p0 = [0.51, 0.23] = buf1; p1 = [0.949, -2.023].
		// d2 = g2 + 0.01·p1 = [-0.99051, 0.47977];
		// buf2 = 0.9·[0.51, 0.23] + d2 = [-0.53151, 0.68677];
		// p2 = p1 - 0.1·buf2 = [1.002151, -2.091677].
		name: "momentum and weight decay", o: backend.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01},
		wantP: []float64{1.002151, -2.091677}, wantB: []float64{-0.53151, 0.68677},
	}, {
		// d1 = [0.51, 0.23] = buf1; d1 += 0.9·buf1 = [0.969, 0.437];
		// p1 = [0.9031, -2.0437].
		// d2 = g2 + 0.01·p1 = [-0.990969, 0.479563];
		// buf2 = 0.9·[0.51, 0.23] + d2 = [-0.531969, 0.686563];
		// d2 += 0.9·buf2 = [-1.4697411, 1.0974697];
		// p2 = p1 - 0.1·d2 = [1.05007411, -2.15344697].
		name: "nesterov and weight decay", o: backend.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true},
		wantP: []float64{1.05007411, -2.15344697}, wantB: []float64{-0.531969, 0.686563},
	}, {
		// p1 = p0 - 0.1·[0.51, 0.23] = [0.949, -2.023];
		// p2 = p1 - 0.1·[-0.99051, 0.47977] = [1.048051, -2.070977].
		name: "weight decay only", o: backend.SGDParams{LR: 0.1, WeightDecay: 0.01}, noBuf: true,
		wantP: []float64{1.048051, -2.070977},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New()
			p := newF32(t, b, []float32{1, -2}, 2)
			g := newF32(t, b, []float32{0.5, 0.25}, 2)
			var buf backend.Tensor
			if !tc.noBuf {
				buf = newF32(t, b, []float32{0, 0}, 2)
			}
			prog := b.NewProgram()
			prog.SGD(p, g, buf, tc.o)
			run(t, prog)
			upload(t, b, g, []float32{-1, 0.5})
			run(t, prog)
			check := func(what string, got []float32, want []float64) {
				for i := range want {
					if math.Abs(float64(got[i])-want[i]) > 1e-6*math.Max(1, math.Abs(want[i])) {
						t.Errorf("%s = %v, want %v", what, got, want)
						return
					}
				}
			}
			check("p", getF32(t, b, p), tc.wantP)
			if buf != nil && tc.wantB != nil {
				check("buf", getF32(t, b, buf), tc.wantB)
			}
			if g := getF32(t, b, g); g[0] != -1 || g[1] != 0.5 {
				t.Errorf("g was modified: %v", g)
			}
		})
	}
}

// TestSGDLarge runs the split loop (more than minChunk elements) against the
// same rule evaluated in float64.
func TestSGDLarge(t *testing.T) {
	const n = 4*minChunk + 3
	b := New()
	pv, gv, bv := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range pv {
		pv[i] = float32(i%13) - 6
		gv[i] = float32(i%7) - 3
		bv[i] = float32(i%5) - 2
	}
	p := newF32(t, b, pv, n)
	g := newF32(t, b, gv, n)
	buf := newF32(t, b, bv, n)
	o := backend.SGDParams{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true}
	prog := b.NewProgram()
	prog.SGD(p, g, buf, o)
	run(t, prog)
	want := make([]float64, n)
	for i := range want {
		d := float64(gv[i]) + 5e-4*float64(pv[i])
		m := 0.9*float64(bv[i]) + d
		want[i] = float64(pv[i]) - 0.05*(d+0.9*m)
	}
	checkRel(t, "p", getF32(t, b, p), want, 1e-6)
}
