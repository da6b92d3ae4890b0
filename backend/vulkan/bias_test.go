package vulkan

import (
	"fmt"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// biasShapes are [rows, cols]: the seed's Linear outputs at batch 32, batch
// 1, odd sizes, more rows than the tree has slices and more columns than a
// workgroup covers.
var biasShapes = [][2]int{{32, 512}, {32, 10}, {1, 1}, {1, 7}, {7, 1}, {33, 65}, {130, 33}, {1000, 3}, {5, 1030}}

func TestAddBias(t *testing.T) {
	for _, s := range biasShapes {
		t.Run(fmt.Sprint(s[0], "x", s[1]), func(t *testing.T) {
			h := newHarness(t)
			y, b := h.input(s[0], s[1]), h.input(s[1])
			h.run(1, func(o backend.Ops, sd side) { o.AddBias(sd(y), sd(b)) })
			h.close("y", y, tolElementwise)
			// In place: three runs add the bias three times.
			h.run(3, func(o backend.Ops, sd side) { o.AddBias(sd(y), sd(b)) })
			h.close("y after 3 more runs", y, tolElementwise)
		})
	}
}

func TestBiasGrad(t *testing.T) {
	for _, s := range biasShapes {
		t.Run(fmt.Sprint(s[0], "x", s[1]), func(t *testing.T) {
			h := newHarness(t)
			dy := h.input(s[0], s[1])
			db := h.output(backend.F32, s[1])
			h.run(1, func(o backend.Ops, sd side) { o.BiasGrad(sd(dy), sd(db)) })
			h.close("db", db, tolReduction)
		})
	}
}

// TestBiasGradDeterministic runs BiasGrad twice, with the output poisoned in
// between, and wants the same bits.
func TestBiasGradDeterministic(t *testing.T) {
	g := gpuBackend(t)
	for _, s := range [][2]int{{32, 512}, {1000, 3}} {
		h := newHarness(t)
		dy := h.input(s[0], s[1])
		db := h.output(backend.F32, s[1])
		p := g.NewProgram()
		p.BiasGrad(dy.gpu, db.gpu)
		var runs [2][]float32
		for i := range runs {
			poison(t, g, db.gpu)
			if err := p.Run(1); err != nil {
				t.Fatal(err)
			}
			runs[i] = h.floats(g, db.gpu)
		}
		p.Close()
		sameBits(t, runs[0], runs[1])
	}
}

func TestBiasErrors(t *testing.T) {
	g := gpuBackend(t)
	y, _ := g.NewTensor(backend.F32, 4, 5)
	b, _ := g.NewTensor(backend.F32, 4)
	for name, record := range map[string]func(p backend.Program){
		"AddBias length":  func(p backend.Program) { p.AddBias(y, b) },
		"BiasGrad length": func(p backend.Program) { p.BiasGrad(y, b) },
		"AddBias rank":    func(p backend.Program) { p.AddBias(b, b) },
	} {
		p := g.NewProgram()
		record(p)
		if p.Err() == nil {
			t.Errorf("%s: no error recorded", name)
		}
		p.Close()
	}
}
