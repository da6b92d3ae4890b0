#version 450
// The device's arithmetic ceiling: each invocation runs eight independent
// chains of vec4 multiply-adds (x = x*a + b, which compilers fuse into FMA
// where the hardware has it), 32 scalar multiply-adds (64 FLOPs) per
// iteration, and writes the sum of its chains so that no work can be
// dropped. a and b come in push constants, so nothing folds at compile
// time. With a < 1 and b = 1-a every chain converges to 1: no overflow and
// no subnormals, however many iterations.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Push {
	uint iters;
	float a;
	float b;
} p;

void main() {
	uint id = gl_GlobalInvocationID.x;
	float s = float(id & 1023u) * (1.0 / 1024.0);
	vec4 x0 = s + vec4(0.00, 0.01, 0.02, 0.03);
	vec4 x1 = x0 + 0.04;
	vec4 x2 = x0 + 0.08;
	vec4 x3 = x0 + 0.12;
	vec4 x4 = x0 + 0.16;
	vec4 x5 = x0 + 0.20;
	vec4 x6 = x0 + 0.24;
	vec4 x7 = x0 + 0.28;
	vec4 a = vec4(p.a);
	vec4 b = vec4(p.b);
	for (uint k = 0u; k < p.iters; k++) {
		x0 = x0 * a + b;
		x1 = x1 * a + b;
		x2 = x2 * a + b;
		x3 = x3 * a + b;
		x4 = x4 * a + b;
		x5 = x5 * a + b;
		x6 = x6 * a + b;
		x7 = x7 * a + b;
	}
	vec4 sum = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
	o[id] = (sum.x + sum.y) + (sum.z + sum.w);
}
