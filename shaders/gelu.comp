#version 450
// GELU, exact form: y = x·Φ(x), y may alias x. See gelu.glsl for how Φ is
// kept accurate in float32. NaN stays NaN and -inf gives NaN (x·0), as the
// formula, the CPU reference and PyTorch do; +inf gives +inf.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

#include "gelu.glsl"

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

void main() {
	// Grid-stride, so the workgroup count can stay under the device's limit.
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		float v = x[i];
		// Φ is computed from the clamped value (see GELU_CLAMP) but
		// multiplies the original, so NaN and infinities reach the product.
		float c = clamp(v, -GELU_CLAMP, GELU_CLAMP);
		float hi, lo;
		halfSquare(c, hi, lo);
		y[i] = v * normalCdf(c, hi, lo);
	}
}
