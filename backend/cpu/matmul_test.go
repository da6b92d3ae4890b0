package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

type mmCase struct {
	m, n, k        int
	transA, transB bool
}

func (mc mmCase) String() string {
	return fmt.Sprintf("%dx%dx%d_tA%v_tB%v", mc.m, mc.n, mc.k, mc.transA, mc.transB)
}

// shapes returns the stored shapes of a and b.
func (mc mmCase) shapes() (as, bs [2]int) {
	as, bs = [2]int{mc.m, mc.k}, [2]int{mc.k, mc.n}
	if mc.transA {
		as = [2]int{mc.k, mc.m}
	}
	if mc.transB {
		bs = [2]int{mc.n, mc.k}
	}
	return as, bs
}

// naiveMatMul is the triple loop in float64 on the stored layouts.
func naiveMatMul(mc mmCase, a, b []float32) []float64 {
	as, bs := mc.shapes()
	c := make([]float64, mc.m*mc.n)
	for i := range mc.m {
		for j := range mc.n {
			var s float64
			for l := range mc.k {
				ai, bi := i*as[1]+l, l*bs[1]+j
				if mc.transA {
					ai = l*as[1] + i
				}
				if mc.transB {
					bi = j*bs[1] + l
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*mc.n+j] = s
		}
	}
	return c
}

func allTrans(m, n, k int) []mmCase {
	var cs []mmCase
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			cs = append(cs, mmCase{m, n, k, ta, tb})
		}
	}
	return cs
}

// TestMatMulAgainstNaive covers every transpose combination and the seed
// model's three linear-layer products: forward x·Wᵀ with W stored [512,8192],
// dx = dy·W and dW = dyᵀ·x.
func TestMatMulAgainstNaive(t *testing.T) {
	const tol = 1e-5
	rng := rand.New(rand.NewPCG(11, 12))
	cases := append(allTrans(3, 5, 7), allTrans(1, 9, 4)...)
	cases = append(cases, allTrans(70, 65, 130)...)  // more than one 64-block each way
	cases = append(cases, allTrans(70, 300, 600)...) // several tiles and k chunks (see gemm)
	cases = append(cases,
		mmCase{32, 512, 8192, false, true},
		mmCase{32, 8192, 512, false, false},
		mmCase{512, 8192, 32, true, false},
		mmCase{32, 10, 512, false, true},
	)
	b := New()
	for _, mc := range cases {
		t.Run(mc.String(), func(t *testing.T) {
			as, bs := mc.shapes()
			av, bv := uniform(rng, mc.m*mc.k), uniform(rng, mc.k*mc.n)
			a := newF32(t, b, av, as[0], as[1])
			bt := newF32(t, b, bv, bs[0], bs[1])
			c := newF32(t, b, uniform(rng, mc.m*mc.n), mc.m, mc.n)
			p := b.NewProgram()
			p.MatMul(a, bt, c, mc.transA, mc.transB)
			run(t, p)
			checkRel(t, "c", getF32(t, b, c), naiveMatMul(mc, av, bv), tol)
		})
	}
}

// TestMatMulGradients forms the gradients the way a model does, with MatMul
// and transpose flags (dA = dC·op(B)ᵀ stored in A's layout, likewise dB),
// and checks them against finite differences of the forward.
func TestMatMulGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	b := New()
	for _, mc := range append(allTrans(3, 5, 7), allTrans(2, 1, 6)...) {
		t.Run(mc.String(), func(t *testing.T) {
			as, bs := mc.shapes()
			av, bv, r := uniform(rng, mc.m*mc.k), uniform(rng, mc.k*mc.n), uniform(rng, mc.m*mc.n)
			a := newF32(t, b, av, as[0], as[1])
			bt := newF32(t, b, bv, bs[0], bs[1])
			c := newF32(t, b, nil, mc.m, mc.n)
			dc := newF32(t, b, r, mc.m, mc.n)
			da := newF32(t, b, nil, as[0], as[1])
			db := newF32(t, b, nil, bs[0], bs[1])
			fwd := b.NewProgram()
			fwd.MatMul(a, bt, c, mc.transA, mc.transB)
			bwd := b.NewProgram()
			if mc.transA { // A stored [k,m]: dA = op(B)·dCᵀ
				bwd.MatMul(bt, dc, da, mc.transB, true)
			} else { // dA = dC·op(B)ᵀ
				bwd.MatMul(dc, bt, da, false, !mc.transB)
			}
			if mc.transB { // B stored [n,k]: dB = dCᵀ·op(A)
				bwd.MatMul(dc, a, db, true, mc.transA)
			} else { // dB = op(A)ᵀ·dC
				bwd.MatMul(a, dc, db, !mc.transA, false)
			}
			run(t, bwd)
			checkRel(t, "da", getF32(t, b, da), numGrad(t, b, fwd, a, av, c, r, fdEps, nil), fdTol)
			checkRel(t, "db", getF32(t, b, db), numGrad(t, b, fwd, bt, bv, c, r, fdEps, nil), fdTol)
		})
	}
}

// TestBiasGradient checks BiasGrad against finite differences of AddBias,
// which accumulates into y, so y is reset before every forward run.
func TestBiasGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	b := New()
	for _, sh := range [][2]int{{3, 5}, {1, 7}, {33, 2}} {
		t.Run(fmt.Sprint(sh), func(t *testing.T) {
			n, m := sh[0], sh[1]
			y0, bv, r := uniform(rng, n*m), uniform(rng, m), uniform(rng, n*m)
			y := newF32(t, b, y0, n, m)
			bias := newF32(t, b, bv, m)
			dy := newF32(t, b, r, n, m)
			db := newF32(t, b, uniform(rng, m), m)
			fwd := b.NewProgram()
			fwd.AddBias(y, bias)
			run(t, fwd)
			want := make([]float64, n*m)
			for i := range want {
				want[i] = float64(y0[i]) + float64(bv[i%m])
			}
			checkRel(t, "y", getF32(t, b, y), want, 1e-7)
			bwd := b.NewProgram()
			bwd.BiasGrad(dy, db)
			run(t, bwd)
			reset := func() { upload(t, b, y, y0) }
			checkRel(t, "db", getF32(t, b, db), numGrad(t, b, fwd, bias, bv, y, r, fdEps, reset), fdTol)
		})
	}
}

// TestMatMulRejectsAliasing checks that an output sharing storage with an
// input is refused rather than silently computing garbage.
func TestMatMulRejectsAliasing(t *testing.T) {
	b := New()
	a := newF32(t, b, nil, 4, 4)
	v, err := b.View(a, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := b.NewProgram()
	p.MatMul(a, a, v, false, false)
	if p.Err() == nil {
		t.Fatal("MatMul into a view of its input: no error")
	}
	var _ backend.Program = p
}
