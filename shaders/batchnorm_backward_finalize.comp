#version 450
// BatchNorm2dBackward, pass 2 of 3: workgroup c adds channel c's partials
// from batchnorm_backward_stats (one per invocation, then a fixed halving
// tree) into dBias = sum(dy) and dWeight = invstd*sum(dy*(x-mean)), writes
// those that are wanted, and leaves batchnorm_backward_dx the three
// per-channel factors of dx = a*(dy - k1 - (x-mean)*k2):
// a = w*invstd, k1 = dBias/cnt, k2 = invstd*dWeight/cnt.
// A gradient that is not wanted binds another buffer and is not written
// (flags); without dx the weight binding may be any buffer.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Part { float part[]; };
layout(std430, set = 0, binding = 1) readonly buffer InvStd { float invStd[]; };
layout(std430, set = 0, binding = 2) readonly buffer W { float w[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DW { float dw[]; };
layout(std430, set = 0, binding = 4) writeonly buffer DB { float db[]; };
layout(std430, set = 0, binding = 5) writeonly buffer Coef { float coef[]; };

layout(push_constant) uniform Push {
	uint cnt;    // values per channel
	uint slices; // partials per channel, at most 256
	uint flags;  // 1: write dw, 2: write db, 4: write coef
} p;

const uint WG = 256u;

shared float sdy[WG];
shared float sdyx[WG];

void main() {
	uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
	float s1 = 0.0, s2 = 0.0;
	if (t < p.slices) {
		uint at = 2u * (c * p.slices + t);
		s1 = part[at];
		s2 = part[at + 1u];
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
		float inv = invStd[c];
		float gb = sdy[0], gw = sdyx[0] * inv;
		if ((p.flags & 1u) != 0u) {
			dw[c] = gw;
		}
		if ((p.flags & 2u) != 0u) {
			db[c] = gb;
		}
		if ((p.flags & 4u) != 0u) {
			float fc = float(p.cnt);
			coef[3u * c] = w[c] * inv;
			coef[3u * c + 1u] = gb / fc;
			coef[3u * c + 2u] = inv * gw / fc;
		}
	}
}
