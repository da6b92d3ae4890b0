#version 450
// BatchNorm2d in training, pass 1 of 3: the mean and the sum of squared
// deviations (M2) of one slice of one channel, as a partial for
// batchnorm_finalize. Workgroup (s, c) takes values [s*len, (s+1)*len) of
// channel c's cnt = N*HW (in batch, then plane order); invocation t takes
// every 256th of them from t, in order.
//
// Each invocation shifts its values by its own first one before summing d
// and d*d: since that value belongs to the set, (mean - shift)^2 <= M2, and
// M2 = sum(d*d) - sum(d)^2/n cancels at most ~n ulps (n ~ 16), where a
// plain sum of squares minus a squared sum would lose everything for a
// channel whose mean is large beside its spread. Invocations and then
// partials are combined by Chan's pairwise formula in a fixed tree, so
// every run adds in the same order and gives the same bits (no atomics).
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
// part[2*(c*slices + s)] = mean, [... + 1] = M2; the count follows from
// the geometry.
layout(std430, set = 0, binding = 1) writeonly buffer Part { float part[]; };

layout(push_constant) uniform Push {
	uint C, HW;
	uint cnt; // values per channel: N*HW
	uint len; // values per slice
} p;

const uint WG = 256u;

shared uint sn[WG];
shared float smean[WG];
shared float sm2[WG];

// merge folds statistics b into a (Chan et al.). An empty side has mean 0
// and M2 0, so merging into it copies the other exactly.
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
	uint s = gl_WorkGroupID.x, c = gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
	uint j = s * p.len + t;
	uint end = min(s * p.len + p.len, p.cnt);
	uint n = 0u;
	float mean = 0.0, m2 = 0.0;
	if (j < end) {
		// Value j of the channel is at image j/HW, plane offset j%HW; the
		// stride of WG values is stepped without dividing again.
		uint chw = p.C * p.HW;
		uint img = j / p.HW, i = j - img * p.HW;
		uint addr = img * chw + c * p.HW + i;
		uint stepImg = WG / p.HW, stepI = WG - stepImg * p.HW;
		uint stepAddr = stepImg * chw + stepI;
		float k = x[addr];
		float s1 = 0.0, s2 = 0.0;
		for (; j < end; j += WG) {
			float d = x[addr] - k;
			s1 += d;
			s2 = fma(d, d, s2);
			n++;
			addr += stepAddr;
			i += stepI;
			if (i >= p.HW) {
				i -= p.HW;
				addr += chw - p.HW;
			}
		}
		float fn = float(n);
		mean = k + s1 / fn;
		m2 = max(s2 - s1 * (s1 / fn), 0.0);
	}
	sn[t] = n;
	smean[t] = mean;
	sm2[t] = m2;
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h) {
			merge(t, t + h);
		}
		barrier();
	}
	if (t == 0u) {
		uint at = 2u * (c * gl_NumWorkGroups.x + s);
		part[at] = smean[0];
		part[at + 1u] = sm2[0];
	}
}
