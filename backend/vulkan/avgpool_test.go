package vulkan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// avgPoolCases: the zoo's pools (ResNet-18's 4x4 over a 4x4 map and other
// global pools, at few channels: lavapipe is slow), odd maps where floor
// mode drops a row or column, a non-square map, overlapping windows, gaps,
// a 1x1 kernel, and sizes that are not multiples of the workgroup.
var avgPoolCases = []struct {
	shape          []int
	kernel, stride int
}{
	{[]int{2, 5, 4, 4}, 4, 4}, // ResNet-18's avg_pool2d(out, 4)
	{[]int{3, 2, 8, 8}, 8, 8}, // global, 8x8
	{[]int{1, 3, 3, 3}, 3, 3}, // global, odd side
	{[]int{2, 3, 31, 31}, 2, 2},
	{[]int{2, 2, 7, 7}, 3, 3}, // 7 → 2: row and column 6 unreached
	{[]int{2, 3, 5, 9}, 2, 2}, // non-square, both sides odd
	{[]int{1, 2, 6, 5}, 3, 1}, // overlapping
	{[]int{2, 3, 9, 11}, 3, 2},
	{[]int{3, 1, 7, 8}, 2, 3}, // gaps
	{[]int{1, 2, 3, 4}, 1, 1},
	{[]int{4, 8, 16, 16}, 2, 2},
}

// TestAvgPool2d compares both ops with the CPU reference from NaN-poisoned
// outputs. They sum in the same order and scale by the same float, so the
// bits must agree; dx must be exactly zero where no window reaches.
func TestAvgPool2d(t *testing.T) {
	for _, c := range avgPoolCases {
		t.Run(fmt.Sprintf("%v/k%d/s%d", c.shape, c.kernel, c.stride), func(t *testing.T) {
			h := newHarness(t)
			n, ch, hh, w := c.shape[0], c.shape[1], c.shape[2], c.shape[3]
			oh, ow := (hh-c.kernel)/c.stride+1, (w-c.kernel)/c.stride+1
			x, dy := h.input(c.shape...), h.input(n, ch, oh, ow)
			y, dx := h.output(backend.F32, n, ch, oh, ow), h.output(backend.F32, c.shape...)
			h.run(1, func(o backend.Ops, s side) {
				o.AvgPool2d(s(x), s(y), c.kernel, c.stride)
				o.AvgPool2dBackward(s(dy), s(dx), c.kernel, c.stride)
			})
			h.close("y", y, tolElementwise)
			h.close("dx", dx, tolElementwise)
			h.bitIdentical("y", y)
			h.bitIdentical("dx", dx)
			checkUnreached(t, h.floats(h.gpu, dx.gpu), hh, w, oh, ow, c.kernel, c.stride)
		})
	}
}

// checkUnreached fails unless dx is zero at every element of its planes
// (hh x w) that no window of an oh x ow pool covers: checked against the
// window geometry directly, so a rule both backends got wrong still fails.
func checkUnreached(t *testing.T, dx []float32, hh, w, oh, ow, kernel, stride int) {
	t.Helper()
	for i, v := range dx {
		at := i % (hh * w)
		y, x := at/w, at%w
		if (y >= (oh-1)*stride+kernel || y%stride >= kernel || x >= (ow-1)*stride+kernel || x%stride >= kernel) && v != 0 {
			t.Fatalf("dx[%d] (row %d, column %d) = %v, which no window reaches: want 0", i, y, x, v)
		}
	}
}

// TestAvgPool2dGridStride caps the dispatch at two workgroups so that both
// kernels' grid-stride loops run many rounds.
func TestAvgPool2dGridStride(t *testing.T) {
	defer func(n int) { maxElementGroups = n }(maxElementGroups)
	maxElementGroups = 2
	h := newHarness(t)
	x, dy := h.input(3, 5, 37, 41), h.input(3, 5, 18, 20)
	y, dx := h.output(backend.F32, 3, 5, 18, 20), h.output(backend.F32, 3, 5, 37, 41)
	h.run(1, func(o backend.Ops, s side) {
		o.AvgPool2d(s(x), s(y), 3, 2)
		o.AvgPool2dBackward(s(dy), s(dx), 3, 2)
	})
	h.bitIdentical("y", y)
	h.bitIdentical("dx", dx)
}

// TestAvgPool2dErrors: bad arguments are recorded errors naming the op,
// never panics, and a program with one does not run.
func TestAvgPool2dErrors(t *testing.T) {
	g := gpuBackend(t)
	f := func(shape ...int) backend.Tensor {
		x, err := g.NewTensor(backend.F32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x, y, y3 := f(1, 2, 5, 5), f(1, 2, 2, 2), f(1, 2, 3, 3)
	u, err := g.NewTensor(backend.U32, 1, 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	view, err := g.View(x, 1, 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	var typedNil *Tensor
	for _, tc := range []struct {
		name   string
		record func(p backend.Program)
		want   string
	}{
		{"nil x", func(p backend.Program) { p.AvgPool2d(nil, y, 2, 2) }, "AvgPool2d: x is missing"},
		{"typed nil dx", func(p backend.Program) { p.AvgPool2dBackward(y, typedNil, 2, 2) }, "AvgPool2dBackward: dx is missing"},
		{"output shape", func(p backend.Program) { p.AvgPool2d(x, y3, 2, 2) }, "AvgPool2d: y has shape [1 2 3 3], want [1 2 2 2]"},
		{"backward shape", func(p backend.Program) { p.AvgPool2dBackward(y3, x, 2, 2) }, "AvgPool2dBackward: dy has shape [1 2 3 3]"},
		{"dtype", func(p backend.Program) { p.AvgPool2d(x, u, 2, 2) }, "y is uint32[1 2 2 2], want float32"},
		{"kernel 0", func(p backend.Program) { p.AvgPool2d(x, y, 0, 2) }, "need both >= 1"},
		{"stride 0", func(p backend.Program) { p.AvgPool2dBackward(y, x, 2, 0) }, "need both >= 1"},
		{"kernel too big", func(p backend.Program) { p.AvgPool2d(x, y, 6, 1) }, "kernel 6 does not fit x [1 2 5 5]"},
		{"in place", func(p backend.Program) { p.AvgPool2d(x, view, 3, 2) }, "share storage"},
		{"backward in place", func(p backend.Program) { p.AvgPool2dBackward(view, x, 3, 2) }, "share storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := g.NewProgram()
			defer p.Close()
			tc.record(p)
			if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err: %v, want an error containing %q", err, tc.want)
			}
			if err := p.Run(1); err == nil {
				t.Fatal("a program with an error ran")
			}
		})
	}
}
