package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

const side = backend.ImageSide

// pixel is the byte of record r at (c, y, x) in the hand-made record set.
func pixel(r, c, y, x int) uint8 { return uint8((c*50 + y*3 + x*7 + r*11) % 256) }

// records builds n records with labels 1, 4, 7, ... and pixel's bytes.
func records(t testing.TB, b *Backend, n int) backend.Tensor {
	t.Helper()
	raw := make([]uint8, n*backend.RecordSize)
	for r := range n {
		rec := raw[r*backend.RecordSize:]
		rec[0] = uint8((r*3 + 1) % 10)
		for c := range 3 {
			for y := range side {
				for x := range side {
					rec[1+(c*side+y)*side+x] = pixel(r, c, y, x)
				}
			}
		}
	}
	rt, err := b.NewTensor(backend.U8, n, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, b, rt, raw)
	return rt
}

// wantImage is Gather's documented output for image i of a batch, from the
// formula in GatherParams, in float64.
func wantImage(rec, i int, step uint32, o backend.GatherParams) []float64 {
	dx, dy, mirror := backend.Augmentation(o.Seed, step, uint32(i), o.Pad, o.Flip)
	out := make([]float64, backend.ImageSize)
	for c := range 3 {
		for y := range side {
			for x := range side {
				sx := x
				if mirror {
					sx = side - 1 - x
				}
				iy, ix := y+dy-o.Pad, sx+dx-o.Pad
				v := 0.0
				if iy >= 0 && iy < side && ix >= 0 && ix < side {
					v = float64(pixel(rec, c, iy, ix)) / 255
				}
				if o.Std[c] != 0 {
					v = (v - float64(o.Mean[c])) / float64(o.Std[c])
				}
				out[(c*side+y)*side+x] = v
			}
		}
	}
	return out
}

func checkClose(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > tol {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestGather checks labels, scaling, normalization (with one channel left
// alone by a zero Std), the ctr[1] offset into the index list, and crops and
// flips over two steps against backend.Augmentation.
func TestGather(t *testing.T) {
	b := New()
	const nrec = 5
	recs := records(t, b, nrec)
	norm := backend.GatherParams{Mean: [4]float32{0.5, 0.4, 0.3}, Std: [4]float32{0.25, 0, 0.5}}
	aug := norm
	aug.Pad, aug.Flip, aug.Seed = 4, true, 99
	cases := []struct {
		name string
		n    int
		o    backend.GatherParams
	}{
		{"scale only", 2, backend.GatherParams{}},
		{"normalized", 3, norm},
		{"augmented", 8, aug},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx := make([]uint32, 3*tc.n)
			for i := range idx {
				idx[i] = uint32((7*i + 3) % nrec)
			}
			indices := newU32(t, b, idx, len(idx))
			ctr := newU32(t, b, []uint32{500, 1}, 2)
			x := newF32(t, b, nil, tc.n, 3, side, side)
			labels := newU32(t, b, nil, tc.n)
			p := b.NewProgram()
			p.Gather(recs, indices, ctr, x, labels, tc.o)
			p.Step(ctr)
			mirrored, shifted := 0, 0
			for step := uint32(500); step < 502; step++ {
				run(t, p)
				xs, ls := getF32(t, b, x), getU32(t, b, labels)
				batch := int(step - 500 + 1)
				for i := range tc.n {
					rec := int(idx[batch*tc.n+i])
					if want := uint32((rec*3 + 1) % 10); ls[i] != want {
						t.Fatalf("step %d: label[%d] = %d, want %d", step, i, ls[i], want)
					}
					checkClose(t, "x", xs[i*backend.ImageSize:][:backend.ImageSize], wantImage(rec, i, step, tc.o), 1e-5)
					dx, dy, m := backend.Augmentation(tc.o.Seed, step, uint32(i), tc.o.Pad, tc.o.Flip)
					if m {
						mirrored++
					}
					if dx != tc.o.Pad || dy != tc.o.Pad {
						shifted++
					}
				}
			}
			if tc.o.Flip && (mirrored == 0 || mirrored == 2*tc.n || shifted == 0) {
				t.Fatalf("test data does not exercise augmentation: %d mirrored, %d shifted", mirrored, shifted)
			}
			if c := getU32(t, b, ctr); c[0] != 502 || c[1] != 3 {
				t.Errorf("ctr = %v after two steps, want [502 3]", c)
			}
		})
	}
}

// TestGatherScale pins the scaling by hand: byte 255 is 1 and byte 51 is 0.2.
func TestGatherScale(t *testing.T) {
	b := New()
	raw := make([]uint8, backend.RecordSize)
	raw[0], raw[1], raw[2] = 9, 255, 51
	recs, _ := b.NewTensor(backend.U8, 1, backend.RecordSize)
	upload(t, b, recs, raw)
	x := newF32(t, b, nil, 1, 3, side, side)
	labels := newU32(t, b, nil, 1)
	p := b.NewProgram()
	p.Gather(recs, newU32(t, b, []uint32{0}, 1), newU32(t, b, []uint32{0, 0}, 2), x, labels, backend.GatherParams{})
	run(t, p)
	xs := getF32(t, b, x)
	if math.Abs(float64(xs[0])-1) > 1e-7 || math.Abs(float64(xs[1])-0.2) > 1e-7 || xs[2] != 0 || getU32(t, b, labels)[0] != 9 {
		t.Fatalf("x starts %v, label %v; want [1 0.2 0 ...], 9", xs[:3], getU32(t, b, labels))
	}
}

// TestGatherOutOfRange checks that bad indices are errors from Run, not
// panics: an index past the records, and a batch past the index list.
func TestGatherOutOfRange(t *testing.T) {
	b := New()
	recs := records(t, b, 3)
	x := newF32(t, b, nil, 2, 3, side, side)
	labels := newU32(t, b, nil, 2)
	cases := []struct {
		name string
		idx  []uint32
		ctr  []uint32
		want string
	}{
		{"index past records", []uint32{0, 1, 2, 3}, []uint32{0, 1}, "past the 3 records"},
		{"batch past indices", []uint32{0, 1, 2, 0}, []uint32{0, 2}, "past the 4 indices"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			p.Gather(recs, newU32(t, b, tc.idx, len(tc.idx)), newU32(t, b, tc.ctr, 2), x, labels, backend.GatherParams{})
			err := p.Run(1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// padIndex lists, for each column (or row) of an image padded by pad on
// both sides, the image column it holds, or -1 for a zero. It is built as
// PyTorch's F.pad describes it, by concatenation: reflection is the pad
// pixels next to the edge in mirror order, without the edge itself
// (x[pad] ... x[1], x[0..31], x[30] ... x[31-pad]).
func padIndex(pad int, reflect bool) []int {
	var idx []int
	for k := pad; k >= 1; k-- {
		if reflect {
			idx = append(idx, k)
		} else {
			idx = append(idx, -1)
		}
	}
	for k := range side {
		idx = append(idx, k)
	}
	for k := 1; k <= pad; k++ {
		if reflect {
			idx = append(idx, side-1-k)
		} else {
			idx = append(idx, -1)
		}
	}
	return idx
}

// viewImage is Gather's output for record rec seen through the view
// (dx, dy, mirror), built as a data pipeline builds it: pad, crop the
// 32x32 window at (dy, dx), then mirror; scaled and normalized in float64.
func viewImage(rec, dx, dy int, mirror bool, o backend.GatherParams) []float64 {
	pi := padIndex(o.Pad, o.Reflect)
	out := make([]float64, backend.ImageSize)
	for c := range 3 {
		for y := range side {
			for x := range side {
				cx := x
				if mirror {
					cx = side - 1 - x
				}
				iy, ix := pi[y+dy], pi[cx+dx]
				v := 0.0
				if iy >= 0 && ix >= 0 {
					v = float64(pixel(rec, c, iy, ix)) / 255
				}
				if o.Std[c] != 0 {
					v = (v - float64(o.Mean[c])) / float64(o.Std[c])
				}
				out[(c*side+y)*side+x] = v
			}
		}
	}
	return out
}

// TestGatherPadIndex pins the reference's reflection to PyTorch's own
// examples: F.pad(arange(32), (2, 2), mode='reflect') starts 2, 1, 0, 1
// and ends 30, 31, 30, 29.
func TestGatherPadIndex(t *testing.T) {
	got := padIndex(2, true)
	if len(got) != side+4 || got[0] != 2 || got[1] != 1 || got[2] != 0 || got[3] != 1 ||
		got[side] != 30 || got[side+1] != 31 || got[side+2] != 30 || got[side+3] != 29 {
		t.Fatalf("reflect pad 2: %v", got)
	}
	if z := padIndex(1, false); z[0] != -1 || z[1] != 0 || z[side+1] != -1 {
		t.Fatalf("zero pad 1: %v", z)
	}
}

// TestGatherViews checks each way of choosing an image's view against the
// pad-crop-mirror reference, over two steps: reflect padding at every
// border (fixed views in the corners, and random crops), mirrors from bit
// 31 of the index entries, and fixed views for test-time augmentation.
func TestGatherViews(t *testing.T) {
	b := New()
	const nrec = 5
	recs := records(t, b, nrec)
	norm := backend.GatherParams{Mean: [4]float32{0.5, 0.4, 0.3}, Std: [4]float32{0.25, 0, 0.5}}
	with := func(f func(o *backend.GatherParams)) backend.GatherParams {
		o := norm
		f(&o)
		return o
	}
	cases := []struct {
		name string
		n    int
		o    backend.GatherParams
	}{
		{"reflect pad 1 view (0,0)", 2, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Fixed = 1, true, true })},
		{"reflect pad 1 view (0,0) mirrored", 2, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Fixed, o.Mirror = 1, true, true, true })},
		{"reflect pad 1 view (2,2)", 2, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Fixed, o.DX, o.DY = 1, true, true, 2, 2 })},
		{"reflect pad 1 view (2,2) mirrored", 2, with(func(o *backend.GatherParams) {
			o.Pad, o.Reflect, o.Fixed, o.DX, o.DY, o.Mirror = 1, true, true, 2, 2, true
		})},
		{"zero pad 1 view (2,0) mirrored", 2, with(func(o *backend.GatherParams) { o.Pad, o.Fixed, o.DX, o.Mirror = 1, true, 2, true })},
		{"reflect pad 31 view (0,62)", 1, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Fixed, o.DY = 31, true, true, 62 })},
		{"reflect pad 31 view (62,0) mirrored", 1, with(func(o *backend.GatherParams) {
			o.Pad, o.Reflect, o.Fixed, o.DX, o.Mirror = 31, true, true, 62, true
		})},
		{"fixed view without padding", 2, with(func(o *backend.GatherParams) { o.Fixed, o.Mirror = true, true })},
		{"reflect pad 2 random crops", 8, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Flip, o.Seed = 2, true, true, 7 })},
		{"reflect pad 4 random crops", 8, with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Flip, o.Seed = 4, true, true, 8 })},
		{"index flip", 8, with(func(o *backend.GatherParams) { o.IndexFlip = true })},
		// Flip is ignored: the draws it would take must not decide.
		{"index flip over flip", 8, with(func(o *backend.GatherParams) { o.IndexFlip, o.Flip, o.Seed = true, true, 3 })},
		{"index flip, reflect pad 2 random crops", 8, with(func(o *backend.GatherParams) { o.IndexFlip, o.Reflect, o.Pad, o.Seed = true, true, 2, 5 })},
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx := make([]uint32, 3*tc.n)
			for i := range idx {
				idx[i] = uint32((7*i + 3) % nrec)
				if tc.o.IndexFlip && rng.IntN(2) == 1 {
					idx[i] |= 1 << 31
				}
			}
			indices := newU32(t, b, idx, len(idx))
			ctr := newU32(t, b, []uint32{500, 1}, 2)
			x := newF32(t, b, nil, tc.n, 3, side, side)
			labels := newU32(t, b, nil, tc.n)
			p := b.NewProgram()
			p.Gather(recs, indices, ctr, x, labels, tc.o)
			p.Step(ctr)
			mirrored, drawnDiffers := 0, 0
			for step := uint32(500); step < 502; step++ {
				run(t, p)
				xs, ls := getF32(t, b, x), getU32(t, b, labels)
				batch := int(step - 500 + 1)
				for i := range tc.n {
					entry := idx[batch*tc.n+i]
					rec := int(entry & 0x7fffffff)
					if want := uint32((rec*3 + 1) % 10); ls[i] != want {
						t.Fatalf("step %d: label[%d] = %d, want %d", step, i, ls[i], want)
					}
					// The view as the contract chooses it.
					dx, dy, mirror := backend.Augmentation(tc.o.Seed, step, uint32(i), tc.o.Pad, tc.o.Flip)
					switch {
					case tc.o.Fixed:
						dx, dy, mirror = tc.o.DX, tc.o.DY, tc.o.Mirror
					case tc.o.IndexFlip:
						if m := entry>>31 == 1; m != mirror {
							drawnDiffers++
							mirror = m
						}
					}
					if mirror {
						mirrored++
					}
					checkClose(t, fmt.Sprintf("step %d: x", step), xs[i*backend.ImageSize:][:backend.ImageSize], viewImage(rec, dx, dy, mirror, tc.o), 1e-5)
				}
			}
			if tc.o.IndexFlip && (mirrored == 0 || mirrored == 2*tc.n) {
				t.Fatalf("test data does not exercise the index bit: %d of %d mirrored", mirrored, 2*tc.n)
			}
			if tc.o.IndexFlip && tc.o.Flip && drawnDiffers == 0 {
				t.Fatal("the index bits agree with Flip's draws everywhere: the test cannot tell them apart")
			}
		})
	}
}

// TestGatherParamErrors checks CheckGather's refusals of the view options
// (and that their limits are accepted), and the bounds check of an index
// whose bit 31 is set.
func TestGatherParamErrors(t *testing.T) {
	b := New()
	recs := records(t, b, 3)
	x := newF32(t, b, nil, 2, 3, side, side)
	labels := newU32(t, b, nil, 2)
	ctr := newU32(t, b, []uint32{0, 0}, 2)
	cases := []struct {
		name string
		o    backend.GatherParams
		want string // "" for accepted
	}{
		{"reflect pad 32", backend.GatherParams{Pad: 32, Reflect: true}, "reflect padding 32: need less than the image side 32"},
		{"reflect pad 31", backend.GatherParams{Pad: 31, Reflect: true}, ""},
		{"zero pad 32", backend.GatherParams{Pad: 32}, ""},
		{"fixed dx -1", backend.GatherParams{Pad: 2, Fixed: true, DX: -1}, "DX -1, DY 0: need 0-4"},
		{"fixed dy 5 at pad 2", backend.GatherParams{Pad: 2, Fixed: true, DY: 5}, "DX 0, DY 5: need 0-4"},
		{"fixed dx 1 without padding", backend.GatherParams{Fixed: true, DX: 1}, "need 0-0"},
		{"fixed (4,4) at pad 2", backend.GatherParams{Pad: 2, Fixed: true, DX: 4, DY: 4, Mirror: true}, ""},
		{"fixed with flip", backend.GatherParams{Pad: 1, Fixed: true, Flip: true}, "Fixed with Flip true, IndexFlip false"},
		{"fixed with index flip", backend.GatherParams{Pad: 1, Fixed: true, IndexFlip: true}, "Fixed with Flip false, IndexFlip true"},
		{"offsets without fixed", backend.GatherParams{Pad: 1, DX: 9, DY: -3}, ""}, // ignored, as the contract says
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.NewProgram()
			p.Gather(recs, newU32(t, b, []uint32{0, 1}, 2), ctr, x, labels, tc.o)
			err := p.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				run(t, p)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cpu: Gather: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if p.Run(1) == nil {
				t.Fatal("a program with a refused Gather ran")
			}
		})
	}

	// Bit 31 is the mirror only with IndexFlip; the index in the other
	// bits is bounds-checked either way.
	for _, c := range []struct {
		entry     uint32
		indexFlip bool
		want      string
	}{
		{1<<31 | 2, true, ""},
		{1<<31 | 3, true, "index 3 (position 0) is past the 3 records"},
		{1<<31 | 2, false, "index 2147483650 (position 0) is past the 3 records"},
	} {
		p := b.NewProgram()
		p.Gather(recs, newU32(t, b, []uint32{c.entry, 0}, 2), ctr, x, labels, backend.GatherParams{IndexFlip: c.indexFlip})
		err := p.Run(1)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("entry %#x, IndexFlip %v: Run: %v, want %q", c.entry, c.indexFlip, err, c.want)
		}
	}
}
