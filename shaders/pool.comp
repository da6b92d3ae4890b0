#version 450
#extension GL_GOOGLE_include_directive : require
// Max-pool forward, one invocation per output element: y = the window's max,
// argmax = its index h*W+w in the input plane, the first max in row-major
// window order (strict > keeps the earlier of equal values), as the CPU does.
// Consecutive invocations take consecutive outputs of a row, so their window
// reads are stride apart and share cache lines.
//
// Kernel and stride are specialization constants: a network has one or two
// pools, and constant window loops unroll and divide by shifts. The
// divisions by the plane's shape use fastDiv.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint kernel = 2;
layout(constant_id = 2) const uint stride = 2;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer A { uint argmax[]; };

layout(push_constant) uniform Push {
	uint n; // outputs: N*C*OH*OW
	uint h, w, oh, ow;
	uint ohwMul, ohwShift, owMul, owShift; // fastDiv by OH*OW and OW
} p;

#include "fastdiv.glsl"

void main() {
	uint ohw = p.oh * p.ow;
	uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += step) {
		uint plane = fastDiv(i, p.ohwMul, p.ohwShift), q = i - plane * ohw;
		uint oy = fastDiv(q, p.owMul, p.owShift), ox = q - oy * p.ow;
		uint base = plane * p.h * p.w;
		uint origin = oy * stride * p.w + ox * stride;
		uint arg = origin;
		float best = x[base + origin];
		for (uint r = 0u; r < kernel; r++) {
			uint row = origin + r * p.w;
			for (uint s = 0u; s < kernel; s++) {
				float v = x[base + row + s];
				if (v > best) {
					best = v;
					arg = row + s;
				}
			}
		}
		y[i] = best;
		argmax[i] = arg;
	}
}
