#version 450
// Dropout, forward and backward alike (the gradient of a masked scaling is
// the same masked scaling): out = in/(1-p) where backend.Keep keeps flat
// element i at step ctr[0], else 0. out may alias in.
//
// The mask is the CPU's draw, and divRNBy divides exactly as Go's float32 `/`
// does, so the output is bit-identical to the reference.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

#include "random.glsl"

layout(std430, set = 0, binding = 0) readonly buffer In { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint dst[]; };
layout(std430, set = 0, binding = 2) readonly buffer Ctr { uint ctr[]; };

layout(push_constant) uniform Push {
	uint n;
	// prefix = PCG(PCG(seed)+stream), the levels of backend.Hash fixed when
	// the op is recorded; the step's level is taken once per invocation.
	uint prefix;
	float prob;
	uint keep; // the bits of float32(1-p), the CPU's divisor
} p;

void main() {
	uint h = pcg(p.prefix + ctr[0]);
	float rcp = 1.0 / uintBitsToFloat(p.keep);
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		bool kept = uniformOf(pcg(h + i)) >= p.prob;
		dst[i] = kept ? divRNBy(src[i], p.keep, rcp) : 0u;
	}
}
