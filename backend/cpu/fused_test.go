package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// sameBits fails unless two outputs are bit-identical.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d]: %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// TestPack: parts are disjoint views of the whole, in order, zero at first,
// and a View of a part cannot grow into its neighbour.
func TestPack(t *testing.T) {
	b := New()
	whole, parts, offsets, err := b.Pack(backend.F32, []int{2, 3}, []int{4}, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if whole.Len() != 11 || len(parts) != 3 || offsets[0] != 0 || offsets[1] != 6 || offsets[2] != 10 {
		t.Fatalf("whole %v, offsets %v", whole.Shape(), offsets)
	}
	upload(t, b, parts[1], []float32{1, 2, 3, 4})
	got := getF32(t, b, whole)
	sameBits(t, "whole", got, []float32{0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0})
	if _, err := b.View(parts[1], 5); err == nil {
		t.Error("a view of 5 elements of a 4-element part: no error")
	}
}

// TestFusedAreUnfused: each fused op gives the bits of the ops it stands
// for, run unfused on this backend.
func TestFusedAreUnfused(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(3, 9))
	const m, n, k = 7, 9, 13
	a, w := newF32(t, b, uniform(rng, m*k), m, k), newF32(t, b, uniform(rng, n*k), n, k)
	bias := newF32(t, b, uniform(rng, n), n)
	ctr := newU32(t, b, []uint32{4, 0}, 2)
	mask := newF32(t, b, uniform(rng, m*n), m, n)
	e := backend.Epilogue{Bias: bias, ReLU: true, Ctr: ctr, P: 0.4, Seed: 2, Stream: 5, Mask: mask, MaskP: 0.2}
	fused, unfused := newF32(t, b, nil, m, n), newF32(t, b, nil, m, n)
	p := b.NewProgram()
	p.MatMulEpilogue(a, w, fused, false, true, e)
	run(t, p)
	q := b.NewProgram()
	q.MatMul(a, w, unfused, false, true)
	q.AddBias(unfused, bias)
	q.ReLU(unfused, unfused)
	q.Dropout(unfused, unfused, ctr, 0.4, 2, 5)
	q.ReLUDropoutBackward(mask, unfused, unfused, 0.2)
	run(t, q)
	sameBits(t, "MatMulEpilogue", getF32(t, b, fused), getF32(t, b, unfused))

	// MatMulBiasGrad, transposed a (a Linear layer's dW and db) and not.
	for _, trans := range []bool{true, false} {
		ashape := []int{m, k}
		if trans {
			ashape = []int{k, m}
		}
		x := newF32(t, b, uniform(rng, m*k), ashape...)
		y := newF32(t, b, uniform(rng, k*n), k, n)
		c1, c2 := newF32(t, b, nil, m, n), newF32(t, b, nil, m, n)
		db1 := newF32(t, b, nil, m)
		p := b.NewProgram()
		p.MatMulBiasGrad(x, y, c1, db1, trans, false)
		p.MatMul(x, y, c2, trans, false)
		run(t, p)
		sameBits(t, "MatMulBiasGrad c", getF32(t, b, c1), getF32(t, b, c2))
		// The row sums in float64, as BiasGrad sums.
		xv, want := getF32(t, b, x), make([]float32, m)
		for i := range m {
			var s float64
			for kk := range k {
				if trans {
					s += float64(xv[kk*m+i])
				} else {
					s += float64(xv[i*k+kk])
				}
			}
			want[i] = float32(s)
		}
		sameBits(t, "MatMulBiasGrad db", getF32(t, b, db1), want)
	}
}

// TestReLUDropoutBackwardIsComposition: from r = ReLU(x), y = Dropout(r),
// the fused gradient is ReLUBackward(r, DropoutBackward(dy)), bit for bit.
func TestReLUDropoutBackwardIsComposition(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(5, 1))
	const n = 4099
	for _, prob := range []float32{0, 0.3, 0.5} {
		x, dy := newF32(t, b, spread(rng, n), n), newF32(t, b, spread(rng, n), n)
		ctr := newU32(t, b, []uint32{17, 0}, 2)
		r, y, dr := newF32(t, b, nil, n), newF32(t, b, nil, n), newF32(t, b, nil, n)
		dx, want := newF32(t, b, nil, n), newF32(t, b, nil, n)
		p := b.NewProgram()
		p.ReLU(x, r)
		p.Dropout(r, y, ctr, prob, 8, 3)
		p.ReLUDropoutBackward(y, dy, dx, prob)
		p.DropoutBackward(dy, dr, ctr, prob, 8, 3)
		p.ReLUBackward(r, dr, want)
		run(t, p)
		sameBits(t, "dx", getF32(t, b, dx), getF32(t, b, want))
	}
}

// TestSGDPackedIsSGD: groups over a pack, one with a schedule, give the
// bits of SGD on each tensor alone, and Step follows.
func TestSGDPackedIsSGD(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(7, 7))
	shapes := [][]int{{5, 3}, {4}, {2, 2, 2}}
	var wholes [3]backend.Tensor
	var parts [3][]backend.Tensor
	var offsets []int
	for i := range wholes {
		var err error
		if wholes[i], parts[i], offsets, err = b.Pack(backend.F32, shapes...); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			upload(t, b, wholes[i], uniform(rng, wholes[i].Len()))
		}
	}
	sep := [3][]backend.Tensor{}
	for i := range wholes {
		for j, s := range shapes {
			sep[i] = append(sep[i], newF32(t, b, getF32(t, b, parts[i][j]), s...))
		}
	}
	ctrA, ctrB := newU32(t, b, []uint32{0, 0}, 2), newU32(t, b, []uint32{0, 0}, 2)
	sched := newF32(t, b, []float32{1, 0.5, 0.25}, 3)
	g0 := backend.SGDParams{LR: 0.1, Momentum: 0.9}
	g1 := backend.SGDParams{LR: 0.2, Momentum: 0.5, WeightDecay: 0.01, Nesterov: true, Schedule: sched, Ctr: ctrA}
	g1b := g1
	g1b.Ctr = ctrB
	p := b.NewProgram()
	p.SGDPacked(wholes[0], wholes[1], wholes[2], []backend.SGDGroup{
		{SGDParams: g0, Ranges: []backend.Range{{Offset: offsets[0], Len: 15}, {Offset: offsets[2], Len: 8}}},
		{SGDParams: g1, Ranges: []backend.Range{{Offset: offsets[1], Len: 4}}},
	}, ctrA)
	for j, o := range []backend.SGDParams{g0, g1b, g0} {
		p.SGD(sep[0][j], sep[1][j], sep[2][j], o)
	}
	p.Step(ctrB)
	if err := p.Run(4); err != nil {
		t.Fatal(err)
	}
	for j := range shapes {
		sameBits(t, "p", getF32(t, b, parts[0][j]), getF32(t, b, sep[0][j]))
		sameBits(t, "buf", getF32(t, b, parts[2][j]), getF32(t, b, sep[2][j]))
	}
	if c := getU32(t, b, ctrA); c[0] != 4 || c[1] != 4 {
		t.Errorf("counters %v after 4 runs, want [4 4]", c)
	}
	q := b.NewProgram()
	q.SGDPacked(wholes[0], wholes[1], wholes[2], []backend.SGDGroup{
		{SGDParams: g0, Ranges: []backend.Range{{Offset: 0, Len: 10}, {Offset: 5, Len: 10}}},
	}, nil)
	if q.Err() == nil {
		t.Error("overlapping ranges: no error")
	}
}
