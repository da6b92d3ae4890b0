package vulkan

import (
	"fmt"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// records is a random CIFAR-10 record set of r records: a label byte below
// 10, then 3072 pixel bytes.
func (h *harness) records(r int) (pair, []uint8) {
	v := make([]uint8, r*backend.RecordSize)
	for i := range v {
		v[i] = uint8(h.rng.UintN(256))
	}
	for i := range r {
		v[i*backend.RecordSize] = uint8(h.rng.UintN(backend.NumClasses))
	}
	return h.inputU8(v, r, backend.RecordSize), v
}

// indexList is a shuffled index list of length n over r records.
func (h *harness) indexList(n, r int) pair {
	p := h.alloc(backend.U32, []int{n})
	v := make([]uint32, n)
	for i := range v {
		v[i] = uint32(h.rng.IntN(r))
	}
	h.upload(p, v)
	return p
}

var cifarMean, cifarStd = [3]float32{0.4914, 0.4822, 0.4465}, [3]float32{0.2470, 0.2435, 0.2616}

func TestGather(t *testing.T) {
	cases := []struct {
		name string
		n    int
		o    backend.GatherParams
	}{
		{"plain", 32, backend.GatherParams{}},
		{"normalize", 32, backend.GatherParams{Mean: cifarMean, Std: cifarStd}},
		{"crop+flip+normalize", 32, backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true, Seed: 11}},
		{"flip", 7, backend.GatherParams{Flip: true, Seed: 3}},
		{"crop", 5, backend.GatherParams{Pad: 2, Seed: 5}},
		{"wide crop, one channel normalized", 3, backend.GatherParams{Mean: [3]float32{0, 0.5, 0}, Std: [3]float32{0, -3, 0}, Pad: 32, Flip: true, Seed: 1}},
		{"batch 1", 1, backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true}},
		// Normalization that underflows to subnormals and zero, divides by
		// a subnormal and overflows: the exact division's edge cases.
		{"tiny results", 2, backend.GatherParams{Mean: [3]float32{0.3, 0.1, 0.7}, Std: [3]float32{3e37, 1e38, -2e36}}},
		{"huge results", 2, backend.GatherParams{Mean: [3]float32{0.3, 0.1, 0.7}, Std: [3]float32{1e-37, 2e-40, -3e-38}}},
	}
	const steps = 3
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			recs, _ := h.records(40)
			idx := h.indexList(steps*c.n+1, 40)
			ctr := h.counters(1000, 0)
			gatherSteps(h, recs, idx, ctr, c.n, steps, c.o)
			h.same("ctr", ctr)
		})
	}
}

// TestGatherFlip checks the flip against the spec: without crop or
// normalization every image is its record scaled, mirrored or not, and at
// batch 32 both occur.
func TestGatherFlip(t *testing.T) {
	h := newHarness(t)
	const n, w = 32, backend.ImageSide
	recs, raw := h.records(n)
	idx := h.alloc(backend.U32, []int{n})
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	h.upload(idx, order)
	ctr := h.counters(5, 0)
	x := h.output(backend.F32, n, 3, w, w)
	labels := h.output(backend.U32, n)
	h.run(1, func(o backend.Ops, s side) {
		o.Gather(s(recs), s(idx), s(ctr), s(x), s(labels), backend.GatherParams{Flip: true, Seed: 9})
	})
	h.bitIdentical("x", x)
	got := h.floats(h.gpu, x.gpu)
	var mirrored, plain int
	for i := range n {
		rec := raw[i*backend.RecordSize+1:][:backend.ImageSize]
		img := got[i*backend.ImageSize:][:backend.ImageSize]
		isPlain, isMirror := true, true
		for k := range img {
			row, col := k/w, k%w
			scaled := func(b uint8) float32 { return float32(b) * float32(backend.GatherPixel) }
			isPlain = isPlain && img[k] == scaled(rec[k])
			isMirror = isMirror && img[k] == scaled(rec[row*w+w-1-col])
		}
		switch {
		case isPlain:
			plain++
		case isMirror:
			mirrored++
		default:
			t.Fatalf("image %d is neither its record nor its mirror", i)
		}
		if l := h.uints(h.gpu, labels.gpu)[i]; l != uint32(raw[i*backend.RecordSize]) {
			t.Fatalf("image %d: label %d, the record says %d", i, l, raw[i*backend.RecordSize])
		}
	}
	if mirrored == 0 || plain == 0 {
		t.Errorf("%d images mirrored, %d not: want some of each", mirrored, plain)
	}
}

// TestGatherOutOfRange checks what the GPU does where the CPU reports an
// error: an index past the records, or a batch past the index list, gives a
// zero image and the label 0xffffffff, and reads nothing out of bounds.
func TestGatherOutOfRange(t *testing.T) {
	h := newHarness(t)
	b := h.gpu
	const n = 4
	recs, _ := h.records(10)
	idx := h.alloc(backend.U32, []int{6})
	h.upload(idx, []uint32{1, 10, 2, 1 << 31, 3, 4}) // two bad indices; batch 1 runs past the list
	for _, c := range []struct {
		batch uint32
		bad   []bool
	}{
		{0, []bool{false, true, false, true}},
		{1, []bool{false, false, true, true}},
		{1 << 31, []bool{true, true, true, true}}, // batch*n wraps in 32 bits
	} {
		ctr := h.counters(0, c.batch)
		x := h.output(backend.F32, n, 3, 32, 32)
		labels := h.output(backend.U32, n)
		p := b.NewProgram()
		p.Gather(recs.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4})
		if err := p.Run(1); err != nil {
			t.Fatal(err)
		}
		p.Close()
		xv, lv := h.floats(b, x.gpu), h.uints(b, labels.gpu)
		for i, bad := range c.bad {
			img := xv[i*backend.ImageSize:][:backend.ImageSize]
			if bad {
				if lv[i] != 0xffffffff {
					t.Errorf("batch %d image %d: label %d, want 0xffffffff", c.batch, i, lv[i])
				}
				for k, v := range img {
					if v != 0 {
						t.Fatalf("batch %d image %d: pixel %d is %v, want 0", c.batch, i, k, v)
					}
				}
			} else if lv[i] >= backend.NumClasses {
				t.Errorf("batch %d image %d: label %d for a valid index", c.batch, i, lv[i])
			}
		}
	}
}

func TestStep(t *testing.T) {
	h := newHarness(t)
	ctr := h.counters(41, 0xffffffff)
	h.run(3, func(o backend.Ops, s side) {
		o.Step(s(ctr))
		o.Step(s(ctr))
	})
	h.same("ctr", ctr)
	if got := h.uints(h.gpu, ctr.gpu); got[0] != 47 || got[1] != 5 {
		t.Errorf("counters after 6 steps from [41 0xffffffff]: %v, want [47 5]", got)
	}
}

// gatherSteps records steps gathers of batch n, advancing the counter
// between them, and checks every batch and its labels bit for bit.
func gatherSteps(h *harness, recs, idx, ctr pair, n, steps int, o backend.GatherParams) {
	xs, labels := make([]pair, steps), make([]pair, steps)
	for i := range xs {
		xs[i] = h.output(backend.F32, n, 3, backend.ImageSide, backend.ImageSide)
		labels[i] = h.output(backend.U32, n)
	}
	h.run(1, func(ops backend.Ops, s side) {
		for i := range steps {
			ops.Gather(s(recs), s(idx), s(ctr), s(xs[i]), s(labels[i]), o)
			ops.Step(s(ctr))
		}
	})
	for i := range steps {
		h.bitIdentical(fmt.Sprint("step ", i, ": x"), xs[i])
		h.same(fmt.Sprint("step ", i, ": labels"), labels[i])
	}
}
