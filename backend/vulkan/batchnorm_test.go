package vulkan

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// bnCase is one BatchNorm2d configuration: the shape, eps and momentum, and
// how far channel means lie from zero (x = offset·u₁ + spread·u₂ per
// channel, u uniform in [-1, 1), spreads 0.2 to 1.2).
type bnCase struct {
	shape    []int
	eps, mom float32
	offset   float32
}

// bnCases are the CPU tests' odd shapes (1x1 planes with N > 1, 5x3 planes,
// one image, one channel, cnt = 2) and eps and momentum at their extremes,
// then the slicing of the reductions: two slices with a short last one
// (over planes larger than a workgroup's stride, and over 1x1 planes), the
// most slices (256) of uneven length over a channel of a million values,
// and channels whose mean is large beside their spread. cnt = 2 has a
// large eps: with a small one y = ±1 whatever x, so dx is zero but for
// rounding, and a relative error of rounding compares nothing.
var bnCases = []bnCase{
	{[]int{2, 3, 5, 3}, 1e-5, 0.1, 3},
	{[]int{1, 7, 5, 3}, 1e-3, 0.37, 3},
	{[]int{5, 1, 1, 1}, 0.1, 1, 3},
	{[]int{3, 7, 1, 1}, 1e-5, 0, 3},
	{[]int{4, 3, 4, 4}, 0, 0.1, 3},
	{[]int{1, 1, 2, 1}, 0.3, 0.5, 3},
	{[]int{2, 5, 9, 7}, 1e-2, 0.9, 3},
	{[]int{9, 4, 31, 33}, 1e-5, 0.1, 3},
	{[]int{8200, 3, 1, 1}, 1e-5, 0.1, 3},
	{[]int{1100, 1, 31, 31}, 1e-5, 0.1, 3},
	{[]int{3, 5, 40, 40}, 1e-5, 0.1, 20},
}

// bnLayer is one layer's tensors on both backends.
type bnLayer struct {
	x, y                          pair
	weight, bias, runMean, runVar pair
	mean, invStd                  pair
}

// tensors picks one backend's tensors; in evaluation Mean and InvStd are
// left out, as a model in eval mode may.
func (l *bnLayer) tensors(s side, train bool) backend.BatchNormTensors {
	t := backend.BatchNormTensors{Weight: s(l.weight), Bias: s(l.bias), RunningMean: s(l.runMean), RunningVar: s(l.runVar)}
	if train {
		t.Mean, t.InvStd = s(l.mean), s(l.invStd)
	}
	return t
}

// bnLayer draws a layer for c: outputs (y, Mean, InvStd) are NaN on the GPU;
// the running statistics are inputs both backends update in place.
func (h *harness) bnLayer(c bnCase) *bnLayer {
	n, ch, hw := c.shape[0], c.shape[1], c.shape[2]*c.shape[3]
	off, spread := make([]float32, ch), make([]float32, ch)
	rv := make([]float32, ch)
	for i := range ch {
		off[i] = c.offset * (h.rng.Float32()*2 - 1)
		spread[i] = 0.2 + h.rng.Float32()
		rv[i] = 0.5 + h.rng.Float32()
	}
	x := make([]float32, n*ch*hw)
	for i := range x {
		k := i / hw % ch
		x[i] = off[k] + spread[k]*(h.rng.Float32()*2-1)
	}
	return &bnLayer{
		x: h.inputValues(x, c.shape...), y: h.output(backend.F32, c.shape...),
		weight: h.input(ch), bias: h.input(ch), runMean: h.input(ch), runVar: h.inputValues(rv, ch),
		mean: h.output(backend.F32, ch), invStd: h.output(backend.F32, ch),
	}
}

// bnTol is the bound on ||gpu-cpu||/||cpu||: the GPU reduces in
// float32 by trees (errors ~log2(cnt) ulps), the CPU in float64.
const bnTol = 1e-5

// TestBatchNorm2d compares both modes with the CPU reference. Training runs
// twice in one Run, so the running statistics move twice in place (a
// read-modify-write the recording must order across replays) while y and
// the saved statistics stay the same; evaluation must leave the running
// statistics alone.
func TestBatchNorm2d(t *testing.T) {
	for _, c := range bnCases {
		for _, train := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/eps=%v/momentum=%v/offset=%v/train=%v", c.shape, c.eps, c.mom, c.offset, train), func(t *testing.T) {
				h := newHarness(t)
				l := h.bnLayer(c)
				o := backend.BatchNormParams{Eps: c.eps, Momentum: c.mom, Train: train}
				h.run(2, func(ops backend.Ops, s side) { ops.BatchNorm2d(s(l.x), s(l.y), l.tensors(s, train), o) })
				h.close("y", l.y, bnTol)
				if !train {
					h.bitIdentical("running mean", l.runMean)
					h.bitIdentical("running var", l.runVar)
					return
				}
				h.close("mean", l.mean, bnTol)
				h.close("invstd", l.invStd, bnTol)
				h.close("running mean", l.runMean, bnTol)
				h.close("running var", l.runVar, bnTol)
			})
		}
	}
}

// TestBatchNorm2dBackward compares the gradients with the CPU reference
// after a training forward in the same program, with every gradient wanted
// and with each left out (a frozen weight or bias, a first layer without
// dx, whose weight need not even be given).
func TestBatchNorm2dBackward(t *testing.T) {
	type want struct{ dx, dw, db bool }
	for _, c := range bnCases {
		for _, w := range []want{{true, true, true}, {true, false, true}, {true, true, false}, {false, true, true}, {false, false, true}} {
			t.Run(fmt.Sprintf("%v/dx=%v/dWeight=%v/dBias=%v", c.shape, w.dx, w.dw, w.db), func(t *testing.T) {
				h := newHarness(t)
				l := h.bnLayer(c)
				dy := h.input(c.shape...)
				dx, dw, db := h.output(backend.F32, c.shape...), h.output(backend.F32, c.shape[1]), h.output(backend.F32, c.shape[1])
				o := backend.BatchNormParams{Eps: c.eps, Momentum: c.mom, Train: true}
				h.run(1, func(ops backend.Ops, s side) {
					bt := l.tensors(s, true)
					ops.BatchNorm2d(s(l.x), s(l.y), bt, o)
					var gx, gw, gb backend.Tensor
					if w.dx {
						gx = s(dx)
					} else {
						bt.Weight = nil
					}
					if w.dw {
						gw = s(dw)
					}
					if w.db {
						gb = s(db)
					}
					ops.BatchNorm2dBackward(s(l.x), s(dy), gx, bt, gw, gb)
				})
				if w.dx {
					h.close("dx", dx, bnTol)
				}
				if w.dw {
					h.close("dWeight", dw, bnTol)
				}
				if w.db {
					h.close("dBias", db, bnTol)
				}
			})
		}
	}
}

// TestBatchNorm2dDeterministic runs one program twice on the GPU at a
// shape of several slices per channel: every output has the same bits
// both times.
func TestBatchNorm2dDeterministic(t *testing.T) {
	h := newHarness(t)
	c := bnCase{[]int{9, 4, 31, 33}, 1e-5, 0.1, 3}
	l := h.bnLayer(c)
	dy := h.input(c.shape...)
	dx, dw, db := h.output(backend.F32, c.shape...), h.output(backend.F32, 4), h.output(backend.F32, 4)
	p := h.gpu.NewProgram()
	defer p.Close()
	bt := l.tensors(func(x pair) backend.Tensor { return x.gpu }, true)
	p.BatchNorm2d(l.x.gpu, l.y.gpu, bt, backend.BatchNormParams{Eps: c.eps, Momentum: c.mom, Train: true})
	p.BatchNorm2dBackward(l.x.gpu, dy.gpu, dx.gpu, bt, dw.gpu, db.gpu)
	outs := map[string]backend.Tensor{"y": l.y.gpu, "mean": bt.Mean, "invstd": bt.InvStd, "dx": dx.gpu, "dWeight": dw.gpu, "dBias": db.gpu}
	first := map[string][]float32{}
	for run := range 2 {
		if err := p.Run(1); err != nil {
			t.Fatal(err)
		}
		for name, o := range outs {
			v := h.floats(h.gpu, o)
			if run == 0 {
				first[name] = v
				continue
			}
			for i := range v {
				if math.Float32bits(v[i]) != math.Float32bits(first[name][i]) {
					t.Fatalf("%s: element %d is %v on the second run, %v on the first", name, i, v[i], first[name][i])
				}
			}
		}
	}
}

// TestBatchNorm2dErrors checks that the Vulkan backend rejects bad
// arguments with an error naming the op, never a panic: the shared checks
// (backend.CheckBatchNorm), and outputs sharing a buffer with an input,
// which only the backend can see (a view shares its parent's buffer).
func TestBatchNorm2dErrors(t *testing.T) {
	g := gpuBackend(t)
	f := func(shape ...int) backend.Tensor {
		x, err := g.NewTensor(backend.F32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Free(x) })
		return x
	}
	x, y, dy, dx := f(2, 3, 4, 5), f(2, 3, 4, 5), f(2, 3, 4, 5), f(2, 3, 4, 5)
	view, err := g.View(x, 2, 3, 20)
	if err != nil {
		t.Fatal(err)
	}
	view4, err := g.View(view, 2, 3, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	bt := backend.BatchNormTensors{Weight: f(3), Bias: f(3), RunningMean: f(3), RunningVar: f(3), Mean: f(3), InvStd: f(3)}
	noMean := bt
	noMean.Mean = nil
	train := backend.BatchNormParams{Eps: 1e-5, Momentum: 0.1, Train: true}
	cases := []struct {
		name   string
		record func(backend.Ops)
		want   string
	}{
		{"in place", func(o backend.Ops) { o.BatchNorm2d(x, x, bt, train) }, "BatchNorm2d: y and x share storage"},
		{"view in place", func(o backend.Ops) { o.BatchNorm2d(x, view4, bt, train) }, "BatchNorm2d: y and x share storage"},
		{"train cnt 1", func(o backend.Ops) { o.BatchNorm2d(f(1, 3, 1, 1), f(1, 3, 1, 1), bt, train) }, "BatchNorm2d: training needs more than one value per channel"},
		{"y shape", func(o backend.Ops) { o.BatchNorm2d(x, view, bt, train) }, "BatchNorm2d: y has shape [2 3 20]"},
		{"no mean", func(o backend.Ops) { o.BatchNorm2d(x, y, noMean, train) }, "BatchNorm2d: t.Mean is missing"},
		{"backward dx is dy", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dy, bt, nil, nil) }, "BatchNorm2dBackward: dx and dy share storage"},
		{"backward dx is x", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, view4, bt, nil, nil) }, "BatchNorm2dBackward: dx and x share storage"},
		{"backward dWeight shape", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dx, bt, f(4), nil) }, "BatchNorm2dBackward: dWeight has shape [4], want [3]"},
		{"backward no mean", func(o backend.Ops) { o.BatchNorm2dBackward(x, dy, dx, noMean, nil, nil) }, "BatchNorm2dBackward: t.Mean is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := g.NewProgram()
			defer p.Close()
			tc.record(p)
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if p.Run(1) == nil {
				t.Error("a program with an error ran")
			}
		})
	}
}
