// fastdiv.glsl: x / d for a divisor d known only at dispatch time (a push
// constant), as a multiply-high and a shift by the multiplier and shift that
// the host computes for d (fastDiv in backend/vulkan). Integer division by a
// value the compiler cannot see is a long instruction sequence on GPUs and is
// scalarized on lavapipe, where this made the pooling backward pass about
// twice as fast. Exact for x < 2^31: every index into a tensor that one
// buffer holds is. mul 0 stands for d = 1 (a 1x1 output plane, a 1-wide
// input, one column), whose multiplier does not fit in 32 bits.
#ifndef VKCNN_FASTDIV_GLSL
#define VKCNN_FASTDIV_GLSL

uint fastDiv(uint x, uint mul, uint shift) {
	uint hi, lo;
	umulExtended(x, mul, hi, lo);
	return mul == 0u ? x : hi >> shift;
}

#endif
