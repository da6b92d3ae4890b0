#version 450
// y = a + b element-wise; y may alias a or b (each element is read before
// it is written). One IEEE add, as the CPU's float32 `+`, so the two agree
// bit for bit (Vulkan requires a correctly rounded add; only a device that
// flushes subnormals can differ, and only on them).
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

void main() {
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		y[i] = a[i] + b[i];
	}
}
