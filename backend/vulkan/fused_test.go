package vulkan

import (
	"fmt"
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// The fused ops are checked three ways: against the CPU reference (to the
// bit where the unfused ops are bit-exact, else to the GEMM tolerance), and
// on the GPU against the GPU's own unfused ops, to the bit: the fused
// kernel must store exactly what the unfused sequence does.

// epilogueCase is an epilogue to test, built from a harness's tensors.
type epilogueCase struct {
	name string
	make func(h *harness, y []int, cols int) pairEpilogue
}

// pairEpilogue is an Epilogue on both backends.
type pairEpilogue struct {
	bias, ctr, mask pair
	e               backend.Epilogue
}

func (pe pairEpilogue) on(s side) backend.Epilogue {
	e := pe.e
	if pe.bias.cpu != nil {
		e.Bias = s(pe.bias)
	}
	if pe.ctr.cpu != nil {
		e.Ctr = s(pe.ctr)
	}
	if pe.mask.cpu != nil {
		e.Mask = s(pe.mask)
	}
	return e
}

// maskInput is a ReLU-then-dropout output: non-negative, a third of it
// zero, so the mask both passes and blocks.
func (h *harness) maskInput(shape ...int) pair {
	p := h.alloc(backend.F32, shape)
	v := make([]float32, p.cpu.Len())
	for i := range v {
		if h.rng.IntN(3) > 0 {
			v[i] = h.rng.Float32() + 1e-3
		}
	}
	h.upload(p, v)
	return p
}

var epilogueCases = []epilogueCase{
	{"bias", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{bias: h.input(cols)}
	}},
	{"bias+relu+dropout", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{bias: h.input(cols), ctr: h.counters(5, 0),
			e: backend.Epilogue{ReLU: true, P: 0.5, Seed: 3, Stream: 2}}
	}},
	{"relu", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{e: backend.Epilogue{ReLU: true}}
	}},
	{"relu+dropout", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{ctr: h.counters(9, 0), e: backend.Epilogue{ReLU: true, P: 0.3, Seed: 1, Stream: 1}}
	}},
	{"mask-relu", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{mask: h.maskInput(y...)}
	}},
	{"mask-relu-dropout", func(h *harness, y []int, cols int) pairEpilogue {
		return pairEpilogue{mask: h.maskInput(y...), e: backend.Epilogue{MaskP: 0.3}}
	}},
}

// sameAsUnfused fails unless the fused op's GPU output has the bits of the
// GPU's unfused ops' output.
func (h *harness) sameAsUnfused(name string, fused, unfused pair) {
	h.t.Helper()
	a, b := h.floats(h.gpu, fused.gpu), h.floats(h.gpu, unfused.gpu)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			h.t.Fatalf("%s: element %d is %v (%#08x) fused, %v (%#08x) unfused", name, i,
				a[i], math.Float32bits(a[i]), b[i], math.Float32bits(b[i]))
		}
	}
}

// runGPU records and runs ops on the GPU only.
func (h *harness) runGPU(record func(p *Program)) {
	h.t.Helper()
	p := h.gpu.NewProgram().(*Program)
	defer p.Close()
	record(p)
	if err := p.Run(1); err != nil {
		h.t.Fatal(err)
	}
}

func TestMatMulEpilogue(t *testing.T) {
	// Odd shapes; the last two split K, so the reduction applies the
	// epilogue. (Few: every epilogue is a pipeline to compile on lavapipe.)
	shapes := []matmulCase{{7, 33, 65, false, true}, {4, 512, 2000, false, true}, {5, 9, 2000, true, false}}
	for _, v := range gemmVariants {
		for _, c := range shapes {
			for _, ec := range epilogueCases {
				t.Run(fmt.Sprintf("%s/%s/%s", v, c, ec.name), func(t *testing.T) {
					h := newHarness(t)
					ashape, bshape := []int{c.m, c.k}, []int{c.k, c.n}
					if c.transA {
						ashape = []int{c.k, c.m}
					}
					if c.transB {
						bshape = []int{c.n, c.k}
					}
					a, b := h.input(ashape...), h.input(bshape...)
					pe := ec.make(h, []int{c.m, c.n}, c.n)
					y, y2 := h.output(backend.F32, c.m, c.n), h.output(backend.F32, c.m, c.n)
					h.run(1, func(o backend.Ops, s side) {
						e := pe.on(s)
						if p, ok := o.(*Program); ok {
							p.matmul(v, s(a), s(b), s(y), nil, c.transA, c.transB, e)
							return
						}
						o.MatMulEpilogue(s(a), s(b), s(y), c.transA, c.transB, e)
					})
					h.close("y", y, tolReduction)
					h.runGPU(func(p *Program) {
						p.matmul(v, a.gpu, b.gpu, y2.gpu, nil, c.transA, c.transB, backend.Epilogue{})
						pe.on(func(x pair) backend.Tensor { return x.gpu }).Unfused(p, y2.gpu)
					})
					h.sameAsUnfused("y", y, y2)
				})
			}
		}
	}
}

func TestConv2dEpilogue(t *testing.T) {
	cases := []convCase{convCases[3], convCases[10]} // stride 2 without bias; odd sides with bias
	for _, v := range gemmVariants {
		for _, c := range cases {
			for _, ec := range epilogueCases[2:] {
				t.Run(fmt.Sprintf("%s/%s/%s", v, c, ec.name), func(t *testing.T) {
					h := newHarness(t)
					oh, ow := c.out()
					yshape := []int{c.n, c.k, oh, ow}
					x, w, bias := h.input(c.n, c.c, c.h, c.w), h.input(c.k, c.c, c.r, c.s), h.input(c.k)
					pe := ec.make(h, yshape, 0)
					y, y2 := h.output(backend.F32, yshape...), h.output(backend.F32, yshape...)
					h.run(1, func(o backend.Ops, s side) {
						var bt backend.Tensor
						if c.bias {
							bt = s(bias)
						}
						if p, ok := o.(*Program); ok {
							p.conv2d(v, s(x), s(w), bt, s(y), c.stride, c.pad, pe.on(s))
							return
						}
						o.Conv2dEpilogue(s(x), s(w), bt, s(y), c.stride, c.pad, pe.on(s))
					})
					h.close("y", y, tolReduction)
					h.runGPU(func(p *Program) {
						var bt backend.Tensor
						if c.bias {
							bt = bias.gpu
						}
						p.conv2d(v, x.gpu, w.gpu, bt, y2.gpu, c.stride, c.pad, backend.Epilogue{})
						pe.on(func(x pair) backend.Tensor { return x.gpu }).Unfused(p, y2.gpu)
					})
					h.sameAsUnfused("y", y, y2)
				})
			}
		}
	}
}

func TestConv2dBackwardDataEpilogue(t *testing.T) {
	cases := []convCase{convCases[3], convCases[10]}
	for _, v := range gemmVariants {
		for _, c := range cases {
			for _, ec := range epilogueCases[4:] {
				t.Run(fmt.Sprintf("%s/%s/%s", v, c, ec.name), func(t *testing.T) {
					h := newHarness(t)
					oh, ow := c.out()
					xshape := []int{c.n, c.c, c.h, c.w}
					dy, w := h.input(c.n, c.k, oh, ow), h.input(c.k, c.c, c.r, c.s)
					pe := ec.make(h, xshape, 0)
					dx, dx2 := h.output(backend.F32, xshape...), h.output(backend.F32, xshape...)
					h.run(1, func(o backend.Ops, s side) {
						if p, ok := o.(*Program); ok {
							p.conv2dBackwardData(v, s(dy), s(w), s(dx), c.stride, c.pad, pe.on(s))
							return
						}
						o.Conv2dBackwardDataEpilogue(s(dy), s(w), s(dx), c.stride, c.pad, pe.on(s))
					})
					h.close("dx", dx, tolReduction)
					h.runGPU(func(p *Program) {
						p.conv2dBackwardData(v, dy.gpu, w.gpu, dx2.gpu, c.stride, c.pad, backend.Epilogue{})
						pe.on(func(x pair) backend.Tensor { return x.gpu }).Unfused(p, dx2.gpu)
					})
					h.sameAsUnfused("dx", dx, dx2)
				})
			}
		}
	}
}

// TestEpilogueErrors: a bias on a convolution's epilogue, a bias of the
// wrong length and a mask of the wrong shape are refused.
func TestEpilogueErrors(t *testing.T) {
	b := gpuBackend(t)
	x, _ := b.NewTensor(backend.F32, 1, 1, 3, 3)
	w, _ := b.NewTensor(backend.F32, 2, 1, 3, 3)
	y, _ := b.NewTensor(backend.F32, 1, 2, 1, 1)
	a, _ := b.NewTensor(backend.F32, 3, 4)
	c, _ := b.NewTensor(backend.F32, 3, 5)
	bias4, _ := b.NewTensor(backend.F32, 4)
	for name, record := range map[string]func(p backend.Program){
		"conv bias": func(p backend.Program) { p.Conv2dEpilogue(x, w, nil, y, 1, 0, backend.Epilogue{Bias: bias4}) },
		"bias shape": func(p backend.Program) {
			p.MatMulEpilogue(a, bias4Matrix(b), c, false, false, backend.Epilogue{Bias: bias4})
		},
		"mask shape": func(p backend.Program) {
			p.MatMulEpilogue(a, bias4Matrix(b), c, false, false, backend.Epilogue{Mask: a})
		},
		"mask p": func(p backend.Program) {
			p.MatMulEpilogue(a, bias4Matrix(b), c, false, false, backend.Epilogue{Mask: c, MaskP: 1})
		},
	} {
		p := b.NewProgram()
		record(p)
		if p.Err() == nil {
			t.Errorf("%s: no error", name)
		}
		p.Close()
	}
}

func bias4Matrix(b *Backend) backend.Tensor {
	t, _ := b.NewTensor(backend.F32, 4, 5)
	return t
}

func TestMatMulBiasGrad(t *testing.T) {
	// dW = dYᵀ·X with db = Σ rows of dY, as a Linear layer's backward has
	// them (the last splits K), and a plain row sum of a.
	cases := []matmulCase{{10, 512, 32, true, false}, {7, 33, 5, true, false}, {3, 9, 2000, true, false}, {5, 6, 70, false, false}}
	for _, v := range gemmVariants {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				ashape := []int{c.m, c.k}
				if c.transA {
					ashape = []int{c.k, c.m}
				}
				a, b := h.input(ashape...), h.input(c.k, c.n)
				dw, db := h.output(backend.F32, c.m, c.n), h.output(backend.F32, c.m)
				h.run(1, func(o backend.Ops, s side) {
					if p, ok := o.(*Program); ok {
						p.matmul(v, s(a), s(b), s(dw), s(db), c.transA, c.transB, backend.Epilogue{})
						return
					}
					o.MatMulBiasGrad(s(a), s(b), s(dw), s(db), c.transA, c.transB)
				})
				h.close("dw", dw, tolReduction)
				h.close("db", db, tolReduction)
			})
		}
	}
}

// TestReLUDropoutBackward: from x, r = ReLU(x) and y = Dropout(r) as a
// layer computes them, the fused gradient from y equals
// ReLUBackward(r, DropoutBackward(dy)), the unfused ops as the model used
// to record them (with the ReLU's own output), to the bit on both backends.
// Wide inputs reach subnormals and huge values.
func TestReLUDropoutBackward(t *testing.T) {
	for _, prob := range []float32{0, 0.3, 0.5} {
		for _, shape := range elementShapes {
			t.Run(fmt.Sprintf("p=%v/%v", prob, shape), func(t *testing.T) {
				h := newHarness(t)
				x, dy := h.wideInput(shape...), h.wideInput(shape...)
				ctr := h.counters(11, 0)
				r, y := h.output(backend.F32, shape...), h.output(backend.F32, shape...)
				dx, dr, dx2 := h.output(backend.F32, shape...), h.output(backend.F32, shape...), h.output(backend.F32, shape...)
				h.run(1, func(o backend.Ops, s side) {
					o.ReLU(s(x), s(r))
					o.Dropout(s(r), s(y), s(ctr), prob, 4, 2)
					o.ReLUDropoutBackward(s(y), s(dy), s(dx), prob)
					o.DropoutBackward(s(dy), s(dr), s(ctr), prob, 4, 2)
					o.ReLUBackward(s(r), s(dr), s(dx2))
				})
				h.bitIdentical("dx", dx)
				h.bitIdentical("unfused dx", dx2)
				want, got := h.floats(h.cpu, dx2.cpu), h.floats(h.cpu, dx.cpu)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("element %d: fused %v, unfused %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// packed allocates a pack of the given shapes on both backends, filled
// with random values (momenta: zero), and returns the wholes and parts.
func (h *harness) packed(zero bool, shapes ...[]int) (whole pair, parts []pair, offsets [2][]int) {
	h.t.Helper()
	cw, cp, co, err := h.cpu.Pack(backend.F32, shapes...)
	if err != nil {
		h.t.Fatal(err)
	}
	gw, gp, goff, err := h.gpu.Pack(backend.F32, shapes...)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := range cp {
		v := make([]float32, cp[i].Len())
		if !zero {
			for j := range v {
				v[j] = h.rng.Float32()*2 - 1
			}
		}
		pr := pair{cp[i], gp[i]}
		h.upload(pr, v)
		parts = append(parts, pr)
	}
	return pair{cw, gw}, parts, [2][]int{co, goff}
}

// TestPack: parts of a pack hold their own values, ops on a part bound from
// its offset see it as a whole tensor, and the gaps stay zero.
func TestPack(t *testing.T) {
	h := newHarness(t)
	shapes := [][]int{{3, 5}, {7}, {2, 3, 4}, {1}}
	whole, parts, both := h.packed(false, shapes...)
	offsets := both[1]
	if len(offsets) != len(shapes) {
		t.Fatalf("%d offsets for %d shapes", len(offsets), len(shapes))
	}
	align := max(int(h.gpu.(*Backend).dev.Info().MinStorageBufferAlign), 16) / 4
	for i, off := range offsets {
		if off%align != 0 {
			t.Errorf("part %d at element %d: not a multiple of %d", i, off, align)
		}
	}
	outs := make([]pair, len(parts))
	for i, pr := range parts {
		outs[i] = h.output(backend.F32, shapes[i]...)
		_ = pr
	}
	h.run(1, func(o backend.Ops, s side) {
		for i, pr := range parts {
			o.Scale(s(pr), s(outs[i]), 2)
			o.ReLU(s(pr), s(pr)) // in place, through the part's own binding
		}
	})
	for i := range parts {
		h.bitIdentical(fmt.Sprint("2x part ", i), outs[i])
		h.bitIdentical(fmt.Sprint("part ", i), parts[i])
	}
	// The whole on the GPU: every part where it said, zeros between.
	all := h.floats(h.gpu, whole.gpu)
	in := make([]bool, len(all))
	for i, pr := range parts {
		v := h.floats(h.gpu, pr.gpu)
		for j, x := range v {
			in[offsets[i]+j] = true
			if all[offsets[i]+j] != x {
				t.Fatalf("whole[%d] = %v, part %d[%d] = %v", offsets[i]+j, all[offsets[i]+j], i, j, x)
			}
		}
	}
	for i, x := range all {
		if !in[i] && x != 0 {
			t.Fatalf("gap element %d is %v, want 0", i, x)
		}
	}
}

// TestSGDPacked: SGD over packed parameters in groups (plain, Nesterov
// with weight decay, scheduled) with Step folded in, replayed several
// times, gives the same bits as SGD on each tensor alone followed by Step,
// and the counters advance once per run.
func TestSGDPacked(t *testing.T) {
	// single: one group, its neighbours merged into one range (gaps
	// included) as layers merges them; else two groups of scattered ranges.
	for _, c := range []struct{ scheduled, fold, single bool }{
		{false, false, false}, {true, false, false}, {false, true, false}, {true, true, false}, {false, false, true}, {true, true, true},
	} {
		scheduled := c.scheduled
		t.Run(fmt.Sprintf("schedule=%v/fold=%v/single=%v", c.scheduled, c.fold, c.single), func(t *testing.T) {
			h := newHarness(t)
			// The fold of Step into the last dispatch is a GPU's choice:
			// test it on whatever device this is.
			g := h.gpu.(*Backend)
			defer func(f bool) { g.foldStep = f }(g.foldStep)
			g.foldStep = c.fold
			shapes := [][]int{{513, 7}, {7}, {3, 3, 3, 3}, {10}, {64, 65}}
			pw, ps, offsets := h.packed(false, shapes...)
			gw, gs, _ := h.packed(false, shapes...)
			bw, bs, _ := h.packed(true, shapes...)
			// The same values in separate tensors.
			var sep [3][]pair
			for i, sh := range shapes {
				for j, src := range []pair{ps[i], gs[i], bs[i]} {
					sep[j] = append(sep[j], h.inputValues(h.floats(h.cpu, src.cpu), sh...))
				}
			}
			ctrA, ctrB := h.counters(0, 0), h.counters(0, 0)
			sched := h.inputValues([]float32{1, 0.5, 0.25}, 3)
			base := backend.SGDParams{LR: 0.01, Momentum: 0.9}
			other := backend.SGDParams{LR: 0.02, Momentum: 0.8, WeightDecay: 5e-4, Nesterov: true}
			groupOf := []int{0, 1, 0, 1, 0}
			if c.single {
				groupOf = []int{1, 1, 1, 1, 1}
			}
			const steps = 4
			h.run(steps, func(o backend.Ops, s side) {
				params := []backend.SGDParams{base, other}
				if scheduled {
					params[1].Schedule, params[1].Ctr = s(sched), s(ctrA)
				}
				groups := []backend.SGDGroup{{SGDParams: params[0]}, {SGDParams: params[1]}}
				offs := offsets[1]
				if s(pw) == pw.cpu {
					offs = offsets[0]
				}
				for i, sh := range shapes {
					n := 1
					for _, d := range sh {
						n *= d
					}
					g := &groups[groupOf[i]]
					if c.single && len(g.Ranges) == 1 {
						g.Ranges[0].Len = offs[i] + n - g.Ranges[0].Offset
						continue
					}
					g.Ranges = append(g.Ranges, backend.Range{Offset: offs[i], Len: n})
				}
				o.SGDPacked(s(pw), s(gw), s(bw), groups, s(ctrA))
				sepParams := params
				if scheduled {
					sepParams[1].Ctr = s(ctrB)
				}
				for i := range shapes {
					o.SGD(s(sep[0][i]), s(sep[1][i]), s(sep[2][i]), sepParams[groupOf[i]])
				}
				o.Step(s(ctrB))
			})
			for i := range shapes {
				h.bitIdentical(fmt.Sprint("p ", i), ps[i])
				h.bitIdentical(fmt.Sprint("buf ", i), bs[i])
				for _, b := range []backend.Backend{h.cpu, h.gpu} {
					pick := func(x pair) backend.Tensor {
						if b == h.cpu {
							return x.cpu
						}
						return x.gpu
					}
					got, want := h.floats(b, pick(ps[i])), h.floats(b, pick(sep[0][i]))
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
							t.Fatalf("%s: parameter %d[%d]: packed %v, alone %v", b.Name(), i, j, got[j], want[j])
						}
					}
				}
			}
			for _, b := range []backend.Backend{h.cpu, h.gpu} {
				c := make([]uint32, 2)
				pick := ctrA.cpu
				if b == h.gpu {
					pick = ctrA.gpu
				}
				if err := b.Download(pick, c); err != nil {
					t.Fatal(err)
				}
				if c[0] != steps || c[1] != steps {
					t.Errorf("%s: counters %v after %d runs, want [%d %d]", b.Name(), c, steps, steps, steps)
				}
			}
		})
	}
}
