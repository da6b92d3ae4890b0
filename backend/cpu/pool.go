package cpu

import (
	"fmt"
	"math/bits"

	"github.com/vkcnn/vkcnn/backend"
)

// MaxPool2d records the max over each window and where it was found. Planes
// are independent, so they are split among the workers.
func (p *Program) MaxPool2d(x, y, argmax backend.Tensor, kernel, stride int) {
	const op = "MaxPool2d"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckPool(op, x, y, argmax, kernel, stride)
	if !p.check(err) {
		return
	}
	xt, yt, at := p.tensor(op, "x", x), p.tensor(op, "y", y), p.tensor(op, "argmax", argmax)
	if p.err != nil || !p.distinct(op, "y", yt, "x", xt) {
		return
	}
	n, c, h, w, oh, ow := s.N, s.C, s.H, s.W, s.OH, s.OW
	hw, ohw := h*w, oh*ow
	planes := n * c
	parts := min(elementParts(p.workers, planes*hw), planes)
	t := newTeam(parts, func(wk int) {
		lo, hi := span(planes, parts, wk)
		for pl := lo; pl < hi; pl++ {
			x, y, a := xt.f[pl*hw:][:hw], yt.f[pl*ohw:][:ohw], at.u[pl*ohw:][:ohw]
			if kernel == 2 {
				maxPool2(x, y, a, w, oh, ow, stride)
			} else {
				maxPool(x, y, a, w, oh, ow, kernel, stride)
			}
		}
	})
	p.add(func() error { t.run(); return nil })
}

// MaxPool2dBackward records the scatter of dy to the argmax positions. Each
// plane is done by one worker in output order, so overlapping windows are
// summed in a fixed order without atomics.
func (p *Program) MaxPool2dBackward(dy, argmax, dx backend.Tensor, kernel, stride int) {
	const op = "MaxPool2dBackward"
	if !p.start(op) {
		return
	}
	s, err := backend.CheckPool(op, dx, dy, argmax, kernel, stride)
	if !p.check(err) {
		return
	}
	dyt, at, dxt := p.tensor(op, "dy", dy), p.tensor(op, "argmax", argmax), p.tensor(op, "dx", dx)
	if p.err != nil || !p.distinct(op, "dx", dxt, "dy", dyt) {
		return
	}
	n, c, h, w, oh, ow := s.N, s.C, s.H, s.W, s.OH, s.OW
	hw, ohw := h*w, oh*ow
	planes := n * c
	parts := elementParts(p.workers, planes*hw)
	parts = min(parts, planes)
	bad := make([]error, parts)
	t := newTeam(parts, func(wk int) {
		bad[wk] = nil
		lo, hi := span(planes, parts, wk)
		for pl := lo; pl < hi; pl++ {
			d := dxt.f[pl*hw:][:hw]
			clear(d)
			src := dyt.f[pl*ohw:][:ohw]
			for q, a := range at.u[pl*ohw:][:ohw] {
				if int(a) >= hw {
					bad[wk] = fmt.Errorf("cpu: %s: argmax %d at plane %d is outside the %dx%d input plane", op, a, pl, h, w)
					return
				}
				d[a] += src[q]
			}
		}
	})
	p.add(func() error {
		t.run()
		for _, err := range bad {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// maxPool pools one plane x (width w) into y and argmax a, for any kernel:
// the first strictly greater value in row-major window order wins.
func maxPool(x, y []float32, a []uint32, w, oh, ow, kernel, stride int) {
	for i := range oh {
		for j := range ow {
			h0, w0 := i*stride, j*stride
			best, arg := x[h0*w+w0], h0*w+w0
			for r := range kernel {
				row := x[(h0+r)*w+w0:][:kernel]
				for s, v := range row {
					if v > best {
						best, arg = v, (h0+r)*w+w0+s
					}
				}
			}
			y[i*ow+j] = best
			a[i*ow+j] = uint32(arg)
		}
	}
}

// maxPool2 is maxPool for 2x2 windows without data-dependent branches, which
// on ReLU output (ties at zero, random order) mispredict often. The first
// strictly greater value is the first value equal to the window's maximum,
// which a bit mask and a trailing-zero count find. A NaN in the window
// (nothing equals the max) falls back to the first element.
func maxPool2(x, y []float32, a []uint32, w, oh, ow, stride int) {
	for i := range oh {
		r0 := x[i*stride*w:][:w]
		r1 := x[(i*stride+1)*w:][:w]
		off := [4]int{i * stride * w, i*stride*w + 1, (i*stride + 1) * w, (i*stride+1)*w + 1}
		yr, ar := y[i*ow:][:ow], a[i*ow:][:ow]
		for j := range yr {
			c := j * stride
			v0, v1, v2, v3 := r0[c], r0[c+1], r1[c], r1[c+1]
			m := max(max(v0, v1), max(v2, v3))
			mask := b2u(v0 == m) | b2u(v1 == m)<<1 | b2u(v2 == m)<<2 | b2u(v3 == m)<<3 | 1<<4
			idx := off[bits.TrailingZeros32(mask)&3] + c
			yr[j] = x[idx]
			ar[j] = uint32(idx)
		}
	}
}

// b2u compiles to a flag-setting instruction, not a branch.
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}
