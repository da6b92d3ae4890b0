package vulkan

import (
	"fmt"
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

func TestSGD(t *testing.T) {
	params := []backend.SGDParams{
		{LR: 0.001, Momentum: 0.9},                                   // the seed's optimizer
		{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4},                 // with weight decay
		{LR: 0.05, Momentum: 0.8, WeightDecay: 1e-3, Nesterov: true}, // Nesterov
		{LR: 0.1, WeightDecay: 1e-2},                                 // no momentum
	}
	shapes := [][]int{{8192, 512}, {7}, {3, 5}, {1}}
	for _, shape := range shapes {
		for _, o := range params {
			for _, noBuf := range []bool{false, true} {
				if noBuf && o.Momentum != 0 {
					continue
				}
				t.Run(fmt.Sprintf("%v/%+v/nobuf=%v", shape, o, noBuf), func(t *testing.T) {
					if testing.Short() && shape[0] == 8192 && o != params[0] {
						t.Skip("large SGD runs once in -short mode")
					}
					h := newHarness(t)
					p, g := h.input(shape...), h.input(shape...)
					// buf starts at zero, as PyTorch's does.
					buf := h.inputValues(make([]float32, p.cpu.Len()), shape...)
					const steps = 3
					h.run(steps, func(ops backend.Ops, s side) {
						var b backend.Tensor
						if !noBuf {
							b = s(buf)
						}
						ops.SGD(s(p), s(g), b, o)
					})
					h.close("p", p, tolElementwise)
					h.bitIdentical("p", p)
					if !noBuf {
						h.close("buf", buf, tolElementwise)
						h.bitIdentical("buf", buf)
					}
				})
			}
		}
	}
}

// TestSGDSpec checks one element against PyTorch's formula by hand, so both
// backends cannot share a mistake.
func TestSGDSpec(t *testing.T) {
	h := newHarness(t)
	o := backend.SGDParams{LR: 0.5, Momentum: 0.5, WeightDecay: 0.25, Nesterov: true}
	p := h.inputValues([]float32{2}, 1)
	g := h.inputValues([]float32{1}, 1)
	buf := h.inputValues([]float32{0}, 1)
	h.run(2, func(ops backend.Ops, s side) { ops.SGD(s(p), s(g), s(buf), o) })
	// Step 1: g' = 1+0.25*2 = 1.5, buf = 1.5, step = 1.5+0.5*1.5 = 2.25, p = 2-1.125 = 0.875.
	// Step 2: g' = 1+0.25*0.875 = 1.21875, buf = 0.75+1.21875 = 1.96875,
	// step = 1.21875+0.984375 = 2.203125, p = 0.875-1.1015625 = -0.2265625.
	if got := h.floats(h.gpu, p.gpu)[0]; got != -0.2265625 {
		t.Errorf("p after two Nesterov steps: %v, want -0.2265625", got)
	}
	if got := h.floats(h.gpu, buf.gpu)[0]; got != 1.96875 {
		t.Errorf("buf after two steps: %v, want 1.96875", got)
	}
}

// TestSGDSchedule records one step (SGD, then Step) on both backends and
// replays it a step at a time, with the counter also uploaded between runs
// (back to 1, then past the end): after every step p and buf must agree bit
// for bit with the CPU's, whose own test checks which entry each step took.
// A schedule of 1 entry takes it at every step.
func TestSGDSchedule(t *testing.T) {
	schedules := [][]float32{{0, 1, 0.5, 0.125, 0.75}, {0.5}}
	params := []backend.SGDParams{
		{LR: 0.1},
		{LR: 0.01, Momentum: 0.9, WeightDecay: 0.1},
		{LR: 0.05, Momentum: 0.8, WeightDecay: 1e-3, Nesterov: true},
	}
	for _, shape := range [][]int{{7}, {3, 5}, {100, 1000}} {
		for _, sched := range schedules {
			for _, o := range params {
				t.Run(fmt.Sprintf("%v/S=%d/%+v", shape, len(sched), o), func(t *testing.T) {
					h := newHarness(t)
					p, g := h.input(shape...), h.input(shape...)
					buf := h.inputValues(make([]float32, p.cpu.Len()), shape...)
					ctr := h.counters(0, 0)
					schedule := h.inputValues(sched, len(sched))
					noBuf := o.Momentum == 0
					progs := make([]backend.Program, 2)
					for i, b := range []backend.Backend{h.cpu, h.gpu} {
						s := func(x pair) backend.Tensor { return []backend.Tensor{x.cpu, x.gpu}[i] }
						so := o
						so.Schedule, so.Ctr = s(schedule), s(ctr)
						var bt backend.Tensor
						if !noBuf {
							bt = s(buf)
						}
						progs[i] = b.NewProgram()
						progs[i].SGD(s(p), s(g), bt, so)
						progs[i].Step(s(ctr))
						defer progs[i].Close()
					}
					for step := range 8 {
						switch step {
						case 6:
							h.upload(ctr, []uint32{1, 0})
						case 7:
							h.upload(ctr, []uint32{1 << 31, 0})
						}
						for _, prog := range progs {
							if err := prog.Run(1); err != nil {
								t.Fatal(err)
							}
						}
						h.bitIdentical(fmt.Sprintf("p after step %d", step), p)
						if !noBuf {
							h.bitIdentical(fmt.Sprintf("buf after step %d", step), buf)
						}
					}
					h.same("ctr", ctr)
				})
			}
		}
	}
}

// TestSGDScheduleSpec checks one element over three replayed steps against
// hand-worked numbers, so both backends cannot share a mistake (such as
// reading the schedule when the step is recorded, or scaling weight decay).
func TestSGDScheduleSpec(t *testing.T) {
	h := newHarness(t)
	p := h.inputValues([]float32{2}, 1)
	g := h.inputValues([]float32{1}, 1)
	ctr := h.counters(0, 0)
	sched := h.inputValues([]float32{1, 0.5}, 2)
	o := backend.SGDParams{LR: 0.5, WeightDecay: 0.5, Schedule: sched.gpu, Ctr: ctr.gpu}
	prog := h.gpu.NewProgram()
	defer prog.Close()
	prog.SGD(p.gpu, g.gpu, nil, o)
	prog.Step(ctr.gpu)
	// Step 0: d = 1+0.5·2 = 2, p = 2-0.5·2 = 1.
	// Step 1: d = 1+0.5·1 = 1.5, lr = 0.25, p = 1-0.375 = 0.625.
	// Step 2 (clamped to the last entry): d = 1.3125, p = 0.625-0.328125 = 0.296875.
	for step, want := range []float32{1, 0.625, 0.296875} {
		if err := prog.Run(1); err != nil {
			t.Fatal(err)
		}
		if got := h.floats(h.gpu, p.gpu)[0]; got != want {
			t.Errorf("p after step %d: %v, want %v", step, got, want)
		}
	}
}

// TestMiscErrors checks that bad arguments to the element-wise, pool, loss,
// optimizer and batch ops are recorded as errors and the program refuses to
// run, rather than dispatching out of bounds.
func TestMiscErrors(t *testing.T) {
	b := gpuBackend(t)
	f := func(shape ...int) backend.Tensor {
		x, err := b.NewTensor(backend.F32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	u := func(shape ...int) backend.Tensor {
		x, err := b.NewTensor(backend.U32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	recs, err := b.NewTensor(backend.U8, 4, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(p backend.Program){
		"relu shapes":          func(p backend.Program) { p.ReLU(f(2, 3), f(3, 2)) },
		"relu dtype":           func(p backend.Program) { p.ReLU(u(6), f(6)) },
		"relu backward shapes": func(p backend.Program) { p.ReLUBackward(f(4), f(4), f(5)) },
		"dropout p=1":          func(p backend.Program) { p.Dropout(f(4), f(4), u(2), 1, 0, 0) },
		"dropout counters":     func(p backend.Program) { p.DropoutBackward(f(4), f(4), u(3), 0.5, 0, 0) },
		"pool output shape":    func(p backend.Program) { p.MaxPool2d(f(1, 1, 4, 4), f(1, 1, 3, 3), u(1, 1, 3, 3), 2, 2) },
		"pool kernel too big":  func(p backend.Program) { p.MaxPool2d(f(1, 1, 4, 4), f(1, 1, 1, 1), u(1, 1, 1, 1), 5, 1) },
		"pool backward shape":  func(p backend.Program) { p.MaxPool2dBackward(f(1, 1, 2, 2), u(1, 1, 2, 1), f(1, 1, 4, 4), 2, 2) },
		"pool backward in place": func(p backend.Program) {
			dx := f(1, 1, 4, 4)
			dy, _ := b.View(dx, 1, 1, 2, 2)
			p.MaxPool2dBackward(dy, u(1, 1, 2, 2), dx, 2, 2)
		},
		"loss labels": func(p backend.Program) { p.SoftmaxCrossEntropy(f(4, 10), u(5), nil, f(1), u(1), backend.LossParams{}) },
		"loss dlogits": func(p backend.Program) {
			p.SoftmaxCrossEntropy(f(4, 10), u(4), f(4, 9), f(1), u(1), backend.LossParams{})
		},
		"loss correct": func(p backend.Program) { p.SoftmaxCrossEntropy(f(4, 10), u(4), nil, f(1), f(1), backend.LossParams{}) },
		"loss smoothing 1": func(p backend.Program) {
			p.SoftmaxCrossEntropy(f(4, 10), u(4), nil, f(1), u(1), backend.LossParams{LabelSmoothing: 1})
		},
		"loss smoothing negative": func(p backend.Program) {
			p.SoftmaxCrossEntropy(f(4, 10), u(4), nil, f(1), u(1), backend.LossParams{LabelSmoothing: -0.1})
		},
		"loss smoothing NaN": func(p backend.Program) {
			p.SoftmaxCrossEntropy(f(4, 10), u(4), f(4, 10), f(1), u(1), backend.LossParams{LabelSmoothing: float32(math.NaN())})
		},
		"argmax shape":   func(p backend.Program) { p.Argmax(f(4, 10), u(10)) },
		"sgd shapes":     func(p backend.Program) { p.SGD(f(4), f(5), f(4), backend.SGDParams{LR: 0.1}) },
		"sgd momentum 1": func(p backend.Program) { p.SGD(f(4), f(4), f(4), backend.SGDParams{LR: 0.1, Momentum: 1}) },
		"sgd no buffer":  func(p backend.Program) { p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Momentum: 0.9}) },
		"sgd schedule without ctr": func(p backend.Program) {
			p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Schedule: f(3)})
		},
		"sgd ctr without schedule": func(p backend.Program) {
			p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Ctr: u(2)})
		},
		"sgd schedule dtype": func(p backend.Program) {
			p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Schedule: u(3), Ctr: u(2)})
		},
		"sgd schedule rank": func(p backend.Program) {
			p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Schedule: f(1, 3), Ctr: u(2)})
		},
		"sgd ctr shape": func(p backend.Program) {
			p.SGD(f(4), f(4), nil, backend.SGDParams{LR: 0.1, Schedule: f(3), Ctr: u(1)})
		},
		"gather batch": func(p backend.Program) { p.Gather(recs, u(8), u(2), f(2, 3, 32, 31), u(2), backend.GatherParams{}) },
		"gather records": func(p backend.Program) {
			p.Gather(f(4, 3073), u(8), u(2), f(2, 3, 32, 32), u(2), backend.GatherParams{})
		},
		"gather pad": func(p backend.Program) {
			p.Gather(recs, u(8), u(2), f(2, 3, 32, 32), u(2), backend.GatherParams{Pad: 33})
		},
		"step counters": func(p backend.Program) { p.Step(u(1)) },
	}
	for name, record := range cases {
		t.Run(name, func(t *testing.T) {
			p := b.NewProgram()
			defer p.Close()
			record(p)
			if p.Err() == nil {
				t.Fatal("recorded no error")
			}
			if err := p.Run(1); err == nil {
				t.Fatal("a program with an error ran")
			}
		})
	}
}

// TestGridStride caps the dispatches at two workgroups, so that every
// grid-stride loop (taken on real tensors only past 16M elements, or 65535
// images) runs many rounds, and compares with the CPU.
func TestGridStride(t *testing.T) {
	defer func(n int) { maxElementGroups = n }(maxElementGroups)
	maxElementGroups = 2
	h := newHarness(t)
	x, dy := h.input(3, 5, 37, 41), h.input(3, 5, 37, 41)
	y, dx := h.output(backend.F32, 3, 5, 37, 41), h.output(backend.F32, 3, 5, 37, 41)
	drop := h.output(backend.F32, 3, 5, 37, 41)
	py, arg := h.output(backend.F32, 3, 5, 18, 20), h.output(backend.U32, 3, 5, 18, 20)
	pdx := h.output(backend.F32, 3, 5, 37, 41)
	logits := h.input(1500, 10)
	pred := h.output(backend.U32, 1500)
	p, g, buf := h.input(9000), h.input(9000), h.input(9000)
	recs, _ := h.records(20)
	idx := h.indexList(10, 20)
	ctr := h.counters(2, 0)
	xb, lb := h.output(backend.F32, 5, 3, 32, 32), h.output(backend.U32, 5)
	h.run(1, func(o backend.Ops, s side) {
		o.ReLU(s(x), s(y))
		o.ReLUBackward(s(y), s(dy), s(dx))
		o.Dropout(s(x), s(drop), s(ctr), 0.4, 1, 1)
		o.MaxPool2d(s(x), s(py), s(arg), 3, 2)
		o.MaxPool2dBackward(s(py), s(arg), s(pdx), 3, 2)
		o.Argmax(s(logits), s(pred))
		o.SGD(s(p), s(g), s(buf), backend.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01})
		o.Gather(s(recs), s(idx), s(ctr), s(xb), s(lb), backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true})
	})
	for name, q := range map[string]pair{"relu": y, "relu backward": dx, "dropout": drop, "pool": py,
		"pool backward": pdx, "sgd p": p, "sgd buf": buf, "gather": xb} {
		h.bitIdentical(name, q)
	}
	h.same("argmax", arg)
	h.same("predictions", pred)
	h.same("labels", lb)
}
