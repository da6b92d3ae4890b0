package vulkan

import (
	"fmt"
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// bitIdentical fails unless a float output has the same bits on both
// backends: the ops checked with it are specified to match exactly.
func (h *harness) bitIdentical(name string, p pair) {
	h.t.Helper()
	want := h.floats(h.cpu, p.cpu)
	got := h.floats(h.gpu, p.gpu)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			h.t.Fatalf("%s: element %d is %v (%#08x) on the GPU, %v (%#08x) on the CPU", name, i,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// counters is a ctr tensor holding step and batch.
func (h *harness) counters(step, batch uint32) pair {
	p := h.alloc(backend.U32, []int{2})
	h.upload(p, []uint32{step, batch})
	return p
}

// wideInput is a float tensor of random finite bit patterns, subnormals and
// huge values included, for ops that must reproduce every float exactly.
func (h *harness) wideInput(shape ...int) pair {
	p := h.alloc(backend.F32, shape)
	v := make([]float32, p.cpu.Len())
	for i := range v {
		for {
			v[i] = math.Float32frombits(h.rng.Uint32())
			if !math.IsNaN(float64(v[i])) && !math.IsInf(float64(v[i]), 0) && v[i] != 0 {
				break
			}
		}
	}
	h.upload(p, v)
	return p
}

// elementShapes are the element-wise test shapes: the seed model's conv and
// fc activations at batch 32, odd ones, batch 1.
var elementShapes = [][]int{
	{32, 32, 32, 32},
	{32, 512},
	{1, 5, 7, 3},
	{3, 7, 11, 13},
	{1, 1},
	{1, 512},
}

func TestReLU(t *testing.T) {
	for _, shape := range elementShapes {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprint(shape, "/inplace=", inPlace), func(t *testing.T) {
				h := newHarness(t)
				x := h.input(shape...)
				y := x
				if !inPlace {
					y = h.output(backend.F32, shape...)
				}
				h.run(1, func(o backend.Ops, s side) { o.ReLU(s(x), s(y)) })
				h.close("y", y, tolElementwise)
				h.bitIdentical("y", y)
			})
		}
	}
}

func TestReLUBackward(t *testing.T) {
	for _, shape := range elementShapes {
		for _, inPlace := range []bool{false, true} {
			t.Run(fmt.Sprint(shape, "/inplace=", inPlace), func(t *testing.T) {
				h := newHarness(t)
				x, dy := h.input(shape...), h.input(shape...)
				y := h.output(backend.F32, shape...)
				dx := dy
				if !inPlace {
					dx = h.output(backend.F32, shape...)
				}
				h.run(1, func(o backend.Ops, s side) {
					o.ReLU(s(x), s(y))
					o.ReLUBackward(s(y), s(dy), s(dx))
				})
				h.close("dx", dx, tolElementwise)
				h.bitIdentical("dx", dx)
			})
		}
	}
}

// dropped counts the zeros of a GPU output, which dropout puts where its mask
// drops (inputs are never zero).
func (h *harness) dropped(p pair) int {
	n := 0
	for _, v := range h.floats(h.gpu, p.gpu) {
		if v == 0 {
			n++
		}
	}
	return n
}

func TestDropout(t *testing.T) {
	cases := []struct {
		shape   []int
		p       float32
		inPlace bool
		wide    bool
	}{
		{[]int{32, 32, 32, 32}, 0.5, false, false},
		{[]int{32, 512}, 0.5, true, false},
		{[]int{32, 512}, 0.3, false, true},
		{[]int{1, 5, 7, 3}, 0.25, false, false},
		{[]int{3, 7, 11, 13}, 0.9, true, true},
		{[]int{1, 512}, 0.1, false, false},
		{[]int{1, 5, 7, 3}, 0, false, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/p=%v/inplace=%v/wide=%v", c.shape, c.p, c.inPlace, c.wide), func(t *testing.T) {
			h := newHarness(t)
			in := h.input
			if c.wide {
				in = h.wideInput
			}
			x, dy := in(c.shape...), in(c.shape...)
			y, dx := x, dy
			if !c.inPlace {
				y, dx = h.output(backend.F32, c.shape...), h.output(backend.F32, c.shape...)
			}
			ctr := h.counters(17, 3)
			const seed, stream = 12345, 2
			h.run(1, func(o backend.Ops, s side) {
				o.Dropout(s(x), s(y), s(ctr), c.p, seed, stream)
				o.DropoutBackward(s(dy), s(dx), s(ctr), c.p, seed, stream)
			})
			h.bitIdentical("y", y)
			h.bitIdentical("dx", dx)
			// The same mask both ways, and about p of it dropped.
			gy, gdx := h.floats(h.gpu, y.gpu), h.floats(h.gpu, dx.gpu)
			for i := range gy {
				if (gy[i] == 0) != (gdx[i] == 0) {
					t.Fatalf("element %d: forward %v, backward %v: different masks", i, gy[i], gdx[i])
				}
			}
			n := len(gy)
			if got := float64(h.dropped(y)) / float64(n); math.Abs(got-float64(c.p)) > 4/math.Sqrt(float64(n))+1e-9 {
				t.Errorf("dropped %.3f of %d elements, want about %v", got, n, c.p)
			}
		})
	}
}

// TestDropoutSteps runs a program that steps the counters between dropouts,
// and replays it: every step draws a new mask, the same on both backends.
func TestDropoutSteps(t *testing.T) {
	h := newHarness(t)
	shape := []int{32, 512}
	x := h.input(shape...)
	y1, y2 := h.output(backend.F32, shape...), h.output(backend.F32, shape...)
	ctr := h.counters(0, 0)
	const p, seed, stream = 0.5, 7, 1
	for run := range 2 {
		h.run(1, func(o backend.Ops, s side) {
			o.Dropout(s(x), s(y1), s(ctr), p, seed, stream)
			o.Step(s(ctr))
			o.Dropout(s(x), s(y2), s(ctr), p, seed, stream)
			o.Step(s(ctr))
		})
		h.bitIdentical(fmt.Sprint("run ", run, ": y1"), y1)
		h.bitIdentical(fmt.Sprint("run ", run, ": y2"), y2)
		h.same(fmt.Sprint("run ", run, ": ctr"), ctr)
		a, b := h.floats(h.gpu, y1.gpu), h.floats(h.gpu, y2.gpu)
		differ := 0
		for i := range a {
			if (a[i] == 0) != (b[i] == 0) {
				differ++
			}
		}
		// Independent masks at p = 0.5 differ in about half the places.
		if differ < len(a)/4 {
			t.Errorf("run %d: masks of consecutive steps differ in %d of %d places", run, differ, len(a))
		}
	}
	if got := h.uints(h.gpu, ctr.gpu); got[0] != 4 || got[1] != 4 {
		t.Errorf("counters after 4 steps: %v, want [4 4]", got)
	}
}

// TestDropoutDivisors runs dropout at many probabilities on values of every
// magnitude, and on values whose quotient lies within a few units of a power
// of two (where the kernel's estimate crosses a binade): its integer
// division must round x/(1-p) exactly as the CPU's float32 division does for
// every divisor, subnormal results included.
func TestDropoutDivisors(t *testing.T) {
	h := newHarness(t)
	const n = 4096
	ctr := h.counters(3, 0)
	probs := []float32{1e-7, 0.001, 0.1, 0.2, 0.3, 0.5, 0.7, 0.75, 0.9, 0.99, 0.999999}
	for range 20 {
		probs = append(probs, h.rng.Float32())
	}
	xs, ys := make([]pair, len(probs)), make([]pair, len(probs))
	for i, p := range probs {
		v := h.floats(h.cpu, h.wideInput(n).cpu)
		keep := 1 - p
		for k := range n / 2 {
			// keep·2^j, nudged by up to 4 units either way.
			j := h.rng.IntN(250) - 125
			b := math.Float32bits(keep*float32(math.Ldexp(1, j))) + uint32(h.rng.IntN(9)) - 4
			if k%2 == 1 {
				b |= 1 << 31
			}
			if f := math.Float32frombits(b); f != 0 && !math.IsInf(float64(f), 0) {
				v[k] = f
			}
		}
		xs[i], ys[i] = h.inputValues(v, n), h.output(backend.F32, n)
	}
	h.run(1, func(o backend.Ops, s side) {
		for i, p := range probs {
			o.Dropout(s(xs[i]), s(ys[i]), s(ctr), p, 99, uint32(i))
		}
	})
	for i, y := range ys {
		h.bitIdentical(fmt.Sprint("p=", probs[i]), y)
	}
}
