package cpu

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Gather records the building of a batch from raw CIFAR-10 records (see
// backend.Ops.Gather). Scaling and normalization only ever see 256 byte
// values per channel, so they are folded into a lookup table at record time.
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
	const side = backend.ImageSide
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			f := float32(v) * float32(backend.GatherPixel)
			if o.Std[c] != 0 {
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
		step, batch := ct.u[backend.CounterStep], ct.u[backend.CounterBatch]
		base := uint64(batch) * uint64(n)
		var cols [side]int // source column of each output column, -1 for padding
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
			rec := rt.b[int(idx)*backend.RecordSize:][:backend.RecordSize]
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
					sx = side - 1 - xx
				}
				cols[xx] = gatherSource(sx+dx-pad, o.Reflect)
			}
			img := xt.f[i*backend.ImageSize:][:backend.ImageSize]
			for c := range 3 {
				tab := &lut[c]
				src := rec[1+c*side*side:][:side*side]
				for y := range side {
					out := img[(c*side+y)*side:][:side]
					iy := gatherSource(y+dy-pad, o.Reflect)
					if iy < 0 {
						for xx := range out {
							out[xx] = tab[0]
						}
						continue
					}
					row := src[iy*side:][:side]
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

// indexFlipBit is the bit of an index-list entry that says, with
// IndexFlip, to mirror the image; the other 31 bits are the record index.
const indexFlipBit = 1 << 31

// gatherSource maps a coordinate u of the padded image, shifted to the
// image's frame (so 0-31 are inside), to the image row or column it reads,
// or -1 for a zero pixel. Reflection is PyTorch's 'reflect' mode: the edge
// is not repeated, so -1 reads 1 and 32 reads 30. CheckGather keeps the
// padding under the image side, so one reflection always lands inside.
func gatherSource(u int, reflect bool) int {
	const side = backend.ImageSide
	switch {
	case u >= 0 && u < side:
		return u
	case !reflect:
		return -1
	case u < 0:
		return -u
	default:
		return 2*(side-1) - u
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
