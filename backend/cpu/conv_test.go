package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// convCase is one convolution geometry; workers 0 means all cores.
type convCase struct {
	n, c, h, w, k, r, s, stride, pad int
	workers                          int
}

func (cc convCase) String() string {
	return fmt.Sprintf("x%dx%dx%dx%d_w%dx%dx%dx%d_s%d_p%d_w%d", cc.n, cc.c, cc.h, cc.w, cc.k, cc.c, cc.r, cc.s, cc.stride, cc.pad, cc.workers)
}

func (cc convCase) out() (int, int) {
	return (cc.h+2*cc.pad-cc.r)/cc.stride + 1, (cc.w+2*cc.pad-cc.s)/cc.stride + 1
}

// naiveConv is the direct seven-loop definition in float64, the reference
// for the im2col+GEMM forward.
func naiveConv(cc convCase, x, w, b []float32) []float64 {
	oh, ow := cc.out()
	y := make([]float64, cc.n*cc.k*oh*ow)
	for n := range cc.n {
		for k := range cc.k {
			for i := range oh {
				for j := range ow {
					s := float64(b[k])
					for c := range cc.c {
						for r := range cc.r {
							ih := i*cc.stride - cc.pad + r
							if ih < 0 || ih >= cc.h {
								continue
							}
							xrow := x[((n*cc.c+c)*cc.h+ih)*cc.w:]
							wrow := w[((k*cc.c+c)*cc.r+r)*cc.s:]
							for q := range cc.s {
								iw := j*cc.stride - cc.pad + q
								if iw >= 0 && iw < cc.w {
									s += float64(xrow[iw]) * float64(wrow[q])
								}
							}
						}
					}
					y[((n*cc.k+k)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y
}

// naiveConvBackward is the direct definition of both backward passes:
// every (output, tap) pair sends dy·w to dx and dy·x to dw.
func naiveConvBackward(cc convCase, x, w, dy []float32) (dx, dw, db []float64) {
	oh, ow := cc.out()
	dx = make([]float64, len(x))
	dw = make([]float64, len(w))
	db = make([]float64, cc.k)
	for n := range cc.n {
		for k := range cc.k {
			for i := range oh {
				for j := range ow {
					g := float64(dy[((n*cc.k+k)*oh+i)*ow+j])
					db[k] += g
					for c := range cc.c {
						for r := range cc.r {
							ih := i*cc.stride - cc.pad + r
							if ih < 0 || ih >= cc.h {
								continue
							}
							xo := ((n*cc.c+c)*cc.h + ih) * cc.w
							wo := ((k*cc.c+c)*cc.r + r) * cc.s
							for q := range cc.s {
								iw := j*cc.stride - cc.pad + q
								if iw >= 0 && iw < cc.w {
									dx[xo+iw] += g * float64(w[wo+q])
									dw[wo+q] += g * float64(x[xo+iw])
								}
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

// convFixture holds one geometry's tensors and the recorded programs.
type convFixture struct {
	b               *Backend
	x, w, bias, y   backend.Tensor
	dy, dx, dw, db  backend.Tensor
	xv, wv, bv, r   []float32
	fwd, bwdD, bwdW backend.Program
}

func newConvFixture(t testing.TB, cc convCase, rng *rand.Rand) *convFixture {
	t.Helper()
	oh, ow := cc.out()
	f := &convFixture{b: testBackend(cc.workers)}
	b := f.b
	f.xv = uniform(rng, cc.n*cc.c*cc.h*cc.w)
	f.wv = uniform(rng, cc.k*cc.c*cc.r*cc.s)
	f.bv = uniform(rng, cc.k)
	f.r = uniform(rng, cc.n*cc.k*oh*ow)
	f.x = newF32(t, b, f.xv, cc.n, cc.c, cc.h, cc.w)
	f.w = newF32(t, b, f.wv, cc.k, cc.c, cc.r, cc.s)
	f.bias = newF32(t, b, f.bv, cc.k)
	f.y = newF32(t, b, nil, cc.n, cc.k, oh, ow)
	f.dy = newF32(t, b, f.r, cc.n, cc.k, oh, ow)
	f.dx = newF32(t, b, nil, cc.n, cc.c, cc.h, cc.w)
	f.dw = newF32(t, b, nil, cc.k, cc.c, cc.r, cc.s)
	f.db = newF32(t, b, nil, cc.k)
	f.fwd = b.NewProgram()
	f.fwd.Conv2d(f.x, f.w, f.bias, f.y, cc.stride, cc.pad)
	f.bwdD = b.NewProgram()
	f.bwdD.Conv2dBackwardData(f.dy, f.w, f.dx, cc.stride, cc.pad)
	f.bwdW = b.NewProgram()
	f.bwdW.Conv2dBackwardWeights(f.x, f.dy, f.dw, f.db, cc.stride, cc.pad)
	for _, p := range []backend.Program{f.fwd, f.bwdD, f.bwdW} {
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// seedConvs are the two convolutions of the seed model at batch 32.
var seedConvs = []convCase{
	{n: 32, c: 3, h: 32, w: 32, k: 32, r: 3, s: 3, stride: 1, pad: 1},
	{n: 32, c: 32, h: 32, w: 32, k: 32, r: 3, s: 3, stride: 1, pad: 1},
}

// oddConvs cover both column layouts (C·R·S below and above rowMin), the
// pointwise shortcut, strides, paddings, batch 1 and uneven batch splits.
var oddConvs = []convCase{
	{n: 2, c: 3, h: 5, w: 7, k: 5, r: 3, s: 3, stride: 1, pad: 1},
	{n: 2, c: 3, h: 5, w: 7, k: 5, r: 5, s: 5, stride: 2, pad: 2},
	{n: 1, c: 3, h: 7, w: 5, k: 4, r: 3, s: 3, stride: 2, pad: 0},
	{n: 2, c: 8, h: 5, w: 6, k: 3, r: 3, s: 3, stride: 1, pad: 0},
	{n: 3, c: 4, h: 5, w: 5, k: 2, r: 1, s: 1, stride: 1, pad: 0, workers: 2},
	{n: 2, c: 2, h: 6, w: 5, k: 3, r: 1, s: 1, stride: 2, pad: 1},
	{n: 2, c: 3, h: 4, w: 4, k: 2, r: 5, s: 5, stride: 1, pad: 2},
	{n: 3, c: 16, h: 5, w: 5, k: 4, r: 3, s: 3, stride: 2, pad: 1, workers: 2},
	{n: 5, c: 3, h: 6, w: 6, k: 2, r: 3, s: 2, stride: 1, pad: 1, workers: 3},
	{n: 1, c: 9, h: 3, w: 4, k: 3, r: 3, s: 3, stride: 3, pad: 2},
	{n: 2, c: 6, h: 6, w: 7, k: 3, r: 5, s: 5, stride: 1, pad: 2},
	{n: 2, c: 15, h: 5, w: 4, k: 2, r: 3, s: 3, stride: 2, pad: 0, workers: 3},
}

// TestConvAgainstNaive checks all three conv ops against the direct float64
// definition, at the seed model's sizes and at odd ones. GEMM sums of a few
// hundred float32 products are good to ~1e-6 relative, hence 1e-5.
func TestConvAgainstNaive(t *testing.T) {
	const tol = 1e-5
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cc := range append(append([]convCase{}, seedConvs...), oddConvs...) {
		t.Run(cc.String(), func(t *testing.T) {
			f := newConvFixture(t, cc, rng)
			// One program, so the ops share scratch buffers; backward data
			// goes first and leaves its column matrix behind, which the
			// others must fully overwrite.
			p := f.b.NewProgram()
			p.Conv2dBackwardData(f.dy, f.w, f.dx, cc.stride, cc.pad)
			p.Conv2d(f.x, f.w, f.bias, f.y, cc.stride, cc.pad)
			p.Conv2dBackwardWeights(f.x, f.dy, f.dw, f.db, cc.stride, cc.pad)
			run(t, p)
			wantY := naiveConv(cc, f.xv, f.wv, f.bv)
			wantDx, wantDw, wantDb := naiveConvBackward(cc, f.xv, f.wv, f.r)
			checkRel(t, "y", getF32(t, f.b, f.y), wantY, tol)
			checkRel(t, "dx", getF32(t, f.b, f.dx), wantDx, tol)
			checkRel(t, "dw", getF32(t, f.b, f.dw), wantDw, tol)
			checkRel(t, "db", getF32(t, f.b, f.db), wantDb, tol)
		})
	}
}

// TestConvGradients checks the backward ops against finite differences of
// Conv2d itself (see fdTol).
func TestConvGradients(t *testing.T) {
	layouts := map[string]bool{}
	for _, cc := range oddConvs {
		g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.r, cc.s, cc.stride, cc.pad)
		layouts[fmt.Sprint(g.pointwise(), g.rowLayout())] = true
	}
	if len(layouts) != 3 {
		t.Fatalf("oddConvs cover %d of the 3 layouts: %v", len(layouts), layouts)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cc := range oddConvs {
		t.Run(cc.String(), func(t *testing.T) {
			f := newConvFixture(t, cc, rng)
			run(t, f.bwdD)
			run(t, f.bwdW)
			checkRel(t, "dx", getF32(t, f.b, f.dx), numGrad(t, f.b, f.fwd, f.x, f.xv, f.y, f.r, fdEps, nil), fdTol)
			checkRel(t, "dw", getF32(t, f.b, f.dw), numGrad(t, f.b, f.fwd, f.w, f.wv, f.y, f.r, fdEps, nil), fdTol)
			checkRel(t, "db", getF32(t, f.b, f.db), numGrad(t, f.b, f.fwd, f.bias, f.bv, f.y, f.r, fdEps, nil), fdTol)
		})
	}
}

// TestConvNoBias checks that nil bias tensors are accepted and mean zero.
func TestConvNoBias(t *testing.T) {
	cc := oddConvs[0]
	rng := rand.New(rand.NewPCG(5, 6))
	f := newConvFixture(t, cc, rng)
	p := f.b.NewProgram()
	p.Conv2d(f.x, f.w, nil, f.y, cc.stride, cc.pad)
	p.Conv2dBackwardWeights(f.x, f.dy, f.dw, nil, cc.stride, cc.pad)
	run(t, p)
	zero := make([]float32, cc.k)
	checkRel(t, "y", getF32(t, f.b, f.y), naiveConv(cc, f.xv, f.wv, zero), 1e-5)
	_, wantDw, _ := naiveConvBackward(cc, f.xv, f.wv, f.r)
	checkRel(t, "dw", getF32(t, f.b, f.dw), wantDw, 1e-5)
}
