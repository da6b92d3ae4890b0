package vulkan

import (
	"fmt"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

func TestMaxPool2d(t *testing.T) {
	cases := []struct {
		shape          []int
		kernel, stride int
		ties           bool
	}{
		{[]int{32, 32, 32, 32}, 2, 2, false}, // the seed model's pool at batch 32
		{[]int{1, 5, 7, 3}, 2, 2, false},
		{[]int{1, 5, 7, 3}, 3, 2, false}, // overlapping windows
		{[]int{2, 3, 9, 11}, 3, 2, false},
		{[]int{2, 3, 9, 11}, 3, 1, false},
		{[]int{2, 3, 10, 11}, 2, 3, false}, // gaps between windows
		{[]int{1, 1, 5, 5}, 5, 1, false},   // one window, the whole plane
		{[]int{2, 3, 9, 11}, 3, 2, true},
		{[]int{4, 8, 16, 16}, 2, 2, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/k%d/s%d/ties=%v", c.shape, c.kernel, c.stride, c.ties), func(t *testing.T) {
			h := newHarness(t)
			var x pair
			if c.ties {
				// Three levels only: most windows hold equal maxima, which
				// must go to the first in row-major order on both.
				v := make([]float32, poolLen(c.shape))
				for i := range v {
					v[i] = float32(h.rng.IntN(3)) - 0.5
				}
				x = h.inputValues(v, c.shape...)
			} else {
				x = h.input(c.shape...)
			}
			n, ch, hh, w := c.shape[0], c.shape[1], c.shape[2], c.shape[3]
			oh, ow := (hh-c.kernel)/c.stride+1, (w-c.kernel)/c.stride+1
			y := h.output(backend.F32, n, ch, oh, ow)
			arg := h.output(backend.U32, n, ch, oh, ow)
			dy := h.input(n, ch, oh, ow)
			dx := h.output(backend.F32, c.shape...)
			h.run(1, func(o backend.Ops, s side) {
				o.MaxPool2d(s(x), s(y), s(arg), c.kernel, c.stride)
				o.MaxPool2dBackward(s(dy), s(arg), s(dx), c.kernel, c.stride)
			})
			h.same("argmax", arg)
			h.close("y", y, tolElementwise)
			h.close("dx", dx, tolElementwise)
			// Both add overlapping windows in output order: same bits.
			h.bitIdentical("y", y)
			h.bitIdentical("dx", dx)
			if c.ties {
				checkFirstMax(t, h.floats(h.gpu, x.gpu), h.uints(h.gpu, arg.gpu), c.shape, c.kernel, c.stride)
			}
		})
	}
}

// checkFirstMax checks the tie rule against the spec directly, so a rule
// the two backends got wrong the same way still fails.
func checkFirstMax(t *testing.T, x []float32, arg []uint32, shape []int, kernel, stride int) {
	t.Helper()
	hh, w := shape[2], shape[3]
	oh, ow := (hh-kernel)/stride+1, (w-kernel)/stride+1
	for i, a := range arg {
		plane := x[(i/(oh*ow))*hh*w:][:hh*w]
		q := i % (oh * ow)
		h0, w0 := (q/ow)*stride, (q%ow)*stride
		first := -1
		var best float32
		for r := range kernel {
			for s := range kernel {
				at := (h0+r)*w + w0 + s
				if first < 0 || plane[at] > best {
					first, best = at, plane[at]
				}
			}
		}
		if int(a) != first {
			t.Fatalf("output %d: argmax %d, want the first maximum %d", i, a, first)
		}
	}
}

func poolLen(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestMaxPool2dInPlace checks that an output sharing the input's buffer is
// refused, not raced.
func TestMaxPool2dInPlace(t *testing.T) {
	b := gpuBackend(t)
	x, err := b.NewTensor(backend.F32, 1, 1, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := b.View(x, 1, 1, 2, 2)
	a, _ := b.NewTensor(backend.U32, 1, 1, 2, 2)
	p := b.NewProgram()
	defer p.Close()
	p.MaxPool2d(x, y, a, 2, 2)
	if p.Err() == nil {
		t.Fatal("MaxPool2d into a view of its input recorded no error")
	}
}
