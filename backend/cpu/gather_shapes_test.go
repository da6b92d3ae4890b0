package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// imageShape is the [C,H,W] of one image.
type imageShape struct{ c, h, w int }

func (s imageShape) size() int { return s.c * s.h * s.w }

// gatherShapes are image shapes other than CIFAR-10's: MNIST's grey 28x28,
// a non-square RGB image (so that a mix-up of H and W shows), four
// channels, the most Gather takes, and a one-pixel-high strip.
var gatherShapes = []imageShape{{1, 28, 28}, {3, 20, 12}, {4, 5, 7}, {2, 1, 9}}

// shapedRecords builds n records of shape s with random bytes, labels below
// 100, and returns them as uploaded and as bytes.
func shapedRecords(t testing.TB, b *Backend, rng *rand.Rand, n int, s imageShape) (backend.Tensor, []uint8) {
	t.Helper()
	rs := 1 + s.size()
	raw := make([]uint8, n*rs)
	for i := range raw {
		raw[i] = uint8(rng.UintN(256))
	}
	for r := range n {
		raw[r*rs] = uint8(rng.UintN(100))
	}
	rt, err := b.NewTensor(backend.U8, n, rs)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, b, rt, raw)
	return rt, raw
}

// shapedView is Gather's documented output for record rec of raw seen
// through the view (dx, dy, mirror), in float64, built as a data pipeline
// builds it: pad each side (zeros, or PyTorch's reflection without the
// edge), crop the HxW window at (dy, dx), mirror, scale, normalize.
func shapedView(raw []uint8, s imageShape, rec, dx, dy int, mirror bool, o backend.GatherParams) []float64 {
	padded := func(u, size int) int { // image coordinate of padded coordinate u, or -1
		u -= o.Pad
		switch {
		case u >= 0 && u < size:
			return u
		case !o.Reflect:
			return -1
		case u < 0:
			return -u
		default:
			return 2*(size-1) - u
		}
	}
	img := raw[rec*(1+s.size())+1:][:s.size()]
	out := make([]float64, s.size())
	for c := range s.c {
		for y := range s.h {
			for x := range s.w {
				cx := x
				if mirror {
					cx = s.w - 1 - x
				}
				iy, ix := padded(y+dy, s.h), padded(cx+dx, s.w)
				v := 0.0
				if iy >= 0 && ix >= 0 {
					v = float64(img[(c*s.h+iy)*s.w+ix]) / 255
				}
				if o.Std[c] != 0 {
					v = (v - float64(o.Mean[c])) / float64(o.Std[c])
				}
				out[(c*s.h+y)*s.w+x] = v
			}
		}
	}
	return out
}

// TestGatherShapes checks Gather on images of other shapes against the
// pad-crop-mirror reference, over two steps, for every way of choosing a
// view, with normalization of some channels and not others.
func TestGatherShapes(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(7, 28))
	for _, s := range gatherShapes {
		side := min(s.h, s.w)
		reflectPad := min(2, side-1)
		norm := backend.GatherParams{Mean: [4]float32{0.5, 0.4, 0.3, 0.2}, Std: [4]float32{0.25, 0, 0.5, 2}}
		with := func(f func(o *backend.GatherParams)) backend.GatherParams {
			o := norm
			f(&o)
			return o
		}
		cases := []struct {
			name string
			o    backend.GatherParams
		}{
			{"scale only", backend.GatherParams{}},
			{"normalized", norm},
			{"zero pad crops and flips", with(func(o *backend.GatherParams) { o.Pad, o.Flip, o.Seed = side, true, 3 })},
			{"reflect pad crops and flips", with(func(o *backend.GatherParams) { o.Pad, o.Reflect, o.Flip, o.Seed = reflectPad, true, true, 4 })},
			{"index flip", with(func(o *backend.GatherParams) { o.IndexFlip, o.Pad, o.Seed = true, 1, 5 })},
			{"fixed corner view mirrored", with(func(o *backend.GatherParams) {
				o.Pad, o.Reflect, o.Fixed, o.DX, o.DY, o.Mirror = reflectPad, true, true, 2*reflectPad, 0, true
			})},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%dx%dx%d %s", s.c, s.h, s.w, tc.name), func(t *testing.T) {
				const nrec, n = 6, 5
				recs, raw := shapedRecords(t, b, rng, nrec, s)
				idx := make([]uint32, 3*n)
				for i := range idx {
					idx[i] = uint32(rng.IntN(nrec))
					if tc.o.IndexFlip && rng.IntN(2) == 1 {
						idx[i] |= 1 << 31
					}
				}
				indices := newU32(t, b, idx, len(idx))
				ctr := newU32(t, b, []uint32{500, 1}, 2)
				x := newF32(t, b, nil, n, s.c, s.h, s.w)
				labels := newU32(t, b, nil, n)
				p := b.NewProgram()
				p.Gather(recs, indices, ctr, x, labels, tc.o)
				p.Step(ctr)
				for step := uint32(500); step < 502; step++ {
					run(t, p)
					xs, ls := getF32(t, b, x), getU32(t, b, labels)
					batch := int(step - 500 + 1)
					for i := range n {
						entry := idx[batch*n+i]
						rec := int(entry & 0x7fffffff)
						if want := uint32(raw[rec*(1+s.size())]); ls[i] != want {
							t.Fatalf("step %d: label[%d] = %d, want %d", step, i, ls[i], want)
						}
						dx, dy, mirror := backend.Augmentation(tc.o.Seed, step, uint32(i), tc.o.Pad, tc.o.Flip)
						switch {
						case tc.o.Fixed:
							dx, dy, mirror = tc.o.DX, tc.o.DY, tc.o.Mirror
						case tc.o.IndexFlip:
							mirror = entry>>31 == 1
						}
						want := shapedView(raw, s, rec, dx, dy, mirror, tc.o)
						checkClose(t, fmt.Sprintf("step %d image %d (view %d,%d mirror %v): x", step, i, dx, dy, mirror), xs[i*s.size():][:s.size()], want, 1e-5)
					}
				}
			})
		}
	}
}

// TestGatherShapeErrors checks CheckGather's refusals that depend on the
// image shape: records whose rows do not match x's image, too many
// channels, padding past the shorter side.
func TestGatherShapeErrors(t *testing.T) {
	b := New()
	rng := rand.New(rand.NewPCG(1, 2))
	mnist, _ := shapedRecords(t, b, rng, 3, imageShape{1, 28, 28})
	strip, _ := shapedRecords(t, b, rng, 3, imageShape{3, 4, 9})
	five, _ := shapedRecords(t, b, rng, 3, imageShape{5, 2, 2})
	idx := newU32(t, b, []uint32{0, 1}, 2)
	ctr := newU32(t, b, []uint32{0, 0}, 2)
	labels := newU32(t, b, nil, 2)
	cases := []struct {
		name string
		recs backend.Tensor
		x    []int
		o    backend.GatherParams
		want string // "" for accepted
	}{
		{"MNIST records, CIFAR batch", mnist, []int{2, 3, 32, 32}, backend.GatherParams{}, "records has shape [3 785], want [3 3073] (a label byte and 3x32x32 pixels, as x [2 3 32 32])"},
		{"MNIST records, MNIST batch", mnist, []int{2, 1, 28, 28}, backend.GatherParams{}, ""},
		{"H and W swapped", strip, []int{2, 3, 9, 4}, backend.GatherParams{}, ""}, // same record size: the data's owner decides
		{"five channels", five, []int{2, 5, 2, 2}, backend.GatherParams{}, "want 1-4 channels"},
		{"zero pad to the shorter side", strip, []int{2, 3, 4, 9}, backend.GatherParams{Pad: 4}, ""},
		{"zero pad past the shorter side", strip, []int{2, 3, 4, 9}, backend.GatherParams{Pad: 5}, "crop padding 5: need 0-4 (the shorter side of 4x9 images)"},
		{"reflect pad to the shorter side", strip, []int{2, 3, 4, 9}, backend.GatherParams{Pad: 4, Reflect: true}, "reflect padding 4: need less than the image side 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newF32(t, b, nil, tc.x...)
			p := b.NewProgram()
			p.Gather(tc.recs, idx, ctr, x, labels, tc.o)
			err := p.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				run(t, p)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestGatherNormalizeBits pins which Std values normalize: everything but
// +0 and -0, subnormals included (the shader decides on the bits too, so a
// GPU that flushes subnormals agrees).
func TestGatherNormalizeBits(t *testing.T) {
	for _, c := range []struct {
		std  float32
		want bool
	}{
		{0, false}, {float32(math.Copysign(0, -1)), false}, {1e-45, true}, {-1e-45, true}, {2e-40, true}, {1, true},
		{float32(math.NaN()), true}, {float32(math.Inf(1)), true},
	} {
		if got := normalizes(c.std); got != c.want {
			t.Errorf("normalizes(%g) = %v, want %v", c.std, got, c.want)
		}
	}
	// A subnormal Std divides: (1-0)/1e-45 overflows to +Inf.
	b := New()
	raw := make([]uint8, 1+4)
	raw[1] = 255
	recs, _ := b.NewTensor(backend.U8, 1, 5)
	upload(t, b, recs, raw)
	x := newF32(t, b, nil, 1, 1, 2, 2)
	p := b.NewProgram()
	p.Gather(recs, newU32(t, b, []uint32{0}, 1), newU32(t, b, []uint32{0, 0}, 2), x, newU32(t, b, nil, 1),
		backend.GatherParams{Std: [4]float32{1e-45}})
	run(t, p)
	if got := getF32(t, b, x); !math.IsInf(float64(got[0]), 1) || got[1] != 0 {
		t.Errorf("byte 255 and 0 over Std 1e-45: %v, want +Inf and 0", got)
	}
}
