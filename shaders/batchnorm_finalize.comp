#version 450
// BatchNorm2d in training, pass 2 of 3: workgroup c combines channel c's
// partials from batchnorm_stats (one per invocation, then Chan's pairwise
// formula in a fixed tree, as there) into the batch mean and biased
// variance, saves mean and invstd for the backward pass and moves the
// running statistics: r = (1-momentum)*r + momentum*batch, with the
// unbiased variance M2/(cnt-1) for the running one.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Part { float part[]; };
layout(std430, set = 0, binding = 1) buffer RunMean { float runMean[]; };
layout(std430, set = 0, binding = 2) buffer RunVar { float runVar[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Mean { float mean[]; };
layout(std430, set = 0, binding = 4) writeonly buffer InvStd { float invStd[]; };

layout(push_constant) uniform Push {
	uint cnt;    // values per channel
	uint len;    // values per slice
	uint slices; // partials per channel, at most 256
	float eps, momentum;
} p;

const uint WG = 256u;

shared uint sn[WG];
shared float smean[WG];
shared float sm2[WG];

// merge folds statistics b into a (Chan et al.); see batchnorm_stats.
void merge(uint a, uint b) {
	uint nb = sn[b];
	if (nb == 0u) {
		return;
	}
	uint na = sn[a];
	float fb = float(nb) / float(na + nb);
	float delta = smean[b] - smean[a];
	smean[a] += delta * fb;
	sm2[a] += sm2[b] + delta * delta * (float(na) * fb);
	sn[a] = na + nb;
}

void main() {
	uint c = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
	uint n = 0u;
	float m = 0.0, m2 = 0.0;
	if (t < p.slices) {
		n = min(p.len, p.cnt - t * p.len);
		uint at = 2u * (c * p.slices + t);
		m = part[at];
		m2 = part[at + 1u];
	}
	sn[t] = n;
	smean[t] = m;
	sm2[t] = m2;
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h) {
			merge(t, t + h);
		}
		barrier();
	}
	if (t == 0u) {
		float fc = float(p.cnt);
		float mu = smean[0], M2 = sm2[0];
		mean[c] = mu;
		invStd[c] = 1.0 / sqrt(M2 / fc + p.eps);
		float keep = 1.0 - p.momentum;
		runMean[c] = keep * runMean[c] + p.momentum * mu;
		runVar[c] = keep * runVar[c] + p.momentum * (M2 / (fc - 1.0));
	}
}
