#version 450
#extension GL_GOOGLE_include_directive : require
// Average-pool forward, one invocation per output element: y = the window's
// sum, added in row-major order, times scale (1/kernel², rounded once on the
// host). The CPU sums in the same order and multiplies by the same float, and
// a product is correctly rounded where a GLSL quotient is not, so the two
// agree to the bit. Consecutive invocations take consecutive outputs of a
// row, so their window reads are stride apart and share cache lines.
//
// Kernel and stride are specialization constants, as in pool.comp: a network
// has one or two pools, and constant window loops unroll and divide by shifts.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint kernel = 2;
layout(constant_id = 2) const uint stride = 2;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
	uint n; // outputs: N*C*OH*OW
	uint h, w, oh, ow;
	float scale; // 1/kernel²
	uint ohwMul, ohwShift, owMul, owShift; // fastDiv by OH*OW and OW
} p;

#include "fastdiv.glsl"

void main() {
	uint ohw = p.oh * p.ow;
	uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += step) {
		uint plane = fastDiv(i, p.ohwMul, p.ohwShift), q = i - plane * ohw;
		uint oy = fastDiv(q, p.owMul, p.owShift), ox = q - oy * p.ow;
		uint origin = plane * p.h * p.w + oy * stride * p.w + ox * stride;
		float sum = 0.0;
		for (uint r = 0u; r < kernel; r++) {
			uint row = origin + r * p.w;
			for (uint s = 0u; s < kernel; s++) {
				sum += x[row + s];
			}
		}
		y[i] = sum * p.scale;
	}
}
