package vulkan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// records is a random CIFAR-10 record set of r records: a label byte below
// 10, then 3072 pixel bytes.
func (h *harness) records(r int) (pair, []uint8) {
	return h.recordsOf(r, cifarShape)
}

// cifarShape is CIFAR-10's image shape, [C,H,W].
var cifarShape = [3]int{3, backend.ImageSide, backend.ImageSide}

// recordsOf is a random record set of r records of images of shape s: a
// label byte below 10, then the pixel bytes.
func (h *harness) recordsOf(r int, s [3]int) (pair, []uint8) {
	rs := 1 + s[0]*s[1]*s[2]
	v := make([]uint8, r*rs)
	for i := range v {
		v[i] = uint8(h.rng.UintN(256))
	}
	for i := range r {
		v[i*rs] = uint8(h.rng.UintN(backend.NumClasses))
	}
	return h.inputU8(v, r, rs), v
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

var cifarMean, cifarStd = [4]float32{0.4914, 0.4822, 0.4465}, [4]float32{0.2470, 0.2435, 0.2616}

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
		{"wide crop, one channel normalized", 3, backend.GatherParams{Mean: [4]float32{0, 0.5, 0}, Std: [4]float32{0, -3, 0}, Pad: 32, Flip: true, Seed: 1}},
		{"batch 1", 1, backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true}},
		// Normalization that underflows to subnormals and zero, divides by
		// a subnormal and overflows: the exact division's edge cases.
		{"tiny results", 2, backend.GatherParams{Mean: [4]float32{0.3, 0.1, 0.7}, Std: [4]float32{3e37, 1e38, -2e36}}},
		{"huge results", 2, backend.GatherParams{Mean: [4]float32{0.3, 0.1, 0.7}, Std: [4]float32{1e-37, 2e-40, -3e-38}}},
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
// between them, checks every batch and its labels bit for bit, and returns
// the batches.
func gatherSteps(h *harness, recs, idx, ctr pair, n, steps int, o backend.GatherParams) []pair {
	return gatherStepsOf(h, recs, idx, ctr, cifarShape, n, steps, o)
}

// gatherStepsOf is gatherSteps for images of shape s.
func gatherStepsOf(h *harness, recs, idx, ctr pair, s [3]int, n, steps int, o backend.GatherParams) []pair {
	xs, labels := make([]pair, steps), make([]pair, steps)
	for i := range xs {
		xs[i] = h.output(backend.F32, n, s[0], s[1], s[2])
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
	return xs
}

// flipEntries is an index list of n entries over r records with bit 31 set
// at random (IndexFlip's mirror), some of each.
func (h *harness) flipEntries(n, r int) []uint32 {
	v := make([]uint32, n)
	for i := range v {
		v[i] = uint32(h.rng.IntN(r))
		if i%4 == 1 || i%4 == 2 && h.rng.IntN(2) == 0 {
			v[i] |= 1 << 31
		}
	}
	return v
}

// viewOf is the view (crop offsets and mirror) the contract gives image i
// of a batch at step, whose index-list entry is entry.
func viewOf(o backend.GatherParams, step uint32, i int, entry uint32) (dx, dy int, mirror bool) {
	if o.Fixed {
		return o.DX, o.DY, o.Mirror
	}
	dx, dy, mirror = backend.Augmentation(o.Seed, step, uint32(i), o.Pad, o.Flip)
	if o.IndexFlip {
		mirror = entry>>31 == 1
	}
	return dx, dy, mirror
}

// naiveView is image rec of raw seen through a view, unnormalized: output
// pixel (c, y, x) is the record's pixel at (y+dy-pad, sx+dx-pad), sx the
// mirrored x, reflected back into the image once (PyTorch's 'reflect') or
// zero outside it.
func naiveView(raw []uint8, rec, dx, dy int, mirror bool, o backend.GatherParams) []float32 {
	const w = backend.ImageSide
	reflect := func(u int) int {
		if !o.Reflect {
			return u
		}
		if u < 0 {
			return -u
		}
		if u > w-1 {
			return 2*(w-1) - u
		}
		return u
	}
	pixels := raw[rec*backend.RecordSize+1:][:backend.ImageSize]
	out := make([]float32, backend.ImageSize)
	for c := range 3 {
		for y := range w {
			for x := range w {
				sx := x
				if mirror {
					sx = w - 1 - x
				}
				iy, ix := reflect(y+dy-o.Pad), reflect(sx+dx-o.Pad)
				if iy >= 0 && iy < w && ix >= 0 && ix < w {
					out[(c*w+y)*w+x] = float32(pixels[(c*w+iy)*w+ix]) * float32(backend.GatherPixel)
				}
			}
		}
	}
	return out
}

// gatherViewCases are the view options' cases of the GPU tests: reflect
// padding at every border (fixed views in the corners, random crops), the
// mirror from the index entries, fixed views for test-time augmentation.
var gatherViewCases = []struct {
	name string
	n    int
	o    backend.GatherParams
}{
	{"reflect pad 1 view (0,0)", 3, backend.GatherParams{Pad: 1, Reflect: true, Fixed: true}},
	{"reflect pad 1 view (0,0) mirrored", 3, backend.GatherParams{Pad: 1, Reflect: true, Fixed: true, Mirror: true}},
	{"reflect pad 1 view (2,2)", 3, backend.GatherParams{Pad: 1, Reflect: true, Fixed: true, DX: 2, DY: 2}},
	{"reflect pad 1 view (2,2) mirrored", 3, backend.GatherParams{Pad: 1, Reflect: true, Fixed: true, DX: 2, DY: 2, Mirror: true}},
	{"zero pad 1 view (2,2) mirrored", 2, backend.GatherParams{Pad: 1, Fixed: true, DX: 2, DY: 2, Mirror: true}},
	{"reflect pad 31 view (62,0) mirrored", 1, backend.GatherParams{Pad: 31, Reflect: true, Fixed: true, DX: 62, Mirror: true}},
	{"reflect pad 2 crop+flip", 9, backend.GatherParams{Pad: 2, Reflect: true, Flip: true, Seed: 4}},
	{"reflect pad 4 crop+flip", 9, backend.GatherParams{Pad: 4, Reflect: true, Flip: true, Seed: 12}},
	{"index flip", 8, backend.GatherParams{IndexFlip: true, Flip: true, Seed: 2}},
	{"index flip, reflect pad 2 crop", 9, backend.GatherParams{IndexFlip: true, Reflect: true, Pad: 2, Seed: 6}},
	{"index flip, reflect pad 4 crop, normalize", 32, backend.GatherParams{Mean: cifarMean, Std: cifarStd, IndexFlip: true, Reflect: true, Pad: 4, Seed: 6}},
	{"fixed view (3,1), normalize", 4, backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 2, Reflect: true, Fixed: true, DX: 3, DY: 1}},
}

// TestGatherViews runs each view option over three steps, bit-identical to
// the CPU, and checks the unnormalized cases against naiveView.
func TestGatherViews(t *testing.T) {
	const steps, nrec = 3, 40
	for _, c := range gatherViewCases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			recs, raw := h.records(nrec)
			entries := h.flipEntries(steps*c.n, nrec)
			if !c.o.IndexFlip {
				for i := range entries {
					entries[i] &^= 1 << 31
				}
			}
			idx := h.alloc(backend.U32, []int{len(entries)})
			h.upload(idx, entries)
			ctr := h.counters(1000, 0)
			xs := gatherSteps(h, recs, idx, ctr, c.n, steps, c.o)
			if c.o.Std != [4]float32{} {
				return
			}
			for s := range steps {
				got := h.floats(h.gpu, xs[s].gpu)
				for i := range c.n {
					e := entries[s*c.n+i]
					dx, dy, mirror := viewOf(c.o, 1000+uint32(s), i, e)
					want := naiveView(raw, int(e&0x7fffffff), dx, dy, mirror, c.o)
					for k, v := range want {
						if got[i*backend.ImageSize+k] != v {
							t.Fatalf("step %d image %d (view %d,%d mirror %v): pixel %d is %v, want %v",
								s, i, dx, dy, mirror, k, got[i*backend.ImageSize+k], v)
						}
					}
				}
			}
		})
	}
}

// TestGatherViewErrors checks that the Vulkan backend refuses what
// CheckGather refuses, before recording anything.
func TestGatherViewErrors(t *testing.T) {
	h := newHarness(t)
	recs, _ := h.records(3)
	idx := h.indexList(2, 3)
	ctr := h.counters(0, 0)
	x := h.output(backend.F32, 2, 3, 32, 32)
	labels := h.output(backend.U32, 2)
	for _, c := range []struct {
		o    backend.GatherParams
		want string
	}{
		{backend.GatherParams{Pad: 32, Reflect: true}, "Gather: reflect padding 32: need less than the image side 32"},
		{backend.GatherParams{Pad: 1, Fixed: true, DX: 3}, "Gather: fixed view offsets DX 3, DY 0: need 0-2"},
		{backend.GatherParams{Pad: 1, Fixed: true, DY: -1}, "Gather: fixed view offsets DX 0, DY -1: need 0-2"},
		{backend.GatherParams{Pad: 1, Fixed: true, Flip: true}, "Gather: Fixed with Flip true, IndexFlip false"},
		{backend.GatherParams{Pad: 1, Fixed: true, IndexFlip: true}, "Gather: Fixed with Flip false, IndexFlip true"},
	} {
		p := h.gpu.NewProgram()
		p.Gather(recs.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, c.o)
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
		if p.Run(1) == nil {
			t.Errorf("%+v: a program with a refused Gather ran", c.o)
		}
		p.Close()
	}
}

// TestGatherIndexFlipOutOfRange: with IndexFlip the record index is the
// entry's low 31 bits, bounds-checked as ever (a bad one gives a zero image
// and the label 0xffffffff); without it, bit 31 makes an index past any
// record set.
func TestGatherIndexFlipOutOfRange(t *testing.T) {
	h := newHarness(t)
	b := h.gpu
	recs, raw := h.records(10)
	idx := h.alloc(backend.U32, []int{4})
	h.upload(idx, []uint32{1<<31 | 9, 1<<31 | 10, 3, 0x7fffffff})
	for _, c := range []struct {
		indexFlip bool
		bad       []bool
	}{
		{true, []bool{false, true, false, true}},
		{false, []bool{true, true, false, true}},
	} {
		ctr := h.counters(0, 0)
		x := h.output(backend.F32, 4, 3, 32, 32)
		labels := h.output(backend.U32, 4)
		p := b.NewProgram()
		p.Gather(recs.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{IndexFlip: c.indexFlip, Pad: 2, Reflect: true})
		if err := p.Run(1); err != nil {
			t.Fatal(err)
		}
		p.Close()
		xv, lv := h.floats(b, x.gpu), h.uints(b, labels.gpu)
		for i, bad := range c.bad {
			img := xv[i*backend.ImageSize:][:backend.ImageSize]
			nonzero := 0
			for _, v := range img {
				if v != 0 {
					nonzero++
				}
			}
			switch {
			case bad && (lv[i] != 0xffffffff || nonzero != 0):
				t.Errorf("IndexFlip %v, image %d: label %#x and %d nonzero pixels, want 0xffffffff and none", c.indexFlip, i, lv[i], nonzero)
			case !bad && (lv[i] >= backend.NumClasses || nonzero == 0):
				t.Errorf("IndexFlip %v, image %d: label %d and %d nonzero pixels for a valid index", c.indexFlip, i, lv[i], nonzero)
			}
		}
		if c.indexFlip && lv[0] != uint32(raw[9*backend.RecordSize]) {
			t.Errorf("entry 1<<31 | 9: label %d, record 9 says %d", lv[0], raw[9*backend.RecordSize])
		}
	}
}

// TestGatherShapes runs Gather on images of other shapes (MNIST's grey
// 28x28, a non-square RGB image, four channels, a one-pixel-high strip)
// with each kind of view over three steps, bit-identical to the CPU (whose
// own test checks these shapes against the pad-crop-mirror reference), and
// the unnormalized ones against naiveViewOf.
func TestGatherShapes(t *testing.T) {
	const steps, nrec, n = 3, 11, 6
	for _, s := range [][3]int{{1, 28, 28}, {3, 20, 12}, {4, 5, 7}, {2, 1, 9}} {
		side := min(s[1], s[2])
		rp := min(2, side-1)
		norm := backend.GatherParams{Mean: [4]float32{0.1307, 0.4, 0.3, 0.2}, Std: [4]float32{0.3081, 0, 0.5, 2e-40}}
		for _, c := range []struct {
			name string
			o    backend.GatherParams
		}{
			{"plain", backend.GatherParams{}},
			{"normalize", norm},
			{"zero pad crop+flip", backend.GatherParams{Pad: side, Flip: true, Seed: 3}},
			{"reflect pad crop+flip+normalize", backend.GatherParams{Mean: norm.Mean, Std: norm.Std, Pad: rp, Reflect: true, Flip: true, Seed: 4}},
			{"index flip reflect crop", backend.GatherParams{IndexFlip: true, Pad: rp, Reflect: true, Seed: 5}},
			{"fixed corner view mirrored", backend.GatherParams{Pad: rp, Reflect: true, Fixed: true, DX: 2 * rp, Mirror: true}},
		} {
			t.Run(fmt.Sprintf("%dx%dx%d %s", s[0], s[1], s[2], c.name), func(t *testing.T) {
				h := newHarness(t)
				recs, raw := h.recordsOf(nrec, s)
				entries := h.flipEntries(steps*n, nrec)
				if !c.o.IndexFlip {
					for i := range entries {
						entries[i] &^= 1 << 31
					}
				}
				idx := h.alloc(backend.U32, []int{len(entries)})
				h.upload(idx, entries)
				ctr := h.counters(1000, 0)
				xs := gatherStepsOf(h, recs, idx, ctr, s, n, steps, c.o)
				if c.o.Std != [4]float32{} {
					return
				}
				size := s[0] * s[1] * s[2]
				for st := range steps {
					got := h.floats(h.gpu, xs[st].gpu)
					for i := range n {
						e := entries[st*n+i]
						dx, dy, mirror := viewOf(c.o, 1000+uint32(st), i, e)
						want := naiveViewOf(raw, s, int(e&0x7fffffff), dx, dy, mirror, c.o)
						for k, v := range want {
							if got[i*size+k] != v {
								t.Fatalf("step %d image %d (view %d,%d mirror %v): pixel %d is %v, want %v", st, i, dx, dy, mirror, k, got[i*size+k], v)
							}
						}
					}
				}
			})
		}
	}
}

// naiveViewOf is naiveView for images of shape s.
func naiveViewOf(raw []uint8, s [3]int, rec, dx, dy int, mirror bool, o backend.GatherParams) []float32 {
	nc, hh, w := s[0], s[1], s[2]
	reflect := func(u, size int) int {
		if !o.Reflect {
			return u
		}
		if u < 0 {
			return -u
		}
		if u > size-1 {
			return 2*(size-1) - u
		}
		return u
	}
	size := nc * hh * w
	pixels := raw[rec*(1+size)+1:][:size]
	out := make([]float32, size)
	for c := range nc {
		for y := range hh {
			for x := range w {
				sx := x
				if mirror {
					sx = w - 1 - x
				}
				iy, ix := reflect(y+dy-o.Pad, hh), reflect(sx+dx-o.Pad, w)
				if iy >= 0 && iy < hh && ix >= 0 && ix < w {
					out[(c*hh+y)*w+x] = float32(pixels[(c*hh+iy)*w+ix]) * float32(backend.GatherPixel)
				}
			}
		}
	}
	return out
}

// TestGatherShapeViewErrors checks that the Vulkan backend refuses records
// whose rows do not fit the batch's image, as CheckGather does.
func TestGatherShapeViewErrors(t *testing.T) {
	h := newHarness(t)
	recs, _ := h.recordsOf(3, [3]int{1, 28, 28})
	idx := h.indexList(2, 3)
	ctr := h.counters(0, 0)
	x := h.output(backend.F32, 2, 3, 32, 32)
	labels := h.output(backend.U32, 2)
	p := h.gpu.NewProgram()
	defer p.Close()
	p.Gather(recs.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{})
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "records has shape [3 785], want [3 3073]") {
		t.Errorf("MNIST records into a CIFAR batch: error %v", err)
	}
}
