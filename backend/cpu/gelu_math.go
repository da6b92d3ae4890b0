package cpu

import "math"

// GELU and its gradient in float32, by the algorithm of shaders/gelu.glsl
// (see there for why it is accurate): Φ(x) = erfc(|x|/√2)/2 or 1 minus that,
// with erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), -x²/2 split exactly into
// hi + lo, and exp by Cody and Waite's reduction and a Taylor polynomial.
// Every float32 operation is the shader's, in the shader's order, so the
// results are the GPU's bit for bit wherever the device neither fuses nor
// flushes subnormals: lavapipe matches the forward everywhere and the
// gradient wherever Φ(x) is normal (x > -13.1). The tests check this code
// bit for bit against a literal transcription of the shader. Go never fuses
// float32 a*b+c on amd64; other architectures may, so every product that
// feeds a sum is rounded explicitly with float32(...), which the spec says
// prevents fusion.
//
// Speed: element by element, as the shader is written, each element is one
// dependency chain of ~200 cycles through the division, two Horner schemes
// and the reduction, of which the CPU overlaps only two or three: that ran
// at 35 ns per element, no faster than math.Erfc. So the work is done on
// blocks of geluBlock elements in short passes, each a loop of independent
// iterations with a short chain, which the CPU overlaps freely, and with the
// block's intermediate values in L1: 13 ns per element, what its ~60 float32
// operations and the passes' loads and stores cost at ~3.5 instructions a
// cycle. On x86-64 with AVX2, gelu_simd.c does the same operations eight
// elements at a time (the same bits; TestGELUSimdMatchesGo), and this code
// only the last few elements of a slice: GELU was a third of the time of an
// airbench-tiny training step on the CPU before it.

// geluBlock is the number of elements per block: its geluScratch (about
// 11 KiB) and the block's input and output stay well inside L1.
const geluBlock = 256

// geluK holds the algorithm's float32 constants, named after the shader's.
// They are variables, not constants, so that each pass loads the few it
// needs into registers before its loop: Go otherwise reloads a constant
// from memory at every use, which cost a tenth of the time.
var geluK = struct {
	negHalf, invSqrt8, one, uMid, uScale float32 // halfSquare, normalCdf, erfcLog
	log2e, shifter, ln2Hi, ln2Lo         float32 // expSplit's reduction
	e7, e6, e5, e4, e3, e2               float32 // exp's Taylor coefficients, 1/7! to 1/2!
	half, invSqrt2Pi                     float32
	erfcLog                              [11]float32 // highest first
}{
	-0.5, 0.353553391, 1, 0.575, 2.35294127,
	1.44269504, 0x1.8p23, 0.693145752, 1.42860677e-6,
	1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5,
	0.5, 0.398942280,
	[11]float32{-2.36492342e-05, 6.960475e-05, 0.000129799082, -0.00063389045, -0.000215805529,
		0.00412304467, -0.0015381967, -0.0311691556, 0.0182184614, 0.58103478, -0.569994986},
}

// geluScratch is one block's intermediate values. exp is evaluated on
// 2·geluBlock arguments: the backward puts φ's after Φ's, so that one pass
// serves both.
type geluScratch struct {
	hi, lo, t, u, q [geluBlock]float32
	r, e            [2 * geluBlock]float32
	k               [2 * geluBlock]int32
}

// geluForward stores x·Φ(x) in y for each element of x (y may be x): in C
// with AVX2 where there is (gelu_simd.c, the same bits), the rest here.
func geluForward(x, y []float32) {
	n := geluForwardSimd(x, y)
	geluForwardGo(x[n:], y[n:])
}

// geluForwardGo is geluForward in Go.
func geluForwardGo(x, y []float32) {
	var s geluScratch
	for len(x) > 0 {
		m := min(len(x), geluBlock)
		s.exps(x[:m], false)
		xs, ys, t, e, k := x[:m], y[:m], s.t[:m], s.e[:m], s.k[:m]
		half := geluK.half
		for i, v := range xs {
			ys[i] = v * normalCdf(v, half*t[i]*expScale(e[i], k[i]))
		}
		x, y = x[m:], y[m:]
	}
}

// geluBackward stores dy·(Φ(x) + x·φ(x)) in dx for each element (dx may be
// dy or x), in C where it can, as geluForward.
func geluBackward(x, dy, dx []float32) {
	n := geluBackwardSimd(x, dy, dx)
	geluBackwardGo(x[n:], dy[n:], dx[n:])
}

// geluBackwardGo is geluBackward in Go.
func geluBackwardGo(x, dy, dx []float32) {
	var s geluScratch
	for len(x) > 0 {
		m := min(len(x), geluBlock)
		s.exps(x[:m], true)
		xs, g, d, t := x[:m], dy[:m], dx[:m], s.t[:m]
		e, k, e2, k2 := s.e[:m], s.k[:m], s.e[m:2*m], s.k[m:2*m]
		half, c := geluK.half, geluK.invSqrt2Pi
		for i, v := range xs {
			pdf := expScale(e2[i], k2[i]) * c
			d[i] = g[i] * (normalCdf(v, half*t[i]*expScale(e[i], k[i])) + float32(v*pdf))
		}
		x, dy, dx = x[m:], dy[m:], dx[m:]
	}
}

// exps computes, for the block x (at most geluBlock long), t and the two
// parts e, k of exp(-z² + P(t)) = e·2^k in s.t, s.e[:m], s.k[:m]; with pdf,
// also those of exp(-x²/2) in s.e[m:2m], s.k[m:2m].
func (s *geluScratch) exps(x []float32, pdf bool) {
	m := len(x)
	hi, lo, t, u, q := s.hi[:m], s.lo[:m], s.t[:m], s.u[:m], s.q[:m]
	geluPrep(x, hi, lo, t, u)
	c := &geluK.erfcLog
	hornerFirst(u, q, c[0], c[1], c[2], c[3])
	horner4(u, q, c[4], c[5], c[6], c[7])
	hornerLast(u, q, lo, c[8], c[9], c[10])
	expReduce(hi, q, s.r[:m], s.k[:m])
	n := m
	if pdf {
		n = 2 * m
		expReduce(hi, lo, s.r[m:n], s.k[m:n])
	}
	r, e := s.r[:n], s.e[:n]
	expFirst(r, e)
	expLast(r, e)
}

// geluPrep is the start of gelu.comp and of normalCdf and erfcLog: -x²/2
// split into hi + lo (halfSquare), t = 1/(1 + |x|/(2√2)) (Go's `/` is
// correctly rounded, as the shader's divRN) and u = (t - 0.575)/0.425, all
// from |x| clamped to 16. The sign of x matters to none of them (halfSquare
// of -x is that of x: negation is exact and rounding symmetric), and the
// clamp on the bits of |x| is a branch-free integer min; it clamps NaN to 16
// as well, which is harmless as the result is NaN through x itself.
func geluPrep(x, hi, lo, t, u []float32) {
	hi, lo, t, u = hi[:len(x)], lo[:len(x)], t[:len(x)], u[:len(x)]
	negHalf, invSqrt8, one, uMid, uScale := geluK.negHalf, geluK.invSqrt8, geluK.one, geluK.uMid, geluK.uScale
	for i, v := range x {
		a := math.Float32frombits(min(math.Float32bits(v)&0x7fffffff, 0x41800000)) // min(|x|, 16)
		// halfSquare: xh is a cut to 12 significant bits, so xh² is exact
		// and (a-xh)(a+xh) is the small rest.
		xh := math.Float32frombits(math.Float32bits(a) & 0xfffff000)
		hi[i] = negHalf * (xh * xh)
		lo[i] = negHalf * ((a - xh) * (a + xh))
		w := one / (one + float32(a*invSqrt8))
		t[i] = w
		u[i] = (w - uMid) * uScale
	}
}

// hornerFirst starts erfcLog's Horner scheme: q = ((c0·u + c1)·u + c2)·u + c3.
func hornerFirst(u, q []float32, c0, c1, c2, c3 float32) {
	q = q[:len(u)]
	for i, w := range u {
		p := float32(c0*w) + c1
		p = float32(p*w) + c2
		q[i] = float32(p*w) + c3
	}
}

// horner4 continues a Horner scheme by four coefficients.
func horner4(u, q []float32, c0, c1, c2, c3 float32) {
	q = q[:len(u)]
	for i, w := range u {
		p := float32(q[i]*w) + c0
		p = float32(p*w) + c1
		p = float32(p*w) + c2
		q[i] = float32(p*w) + c3
	}
}

// hornerLast ends erfcLog's Horner scheme by three coefficients and adds
// lo, giving in q the argument lo + P(t) that normalCdf passes to expSplit.
func hornerLast(u, q, lo []float32, c0, c1, c2 float32) {
	q, lo = q[:len(u)], lo[:len(u)]
	for i, w := range u {
		p := float32(q[i]*w) + c0
		p = float32(p*w) + c1
		q[i] = lo[i] + (float32(p*w) + c2)
	}
}

// expReduce is the first half of expSplit(hi, lo): with a = hi + lo,
// k = n = round(a·log2(e)) and r = a - n·ln2, ln2 in two parts so that
// n·LN2_HI is exact.
//
// expSplit's test a < -110, which zeroes the result there, is left out:
// the clamp keeps a >= -130 (-x²/2 >= -128 and P > -1.2), so k >= -188,
// and for a < -110, k <= -159 and exp(a) = e·2^k < 1.5·2^-159 rounds to 0
// in expScale, as the shader's result is 0.
func expReduce(hi, lo, r []float32, k []int32) {
	lo, r, k = lo[:len(hi)], r[:len(hi)], k[:len(hi)]
	log2e, shifter, ln2Hi, ln2Lo := geluK.log2e, geluK.shifter, geluK.ln2Hi, geluK.ln2Lo
	for i, h := range hi {
		l := lo[i]
		// Adding and subtracting 1.5·2^23 rounds to an integer, to even, as
		// roundEven does, for |a·log2(e)| < 2^22.
		n := float32(float32((h+l)*log2e)+shifter) - shifter
		r[i] = ((h - float32(n*ln2Hi)) - float32(n*ln2Lo)) + l
		k[i] = int32(n)
	}
}

// expFirst starts exp(r)'s Taylor series in Horner form, to degree 7.
func expFirst(r, e []float32) {
	e = e[:len(r)]
	c7, c6, c5, c4 := geluK.e7, geluK.e6, geluK.e5, geluK.e4
	for i, w := range r {
		p := float32(c7*w) + c6
		p = float32(p*w) + c5
		e[i] = float32(p*w) + c4
	}
}

// expLast ends exp(r)'s Taylor series.
func expLast(r, e []float32) {
	e = e[:len(r)]
	c3, c2, one := geluK.e3, geluK.e2, geluK.one
	for i, w := range r {
		p := float32(e[i]*w) + c3
		p = float32(p*w) + c2
		p = float32(p*w) + one
		e[i] = float32(p*w) + one
	}
}

// expScale is expSplit's end, e·2^k, computed in two factors so that a
// result below 2^-126 is rounded once, to a subnormal. The shader halves k
// toward zero; halving it toward -inf, as the shift does, gives the same
// result: e is in [0.7, 1.5] and k >= -188, so e·2^k1 is an exact normal
// float for either k1, and only the second product rounds. (For NaN, k is
// whatever the conversion gives, and the result NaN through e.)
func expScale(e float32, k int32) float32 {
	k1 := k >> 1
	e *= math.Float32frombits(uint32(k1+127) << 23)
	return e * math.Float32frombits(uint32(k-k1+127)<<23)
}

// normalCdf is the end of the shader's normalCdf: given tail = Φ(-|x|),
// Φ(x) is tail for x < 0 and 1 - tail otherwise. The choice is made with
// bit operations, because the sign of x is a coin toss that a branch would
// mispredict half the time: unless x < 0, tail's sign is flipped and 1
// added (for x < 0, 0 is added, which leaves tail exact). x = -0 is not
// below 0 (bits 0x80000000 and under are +0 to +NaN and -0); the sign of a
// NaN does not matter, the result being NaN.
func normalCdf(x, tail float32) float32 {
	notNeg := uint32((uint64(math.Float32bits(x)) - 0x80000001) >> 63)
	one := math.Float32frombits(-notNeg & 0x3f800000)
	return one + math.Float32frombits(math.Float32bits(tail)^notNeg<<31)
}
