package vulkan

import (
	"fmt"
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

type convCase struct {
	n, c, h, w  int // input
	k, r, s     int // filters
	stride, pad int
	bias        bool // with a bias (forward) and a bias gradient (backward)
}

func (c convCase) String() string {
	return fmt.Sprintf("x%dx%dx%dx%d,w%dx%dx%d,s%d,p%d,bias=%v", c.n, c.c, c.h, c.w, c.k, c.r, c.s, c.stride, c.pad, c.bias)
}

func (c convCase) out() (oh, ow int) {
	return (c.h+2*c.pad-c.r)/c.stride + 1, (c.w+2*c.pad-c.s)/c.stride + 1
}

// convCases: the seed model's convolutions (3→32 at batch 32, 32→32 at batch
// 2: lavapipe is slow; the benchmark runs batch 32), and small odd shapes:
// batch 1, odd channels and image sides, strides 2 and 3, kernels 1, 5 and
// 2x3, padding 0-2, a kernel larger than the image, more filters than a tile
// holds, a reduction long enough to be split.
var convCases = []convCase{
	{32, 3, 32, 32, 32, 3, 3, 1, 1, true},
	{2, 32, 32, 32, 32, 3, 3, 1, 1, true},
	{1, 3, 5, 7, 5, 3, 3, 1, 1, true},
	{2, 5, 7, 5, 7, 5, 5, 2, 2, false},
	{3, 5, 9, 11, 3, 3, 3, 2, 0, true},
	{1, 1, 1, 1, 1, 1, 1, 1, 0, true},
	{2, 4, 6, 6, 6, 2, 3, 3, 1, true},
	{1, 7, 13, 10, 65, 5, 5, 1, 2, true},
	{2, 3, 8, 8, 33, 1, 1, 1, 0, false},
	{1, 2, 3, 3, 4, 5, 5, 1, 2, true},
	{2, 3, 17, 19, 5, 3, 3, 1, 1, true},
	{1, 5, 3, 5, 130, 3, 3, 2, 1, true},
}

func TestConv2d(t *testing.T) {
	for _, v := range gemmVariants {
		for _, c := range convCases {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				oh, ow := c.out()
				x, w := h.input(c.n, c.c, c.h, c.w), h.input(c.k, c.c, c.r, c.s)
				var b pair
				if c.bias {
					b = h.input(c.k)
				}
				y := h.output(backend.F32, c.n, c.k, oh, ow)
				h.run(1, func(o backend.Ops, s side) {
					var bt backend.Tensor
					if c.bias {
						bt = s(b)
					}
					gemmOps{o, v}.Conv2d(s(x), s(w), bt, s(y), c.stride, c.pad)
				})
				h.close("y", y, tolReduction)
			})
		}
	}
}

func TestConv2dBackwardData(t *testing.T) {
	for _, v := range gemmVariants {
		for _, c := range convCases {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				oh, ow := c.out()
				dy, w := h.input(c.n, c.k, oh, ow), h.input(c.k, c.c, c.r, c.s)
				dx := h.output(backend.F32, c.n, c.c, c.h, c.w)
				h.run(1, func(o backend.Ops, s side) {
					gemmOps{o, v}.Conv2dBackwardData(s(dy), s(w), s(dx), c.stride, c.pad)
				})
				h.close("dx", dx, tolReduction)
			})
		}
	}
}

func TestConv2dBackwardWeights(t *testing.T) {
	for _, v := range gemmVariants {
		for _, c := range convCases {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				oh, ow := c.out()
				x, dy := h.input(c.n, c.c, c.h, c.w), h.input(c.n, c.k, oh, ow)
				dw := h.output(backend.F32, c.k, c.c, c.r, c.s)
				var db pair
				if c.bias {
					db = h.output(backend.F32, c.k)
				}
				h.run(1, func(o backend.Ops, s side) {
					var dbt backend.Tensor
					if c.bias {
						dbt = s(db)
					}
					gemmOps{o, v}.Conv2dBackwardWeights(s(x), s(dy), s(dw), dbt, c.stride, c.pad)
				})
				h.close("dw", dw, tolReduction)
				if c.bias {
					h.close("db", db, tolReduction)
				}
			})
		}
	}
}

// TestConv2dBackwardWeightsDeterministic runs the split-K reduction twice,
// with the outputs poisoned in between, and wants the same bits.
func TestConv2dBackwardWeightsDeterministic(t *testing.T) {
	g := gpuBackend(t)
	for _, v := range gemmVariants {
		for _, c := range []convCase{convCases[0], convCases[1], convCases[10]} {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				oh, ow := c.out()
				x, dy := h.input(c.n, c.c, c.h, c.w), h.input(c.n, c.k, oh, ow)
				dw := h.output(backend.F32, c.k, c.c, c.r, c.s)
				db := h.output(backend.F32, c.k)
				p := g.NewProgram().(*Program)
				defer p.Close()
				p.conv2dBackwardWeights(v, x.gpu, dy.gpu, dw.gpu, db.gpu, c.stride, c.pad)
				var runs [2][]float32
				for i := range runs {
					poison(t, g, dw.gpu, db.gpu)
					if err := p.Run(1); err != nil {
						t.Fatal(err)
					}
					runs[i] = append(h.floats(g, dw.gpu), h.floats(g, db.gpu)...)
				}
				sameBits(t, runs[0], runs[1])
			})
		}
	}
}

// poison fills GPU tensors with NaN.
func poison(t *testing.T, g *Backend, ts ...backend.Tensor) {
	t.Helper()
	for _, x := range ts {
		v := make([]float32, x.Len())
		for i := range v {
			v[i] = float32(math.NaN())
		}
		if err := g.Upload(x, v); err != nil {
			t.Fatal(err)
		}
	}
}

// sameBits fails unless two runs' outputs are bit-identical (and not NaN).
func sameBits(t *testing.T, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.IsNaN(float64(a[i])) || math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("element %d: %v on the first run, %v on the second", i, a[i], b[i])
		}
	}
}

func TestConvErrors(t *testing.T) {
	g := gpuBackend(t)
	x, _ := g.NewTensor(backend.F32, 1, 3, 8, 8)
	w, _ := g.NewTensor(backend.F32, 4, 2, 3, 3) // 2 channels, x has 3
	y, _ := g.NewTensor(backend.F32, 1, 4, 8, 8)
	b, _ := g.NewTensor(backend.F32, 5)
	w3, _ := g.NewTensor(backend.F32, 4, 3, 3, 3)
	for name, record := range map[string]func(p backend.Program){
		"channels":             func(p backend.Program) { p.Conv2d(x, w, nil, y, 1, 1) },
		"bias length":          func(p backend.Program) { p.Conv2d(x, w3, b, y, 1, 1) },
		"output shape":         func(p backend.Program) { p.Conv2d(x, w3, nil, y, 2, 1) },
		"stride 0":             func(p backend.Program) { p.Conv2d(x, w3, nil, y, 0, 1) },
		"backward data shape":  func(p backend.Program) { p.Conv2dBackwardData(y, w3, x, 1, 0) },
		"backward bias length": func(p backend.Program) { p.Conv2dBackwardWeights(x, y, w3, b, 1, 1) },
	} {
		p := g.NewProgram()
		record(p)
		if p.Err() == nil {
			t.Errorf("%s: no error recorded", name)
		}
		p.Close()
	}
}

// BenchmarkConv times the seed model's convolutions at batch 32 (3→32 and
// 32→32, 3x3, padding 1, on 32x32 images) with every GEMM variant.
func BenchmarkConv(b *testing.B) {
	g := gpuBackend(b)
	for _, v := range gemmVariants {
		for _, tc := range []struct {
			name string
			c    convCase
		}{{"conv1", convCase{32, 3, 32, 32, 32, 3, 3, 1, 1, true}}, {"conv2", convCase{32, 32, 32, 32, 32, 3, 3, 1, 1, true}}} {
			c := tc.c
			oh, ow := c.out()
			flops := 2 * float64(c.n*c.k*oh*ow*c.c*c.r*c.s)
			for _, op := range []string{"forward", "backward-data", "backward-weights"} {
				b.Run(v.String()+"/"+tc.name+"-"+op, func(b *testing.B) {
					x := benchTensor(b, g, c.n, c.c, c.h, c.w)
					w := benchTensor(b, g, c.k, c.c, c.r, c.s)
					bias := benchTensor(b, g, c.k)
					y := benchTensor(b, g, c.n, c.k, oh, ow)
					gemmBenchmark(b, g, flops, func(p *Program) {
						switch op {
						case "forward":
							p.conv2d(v, x, w, bias, y, c.stride, c.pad, backend.Epilogue{})
						case "backward-data":
							p.conv2dBackwardData(v, y, w, x, c.stride, c.pad, backend.Epilogue{})
						case "backward-weights":
							p.conv2dBackwardWeights(v, x, y, w, bias, c.stride, c.pad)
						}
					})
				})
			}
		}
	}
}
