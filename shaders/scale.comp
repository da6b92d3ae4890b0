#version 450
// y = alpha·x element-wise; y may alias x. One IEEE multiply, as the CPU's
// float32 `*`, so the two agree bit for bit. alpha = 1 copies the bits
// instead: x·1 would flush subnormals on some devices and may quiet a
// signaling NaN, and the contract promises an exact copy.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform Push {
	uint n;
	float alpha;
} p;

void main() {
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	bool copy = p.alpha == 1.0; // the same for every invocation: no divergence
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		uint v = x[i];
		y[i] = copy ? v : floatBitsToUint(p.alpha * uintBitsToFloat(v));
	}
}
