package cpu

import (
	"math"
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
	norm := backend.GatherParams{Mean: [3]float32{0.5, 0.4, 0.3}, Std: [3]float32{0.25, 0, 0.5}}
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
