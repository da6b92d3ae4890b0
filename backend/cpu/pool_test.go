package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

type poolCase struct {
	n, c, h, w, kernel, stride int
	workers                    int
}

func (pc poolCase) String() string {
	return fmt.Sprintf("x%dx%dx%dx%d_k%d_s%d_w%d", pc.n, pc.c, pc.h, pc.w, pc.kernel, pc.stride, pc.workers)
}

func (pc poolCase) out() (int, int) {
	return (pc.h-pc.kernel)/pc.stride + 1, (pc.w-pc.kernel)/pc.stride + 1
}

// naivePool is the definition: the first strictly greater value in
// row-major window order wins.
func naivePool(pc poolCase, x []float32) ([]float64, []uint32) {
	oh, ow := pc.out()
	y := make([]float64, pc.n*pc.c*oh*ow)
	arg := make([]uint32, len(y))
	for pl := range pc.n * pc.c {
		plane := x[pl*pc.h*pc.w:]
		for i := range oh {
			for j := range ow {
				bi, bj := i*pc.stride, j*pc.stride
				for r := range pc.kernel {
					for s := range pc.kernel {
						hh, ww := i*pc.stride+r, j*pc.stride+s
						if plane[hh*pc.w+ww] > plane[bi*pc.w+bj] {
							bi, bj = hh, ww
						}
					}
				}
				o := (pl*oh+i)*ow + j
				y[o] = float64(plane[bi*pc.w+bj])
				arg[o] = uint32(bi*pc.w + bj)
			}
		}
	}
	return y, arg
}

var poolCases = []poolCase{
	{n: 32, c: 32, h: 32, w: 32, kernel: 2, stride: 2}, // the seed model's
	{n: 2, c: 3, h: 5, w: 7, kernel: 2, stride: 2},
	{n: 2, c: 3, h: 5, w: 7, kernel: 3, stride: 2, workers: 4}, // overlapping
	{n: 1, c: 2, h: 6, w: 5, kernel: 3, stride: 1},             // overlapping
	{n: 3, c: 1, h: 4, w: 4, kernel: 2, stride: 3, workers: 2}, // gaps
	{n: 1, c: 1, h: 3, w: 3, kernel: 3, stride: 1},
}

// TestMaxPoolForward checks values and argmax against the definition, on
// data with many ties (few distinct values) so the tie rule is exercised.
func TestMaxPoolForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pc := range poolCases {
		t.Run(pc.String(), func(t *testing.T) {
			b := testBackend(pc.workers)
			oh, ow := pc.out()
			xv := make([]float32, pc.n*pc.c*pc.h*pc.w)
			for i := range xv {
				xv[i] = float32(rng.IntN(4)) - 1.5
			}
			x := newF32(t, b, xv, pc.n, pc.c, pc.h, pc.w)
			y := newF32(t, b, nil, pc.n, pc.c, oh, ow)
			arg := newU32(t, b, nil, pc.n, pc.c, oh, ow)
			p := b.NewProgram()
			p.MaxPool2d(x, y, arg, pc.kernel, pc.stride)
			run(t, p)
			wantY, wantArg := naivePool(pc, xv)
			checkRel(t, "y", getF32(t, b, y), wantY, 0)
			got := getU32(t, b, arg)
			for i := range got {
				if got[i] != wantArg[i] {
					t.Fatalf("argmax[%d] = %d, want %d", i, got[i], wantArg[i])
				}
			}
		})
	}
}

// TestMaxPoolGradient checks MaxPool2dBackward against finite differences of
// MaxPool2d. Inputs are distinct and 0.05 apart, so a 1e-2 step never
// changes a window's maximum and the op is linear around them.
func TestMaxPoolGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, pc := range poolCases[1:] {
		t.Run(pc.String(), func(t *testing.T) {
			b := testBackend(pc.workers)
			oh, ow := pc.out()
			xv := spread(rng, pc.n*pc.c*pc.h*pc.w)
			r := uniform(rng, pc.n*pc.c*oh*ow)
			x := newF32(t, b, xv, pc.n, pc.c, pc.h, pc.w)
			y := newF32(t, b, nil, pc.n, pc.c, oh, ow)
			arg := newU32(t, b, nil, pc.n, pc.c, oh, ow)
			dy := newF32(t, b, r, pc.n, pc.c, oh, ow)
			dx := newF32(t, b, nil, pc.n, pc.c, pc.h, pc.w)
			fwd := b.NewProgram()
			fwd.MaxPool2d(x, y, arg, pc.kernel, pc.stride)
			run(t, fwd)
			bwd := b.NewProgram()
			bwd.MaxPool2dBackward(dy, arg, dx, pc.kernel, pc.stride)
			upload(t, b, dx, uniform(rng, dx.Len())) // stale contents must be overwritten
			run(t, bwd)
			checkRel(t, "dx", getF32(t, b, dx), numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), fdTol)
		})
	}
}

// TestMaxPoolOverlapSums pins the overlapping case by hand: in a 3x3 plane
// pooled with kernel 2 stride 1, the centre is the max of all four windows
// and must receive the sum of their gradients.
func TestMaxPoolOverlapSums(t *testing.T) {
	b := New()
	x := newF32(t, b, []float32{0, 1, 0, 1, 9, 1, 0, 1, 0}, 1, 1, 3, 3)
	y := newF32(t, b, nil, 1, 1, 2, 2)
	arg := newU32(t, b, nil, 1, 1, 2, 2)
	dy := newF32(t, b, []float32{1, 2, 3, 4}, 1, 1, 2, 2)
	dx := newF32(t, b, nil, 1, 1, 3, 3)
	p := b.NewProgram()
	p.MaxPool2d(x, y, arg, 2, 1)
	p.MaxPool2dBackward(dy, arg, dx, 2, 1)
	run(t, p)
	want := []float32{0, 0, 0, 0, 10, 0, 0, 0, 0}
	got := getF32(t, b, dx)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dx = %v, want %v", got, want)
		}
	}
	if a := getU32(t, b, arg); a[0] != 4 || a[3] != 4 {
		t.Fatalf("argmax = %v, want all 4", a)
	}
}
