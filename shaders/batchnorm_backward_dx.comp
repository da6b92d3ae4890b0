#version 450
// BatchNorm2dBackward, pass 3 of 3, one invocation per element:
// dx = a*(dy - k1 - (x-mean)*k2) with channel c's factors from
// batchnorm_backward_finalize (coef[3c..3c+2] = a, k1, k2). The channel of
// element e is (e / HW) % C by multiply-high divisions.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) readonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 3) readonly buffer Coef { float coef[]; };
layout(std430, set = 0, binding = 4) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Push {
	uint n;               // N*C*HW
	uint hwMul, hwShift;  // divide by HW (fastDiv in backend/vulkan)
	uint cMul, cShift, C; // divide by C
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
		float a = coef[3u * c], k1 = coef[3u * c + 1u], k2 = coef[3u * c + 2u];
		dx[e] = a * (dy[e] - k1 - (x[e] - mean[c]) * k2);
	}
}
