package cpu

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
)

// Gather records the building of a batch from raw records (see
// backend.Ops.Gather) of any image shape, which x's [N,C,H,W] gives.
// Scaling and normalization only ever see 256 byte values per channel, so
// they are folded into a lookup table at record time.
func (p *Program) Gather(records, indices, ctr, x, labels backend.Tensor, o backend.GatherParams) {
	const op = "Gather"
	if !p.start(op) {
		return
	}
	n, err := backend.CheckGather(op, records, indices, ctr, x, labels, o)
	if !p.check(err) {
		return
	}
	rt, it, ct := p.tensor(op, "records", records), p.tensor(op, "indices", indices), p.tensor(op, "ctr", ctr)
	xt, lt := p.tensor(op, "x", x), p.tensor(op, "labels", labels)
	if p.err != nil {
		return
	}
	xs := x.Shape()
	nc, h, w := xs[1], xs[2], xs[3]
	plane := h * w
	image := nc * plane
	recordSize := 1 + image
	var lut [backend.MaxGatherChannels][256]float32
	for c := range nc {
		for v := range 256 {
			f := float32(v) * float32(backend.GatherPixel)
			if normalizes(o.Std[c]) {
				f = (f - o.Mean[c]) / o.Std[c]
			}
			lut[c][v] = f
		}
	}
	nrec, nidx := rt.shape[0], it.shape[0]
	pad := o.Pad
	// With IndexFlip the mirror comes from the entry, so Flip's draw is not
	// taken; dx and dy are drawn as ever, from the same counters.
	flip := o.Flip && !o.IndexFlip
	p.add(func() error {
		cols := make([]int, w) // source column of each output column, -1 for padding
		step, batch := ct.u[backend.CounterStep], ct.u[backend.CounterBatch]
		base := uint64(batch) * uint64(n)
		for i := range n {
			pos := base + uint64(i)
			if pos >= uint64(nidx) {
				return fmt.Errorf("cpu: %s: batch %d of %d images reads index %d, past the %d indices", op, batch, n, pos, nidx)
			}
			entry := it.u[pos]
			idx := entry
			if o.IndexFlip {
				idx = entry &^ indexFlipBit
			}
			if int64(idx) >= int64(nrec) {
				return fmt.Errorf("cpu: %s: index %d (position %d) is past the %d records", op, idx, pos, nrec)
			}
			rec := rt.b[int(idx)*recordSize:][:recordSize]
			lt.u[i] = uint32(rec[0])
			var dx, dy int
			var mirror bool
			if o.Fixed {
				dx, dy, mirror = o.DX, o.DY, o.Mirror
			} else {
				dx, dy, mirror = backend.Augmentation(o.Seed, step, uint32(i), pad, flip)
				if o.IndexFlip {
					mirror = entry&indexFlipBit != 0
				}
			}
			for xx := range cols {
				sx := xx
				if mirror {
					sx = w - 1 - xx
				}
				cols[xx] = gatherSource(sx+dx-pad, w, o.Reflect)
			}
			img := xt.f[i*image:][:image]
			for c := range nc {
				tab := &lut[c]
				src := rec[1+c*plane:][:plane]
				for y := range h {
					out := img[(c*h+y)*w:][:w]
					iy := gatherSource(y+dy-pad, h, o.Reflect)
					if iy < 0 {
						for xx := range out {
							out[xx] = tab[0]
						}
						continue
					}
					row := src[iy*w:][:w]
					for xx, ix := range cols {
						if ix >= 0 {
							out[xx] = tab[row[ix]]
						} else {
							out[xx] = tab[0]
						}
					}
				}
			}
		}
		return nil
	})
}

// normalizes says whether a channel's Std asks for normalization: any value
// but +0 and -0, decided on the bits as the shader decides it, so that a
// subnormal Std normalizes on both backends (a GPU that flushes subnormals
// would call it zero in a float comparison).
func normalizes(std float32) bool { return math.Float32bits(std)&0x7fffffff != 0 }

// indexFlipBit is the bit of an index-list entry that says, with
// IndexFlip, to mirror the image; the other 31 bits are the record index.
const indexFlipBit = 1 << 31

// gatherSource maps a coordinate u of the padded image, shifted to the
// image's frame (so 0 to size-1 are inside), to the image row or column it
// reads, or -1 for a zero pixel. Reflection is PyTorch's 'reflect' mode:
// the edge is not repeated, so -1 reads 1 and size reads size-2.
// CheckGather keeps the padding under the image's shorter side, so one
// reflection always lands inside.
func gatherSource(u, size int, reflect bool) int {
	switch {
	case u >= 0 && u < size:
		return u
	case !reflect:
		return -1
	case u < 0:
		return -u
	default:
		return 2*(size-1) - u
	}
}

// Step records the advance of both counters, so that the next replay of the
// program draws new random numbers and reads the next batch.
func (p *Program) Step(ctr backend.Tensor) {
	const op = "Step"
	if !p.start(op) {
		return
	}
	if !p.check(backend.CheckCounters(op, ctr)) {
		return
	}
	ct := p.tensor(op, "ctr", ctr)
	if p.err != nil {
		return
	}
	p.add(func() error {
		ct.u[backend.CounterStep]++
		ct.u[backend.CounterBatch]++
		return nil
	})
}
