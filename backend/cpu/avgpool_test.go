package cpu

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// avgPoolCases: the zoo's pools (ResNet-18's 4x4 over a 4x4 map and other
// global pools, at few channels), odd maps where floor mode drops a row or
// column, a non-square map, overlapping windows, gaps between windows, a
// 1x1 kernel, and worker counts that split the planes unevenly.
var avgPoolCases = []poolCase{
	{n: 2, c: 5, h: 4, w: 4, kernel: 4, stride: 4},             // ResNet-18's avg_pool2d(out, 4)
	{n: 3, c: 2, h: 8, w: 8, kernel: 8, stride: 8, workers: 2}, // global, 8x8
	{n: 1, c: 3, h: 3, w: 3, kernel: 3, stride: 3},             // global, odd side
	{n: 2, c: 3, h: 31, w: 31, kernel: 2, stride: 2, workers: 3},
	{n: 2, c: 2, h: 7, w: 7, kernel: 3, stride: 3}, // 7 → 2: row and column 6 unreached
	{n: 2, c: 3, h: 5, w: 9, kernel: 2, stride: 2}, // non-square, both sides odd
	{n: 1, c: 2, h: 6, w: 5, kernel: 3, stride: 1}, // overlapping
	{n: 2, c: 3, h: 7, w: 5, kernel: 3, stride: 2}, // overlapping, odd
	{n: 3, c: 1, h: 7, w: 8, kernel: 2, stride: 3}, // gaps
	{n: 1, c: 2, h: 3, w: 4, kernel: 1, stride: 1}, // identity
	{n: 32, c: 32, h: 32, w: 32, kernel: 2, stride: 2, workers: 2},
}

// naiveAvgPool is the definition in float64: the mean of each window.
func naiveAvgPool(pc poolCase, x []float32) []float64 {
	oh, ow := pc.out()
	y := make([]float64, pc.n*pc.c*oh*ow)
	for pl := range pc.n * pc.c {
		plane := x[pl*pc.h*pc.w:]
		for i := range oh {
			for j := range ow {
				var s float64
				for r := range pc.kernel {
					for q := range pc.kernel {
						s += float64(plane[(i*pc.stride+r)*pc.w+j*pc.stride+q])
					}
				}
				y[(pl*oh+i)*ow+j] = s / float64(pc.kernel*pc.kernel)
			}
		}
	}
	return y
}

// naiveAvgPoolBackward is the contract in float64: each dy/kernel² added to
// every element of its window.
func naiveAvgPoolBackward(pc poolCase, dy []float32) []float64 {
	oh, ow := pc.out()
	dx := make([]float64, pc.n*pc.c*pc.h*pc.w)
	for pl := range pc.n * pc.c {
		plane := dx[pl*pc.h*pc.w:]
		for i := range oh {
			for j := range ow {
				g := float64(dy[(pl*oh+i)*ow+j]) / float64(pc.kernel*pc.kernel)
				for r := range pc.kernel {
					for q := range pc.kernel {
						plane[(i*pc.stride+r)*pc.w+j*pc.stride+q] += g
					}
				}
			}
		}
	}
	return dx
}

// reached says which elements of an h x w plane some window covers.
func reached(pc poolCase) []bool {
	oh, ow := pc.out()
	in := make([]bool, pc.h*pc.w)
	for i := range oh {
		for j := range ow {
			for r := range pc.kernel {
				for q := range pc.kernel {
					in[(i*pc.stride+r)*pc.w+j*pc.stride+q] = true
				}
			}
		}
	}
	return in
}

// TestAvgPool checks both ops against the float64 definitions. The float32
// window sums (at most 64 terms here, the 8x8 global pool) are good to a
// few 1e-7 relative, hence 1e-6. Outputs start with stale values, and dx
// must be exactly zero where no window reaches.
func TestAvgPool(t *testing.T) {
	const tol = 1e-6
	rng := rand.New(rand.NewPCG(11, 12))
	for _, pc := range avgPoolCases {
		t.Run(pc.String(), func(t *testing.T) {
			b := testBackend(pc.workers)
			oh, ow := pc.out()
			xv, r := uniform(rng, pc.n*pc.c*pc.h*pc.w), uniform(rng, pc.n*pc.c*oh*ow)
			x := newF32(t, b, xv, pc.n, pc.c, pc.h, pc.w)
			y := newF32(t, b, uniform(rng, len(r)), pc.n, pc.c, oh, ow)
			dy := newF32(t, b, r, pc.n, pc.c, oh, ow)
			dx := newF32(t, b, uniform(rng, len(xv)), pc.n, pc.c, pc.h, pc.w)
			p := b.NewProgram()
			p.AvgPool2d(x, y, pc.kernel, pc.stride)
			p.AvgPool2dBackward(dy, dx, pc.kernel, pc.stride)
			run(t, p)
			checkRel(t, "y", getF32(t, b, y), naiveAvgPool(pc, xv), tol)
			got := getF32(t, b, dx)
			checkRel(t, "dx", got, naiveAvgPoolBackward(pc, r), tol)
			in := reached(pc)
			for i, v := range got {
				if !in[i%len(in)] && v != 0 {
					t.Fatalf("dx[%d] = %v, which no window reaches: want 0", i, v)
				}
			}
		})
	}
}

// TestAvgPoolGradient checks AvgPool2dBackward against float64 central
// differences of AvgPool2d (see fdTol: the op is linear, so only the
// rounding of the forward output remains).
func TestAvgPoolGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, pc := range avgPoolCases[:len(avgPoolCases)-1] {
		t.Run(pc.String(), func(t *testing.T) {
			b := testBackend(pc.workers)
			oh, ow := pc.out()
			xv, r := uniform(rng, pc.n*pc.c*pc.h*pc.w), uniform(rng, pc.n*pc.c*oh*ow)
			x := newF32(t, b, xv, pc.n, pc.c, pc.h, pc.w)
			y := newF32(t, b, nil, pc.n, pc.c, oh, ow)
			dy := newF32(t, b, r, pc.n, pc.c, oh, ow)
			dx := newF32(t, b, nil, pc.n, pc.c, pc.h, pc.w)
			fwd := b.NewProgram()
			fwd.AvgPool2d(x, y, pc.kernel, pc.stride)
			bwd := b.NewProgram()
			bwd.AvgPool2dBackward(dy, dx, pc.kernel, pc.stride)
			run(t, bwd)
			checkRel(t, "dx", getF32(t, b, dx), numGrad(t, b, fwd, x, xv, y, r, fdEps, nil), fdTol)
		})
	}
}

// TestAvgPoolByHand pins values worked out by hand: a 3x3 plane pooled
// 2x2 with stride 1 (the centre is in all four windows) and with stride 2
// (floor mode: one window; the last row and column get nothing).
func TestAvgPoolByHand(t *testing.T) {
	xv := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, tc := range []struct {
		stride    int
		dy, y, dx []float32
	}{
		{1, []float32{4, 8, 12, 16}, []float32{3, 4, 6, 7}, []float32{1, 3, 2, 4, 10, 6, 3, 7, 4}},
		{2, []float32{4}, []float32{3}, []float32{1, 1, 0, 1, 1, 0, 0, 0, 0}},
	} {
		b := New()
		o := (3-2)/tc.stride + 1
		x := newF32(t, b, xv, 1, 1, 3, 3)
		y := newF32(t, b, nil, 1, 1, o, o)
		dy := newF32(t, b, tc.dy, 1, 1, o, o)
		dx := newF32(t, b, nil, 1, 1, 3, 3)
		p := b.NewProgram()
		p.AvgPool2d(x, y, 2, tc.stride)
		p.AvgPool2dBackward(dy, dx, 2, tc.stride)
		run(t, p)
		for name, c := range map[string][2][]float32{"y": {getF32(t, b, y), tc.y}, "dx": {getF32(t, b, dx), tc.dx}} {
			for i := range c[1] {
				if c[0][i] != c[1][i] {
					t.Errorf("stride %d: %s = %v, want %v", tc.stride, name, c[0], c[1])
					break
				}
			}
		}
	}
}

// TestAvgPoolErrors: bad arguments are errors that name the op and the
// argument, recorded by the program and returned by Run, never panics.
func TestAvgPoolErrors(t *testing.T) {
	b := New()
	x := newF32(t, b, nil, 1, 2, 5, 5)
	y := newF32(t, b, nil, 1, 2, 2, 2)
	y3 := newF32(t, b, nil, 1, 2, 3, 3)
	u := newU32(t, b, nil, 1, 2, 2, 2)
	flat := newF32(t, b, nil, 2, 5, 5)
	view, err := b.View(x, 1, 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	var typedNil *Tensor
	other := &avgPoolForeign{}
	for _, tc := range []struct {
		name   string
		record func(p backend.Program)
		want   string
	}{
		{"nil x", func(p backend.Program) { p.AvgPool2d(nil, y, 2, 2) }, "AvgPool2d: x is missing"},
		{"typed nil y", func(p backend.Program) { p.AvgPool2d(x, typedNil, 2, 2) }, "AvgPool2d: y is missing"},
		{"nil dy", func(p backend.Program) { p.AvgPool2dBackward(nil, x, 2, 2) }, "AvgPool2dBackward: dy is missing"},
		{"output shape", func(p backend.Program) { p.AvgPool2d(x, y3, 2, 2) }, "AvgPool2d: y has shape [1 2 3 3], want [1 2 2 2]"},
		{"backward shape", func(p backend.Program) { p.AvgPool2dBackward(y3, x, 2, 2) }, "AvgPool2dBackward: dy has shape [1 2 3 3], want [1 2 2 2]"},
		{"dtype", func(p backend.Program) { p.AvgPool2d(x, u, 2, 2) }, "y is uint32[1 2 2 2], want float32"},
		{"rank", func(p backend.Program) { p.AvgPool2d(flat, y, 2, 2) }, "x has shape [2 5 5], want 4 dimensions"},
		{"kernel 0", func(p backend.Program) { p.AvgPool2d(x, y, 0, 2) }, "kernel 0 and stride 2: need both >= 1"},
		{"stride 0", func(p backend.Program) { p.AvgPool2dBackward(y, x, 2, 0) }, "kernel 2 and stride 0"},
		{"kernel too big", func(p backend.Program) { p.AvgPool2d(x, y, 6, 1) }, "kernel 6 does not fit x [1 2 5 5]"},
		{"in place", func(p backend.Program) { p.AvgPool2d(x, view, 3, 2) }, "share storage"},
		{"backward in place", func(p backend.Program) { p.AvgPool2dBackward(view, x, 3, 2) }, "share storage"},
		{"foreign tensor", func(p backend.Program) { p.AvgPool2d(x, other, 3, 2) }, "AvgPool2d: y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			tc.record(p)
			err := p.Run(1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error containing %q", err, tc.want)
			}
			if p.Err() == nil {
				t.Fatal("Err is nil after a failed record")
			}
		})
	}
}

// avgPoolForeign is a tensor of no backend, with a shape the checks accept.
type avgPoolForeign struct{}

func (*avgPoolForeign) Shape() []int         { return []int{1, 2, 2, 2} }
func (*avgPoolForeign) DType() backend.DType { return backend.F32 }
func (*avgPoolForeign) Len() int             { return 8 }
