package vulkan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// lookaheadDecays put w = 1-decay on both sides of 0.5 and at it, at the
// ends (w 1, w 0), and within a few ULP of 1 or of 0.
var lookaheadDecays = []float32{0, 0.3, 0.5, 0.7, 1, 1e-7, 0.99999994}

// TestLookahead compares p and ema with the CPU bit for bit, over several
// shapes and three replays (each pulls p and ema further together).
func TestLookahead(t *testing.T) {
	for _, shape := range [][]int{{1}, {7}, {3, 5}, {64, 32, 3, 3}} {
		for _, decay := range lookaheadDecays {
			t.Run(fmt.Sprint(shape, decay), func(t *testing.T) {
				h := newHarness(t)
				p, ema := h.input(shape...), h.input(shape...)
				d := h.inputValues([]float32{decay}, 1)
				h.run(3, func(o backend.Ops, s side) { o.Lookahead(s(p), s(ema), s(d)) })
				h.bitIdentical("p", p)
				h.bitIdentical("ema", ema)
				h.close("ema", ema, tolElementwise)
			})
		}
	}
}

// TestLookaheadSpec checks elements by hand on both sides of w = 0.5, so
// both backends cannot share a mistake: lerp(1, 3, 0.25) = 1 + 0.25·2 and
// lerp(1, 3, 0.75) = 3 - 2·0.25, both exact.
func TestLookaheadSpec(t *testing.T) {
	for _, c := range []struct{ decay, want float32 }{{0.75, 1.5}, {0.25, 2.5}} {
		h := newHarness(t)
		p, ema := h.inputValues([]float32{3, -3}, 2), h.inputValues([]float32{1, -1}, 2)
		d := h.inputValues([]float32{c.decay}, 1)
		h.run(1, func(o backend.Ops, s side) { o.Lookahead(s(p), s(ema), s(d)) })
		for _, x := range []pair{p, ema} {
			if got := h.floats(h.gpu, x.gpu); got[0] != c.want || got[1] != -c.want {
				t.Errorf("decay %v: %v, want [%v %v]", c.decay, got, c.want, -c.want)
			}
		}
	}
}

// TestLookaheadDecayAtRunTime replays one recording per backend with the
// decay (and p, as an optimizer step would) changed between runs: the
// kernel must read the decay the tensor holds when it runs.
func TestLookaheadDecayAtRunTime(t *testing.T) {
	h := newHarness(t)
	p, ema := h.input(5, 37), h.input(5, 37)
	d := h.inputValues([]float32{0.2}, 1)
	var progs []backend.Program
	for i, b := range []backend.Backend{h.cpu, h.gpu} {
		prog := b.NewProgram()
		pick := []func(pair) backend.Tensor{func(x pair) backend.Tensor { return x.cpu }, func(x pair) backend.Tensor { return x.gpu }}[i]
		prog.Lookahead(pick(p), pick(ema), pick(d))
		progs = append(progs, prog)
		defer prog.Close()
	}
	for _, decay := range []float32{0.2, 0.95, 0.6, 0} {
		h.upload(d, []float32{decay})
		moved := h.floats(h.cpu, p.cpu)
		for i := range moved {
			moved[i] += h.rng.Float32() - 0.5
		}
		h.upload(p, moved)
		for _, prog := range progs {
			if err := prog.Run(1); err != nil {
				t.Fatal(err)
			}
		}
		h.bitIdentical(fmt.Sprint("decay ", decay, ": p"), p)
		h.bitIdentical(fmt.Sprint("decay ", decay, ": ema"), ema)
	}
	if got, want := h.floats(h.gpu, ema.gpu), h.floats(h.gpu, p.gpu); got[0] != want[0] {
		t.Errorf("after decay 0 (w 1), ema[0] = %v, want p's %v", got[0], want[0])
	}
}

// TestLookaheadGridStride runs the kernel with two workgroups, so that each
// invocation loops over several elements.
func TestLookaheadGridStride(t *testing.T) {
	defer func(n int) { maxElementGroups = n }(maxElementGroups)
	maxElementGroups = 2
	h := newHarness(t)
	p, ema := h.input(4097), h.input(4097)
	d := h.inputValues([]float32{0.6}, 1)
	h.run(1, func(o backend.Ops, s side) { o.Lookahead(s(p), s(ema), s(d)) })
	h.bitIdentical("p", p)
	h.bitIdentical("ema", ema)
}

// TestLookaheadErrors: bad arguments are recorded errors naming the op, and
// p, ema and decay must be separate buffers.
func TestLookaheadErrors(t *testing.T) {
	b := gpuBackend(t)
	alloc := func(dt backend.DType, shape ...int) backend.Tensor {
		x, err := b.NewTensor(dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Free(x) })
		return x
	}
	view := func(x backend.Tensor, shape ...int) backend.Tensor {
		v, err := b.View(x, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p, ema, decay := alloc(backend.F32, 4, 3), alloc(backend.F32, 4, 3), alloc(backend.F32, 1)
	for _, c := range []struct {
		name          string
		p, ema, decay backend.Tensor
		want          string
	}{
		{"ema shape", p, alloc(backend.F32, 12), decay, "Lookahead: p has shape [4 3], ema has [12]"},
		{"ema dtype", p, alloc(backend.U32, 4, 3), decay, "Lookahead: ema is uint32[4 3], want float32"},
		{"decay shape", p, ema, alloc(backend.F32, 2), "Lookahead: decay has shape [2], want [1]"},
		{"decay missing", p, ema, nil, "Lookahead: decay is missing"},
		{"ema is p", p, p, decay, "Lookahead: ema and p share storage"},
		{"ema a view of p", p, view(p, 4, 3), decay, "Lookahead: ema and p share storage"},
		{"decay in p", p, ema, view(p, 1), "Lookahead: p and decay share storage"},
		{"decay in ema", p, ema, view(ema, 1), "Lookahead: ema and decay share storage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog := b.NewProgram()
			defer prog.Close()
			prog.Lookahead(c.p, c.ema, c.decay)
			if err := prog.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if prog.Run(1) == nil {
				t.Fatal("a program with a refused Lookahead ran")
			}
		})
	}
}
