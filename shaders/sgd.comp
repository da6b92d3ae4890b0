#version 450
// SGD with momentum, PyTorch semantics (dampening 0), one invocation per
// element:
//   g' = g + wd*p; buf = momentum*buf + g'; step = nesterov ? g' + momentum*buf : buf; p -= lr*step
// `precise` forbids fusing a multiply into the following add, so each
// operation rounds as the CPU's float32 code does and the two agree bit for
// bit on devices whose add and multiply are IEEE (Vulkan requires it).
//
// With a schedule (s > 0 entries), lr = lr·schedule[min(ctr[0], s-1)] is
// read here on every run, so one recording serves a whole learning-rate
// schedule as the step counter advances; weight decay is not scaled.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) buffer P { float param[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float grad[]; };
// buf binds p again when there is no momentum buffer (momentum 0); then
// hasBuf is 0 and it is never touched.
layout(std430, set = 0, binding = 2) buffer Buf { float buf[]; };
// Without a schedule (s = 0) these bind g again and are never touched.
layout(std430, set = 0, binding = 3) readonly buffer Schedule { float schedule[]; };
layout(std430, set = 0, binding = 4) readonly buffer Ctr { uint ctr[]; };

layout(push_constant) uniform Push {
	uint n;
	float lr, momentum, wd;
	uint nesterov;
	uint hasBuf;
	uint s; // the schedule's length, 0 for none
} p;

void main() {
	precise float lr = p.lr;
	if (p.s != 0u) {
		lr = p.lr * schedule[min(ctr[0], p.s - 1u)];
	}
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
		precise float w = param[i];
		precise float d = grad[i] + p.wd * w;
		if (p.hasBuf != 0u) {
			precise float m = p.momentum * buf[i] + d;
			buf[i] = m;
			d = p.nesterov != 0u ? d + p.momentum * m : m;
		}
		param[i] = w - lr * d;
	}
}
