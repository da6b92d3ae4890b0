#version 450
// GELU's gradient from its input: dx = dy·(Φ(x) + x·φ(x)); dx may alias dy
// (or x: each element is read before it is written). See gelu.glsl for the
// float32 accuracy of Φ and φ. An infinite x gives NaN (Φ + ±inf·0), as the
// formula, the CPU reference and PyTorch do.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

#include "gelu.glsl"

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

void main() {
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		float v = x[i];
		float c = clamp(v, -GELU_CLAMP, GELU_CLAMP);
		float hi, lo;
		halfSquare(c, hi, lo);
		dx[i] = dy[i] * (normalCdf(c, hi, lo) + v * normalPdf(hi, lo));
	}
}
