#version 450
// ReLUDropoutBackward: the gradient through a ReLU and then a dropout, from
// the dropout's output y: dx = dy/(1-p) where y > 0, else 0; dx may alias
// dy. y > 0 exactly where the mask kept a positive ReLU output (a dropped
// element is +0), so this is DropoutBackward then ReLUBackward(y) without
// drawing the mask again, and divRNBy divides as the CPU's float32 `/`
// does: bit-identical to the two unfused kernels and to the CPU. Without
// dropout (scale 0) the bits of dy pass untouched, as relu_backward.comp.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

#include "random.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Y { uint y[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { uint dy[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { uint dx[]; };

layout(push_constant) uniform Push {
	uint n;
	uint keep;  // the bits of float32(1-p)
	uint scale; // 0: p = 0, no division
} p;

bool positive(uint v) {
	return int(v) > 0 && v <= 0x7f800000u;
}

void main() {
	float rcp = 1.0 / uintBitsToFloat(p.keep);
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		uint g = dy[i];
		if (p.scale != 0u) {
			g = divRNBy(g, p.keep, rcp);
		}
		dx[i] = positive(y[i]) ? g : 0u;
	}
}
