package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
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

// scheduleCases are the optimizers the schedule tests run: each multiplies
// LR (not weight decay) by the step's entry.
var scheduleCases = []struct {
	name  string
	o     backend.SGDParams
	noBuf bool
}{
	{"plain", backend.SGDParams{LR: 0.1}, true},
	{"weight decay", backend.SGDParams{LR: 0.1, WeightDecay: 0.1}, true},
	{"momentum", backend.SGDParams{LR: 0.1, Momentum: 0.9}, false},
	{"nesterov and weight decay", backend.SGDParams{LR: 0.05, Momentum: 0.8, WeightDecay: 0.1, Nesterov: true}, false},
}

// TestSGDSchedule records one step (SGD, then Step) and replays it, so the
// schedule's entry must be read when the step runs: steps 0-3 take entries
// 0-3 (the first is 0, a warm-up's start), later steps the last entry, and
// a counter uploaded between runs (back to 1, then past the end) is obeyed.
// Each step is checked bit for bit against an unscheduled SGD whose LR is
// float32(LR·entry), and against the rule evaluated in float64.
func TestSGDSchedule(t *testing.T) {
	sched := []float32{0, 1, 0.5, 0.125}
	const n = 2*minChunk + 7 // split into chunks, which must all see the step's rate
	for _, tc := range scheduleCases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			b := New()
			pv, gv := uniform(rng, n), uniform(rng, n)
			p, g := newF32(t, b, pv, n), newF32(t, b, gv, n)
			twin := newF32(t, b, pv, n) // the unscheduled copy
			var buf, twinBuf backend.Tensor
			if !tc.noBuf {
				buf, twinBuf = newF32(t, b, make([]float32, n), n), newF32(t, b, make([]float32, n), n)
			}
			ctr := newU32(t, b, []uint32{0, 0}, 2)
			o := tc.o
			o.Schedule, o.Ctr = newF32(t, b, sched, len(sched)), ctr
			prog := b.NewProgram()
			prog.SGD(p, g, buf, o)
			prog.Step(ctr)

			ref := to64(pv)
			refBuf := make([]float64, n)
			mom, wd := float64(o.Momentum), float64(o.WeightDecay)
			// entries[i] is the entry step i must use, given the counter
			// values the loop below sets.
			entries := []int{0, 1, 2, 3, 3, 3, 1, 3}
			for step, e := range entries {
				switch step {
				case 6:
					upload(t, b, ctr, []uint32{1, 0})
				case 7:
					upload(t, b, ctr, []uint32{math.MaxUint32, 0})
				}
				run(t, prog)
				// The twin: plain SGD at the rate the step should have used.
				to := tc.o
				to.LR = float32(tc.o.LR * sched[e])
				tp := b.NewProgram()
				tp.SGD(twin, g, twinBuf, to)
				run(t, tp)
				got, want := getF32(t, b, p), getF32(t, b, twin)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("step %d: p[%d] = %v, SGD at lr·schedule[%d] gives %v", step, i, got[i], e, want[i])
					}
				}
				lr := float64(tc.o.LR) * float64(sched[e])
				for i := range ref {
					d := float64(gv[i]) + wd*ref[i]
					if !tc.noBuf {
						refBuf[i] = mom*refBuf[i] + d
						if o.Nesterov {
							d += mom * refBuf[i]
						} else {
							d = refBuf[i]
						}
					}
					ref[i] -= lr * d
				}
				checkRel(t, fmt.Sprintf("p after step %d", step), got, ref, 1e-6)
			}
			if c := getU32(t, b, ctr); c[0] != 0 || c[1] != 1 {
				t.Errorf("ctr = %v, want [0 1] (Step wrapped the step counter)", c)
			}
		})
	}
}

// TestSGDScheduleErrors: schedule arguments that do not fit are recorded
// as errors, not panics, and the program refuses to run.
func TestSGDScheduleErrors(t *testing.T) {
	b := New()
	f := func(shape ...int) backend.Tensor { return newF32(t, b, nil, shape...) }
	u := func(shape ...int) backend.Tensor { return newU32(t, b, nil, shape...) }
	var typedNil *Tensor
	cases := []struct {
		name, want string
		o          backend.SGDParams
	}{
		{"schedule without ctr", "Schedule and Ctr go together", backend.SGDParams{LR: 0.1, Schedule: f(3)}},
		{"schedule with typed nil ctr", "Schedule and Ctr go together", backend.SGDParams{LR: 0.1, Schedule: f(3), Ctr: typedNil}},
		{"ctr without schedule", "Schedule and Ctr go together", backend.SGDParams{LR: 0.1, Ctr: u(2)}},
		{"schedule dtype", "Schedule is uint32[3], want float32", backend.SGDParams{LR: 0.1, Schedule: u(3), Ctr: u(2)}},
		{"schedule rank", "Schedule has shape [2 3], want 1 dimensions", backend.SGDParams{LR: 0.1, Schedule: f(2, 3), Ctr: u(2)}},
		{"ctr shape", "Ctr has shape [3], want [2]", backend.SGDParams{LR: 0.1, Schedule: f(3), Ctr: u(3)}},
		{"ctr dtype", "Ctr is float32[2], want uint32", backend.SGDParams{LR: 0.1, Schedule: f(3), Ctr: f(2)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			p.SGD(f(4), f(4), nil, tc.o)
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("recorded error %v, want one saying %q", err, tc.want)
			}
			if p.Run(1) == nil {
				t.Error("a program with an error ran")
			}
		})
	}
}
