package cpu

import (
	"math/rand/v2"
	"testing"
)

// The zoo networks (ResNet-18, airbench and the like) use max-pool and
// convolution at shapes the seed model never did. The tests below run the
// CPU reference on those shapes against the float64 definitions, adding
// only what pool_test.go and conv_test.go do not already cover.

// zooPools: PyTorch floor mode on odd maps (airbench's 31 → 15 and 7 → 3 at
// kernel 2; 7 → 2 at kernel 3 stride 3, which leaves a row and a column no
// window reaches), a non-square map, and a kernel covering the whole map
// (airbench's final MaxPool2d(3) on a 3x3 map) with several planes.
var zooPools = []poolCase{
	{n: 2, c: 3, h: 31, w: 31, kernel: 2, stride: 2, workers: 3},
	{n: 2, c: 4, h: 7, w: 7, kernel: 2, stride: 2},
	{n: 2, c: 3, h: 7, w: 7, kernel: 3, stride: 3},
	{n: 3, c: 2, h: 5, w: 9, kernel: 2, stride: 2, workers: 2},
	{n: 4, c: 5, h: 3, w: 3, kernel: 3, stride: 3},
}

// naivePoolBackward is MaxPool2dBackward's definition in float64: each dy
// added at its window's argmax (as naivePool finds it), zero elsewhere.
func naivePoolBackward(pc poolCase, arg []uint32, dy []float32) []float64 {
	oh, ow := pc.out()
	hw := pc.h * pc.w
	dx := make([]float64, pc.n*pc.c*hw)
	for i, g := range dy {
		dx[i/(oh*ow)*hw+int(arg[i])] += float64(g)
	}
	return dx
}

// TestZooMaxPool checks values, argmax and the backward routing against the
// definition, on values with many ties (as after a ReLU) and on distinct
// ones, from stale outputs; then the gradient against finite differences.
func TestZooMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, pc := range zooPools {
		for _, ties := range []bool{false, true} {
			name := pc.String()
			if ties {
				name += "_ties"
			}
			t.Run(name, func(t *testing.T) {
				b := testBackend(pc.workers)
				oh, ow := pc.out()
				xv := spread(rng, pc.n*pc.c*pc.h*pc.w)
				if ties {
					for i := range xv {
						xv[i] = float32(rng.IntN(3)) - 0.5
					}
				}
				r := uniform(rng, pc.n*pc.c*oh*ow)
				x := newF32(t, b, xv, pc.n, pc.c, pc.h, pc.w)
				y := newF32(t, b, uniform(rng, len(r)), pc.n, pc.c, oh, ow)
				arg := newU32(t, b, make([]uint32, len(r)), pc.n, pc.c, oh, ow)
				dy := newF32(t, b, r, pc.n, pc.c, oh, ow)
				dx := newF32(t, b, uniform(rng, len(xv)), pc.n, pc.c, pc.h, pc.w)
				p := b.NewProgram()
				p.MaxPool2d(x, y, arg, pc.kernel, pc.stride)
				p.MaxPool2dBackward(dy, arg, dx, pc.kernel, pc.stride)
				run(t, p)
				wantY, wantArg := naivePool(pc, xv)
				checkRel(t, "y", getF32(t, b, y), wantY, 0)
				for i, a := range getU32(t, b, arg) {
					if a != wantArg[i] {
						t.Fatalf("argmax[%d] = %d, want %d", i, a, wantArg[i])
					}
				}
				// These windows do not overlap: each dx is one dy or zero, exactly.
				got := getF32(t, b, dx)
				checkRel(t, "dx", got, naivePoolBackward(pc, wantArg, r), 0)
				in := reached(pc)
				for i, v := range got {
					if !in[i%len(in)] && v != 0 {
						t.Fatalf("dx[%d] = %v, which no window reaches: want 0", i, v)
					}
				}
				if ties {
					return
				}
				fwd := b.NewProgram()
				fwd.MaxPool2d(x, y, arg, pc.kernel, pc.stride)
				checkRel(t, "dx vs finite differences", got, numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), fdTol)
			})
		}
	}
}

// zooConvs are the zoo's convolutions, all without bias (a BatchNorm
// follows them), at small sizes and channel counts that are not powers of
// two: 2x2 kernels at stride 2 without padding (a patchify stem, on an even
// and an odd map) and at stride 1 (airbench's whitening layer); 1x1 at
// stride 1 (pointwise) and stride 2 (ResNet's projection shortcuts, in both
// the column and the row layout: C·R·S = C below and above rowMin); 3x3 at
// stride 2 with padding 1 on odd maps and an even one (ResNet's
// downsampling, both layouts).
// Workers 2 and 3 split the batch unevenly.
var zooConvs = []convCase{
	{n: 2, c: 3, h: 8, w: 8, k: 12, r: 2, s: 2, stride: 2, pad: 0},
	{n: 3, c: 5, h: 7, w: 9, k: 6, r: 2, s: 2, stride: 2, pad: 0, workers: 2},
	{n: 2, c: 3, h: 9, w: 9, k: 24, r: 2, s: 2, stride: 1, pad: 0},
	{n: 2, c: 20, h: 5, w: 5, k: 12, r: 1, s: 1, stride: 1, pad: 0},
	{n: 2, c: 12, h: 8, w: 8, k: 20, r: 1, s: 1, stride: 2, pad: 0},
	{n: 3, c: 20, h: 7, w: 7, k: 36, r: 1, s: 1, stride: 2, pad: 0, workers: 3},
	{n: 2, c: 130, h: 5, w: 5, k: 9, r: 1, s: 1, stride: 2, pad: 0},
	{n: 2, c: 5, h: 7, w: 7, k: 10, r: 3, s: 3, stride: 2, pad: 1},
	{n: 3, c: 20, h: 9, w: 9, k: 12, r: 3, s: 3, stride: 2, pad: 1, workers: 2},
	{n: 1, c: 3, h: 15, w: 13, k: 7, r: 3, s: 3, stride: 2, pad: 1},
	{n: 2, c: 7, h: 8, w: 8, k: 10, r: 3, s: 3, stride: 2, pad: 1},
}

// TestZooConv checks all three conv ops without bias (nil b, nil db)
// against the float64 definition, from stale outputs; the 1e-5 bound is
// TestConvAgainstNaive's.
func TestZooConv(t *testing.T) {
	const tol = 1e-5
	layouts := map[[2]bool]bool{}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, cc := range zooConvs {
		g := newConvGeom(cc.n, cc.c, cc.h, cc.w, cc.k, cc.r, cc.s, cc.stride, cc.pad)
		layouts[[2]bool{g.pointwise(), g.rowLayout()}] = true
		t.Run(cc.String(), func(t *testing.T) {
			b := testBackend(cc.workers)
			oh, ow := cc.out()
			xv, wv := uniform(rng, cc.n*cc.c*cc.h*cc.w), uniform(rng, cc.k*cc.c*cc.r*cc.s)
			r := uniform(rng, cc.n*cc.k*oh*ow)
			x := newF32(t, b, xv, cc.n, cc.c, cc.h, cc.w)
			w := newF32(t, b, wv, cc.k, cc.c, cc.r, cc.s)
			y := newF32(t, b, uniform(rng, len(r)), cc.n, cc.k, oh, ow)
			dy := newF32(t, b, r, cc.n, cc.k, oh, ow)
			dx := newF32(t, b, uniform(rng, len(xv)), cc.n, cc.c, cc.h, cc.w)
			dw := newF32(t, b, uniform(rng, len(wv)), cc.k, cc.c, cc.r, cc.s)
			p := b.NewProgram()
			p.Conv2d(x, w, nil, y, cc.stride, cc.pad)
			p.Conv2dBackwardData(dy, w, dx, cc.stride, cc.pad)
			p.Conv2dBackwardWeights(x, dy, dw, nil, cc.stride, cc.pad)
			run(t, p)
			wantDx, wantDw, _ := naiveConvBackward(cc, xv, wv, r)
			checkRel(t, "y", getF32(t, b, y), naiveConv(cc, xv, wv, make([]float32, cc.k)), tol)
			checkRel(t, "dx", getF32(t, b, dx), wantDx, tol)
			checkRel(t, "dw", getF32(t, b, dw), wantDw, tol)
		})
	}
	if len(layouts) != 3 {
		t.Errorf("zooConvs cover %d of the 3 layouts: %v", len(layouts), layouts)
	}
}
