#version 450
// ReLU: y = max(x, 0), y may alias x. The test x > 0 is done on the bits
// (a positive int that is not NaN), so a subnormal is kept as Go keeps it even
// on devices that flush subnormals in float compares, and the values move
// untouched.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

// positive says v > 0 for the float with bits v (false for NaN and -0).
bool positive(uint v) {
	return int(v) > 0 && v <= 0x7f800000u;
}

void main() {
	// Grid-stride, so the workgroup count can stay under the device's limit.
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		uint v = x[i];
		y[i] = positive(v) ? v : 0u;
	}
}
