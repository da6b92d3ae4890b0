#version 450
// Lookahead: with w = 1 - decay[0], ema = lerp(ema, p, w) and p = ema, one
// invocation per element (grid-stride). lerp is torch.lerp's formula,
// a + w·(b-a) for w < 0.5, else b - (b-a)·(1-w). `precise` forbids fusing a
// multiply into the following add, so each operation rounds as the CPU's
// float32 code does and the two agree bit for bit.
//
// decay is read here, at run time, so that a recorded program follows a
// decay schedule written into the tensor between replays. The host keeps it
// out of p's and ema's buffers: every invocation reads it while others write.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) buffer P { float param[]; };
layout(std430, set = 0, binding = 1) buffer Ema { float ema[]; };
layout(std430, set = 0, binding = 2) readonly buffer Decay { float decay[]; };

layout(push_constant) uniform Push {
	uint n;
} p;

void main() {
	precise float w = 1.0 - decay[0];
	precise float omw = 1.0 - w;
	bool small = w < 0.5; // the same for every invocation: no divergence
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		float a = ema[i], b = param[i];
		precise float d = b - a;
		precise float v;
		if (small) {
			v = a + w * d;
		} else {
			v = b - d * omw;
		}
		ema[i] = v;
		param[i] = v;
	}
}
