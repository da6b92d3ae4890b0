#version 450
// BatchNorm2d, the normalization (pass 3 of 3 in training, the only pass in
// evaluation), one invocation per element: y = (x - mean[c])*(invstd[c]*
// w[c]) + b[c]. Training binds the batch's mean and invstd; evaluation binds
// the running mean and variance and sets fromVar, and each invocation takes
// invstd = 1/sqrt(var + eps) itself, which costs less than another dispatch.
// The channel of element e is (e / HW) % C by multiply-high divisions.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 2) readonly buffer Spread { float spread[]; }; // invstd, or var with fromVar
layout(std430, set = 0, binding = 3) readonly buffer W { float w[]; };
layout(std430, set = 0, binding = 4) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 5) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Push {
	uint n;               // N*C*HW
	uint hwMul, hwShift;  // divide by HW (fastDiv in backend/vulkan)
	uint cMul, cShift, C; // divide by C
	float eps;
	uint fromVar;
} p;

// fastDiv is x / d for x < 2^31 from the host's multiplier and shift for d;
// mul 0 stands for d = 1.
uint fastDiv(uint x, uint mul, uint shift) {
	uint hi, lo;
	umulExtended(x, mul, hi, lo);
	return mul == 0u ? x : hi >> shift;
}

void main() {
	// Grid-stride, so the workgroup count can stay under the device's limit.
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint e = gl_GlobalInvocationID.x; e < p.n; e += stride) {
		uint plane = fastDiv(e, p.hwMul, p.hwShift);
		uint c = plane - fastDiv(plane, p.cMul, p.cShift) * p.C;
		float inv = p.fromVar != 0u ? 1.0 / sqrt(spread[c] + p.eps) : spread[c];
		y[e] = (x[e] - mean[c]) * (inv * w[c]) + b[c];
	}
}
