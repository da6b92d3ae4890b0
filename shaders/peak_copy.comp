#version 450
// The device's memory ceiling: dst = src, n 16-byte words, one vec4 load and
// store per element, grid-stride so the workgroup count stays under the
// device's limit.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

void main() {
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		dst[i] = src[i];
	}
}
