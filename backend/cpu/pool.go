package cpu

import (
	"fmt"
	"math/bits"

	"github.com/vkcnn/vkcnn/backend"
)

// poolGeometry checks kernel and stride against an input [N,C,H,W] and
// returns the output plane size.
func (p *Program) poolGeometry(op string, in *Tensor, kernel, stride int) (oh, ow int, ok bool) {
	if p.err != nil {
		return 0, 0, false
	}
	if kernel < 1 || stride < 1 {
		p.fail(op, "kernel %d and stride %d: want both >= 1", kernel, stride)
		return 0, 0, false
	}
	h, w := in.shape[2], in.shape[3]
	if kernel > h || kernel > w {
		p.fail(op, "kernel %d does not fit the input %v", kernel, in.shape)
		return 0, 0, false
	}
	return (h-kernel)/stride + 1, (w-kernel)/stride + 1, true
}

// MaxPool2d records the max over each window and where it was found. Planes
// are independent, so they are split among the workers.
func (p *Program) MaxPool2d(x, y, argmax backend.Tensor, kernel, stride int) {
	const op = "MaxPool2d"
	if !p.start(op) {
		return
	}
	xt := p.arg(op, "x", x, backend.F32, 4)
	yt := p.arg(op, "y", y, backend.F32, 4)
	at := p.arg(op, "argmax", argmax, backend.U32, 4)
	oh, ow, ok := p.poolGeometry(op, xt, kernel, stride)
	if !ok {
		return
	}
	n, c, h, w := xt.shape[0], xt.shape[1], xt.shape[2], xt.shape[3]
	if !p.wantShape(op, "y", yt, n, c, oh, ow) || !p.wantShape(op, "argmax", at, n, c, oh, ow) ||
		!p.distinct(op, "y", yt, "x", xt) {
		return
	}
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
	dyt := p.arg(op, "dy", dy, backend.F32, 4)
	at := p.arg(op, "argmax", argmax, backend.U32, 4)
	dxt := p.arg(op, "dx", dx, backend.F32, 4)
	oh, ow, ok := p.poolGeometry(op, dxt, kernel, stride)
	if !ok {
		return
	}
	n, c, h, w := dxt.shape[0], dxt.shape[1], dxt.shape[2], dxt.shape[3]
	if !p.wantShape(op, "dy", dyt, n, c, oh, ow) || !p.wantShape(op, "argmax", at, n, c, oh, ow) ||
		!p.distinct(op, "dx", dxt, "dy", dyt) {
		return
	}
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
