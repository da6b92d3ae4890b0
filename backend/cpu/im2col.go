package cpu

// convGeom is one convolution's sizes; the helpers below work on one image.
type convGeom struct {
	N, C, H, W      int // input
	K, R, S         int // filters
	OH, OW          int // output
	stride, pad     int
	crs, p, chw, kp int // derived products used for slicing
}

func newConvGeom(n, c, h, w, k, r, s, stride, pad int) convGeom {
	g := convGeom{N: n, C: c, H: h, W: w, K: k, R: r, S: s, stride: stride, pad: pad}
	g.OH = (h+2*pad-r)/stride + 1
	g.OW = (w+2*pad-s)/stride + 1
	g.crs = c * r * s
	g.p = g.OH * g.OW
	g.chw = c * h * w
	g.kp = k * g.p
	return g
}

// A convolution is computed as GEMMs over one of three views of an image:
//
//   - pointwise (1x1, stride 1, no padding): the image [C, H*W] is already
//     the column matrix;
//   - column layout, col [C*R*S, P] in (c,r,s) order: cheap to build with
//     row copies, and the better GEMM shapes when C*R*S is small;
//   - row layout, colT [P, R*S*C] in (r,s,c) order, built from the image
//     transposed to HWC so that each filter row's taps are one contiguous
//     copy of S*C values. Weights are permuted to [K, R, S, C] to match. Its
//     GEMMs put dy, which after ReLU and max-pool backward is mostly zeros,
//     in the operand whose zeros gonum's Sgemm skips, and they run their
//     inner loops over C*R*S, which pays once C*R*S is large.
//
// rowMin is where the row layout takes over. Measured per batch of 32 on
// 3x3 filters over 32x32 images: at C*R*S = 72 the column layout is 15-40%
// faster, at 144 the two tie, at 288 (the seed model's second convolution)
// the row layout is 10-30% faster, and much more in the backward passes
// when dy comes through a max-pool.
const rowMin = 128

// pointwise says the image is its own column matrix.
func (g *convGeom) pointwise() bool {
	return g.R == 1 && g.S == 1 && g.stride == 1 && g.pad == 0
}

// rowLayout says whether the row layout is used.
func (g *convGeom) rowLayout() bool { return !g.pointwise() && g.crs >= rowMin }

// scratchSize is the per-worker scratch a conv op needs: the column matrix,
// plus an HWC image in the row layout.
func (g *convGeom) scratchSize() int {
	switch {
	case g.pointwise():
		return 0
	case g.rowLayout():
		return g.crs*g.p + g.chw
	}
	return g.crs * g.p
}

// outRange is the range of output columns ow whose input column
// ow-pad+s lies inside [0, W), for stride 1.
func (g *convGeom) outRange(s int) (lo, hi int) {
	lo = max(0, g.pad-s)
	hi = min(g.OW, g.W+g.pad-s)
	return lo, max(lo, hi)
}

// im2col writes col [C*R*S, OH*OW]: row (c,r,s) holds, for each output
// position, the input pixel that filter tap meets (zero in the padding).
func im2col(x, col []float32, g *convGeom) {
	P := g.p
	for c := range g.C {
		plane := x[c*g.H*g.W:][:g.H*g.W]
		for r := range g.R {
			for s := range g.S {
				row := col[((c*g.R+r)*g.S+s)*P:][:P]
				lo, hi := g.outRange(s)
				for oh := range g.OH {
					out := row[oh*g.OW:][:g.OW]
					ih := oh*g.stride - g.pad + r
					if ih < 0 || ih >= g.H {
						clear(out)
						continue
					}
					xrow := plane[ih*g.W:][:g.W]
					if g.stride == 1 {
						clear(out[:lo])
						copy(out[lo:hi], xrow[lo-g.pad+s:])
						clear(out[hi:])
						continue
					}
					for ow := range out {
						iw := ow*g.stride - g.pad + s
						if iw >= 0 && iw < g.W {
							out[ow] = xrow[iw]
						} else {
							out[ow] = 0
						}
					}
				}
			}
		}
	}
}

// col2im adds col [C*R*S, OH*OW] back onto the image dx, the adjoint of
// im2col; dx must be cleared first.
func col2im(col, dx []float32, g *convGeom) {
	P := g.p
	for c := range g.C {
		plane := dx[c*g.H*g.W:][:g.H*g.W]
		for r := range g.R {
			for s := range g.S {
				row := col[((c*g.R+r)*g.S+s)*P:][:P]
				lo, hi := g.outRange(s)
				for oh := range g.OH {
					in := row[oh*g.OW:][:g.OW]
					ih := oh*g.stride - g.pad + r
					if ih < 0 || ih >= g.H {
						continue
					}
					xrow := plane[ih*g.W:][:g.W]
					if g.stride == 1 {
						d := xrow[lo-g.pad+s:][:hi-lo]
						for i, v := range in[lo:hi] {
							d[i] += v
						}
						continue
					}
					for ow, v := range in {
						iw := ow*g.stride - g.pad + s
						if iw >= 0 && iw < g.W {
							xrow[iw] += v
						}
					}
				}
			}
		}
	}
}

// hwcBlock is how many pixels toHWC and fromHWC move per channel pass, so
// that the strided side of the transpose stays in cache.
const hwcBlock = 16

// toHWC transposes one image from [C, HW] to [HW, C].
func toHWC(x, xt []float32, c, hw int) {
	for i0 := 0; i0 < hw; i0 += hwcBlock {
		i1 := min(i0+hwcBlock, hw)
		for ch := range c {
			for i, v := range x[ch*hw+i0 : ch*hw+i1] {
				xt[(i0+i)*c+ch] = v
			}
		}
	}
}

// fromHWC transposes one image from [HW, C] back to [C, HW].
func fromHWC(xt, x []float32, c, hw int) {
	for i0 := 0; i0 < hw; i0 += hwcBlock {
		i1 := min(i0+hwcBlock, hw)
		for ch := range c {
			dst := x[ch*hw+i0 : ch*hw+i1]
			for i := range dst {
				dst[i] = xt[(i0+i)*c+ch]
			}
		}
	}
}

// im2row writes colT [OH*OW, R*S*C] from an HWC image: row p is the
// receptive field of output position p, one contiguous S*C run per filter
// row when the window is inside the image.
func im2row(xt, colT []float32, g *convGeom) {
	C, S := g.C, g.S
	sc := S * C
	for oh := range g.OH {
		for ow := range g.OW {
			dst := colT[(oh*g.OW+ow)*g.crs:][:g.crs]
			iw0 := ow*g.stride - g.pad
			lo, hi := max(0, -iw0), min(S, g.W-iw0) // taps inside the image
			for r := range g.R {
				d := dst[r*sc:][:sc]
				ih := oh*g.stride - g.pad + r
				if ih < 0 || ih >= g.H || lo >= hi {
					clear(d)
					continue
				}
				row := xt[ih*g.W*C:][:g.W*C]
				clear(d[:lo*C])
				copy(d[lo*C:hi*C], row[(iw0+lo)*C:])
				clear(d[hi*C:])
			}
		}
	}
}

// row2im adds colT [OH*OW, R*S*C] back onto an HWC image, the adjoint of
// im2row; dxt must be cleared first.
func row2im(colT, dxt []float32, g *convGeom) {
	C, S := g.C, g.S
	sc := S * C
	for oh := range g.OH {
		for ow := range g.OW {
			src := colT[(oh*g.OW+ow)*g.crs:][:g.crs]
			iw0 := ow*g.stride - g.pad
			lo, hi := max(0, -iw0), min(S, g.W-iw0)
			if lo >= hi {
				continue
			}
			for r := range g.R {
				ih := oh*g.stride - g.pad + r
				if ih < 0 || ih >= g.H {
					continue
				}
				v := src[r*sc+lo*C : r*sc+hi*C]
				d := dxt[(ih*g.W+iw0+lo)*C:][:len(v)]
				for i := range v {
					d[i] += v[i]
				}
			}
		}
	}
}

// toRSC permutes weights [K, C, R*S] to the row layout's [K, R*S, C].
func toRSC(w, wp []float32, k, c, rs int) {
	for kk := range k {
		src, dst := w[kk*c*rs:][:c*rs], wp[kk*c*rs:][:c*rs]
		for ch := range c {
			for i, v := range src[ch*rs:][:rs] {
				dst[i*c+ch] = v
			}
		}
	}
}

// fromRSC permutes weights [K, R*S, C] back to [K, C, R*S].
func fromRSC(wp, w []float32, k, c, rs int) {
	for kk := range k {
		src, dst := wp[kk*c*rs:][:c*rs], w[kk*c*rs:][:c*rs]
		for ch := range c {
			d := dst[ch*rs:][:rs]
			for i := range d {
				d[i] = src[i*c+ch]
			}
		}
	}
}
