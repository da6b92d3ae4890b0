#version 450
// BatchNorm2dBackward, pass 1 of 3: the sums sum(dy) and sum(dy*(x-mean))
// over one slice of one channel, as a partial for
// batchnorm_backward_finalize. Slices and the order in which invocations
// take values are batchnorm_stats's; the WG per-invocation sums are added
// by a fixed halving tree, so runs are bit-identical (no atomics).
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) readonly buffer Mean { float mean[]; };
// part[2*(c*slices + s)] = sum(dy), [... + 1] = sum(dy*(x-mean)).
layout(std430, set = 0, binding = 3) writeonly buffer Part { float part[]; };

layout(push_constant) uniform Push {
	uint C, HW;
	uint cnt; // values per channel: N*HW
	uint len; // values per slice
} p;

const uint WG = 256u;

shared float sdy[WG];
shared float sdyx[WG];

void main() {
	uint s = gl_WorkGroupID.x, c = gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
	uint j = s * p.len + t;
	uint end = min(s * p.len + p.len, p.cnt);
	float s1 = 0.0, s2 = 0.0;
	if (j < end) {
		uint chw = p.C * p.HW;
		uint img = j / p.HW, i = j - img * p.HW;
		uint addr = img * chw + c * p.HW + i;
		uint stepImg = WG / p.HW, stepI = WG - stepImg * p.HW;
		uint stepAddr = stepImg * chw + stepI;
		float mu = mean[c];
		for (; j < end; j += WG) {
			float g = dy[addr];
			s1 += g;
			s2 = fma(g, x[addr] - mu, s2);
			addr += stepAddr;
			i += stepI;
			if (i >= p.HW) {
				i -= p.HW;
				addr += chw - p.HW;
			}
		}
	}
	sdy[t] = s1;
	sdyx[t] = s2;
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h) {
			sdy[t] += sdy[t + h];
			sdyx[t] += sdyx[t + h];
		}
		barrier();
	}
	if (t == 0u) {
		uint at = 2u * (c * gl_NumWorkGroups.x + s);
		part[at] = sdy[0];
		part[at + 1u] = sdyx[0];
	}
}
