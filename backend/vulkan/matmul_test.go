package vulkan

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// gemmOps records the GEMM-shaped ops with a forced variant on the Vulkan
// program, and plainly on the CPU reference.
type gemmOps struct {
	o backend.Ops
	v gemmVariant
}

func (g gemmOps) MatMul(a, b, c backend.Tensor, transA, transB bool) {
	if p, ok := g.o.(*Program); ok {
		p.matmul(g.v, a, b, c, nil, transA, transB, backend.Epilogue{})
		return
	}
	g.o.MatMul(a, b, c, transA, transB)
}

func (g gemmOps) Conv2d(x, w, b, y backend.Tensor, stride, pad int) {
	if p, ok := g.o.(*Program); ok {
		p.conv2d(g.v, x, w, b, y, stride, pad, backend.Epilogue{})
		return
	}
	g.o.Conv2d(x, w, b, y, stride, pad)
}

func (g gemmOps) Conv2dBackwardData(dy, w, dx backend.Tensor, stride, pad int) {
	if p, ok := g.o.(*Program); ok {
		p.conv2dBackwardData(g.v, dy, w, dx, stride, pad, backend.Epilogue{})
		return
	}
	g.o.Conv2dBackwardData(dy, w, dx, stride, pad)
}

func (g gemmOps) Conv2dBackwardWeights(x, dy, dw, db backend.Tensor, stride, pad int) {
	if p, ok := g.o.(*Program); ok {
		p.conv2dBackwardWeights(g.v, x, dy, dw, db, stride, pad)
		return
	}
	g.o.Conv2dBackwardWeights(x, dy, dw, db, stride, pad)
}

// TestFastDiv checks the shaders' division by multiply-high and shift,
// computed here as gemmDiv computes it, against Go's division.
func TestFastDiv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := []int{1, 2, 3, 5, 7, 9, 25, 27, 32, 33, 288, 1024, 1000, 4095, 65535, 65537, 1<<20 + 1, 1<<31 - 1}
	for range 200 {
		ds = append(ds, 1+rng.IntN(1<<rng.IntN(31)))
	}
	for _, d := range ds {
		mul, shift := fastDiv(d)
		xs := []uint32{0, 1, uint32(d - 1), uint32(d), uint32(d + 1), 1<<31 - 1, 1<<31 - 2, uint32(d) * uint32((1<<31-1)/d)}
		for range 300 {
			xs = append(xs, rng.Uint32N(1<<31))
		}
		for _, x := range xs {
			q := x
			if mul != 0 {
				q = uint32(uint64(x)*uint64(mul)>>32) >> shift
			}
			if want := x / uint32(d); q != want {
				t.Fatalf("%d / %d: got %d, want %d (mul %d, shift %d)", x, d, q, want, mul, shift)
			}
		}
	}
}

func TestVariantFor(t *testing.T) {
	for _, tc := range []struct {
		dt   gpu.DeviceType
		want gemmVariant
	}{{gpu.CPU, gemmRegisters}, {gpu.Other, gemmRegisters}, {gpu.DiscreteGPU, gemmShared},
		{gpu.IntegratedGPU, gemmShared}, {gpu.VirtualGPU, gemmShared}} {
		if got := variantFor(tc.dt); got != tc.want {
			t.Errorf("variantFor(%s) = %s, want %s", tc.dt, got, tc.want)
		}
	}
}

// TestSplitK checks that the reduction slices cover k exactly, none empty,
// and that small outputs with long reductions are split.
func TestSplitK(t *testing.T) {
	b := gpuBackend(t)
	for _, v := range gemmVariants {
		for _, s := range [][3]int{{1, 1, 1}, {7, 9, 2000}, {32, 289, 32768}, {32, 512, 8192}, {512, 8192, 32}, {10, 512, 32}, {5, 5, 100000}} {
			m, n, k := s[0], s[1], s[2]
			tl := b.tilesFor(v, m, n)
			kSplit, splits := b.splitK(tl, m, n, k)
			if splits < 1 || kSplit < 1 || (splits-1)*kSplit >= k || splits*kSplit < k {
				t.Errorf("%s %v: %d slices of %d do not cover k = %d without an empty slice", v, s, splits, kSplit, k)
			}
			if splits > 1 && kSplit%tl.bk != 0 {
				t.Errorf("%s %v: slice length %d is not a multiple of bk %d", v, s, kSplit, tl.bk)
			}
			if m*n <= 63 && k >= 2000 && splits == 1 {
				t.Errorf("%s %v: a one-tile output with a long reduction was not split", v, s)
			}
		}
	}
}

type matmulCase struct {
	m, n, k int
	transA  bool
	transB  bool
}

func (c matmulCase) String() string {
	return fmt.Sprintf("%dx%dx%d,ta=%v,tb=%v", c.m, c.n, c.k, c.transA, c.transB)
}

// matmulCases: small odd shapes with every transpose combination, shapes
// that split the reduction, and the seed model's Linear layers (8192→512 at
// batch 4, 512→10 at batch 32): forward x·Wᵀ, dX = dY·W, dW = dYᵀ·X.
func matmulCases() []matmulCase {
	var cs []matmulCase
	for _, s := range [][3]int{{1, 1, 1}, {7, 33, 65}, {65, 130, 7}, {33, 1, 130}, {130, 65, 33}, {1, 7, 2000}, {7, 9, 2000}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				cs = append(cs, matmulCase{s[0], s[1], s[2], ta, tb})
			}
		}
	}
	return append(cs,
		matmulCase{4, 512, 8192, false, true}, matmulCase{4, 8192, 512, false, false}, matmulCase{512, 8192, 4, true, false},
		matmulCase{32, 10, 512, false, true}, matmulCase{32, 512, 10, false, false}, matmulCase{10, 512, 32, true, false})
}

func TestMatMul(t *testing.T) {
	for _, v := range gemmVariants {
		for _, c := range matmulCases() {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				ashape, bshape := []int{c.m, c.k}, []int{c.k, c.n}
				if c.transA {
					ashape = []int{c.k, c.m}
				}
				if c.transB {
					bshape = []int{c.n, c.k}
				}
				a, b := h.input(ashape...), h.input(bshape...)
				out := h.output(backend.F32, c.m, c.n)
				h.run(1, func(o backend.Ops, s side) {
					gemmOps{o, v}.MatMul(s(a), s(b), s(out), c.transA, c.transB)
				})
				h.close("c", out, tolReduction)
			})
		}
	}
}

func TestMatMulErrors(t *testing.T) {
	b := gpuBackend(t)
	a, _ := b.NewTensor(backend.F32, 3, 4)
	c, _ := b.NewTensor(backend.F32, 3, 3)
	p := b.NewProgram()
	defer p.Close()
	p.MatMul(a, a, c, false, false)
	if p.Err() == nil {
		t.Fatal("MatMul of 3x4 by 3x4 recorded no error")
	}
}

// gemmBenchmark times a recorded program and reports its GFLOP/s.
func gemmBenchmark(b *testing.B, g *Backend, flops float64, record func(p *Program)) {
	p := g.NewProgram().(*Program)
	defer p.Close()
	record(p)
	if err := p.Run(1); err != nil { // builds pipelines, warms caches
		b.Fatal(err)
	}
	runs := 0
	start := time.Now()
	for b.Loop() {
		if err := p.Run(1); err != nil {
			b.Fatal(err)
		}
		runs++
	}
	b.ReportMetric(flops*float64(runs)/time.Since(start).Seconds()/1e9, "GFLOP/s")
}

// BenchmarkMatMul times the seed model's Linear layers at batch 32 with
// every GEMM variant.
func BenchmarkMatMul(b *testing.B) {
	g := gpuBackend(b)
	cases := []struct {
		name string
		c    matmulCase
	}{
		{"fc3-forward", matmulCase{32, 512, 8192, false, true}},
		{"fc3-dx", matmulCase{32, 8192, 512, false, false}},
		{"fc3-dw", matmulCase{512, 8192, 32, true, false}},
		{"fc4-forward", matmulCase{32, 10, 512, false, true}},
		{"fc4-dx", matmulCase{32, 512, 10, false, false}},
		{"fc4-dw", matmulCase{10, 512, 32, true, false}},
	}
	for _, v := range gemmVariants {
		for _, tc := range cases {
			b.Run(v.String()+"/"+tc.name, func(b *testing.B) {
				c := tc.c
				ashape, bshape := []int{c.m, c.k}, []int{c.k, c.n}
				if c.transA {
					ashape = []int{c.k, c.m}
				}
				if c.transB {
					bshape = []int{c.n, c.k}
				}
				x := benchTensor(b, g, ashape...)
				w := benchTensor(b, g, bshape...)
				out := benchTensor(b, g, c.m, c.n)
				gemmBenchmark(b, g, 2*float64(c.m*c.n*c.k), func(p *Program) {
					p.matmul(v, x, w, out, nil, c.transA, c.transB, backend.Epilogue{})
				})
			})
		}
	}
}

// benchTensor is a tensor of random values in [-1, 1).
func benchTensor(b testing.TB, g *Backend, shape ...int) backend.Tensor {
	t, err := g.NewTensor(backend.F32, shape...)
	if err != nil {
		b.Fatal(err)
	}
	v := make([]float32, t.Len())
	for i := range v {
		v[i] = rand.Float32()*2 - 1
	}
	if err := g.Upload(t, v); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(t.(*Tensor).buf.Close)
	return t
}

// TestSharedTiles checks the shared variant's blockings against what
// shaders/gemm.glsl assumes, on the devices it must serve: the fixed shared
// buffers hold a slice of each operand, a thread loads at most gemmLoadMax
// vec4 groups of each, tiles are powers of two wide in vec4s (the swizzle),
// per-thread blocks are 4 or 8, and the workgroup fits the device.
func TestSharedTiles(t *testing.T) {
	devices := map[string]gpu.Info{
		"discrete":    {Type: gpu.DiscreteGPU, MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, SubgroupSize: 32},
		"minimum":     {Type: gpu.IntegratedGPU, MaxWorkgroupInvocations: 128, MaxWorkgroupSize: [3]uint32{128, 128, 64}, SubgroupSize: 16},
		"swiftshader": {Type: gpu.CPU, MaxWorkgroupInvocations: 256, MaxWorkgroupSize: [3]uint32{256, 256, 256}, SubgroupSize: 4},
	}
	pow2 := func(x int) bool { return x > 0 && x&(x-1) == 0 }
	for name, info := range devices {
		for _, m := range []int{1, 7, 10, 32, 33, 64, 100, 128, 512, 4096} {
			for _, n := range []int{1, 10, 28, 32, 289, 512, 8192, 32768} {
				tl := sharedTiles(info, m, n)
				nt := tl.wgX * tl.wgY
				la := (tl.bk*tl.bm()/4 + nt - 1) / nt
				lb := (tl.bk*tl.bn()/4 + nt - 1) / nt
				ok := tl.shared && tl.bk >= 4 && tl.bk*tl.bm()/4 <= gemmTileVec4 && tl.bk*tl.bn()/4 <= gemmTileVec4 &&
					la <= gemmLoadMax && lb <= gemmLoadMax && pow2(tl.bm()/4) && pow2(tl.bn()/4) &&
					(tl.tm == 4 || tl.tm == 8) && (tl.tn == 4 || tl.tn == 8) &&
					nt <= int(info.MaxWorkgroupInvocations) && nt%int(info.SubgroupSize) == 0 &&
					tl.wgX <= int(info.MaxWorkgroupSize[0]) && tl.wgY <= int(info.MaxWorkgroupSize[1])
				if !ok {
					t.Errorf("%s, %dx%d: tiles %+v (loads %d, %d)", name, m, n, tl, la, lb)
				}
			}
		}
	}
}
