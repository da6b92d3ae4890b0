// The counter-based generator of backend/random.go, ported bit for bit: the
// CPU reference and these kernels must draw the same dropout masks and crops,
// so every draw is pure uint32 arithmetic (wrapping, as Go's is).
//
// It also holds divRN, the correctly rounded division that the two users of
// these draws (dropout and gather) need to reproduce the CPU's float32 `/`
// exactly: GLSL's `/` may be off by 2.5 ULP on Vulkan.
//
// #include it after `#extension GL_GOOGLE_include_directive : require`.

#ifndef VKCNN_RANDOM_GLSL
#define VKCNN_RANDOM_GLSL

// pcg is backend.PCG: PCG-RXS-M-XS applied to one LCG step.
uint pcg(uint v) {
	uint state = v * 747796405u + 2891336453u;
	uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
	return (word >> 22u) ^ word;
}

// hash4 is backend.Hash(seed, stream, step, index).
uint hash4(uint seed, uint stream, uint step, uint index) {
	return pcg(pcg(pcg(pcg(seed) + stream) + step) + index);
}

// uniformOf maps a hash to [0,1) as backend.Uniform does: 24 bits times
// 2^-24 are exact in float32, so no rounding can differ from the CPU.
float uniformOf(uint h) {
	return float(h >> 8u) * (1.0 / 16777216.0);
}

// streamGather is backend.StreamGather.
const uint streamGather = 0x9a7eu;

// augmentation is backend.Augmentation: image i's crop offsets and mirror
// flag at this step.
void augmentation(uint seed, uint step, uint i, uint pad, bool flip, out uint dx, out uint dy, out bool mirror) {
	dx = 0u;
	dy = 0u;
	mirror = false;
	if (pad > 0u) {
		uint span = 2u * pad + 1u;
		dx = hash4(seed, streamGather, step, 3u * i) % span;
		dy = hash4(seed, streamGather, step, 3u * i + 1u) % span;
	}
	if (flip) {
		mirror = (hash4(seed, streamGather, step, 3u * i + 2u) & 1u) == 1u;
	}
}

// divRNLong returns the bits of a/b rounded to nearest even, given the bits
// of two float32s, by integer long division: the result is the one Go
// computes on the CPU on any device (no float instruction, so no
// flush-to-zero of subnormals either). b must be finite and nonzero; a NaN
// or infinite a falls back to the device's division, whose result is then
// NaN or infinite as IEEE says. It is the slow path of divRN.
uint divRNLong(uint a, uint b) {
	uint sign = (a ^ b) & 0x80000000u;
	uint ea = (a >> 23u) & 0xffu, eb = (b >> 23u) & 0xffu;
	uint ma = a & 0x7fffffu, mb = b & 0x7fffffu;
	if (ea == 0xffu || eb == 0xffu || (eb == 0u && mb == 0u)) {
		return floatBitsToUint(uintBitsToFloat(a) / uintBitsToFloat(b));
	}
	if (ea == 0u && ma == 0u) {
		return sign; // a signed zero
	}
	// Unbiased exponents of significands normalized to [2^23, 2^24).
	int xa, xb;
	if (ea == 0u) {
		int s = 23 - findMSB(ma);
		ma <<= uint(s);
		xa = 1 - s;
	} else {
		ma |= 0x800000u;
		xa = int(ea);
	}
	if (eb == 0u) {
		int s = 23 - findMSB(mb);
		mb <<= uint(s);
		xb = 1 - s;
	} else {
		mb |= 0x800000u;
		xb = int(eb);
	}
	int e = xa - xb + 127; // biased exponent of the quotient when ma >= mb
	if (ma < mb) {
		ma <<= 1u;
		e--;
	}
	// 25 quotient bits: the 24 of the significand and a rounding bit; the
	// remainder is the sticky bit. ma/mb is in [1,2), so the first bit is 1.
	uint q = 0u, r = ma;
	for (int i = 0; i < 25; i++) {
		uint bit = r >= mb ? 1u : 0u;
		r -= bit * mb;
		q = (q << 1u) | bit;
		r <<= 1u;
	}
	bool sticky = r != 0u;
	if (e >= 0xff) {
		return sign | 0x7f800000u;
	}
	// A subnormal result drops 1-e more bits; the rounding bit moves up.
	uint shift = e >= 1 ? 1u : uint(min(2 - e, 26));
	uint m = shift >= 26u ? 0u : q >> shift;
	uint rbit = shift >= 26u ? 0u : (q >> (shift - 1u)) & 1u;
	sticky = sticky || (shift >= 26u ? q != 0u : (q & ((1u << (shift - 1u)) - 1u)) != 0u);
	if (rbit == 1u && (sticky || (m & 1u) == 1u)) {
		m++; // may carry into the exponent, which the encoding absorbs
	}
	if (e >= 1) {
		// m in [2^23, 2^24]; adding the exponent field over the implicit bit
		// carries correctly when rounding reached 2^24.
		return sign | ((uint(e - 1) << 23u) + m);
	}
	return sign | m; // subnormal, or the smallest normal when it rounded up
}

// divRNBy is divRN with rcp, an approximation of 1/b (a few ULP off at
// most), supplied by the caller, who divides many values by one b.
//
// The fast path takes the estimate q = a*rcp, then fixes it with the exact
// integer remainder R = A*2^k - C*B of the significands (A, B, C of a, b, q):
// each step moves C one unit toward the quotient until |R| <= B/2, which makes
// C the correctly rounded significand. (The quotient of two 24-bit
// significands is never exactly halfway between two floats, so there is no
// tie to break.) |R| is a few B < 2^31, so 32-bit wrapping arithmetic gives
// it exactly. Subnormals, zeros, infinities, a quotient that leaves the
// estimate's binade, or an estimate that does not converge take the long
// division.
uint divRNBy(uint a, uint b, float rcp) {
	uint ea = (a >> 23u) & 0xffu, eb = (b >> 23u) & 0xffu;
	// ea-1 < 254 says 1 <= ea <= 254: a normal number.
	if (ea - 1u < 254u && eb - 1u < 254u) {
		uint qb = floatBitsToUint(abs(uintBitsToFloat(a)) * abs(rcp));
		uint ec = qb >> 23u;
		int k = int(ea) - int(eb) - int(ec) + 150;
		if (ec - 1u < 254u && k >= 0 && k <= 31) {
			uint ma = (a & 0x7fffffu) | 0x800000u;
			uint mb = (b & 0x7fffffu) | 0x800000u;
			uint c = (qb & 0x7fffffu) | 0x800000u;
			int r = int((ma << uint(k)) - c * mb);
			int B = int(mb);
			for (int i = 0; i < 6; i++) {
				if (2 * r > B) {
					c++;
					r -= B;
				} else if (2 * r < -B) {
					c--;
					r += B;
				} else {
					break;
				}
			}
			// c = 2^23 with r < 0 would put the quotient below the binade,
			// where the unit is half as large: the long division's case. (A
			// guard: no quotient of floats lies that close below a power of
			// two.)
			bool below = c < 0x800000u || (c == 0x800000u && r < 0);
			if (2 * r <= B && 2 * r >= -B && !below && c <= 0x1000000u) {
				// As in divRNLong, c = 2^24 carries into the exponent
				// (and from ec = 254 into infinity, as rounding must).
				return ((a ^ b) & 0x80000000u) | (((ec - 1u) << 23u) + c);
			}
		}
	}
	return divRNLong(a, b);
}

// divRN returns the bits of a/b rounded to nearest even, as Go's float32
// division computes it, from the bits of a and b (b finite and nonzero).
uint divRN(uint a, uint b) {
	return divRNBy(a, b, 1.0 / uintBitsToFloat(b));
}

#endif
