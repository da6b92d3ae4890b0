#version 450
#extension GL_GOOGLE_include_directive : require
// Max-pool backward as a gather: one invocation per dx element sums dy over
// the windows that contain it and chose it as their max. No two invocations
// write the same element, so there are no atomics, and the sum runs over the
// windows in output (row-major) order, the order in which the CPU scatters,
// which makes the result bit-identical. An argmax outside the plane matches
// no element and is ignored (the CPU reports it as an error).
//
// Kernel and stride are specialization constants, as in pool.comp: the
// window bounds then divide by a constant. The divisions by the plane's
// shape use fastDiv.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint kernel = 2;
layout(constant_id = 2) const uint stride = 2;

layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) readonly buffer A { uint argmax[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Push {
	uint n; // inputs: N*C*H*W
	uint h, w, oh, ow;
	uint hwMul, hwShift, wMul, wShift; // fastDiv by H*W and W
} p;

#include "fastdiv.glsl"

void main() {
	uint hw = p.h * p.w, ohw = p.oh * p.ow;
	uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += step) {
		uint plane = fastDiv(i, p.hwMul, p.hwShift), at = i - plane * hw;
		uint y = fastDiv(at, p.wMul, p.wShift), x = at - y * p.w;
		// Windows r cover rows [r*stride, r*stride+kernel): those with
		// y-kernel < r*stride <= y, clipped to the output.
		uint r0 = y + 1u > kernel ? (y + 1u - kernel + stride - 1u) / stride : 0u;
		uint r1 = min(y / stride, p.oh - 1u);
		uint c0 = x + 1u > kernel ? (x + 1u - kernel + stride - 1u) / stride : 0u;
		uint c1 = min(x / stride, p.ow - 1u);
		uint base = plane * ohw;
		float sum = 0.0;
		for (uint r = r0; r <= r1; r++) {
			for (uint c = c0; c <= c1; c++) {
				uint o = base + r * p.ow + c;
				if (argmax[o] == at) {
					sum += dy[o];
				}
			}
		}
		dx[i] = sum;
	}
}
