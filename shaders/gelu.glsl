// The standard normal distribution in float32, for GELU and its gradient:
// GLSL has no erf, and Vulkan lets exp be off by 3+2|x| ULP, which would
// cost ~200 ULP in the tails, and a division by 2.5 ULP. Everything here is
// adds and multiplies, which Vulkan requires to be correctly rounded, and
// one division made exact by random.glsl's divRN, so the accuracy seen on
// lavapipe (GELU within 6 ULP wherever Φ is a normal float, over 2M points
// of [-15, 15]) holds on every device.
//
// Φ(x) = (1+erf(x/√2))/2 is computed as erfc(|x|/√2)/2 (or 1 minus that):
// for x < 0, 1+erf cancels and loses every digit of Φ below ~1e-7, while
// the erfc form keeps a relative error of a few ULP down to Φ ~ 1e-38.
//
// #include it after `#extension GL_GOOGLE_include_directive : require`.

#ifndef VKCNN_GELU_GLSL
#define VKCNN_GELU_GLSL

#include "random.glsl" // divRN

// Past |x| = 16, x·φ(x) and Φ(-|x|) are below half the smallest subnormal:
// clamping there keeps x² finite (a huge or infinite x would otherwise
// make inf - inf = NaN in the split below) without changing a result.
const float GELU_CLAMP = 16.0;

// halfSquare returns -x²/2 as hi + lo with hi exact: x is cut to its top 12
// significant bits xh (Dekker's split), so xh² fits in float32, and
// (x-xh)(x+xh) is the small rest. exp(-x²/2) needs this: rounding x² to
// float32 first would be a relative error of |x²|·6e-8 in the result.
void halfSquare(float x, out float hi, out float lo) {
	float xh = uintBitsToFloat(floatBitsToUint(x) & 0xfffff000u);
	precise float d = x - xh;
	precise float s = x + xh;
	hi = -0.5 * (xh * xh);
	lo = -0.5 * (d * s);
}

// expSplit is exp(hi + lo), hi + lo <= 0, by Cody and Waite's reduction:
// n = round((hi+lo)/ln2), r = hi+lo - n·ln2 with ln2 split in two so that
// n·LN2_HI is exact (LN2_HI has 15 significant bits, |n| < 2^9), then
// exp(r) for |r| <= ln2/2 by its Taylor series to degree 7 (truncation
// below 6e-9) and a scale by 2^n in two factors, so that results between
// 2^-126 and 2^-159 come out subnormal (or flushed to 0) rather than
// undefined as ldexp's would. Below exp(-110) (1.7e-48) it is 0.
float expSplit(float hi, float lo) {
	const float LOG2E = 1.44269504;
	const float LN2_HI = 0.693145752;  // 0x3f317200
	const float LN2_LO = 1.42860677e-6; // ln2 - LN2_HI
	float a = hi + lo;
	bool under = a < -110.0; // false for NaN, which must come out NaN
	hi = under ? 0.0 : hi;
	lo = under ? 0.0 : lo;
	float n = roundEven((hi + lo) * LOG2E);
	// Kept in this order: fusing or regrouping these would lose the low
	// part that the split exists for.
	precise float r = ((hi - n * LN2_HI) - n * LN2_LO) + lo;
	float e = 1.0 / 5040.0;
	e = e * r + 1.0 / 720.0;
	e = e * r + 1.0 / 120.0;
	e = e * r + 1.0 / 24.0;
	e = e * r + 1.0 / 6.0;
	e = e * r + 0.5;
	e = e * r + 1.0;
	e = e * r + 1.0;
	int k = int(n);
	int k1 = k / 2; // both halves >= -80: normal powers of two
	e *= uintBitsToFloat(uint(k1 + 127) << 23);
	e *= uintBitsToFloat(uint(k - k1 + 127) << 23);
	return under ? 0.0 : e;
}

// erfcLog is P(t) in erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), z >= 0:
// the substitution of the Chebyshev fit "erfcc" in Numerical Recipes (after
// Abramowitz and Stegun 7.1), which makes a smooth, slowly varying function
// of t on (0, 1]. The coefficients are ours: a polynomial of degree 10 in
// u = (t - 0.575)/0.425 fitted by least squares on 3000 Chebyshev nodes of
// t in [0.15, 1] (z <= 10.6, beyond which erfc underflows in expSplit) to
// ln(erfc(z)·e^(z²)/t) computed with mpmath at 40 digits, each coefficient
// rounded to float32 in turn (lowest first) and the higher ones refitted.
// Its error is below 2.8e-8 in the exponent, i.e. relative in erfc.
float erfcLog(float t) {
	float u = (t - 0.575) * 2.35294127;
	float q = -2.36492342e-05;
	q = q * u + 6.960475e-05;
	q = q * u + 0.000129799082;
	q = q * u - 0.00063389045;
	q = q * u - 0.000215805529;
	q = q * u + 0.00412304467;
	q = q * u - 0.0015381967;
	q = q * u - 0.0311691556;
	q = q * u + 0.0182184614;
	q = q * u + 0.58103478;
	return q * u - 0.569994986;
}

// normalCdf is Φ(x) from x and -x²/2 = hi + lo (halfSquare): erfc(|x|/√2)/2
// for x < 0 and 1 minus that otherwise. In float32 arithmetic it is within a
// few ULP of Φ wherever Φ is a normal float.
float normalCdf(float x, float hi, float lo) {
	// z/2 = |x|/(2√2). An error in t moves P(t) away from where the fit put
	// it, so t is rounded correctly rather than left to GLSL's `/`.
	float t = uintBitsToFloat(divRN(0x3f800000u, floatBitsToUint(1.0 + abs(x) * 0.353553391)));
	float tail = 0.5 * t * expSplit(hi, lo + erfcLog(t));
	return x < 0.0 ? tail : 1.0 - tail;
}

// normalPdf is φ(x) = exp(-x²/2)/√(2π) from -x²/2 = hi + lo.
float normalPdf(float hi, float lo) {
	return expSplit(hi, lo) * 0.398942280;
}

#endif
