package vulkan

import (
	"fmt"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// The zoo networks (ResNet-18, airbench and the like) use max-pool and
// convolution at shapes the seed model never did. These tests run the GPU
// kernels on those shapes against the CPU reference (which
// backend/cpu/zoo_shapes_test.go checks against the float64 definitions),
// adding only what pool_test.go and conv_test.go do not already cover.

// zooPools: PyTorch floor mode on odd maps (airbench's 31 → 15 and 7 → 3 at
// kernel 2; 7 → 2 at kernel 3 stride 3, which leaves a row and a column no
// window reaches), a non-square map, and a kernel covering the whole map
// (airbench's final MaxPool2d(3) on a 3x3 map) with several planes.
var zooPools = []struct {
	shape          []int
	kernel, stride int
}{
	{[]int{2, 3, 31, 31}, 2, 2},
	{[]int{2, 4, 7, 7}, 2, 2},
	{[]int{2, 3, 7, 7}, 3, 3},
	{[]int{3, 2, 5, 9}, 2, 2},
	{[]int{4, 5, 3, 3}, 3, 3},
}

// TestZooMaxPool2d compares forward (values and argmax) and backward with
// the CPU from poisoned outputs, on distinct values and on many ties (as
// after a ReLU), checks the tie rule and that dx is exactly zero where no
// window reaches.
func TestZooMaxPool2d(t *testing.T) {
	for _, c := range zooPools {
		for _, ties := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/k%d/s%d/ties=%v", c.shape, c.kernel, c.stride, ties), func(t *testing.T) {
				h := newHarness(t)
				x := h.input(c.shape...)
				if ties {
					v := make([]float32, poolLen(c.shape))
					for i := range v {
						v[i] = float32(h.rng.IntN(3)) - 0.5
					}
					x = h.inputValues(v, c.shape...)
				}
				n, ch, hh, w := c.shape[0], c.shape[1], c.shape[2], c.shape[3]
				oh, ow := (hh-c.kernel)/c.stride+1, (w-c.kernel)/c.stride+1
				y, arg := h.output(backend.F32, n, ch, oh, ow), h.output(backend.U32, n, ch, oh, ow)
				dy, dx := h.input(n, ch, oh, ow), h.output(backend.F32, c.shape...)
				h.run(1, func(o backend.Ops, s side) {
					o.MaxPool2d(s(x), s(y), s(arg), c.kernel, c.stride)
					o.MaxPool2dBackward(s(dy), s(arg), s(dx), c.kernel, c.stride)
				})
				h.same("argmax", arg)
				h.close("y", y, tolElementwise)
				h.close("dx", dx, tolElementwise)
				h.bitIdentical("y", y)
				h.bitIdentical("dx", dx)
				checkFirstMax(t, h.floats(h.gpu, x.gpu), h.uints(h.gpu, arg.gpu), c.shape, c.kernel, c.stride)
				checkUnreached(t, h.floats(h.gpu, dx.gpu), hh, w, oh, ow, c.kernel, c.stride)
			})
		}
	}
}

// zooConvs are the zoo's convolutions, all without bias (a BatchNorm
// follows them), at sizes lavapipe runs quickly and channel counts that are
// not multiples of any tile: 2x2 kernels at stride 2 without padding (a
// patchify stem, on an even and an odd map) and at stride 1 (airbench's
// whitening layer); 1x1 at stride 1 and stride 2 (ResNet's projection
// shortcuts, one of them with a split backward-weights reduction, here
// without a bias column); 3x3 at stride 2 with padding 1 on odd maps and an
// even one (ResNet's downsampling).
var zooConvs = []convCase{
	{2, 3, 8, 8, 12, 2, 2, 2, 0, false},
	{3, 5, 7, 9, 6, 2, 2, 2, 0, false},
	{2, 3, 9, 9, 24, 2, 2, 1, 0, false},
	{2, 20, 5, 5, 12, 1, 1, 1, 0, false},
	{2, 12, 8, 8, 20, 1, 1, 2, 0, false},
	{3, 20, 7, 7, 36, 1, 1, 2, 0, false},
	{2, 130, 5, 5, 9, 1, 1, 2, 0, false},
	zooSplitShortcut,
	{2, 5, 7, 7, 10, 3, 3, 2, 1, false},
	{3, 20, 9, 9, 12, 3, 3, 2, 1, false},
	{1, 3, 15, 13, 7, 3, 3, 2, 1, false},
	{2, 7, 8, 8, 10, 3, 3, 2, 1, false},
}

// zooSplitShortcut is a 1x1 stride 2 shortcut whose backward-weights
// reduction (N·OH·OW = 512) is long enough to be split on both variants.
var zooSplitShortcut = convCase{2, 12, 31, 31, 20, 1, 1, 2, 0, false}

// TestZooConv2d runs the three conv ops with nil b and nil db, with every
// GEMM variant, from poisoned outputs, against the CPU.
func TestZooConv2d(t *testing.T) {
	for _, v := range gemmVariants {
		for _, c := range zooConvs {
			t.Run(v.String()+"/"+c.String(), func(t *testing.T) {
				h := newHarness(t)
				oh, ow := c.out()
				x, w, dy := h.input(c.n, c.c, c.h, c.w), h.input(c.k, c.c, c.r, c.s), h.input(c.n, c.k, oh, ow)
				y, dx := h.output(backend.F32, c.n, c.k, oh, ow), h.output(backend.F32, c.n, c.c, c.h, c.w)
				dw := h.output(backend.F32, c.k, c.c, c.r, c.s)
				h.run(1, func(o backend.Ops, s side) {
					g := gemmOps{o, v}
					g.Conv2d(s(x), s(w), nil, s(y), c.stride, c.pad)
					g.Conv2dBackwardData(s(dy), s(w), s(dx), c.stride, c.pad)
					g.Conv2dBackwardWeights(s(x), s(dy), s(dw), nil, c.stride, c.pad)
				})
				h.close("y", y, tolReduction)
				h.close("dx", dx, tolReduction)
				h.close("dw", dw, tolReduction)
			})
		}
	}
}

// TestZooConvSplitsWithoutBias pins what zooSplitShortcut is for: its
// backward-weights reduction is split on both variants, so TestZooConv2d
// runs the split path without a bias column.
func TestZooConvSplitsWithoutBias(t *testing.T) {
	g := gpuBackend(t)
	c := zooSplitShortcut
	oh, ow := c.out()
	for _, v := range gemmVariants {
		m, n, k := c.k, c.c*c.r*c.s, c.n*oh*ow
		if _, splits := g.splitK(g.tilesFor(v, m, n), m, n, k); splits < 2 {
			t.Errorf("%s: %v: backward-weights is not split (%d slice)", v, c, splits)
		}
	}
}
