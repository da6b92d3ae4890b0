package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// bnCase is one BatchNorm2d configuration of the tests.
type bnCase struct {
	shape    [4]int
	eps, mom float32
}

// bnCases cover odd sizes (1x1 planes with N > 1, 5x3 planes, a single image,
// one channel, cnt = 2), eps and momentum at their extremes and in between,
// and one shape large enough for the channels to be split among workers.
var bnCases = []bnCase{
	{[4]int{2, 3, 5, 3}, 1e-5, 0.1},
	{[4]int{1, 7, 5, 3}, 1e-3, 0.37},
	{[4]int{5, 1, 1, 1}, 0.1, 1},
	{[4]int{3, 7, 1, 1}, 1e-5, 0},
	{[4]int{4, 3, 4, 4}, 0, 0.1},
	{[4]int{1, 1, 2, 1}, 1e-5, 0.5},
	{[4]int{2, 5, 9, 7}, 1e-2, 0.9},
	{[4]int{4, 5, 64, 64}, 1e-5, 0.1},
}

// bnData is one layer's values on the host.
type bnData struct {
	x, w, b, rm, rv []float32
}

// newBNData draws a layer: x with a per-channel offset (up to ±3) and
// spread (0.2 to 1.2), so the mean matters and channels differ; weights and
// biases never zero; running variances in [0.5, 1.5).
func newBNData(rng *rand.Rand, s [4]int) bnData {
	n, c, hw := s[0], s[1], s[2]*s[3]
	d := bnData{x: uniform(rng, n*c*hw), w: uniform(rng, c), b: uniform(rng, c), rm: uniform(rng, c), rv: make([]float32, c)}
	off, spread := uniform(rng, c), make([]float32, c)
	for ch := range c {
		spread[ch] = float32(0.2 + rng.Float64())
		d.rv[ch] = float32(0.5 + rng.Float64())
	}
	for i := range d.x {
		ch := i / hw % c
		d.x[i] = 3*off[ch] + spread[ch]*d.x[i]
	}
	return d
}

// bnRef is the float64 reference of one forward.
type bnRef struct {
	y, mean, invStd, runMean, runVar []float64
}

// refBatchNorm is torch.nn.BatchNorm2d written out plainly in float64.
func refBatchNorm(d bnData, s [4]int, eps, mom float64, train bool) bnRef {
	n, c, hw := s[0], s[1], s[2]*s[3]
	r := bnRef{y: make([]float64, len(d.x)), mean: make([]float64, c), invStd: make([]float64, c),
		runMean: to64(d.rm), runVar: to64(d.rv)}
	for ch := range c {
		var vals []float64
		for i := range n {
			for j := range hw {
				vals = append(vals, float64(d.x[(i*c+ch)*hw+j]))
			}
		}
		cnt := float64(len(vals))
		var mean, v float64
		if train {
			for _, x := range vals {
				mean += x
			}
			mean /= cnt
			for _, x := range vals {
				v += (x - mean) * (x - mean)
			}
			v /= cnt
			r.runMean[ch] = (1-mom)*r.runMean[ch] + mom*mean
			r.runVar[ch] = (1-mom)*r.runVar[ch] + mom*v*cnt/(cnt-1)
		} else {
			mean, v = float64(d.rm[ch]), float64(d.rv[ch])
		}
		r.mean[ch], r.invStd[ch] = mean, 1/math.Sqrt(v+eps)
		for i := range n {
			for j := range hw {
				k := (i*c+ch)*hw + j
				r.y[k] = (float64(d.x[k])-mean)*r.invStd[ch]*float64(d.w[ch]) + float64(d.b[ch])
			}
		}
	}
	return r
}

// bnLayer is a layer's tensors on the CPU backend.
type bnLayer struct {
	x, y backend.Tensor
	t    backend.BatchNormTensors
}

func newBNLayer(t testing.TB, b *Backend, d bnData, s [4]int) bnLayer {
	c := s[1]
	return bnLayer{
		x: newF32(t, b, d.x, s[:]...), y: newF32(t, b, nil, s[:]...),
		t: backend.BatchNormTensors{
			Weight: newF32(t, b, d.w, c), Bias: newF32(t, b, d.b, c),
			RunningMean: newF32(t, b, d.rm, c), RunningVar: newF32(t, b, d.rv, c),
			Mean: newF32(t, b, nil, c), InvStd: newF32(t, b, nil, c),
		},
	}
}

// TestBatchNorm2d checks both modes against the float64 reference: y, the
// saved statistics and the running statistics after one step, then after a
// second run that the running statistics move again from where the first
// left them while y stays bit-identical (the sums run in a fixed order).
// Evaluation is run with Mean and InvStd absent and must leave the running
// statistics untouched. The tolerance covers float32 rounding of the
// outputs (a few 1e-8 relative), far below any formula error.
func TestBatchNorm2d(t *testing.T) {
	const tol = 1e-6
	rng := rand.New(rand.NewPCG(31, 32))
	b := testBackend(4)
	for _, tc := range bnCases {
		for _, train := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/eps=%v/momentum=%v/train=%v", tc.shape, tc.eps, tc.mom, train), func(t *testing.T) {
				d := newBNData(rng, tc.shape)
				l := newBNLayer(t, b, d, tc.shape)
				bt := l.t
				if !train {
					bt.Mean, bt.InvStd = nil, nil
				}
				o := backend.BatchNormParams{Eps: tc.eps, Momentum: tc.mom, Train: train}
				p := b.NewProgram()
				p.BatchNorm2d(l.x, l.y, bt, o)
				run(t, p)
				ref := refBatchNorm(d, tc.shape, float64(tc.eps), float64(tc.mom), train)
				y := getF32(t, b, l.y)
				checkRel(t, "y", y, ref.y, tol)
				rm, rv := getF32(t, b, l.t.RunningMean), getF32(t, b, l.t.RunningVar)
				if !train {
					if !equalF32(rm, d.rm) || !equalF32(rv, d.rv) {
						t.Fatal("evaluation changed the running statistics")
					}
					return
				}
				checkRel(t, "mean", getF32(t, b, l.t.Mean), ref.mean, tol)
				checkRel(t, "invstd", getF32(t, b, l.t.InvStd), ref.invStd, tol)
				checkRel(t, "running mean", rm, ref.runMean, tol)
				checkRel(t, "running var", rv, ref.runVar, tol)

				run(t, p)
				if !equalF32(getF32(t, b, l.y), y) {
					t.Error("a second run gave a different y")
				}
				d2 := d
				d2.rm, d2.rv = rm, rv
				ref2 := refBatchNorm(d2, tc.shape, float64(tc.eps), float64(tc.mom), true)
				checkRel(t, "running mean after two steps", getF32(t, b, l.t.RunningMean), ref2.runMean, tol)
				checkRel(t, "running var after two steps", getF32(t, b, l.t.RunningVar), ref2.runVar, tol)
			})
		}
	}
}

// refBatchNormBackward is the contract's gradient in float64, from the
// statistics the forward saved.
func refBatchNormBackward(x, dy, w, mean, invStd []float32, s [4]int) (dx, dw, db []float64) {
	n, c, hw := s[0], s[1], s[2]*s[3]
	cnt := float64(n * hw)
	dx, dw, db = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	xhat := func(ch, k int) float64 { return (float64(x[k]) - float64(mean[ch])) * float64(invStd[ch]) }
	for ch := range c {
		for i := range n {
			for j := range hw {
				k := (i*c+ch)*hw + j
				db[ch] += float64(dy[k])
				dw[ch] += float64(dy[k]) * xhat(ch, k)
			}
		}
		for i := range n {
			for j := range hw {
				k := (i*c+ch)*hw + j
				dx[k] = float64(w[ch]) * float64(invStd[ch]) / cnt * (cnt*float64(dy[k]) - db[ch] - xhat(ch, k)*dw[ch])
			}
		}
	}
	return dx, dw, db
}

// TestBatchNorm2dBackward checks the gradients against the float64
// reference of the contract's formula, with every combination of dx,
// dWeight and dBias left out: what is wanted is the same whatever else is.
func TestBatchNorm2dBackward(t *testing.T) {
	const tol = 1e-6
	rng := rand.New(rand.NewPCG(33, 34))
	b := testBackend(4)
	for _, tc := range bnCases {
		t.Run(fmt.Sprint(tc.shape), func(t *testing.T) {
			d := newBNData(rng, tc.shape)
			l := newBNLayer(t, b, d, tc.shape)
			dyv := uniform(rng, len(d.x))
			dy := newF32(t, b, dyv, tc.shape[:]...)
			o := backend.BatchNormParams{Eps: tc.eps, Momentum: tc.mom, Train: true}
			fwd := b.NewProgram()
			fwd.BatchNorm2d(l.x, l.y, l.t, o)
			run(t, fwd)
			wantDx, wantDw, wantDb := refBatchNormBackward(d.x, dyv, d.w, getF32(t, b, l.t.Mean), getF32(t, b, l.t.InvStd), tc.shape)
			for mask := range 8 {
				wantX, wantW, wantB := mask&1 != 0, mask&2 != 0, mask&4 != 0
				var dx, dw, db backend.Tensor
				if wantX {
					dx = newF32(t, b, nil, tc.shape[:]...)
				}
				if wantW {
					dw = newF32(t, b, nil, tc.shape[1])
				}
				if wantB {
					db = newF32(t, b, nil, tc.shape[1])
				}
				p := b.NewProgram()
				p.BatchNorm2dBackward(l.x, dy, dx, l.t, dw, db)
				run(t, p)
				what := fmt.Sprintf("dx %v, dWeight %v, dBias %v: ", wantX, wantW, wantB)
				if wantX {
					checkRel(t, what+"dx", getF32(t, b, dx), wantDx, tol)
				}
				if wantW {
					checkRel(t, what+"dWeight", getF32(t, b, dw), wantDw, tol)
				}
				if wantB {
					checkRel(t, what+"dBias", getF32(t, b, db), wantDb, tol)
				}
			}
		})
	}
}

// TestBatchNorm2dGradient checks BatchNorm2dBackward against float64 central
// differences of the training-mode forward, for L = sum(y·r), through the
// batch statistics (which every x moves).
//
// Tolerance: unlike the linear ops (fdTol), normalization is nonlinear in x,
// so central differences carry a truncation error of order eps² on top of
// the float32 noise of L (~1e-6 absolute, divided by 2·eps). Measured on
// these cases: at eps = 1e-2 the truncation reaches 3e-4 relative (cnt = 4,
// where one value moves the statistics most), at 1e-3 the noise reaches
// 1e-4; eps = 3e-3 balances them at <= 4e-5. fdTol = 1e-3 leaves a margin of
// 25x, while a missing term of the formula (the mean's or the variance's
// path) is an error of order 1. y is linear in the weight and bias, for
// which the linear ops' step holds.
func TestBatchNorm2dGradient(t *testing.T) {
	const xEps = 3e-3
	rng := rand.New(rand.NewPCG(35, 36))
	b := New()
	for _, tc := range []bnCase{
		{[4]int{2, 3, 5, 3}, 1e-5, 0.1},
		{[4]int{4, 2, 1, 1}, 1e-5, 0.1},
		{[4]int{1, 3, 3, 3}, 0.1, 0.5},
		{[4]int{3, 2, 2, 3}, 1e-3, 1},
	} {
		t.Run(fmt.Sprintf("%v/eps=%v", tc.shape, tc.eps), func(t *testing.T) {
			d := newBNData(rng, tc.shape)
			l := newBNLayer(t, b, d, tc.shape)
			r := uniform(rng, len(d.x))
			dy := newF32(t, b, r, tc.shape[:]...)
			dx := newF32(t, b, nil, tc.shape[:]...)
			dw, db := newF32(t, b, nil, tc.shape[1]), newF32(t, b, nil, tc.shape[1])
			fwd := b.NewProgram()
			fwd.BatchNorm2d(l.x, l.y, l.t, backend.BatchNormParams{Eps: tc.eps, Momentum: tc.mom, Train: true})
			run(t, fwd)
			bwd := b.NewProgram()
			bwd.BatchNorm2dBackward(l.x, dy, dx, l.t, dw, db)
			run(t, bwd)
			checkRel(t, "dx", getF32(t, b, dx), numGrad(t, b, fwd, l.x, d.x, l.y, r, xEps, nil), fdTol)
			checkRel(t, "dWeight", getF32(t, b, dw), numGrad(t, b, fwd, l.t.Weight, d.w, l.y, r, fdEps, nil), fdTol)
			checkRel(t, "dBias", getF32(t, b, db), numGrad(t, b, fwd, l.t.Bias, d.b, l.y, r, fdEps, nil), fdTol)
		})
	}
}

// TestBatchNorm2dErrors checks that bad arguments give an error that names
// the op and the problem, never a panic, and that such a program refuses
// to run.
func TestBatchNorm2dErrors(t *testing.T) {
	b := New()
	f := func(shape ...int) backend.Tensor { return newF32(t, b, nil, shape...) }
	shape := []int{2, 3, 4, 5}
	x, y, dy, dx := f(shape...), f(shape...), f(shape...), f(shape...)
	layer := func() backend.BatchNormTensors {
		return backend.BatchNormTensors{Weight: f(3), Bias: f(3), RunningMean: f(3), RunningVar: f(3), Mean: f(3), InvStd: f(3)}
	}
	train := backend.BatchNormParams{Eps: 1e-5, Momentum: 0.1, Train: true}
	eval := backend.BatchNormParams{Eps: 1e-5, Momentum: 0.1}
	with := func(edit func(*backend.BatchNormTensors)) backend.BatchNormTensors {
		l := layer()
		edit(&l)
		return l
	}
	u32, err := b.NewTensor(backend.U32, shape...)
	if err != nil {
		t.Fatal(err)
	}
	one := f(1, 3, 1, 1)
	cases := []struct {
		name   string
		record func(backend.Ops)
		want   string // "" for no error
	}{
		{"3-D x", func(o backend.Ops) { o.BatchNorm2d(f(2, 3, 4), f(2, 3, 4), layer(), train) }, "x has shape [2 3 4], want 4 dimensions"},
		{"x missing", func(o backend.Ops) { o.BatchNorm2d(nil, y, layer(), train) }, "x is missing"},
		{"uint32 x", func(o backend.Ops) { o.BatchNorm2d(u32, y, layer(), train) }, "x is uint32"},
		{"y shape", func(o backend.Ops) { o.BatchNorm2d(x, f(2, 3, 5, 4), layer(), train) }, "y has shape [2 3 5 4], x has [2 3 4 5]"},
		{"weight shape", func(o backend.Ops) {
			o.BatchNorm2d(x, y, with(func(l *backend.BatchNormTensors) { l.Weight = f(4) }), train)
		}, "t.Weight has shape [4], want [3]"},
		{"running var typed nil", func(o backend.Ops) {
			o.BatchNorm2d(x, y, with(func(l *backend.BatchNormTensors) { l.RunningVar = (*Tensor)(nil) }), eval)
		}, "t.RunningVar is missing"},
		{"train without mean", func(o backend.Ops) {
			o.BatchNorm2d(x, y, with(func(l *backend.BatchNormTensors) { l.Mean = nil }), train)
		}, "t.Mean is missing"},
		{"eval without mean", func(o backend.Ops) {
			o.BatchNorm2d(x, y, with(func(l *backend.BatchNormTensors) { l.Mean, l.InvStd = nil, nil }), eval)
		}, ""},
		{"train cnt 1", func(o backend.Ops) { o.BatchNorm2d(one, f(1, 3, 1, 1), layer(), train) }, "training needs more than one value per channel"},
		{"eval cnt 1", func(o backend.Ops) { o.BatchNorm2d(one, f(1, 3, 1, 1), layer(), eval) }, ""},
		{"negative eps", func(o backend.Ops) {
			o.BatchNorm2d(x, y, layer(), backend.BatchNormParams{Eps: -1, Momentum: 0.1, Train: true})
		}, "eps -1"},
		{"NaN eps", func(o backend.Ops) {
			o.BatchNorm2d(x, y, layer(), backend.BatchNormParams{Eps: float32(math.NaN()), Momentum: 0.1})
		}, "eps NaN"},
		{"momentum", func(o backend.Ops) {
			o.BatchNorm2d(x, y, layer(), backend.BatchNormParams{Eps: 1e-5, Momentum: 1.5, Train: true})
		}, "momentum 1.5"},
		{"in place", func(o backend.Ops) { o.BatchNorm2d(x, x, layer(), train) }, "y and x share storage"},
		{"backward dy shape", func(o backend.Ops) { o.BatchNorm2dBackward(x, f(2, 3, 4, 4), dx, layer(), f(3), f(3)) }, "dy has shape [2 3 4 4]"},
		{"backward dx shape", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, f(2, 3, 20), layer(), f(3), f(3)) }, "dx has shape [2 3 20]"},
		{"backward no invstd", func(o backend.Ops) {
			o.BatchNorm2dBackward(x, dy, dx, with(func(l *backend.BatchNormTensors) { l.InvStd = nil }), f(3), f(3))
		}, "t.InvStd is missing"},
		{"backward dx without weight", func(o backend.Ops) {
			o.BatchNorm2dBackward(x, dy, dx, with(func(l *backend.BatchNormTensors) { l.Weight = nil }), f(3), f(3))
		}, "t.Weight is missing"},
		{"backward frozen, no dx, no weight", func(o backend.Ops) {
			o.BatchNorm2dBackward(x, dy, nil, with(func(l *backend.BatchNormTensors) { l.Weight = nil }), nil, f(3))
		}, ""},
		{"backward dWeight shape", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dx, layer(), f(2), nil) }, "dWeight has shape [2], want [3]"},
		{"backward dBias 2-D", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dx, layer(), nil, f(3, 1)) }, "dBias has shape [3 1], want [3]"},
		{"backward cnt 1", func(o backend.Ops) { o.BatchNorm2dBackward(one, f(1, 3, 1, 1), nil, layer(), f(3), nil) }, "more than one"},
		{"backward dx is dy", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dy, layer(), nil, nil) }, "dx and dy share storage"},
		{"backward dx is x", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, x, layer(), nil, nil) }, "dx and x share storage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			tc.record(p)
			err := p.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			op := "BatchNorm2d:"
			if strings.Contains(tc.name, "backward") {
				op = "BatchNorm2dBackward:"
			}
			if !strings.Contains(err.Error(), op) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one naming %s and containing %q", err, op, tc.want)
			}
			if p.Run(1) == nil {
				t.Error("a program with an error ran")
			}
		})
	}
}
