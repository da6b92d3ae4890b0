#version 450
// ReLU's gradient: dx = dy where y > 0, else 0; dx may alias dy. The test is
// on the bits, as in relu.comp, so the mask is the CPU's on every device.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Y { uint y[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { uint dy[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { uint dx[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

bool positive(uint v) {
	return int(v) > 0 && v <= 0x7f800000u;
}

void main() {
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		dx[i] = positive(y[i]) ? dy[i] : 0u;
	}
}
