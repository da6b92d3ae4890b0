#version 450
// pred[i] = the first maximum of row i (strict >, so ties keep the earlier
// column), the rule SoftmaxCrossEntropy counts hits with. One invocation per
// row: rows are few and short.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Pred { uint pred[]; };

layout(push_constant) uniform Push {
	uint n, m;
} p;

void main() {
	uint step = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += step) {
		uint row = i * p.m;
		float best = x[row];
		uint arg = 0u;
		for (uint j = 1u; j < p.m; j++) {
			float v = x[row + j];
			if (v > best) {
				best = v;
				arg = j;
			}
		}
		pred[i] = arg;
	}
}
