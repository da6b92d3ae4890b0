#version 450
// Softmax cross-entropy over a batch in ONE workgroup: invocation t takes rows
// t, t+size, ..., and the workgroup then sums its per-invocation loss and hit
// counts by a fixed tree in shared memory, so every run adds in the same order
// and gives the same bits. Batches are small (N up to a few thousand, M about
// 10), so one workgroup is plenty, and it needs no atomics or second pass.
//
// A label >= M (which the CPU reports as an error) must not index out of the
// row: that row adds NaN to the loss, so the run is visibly broken, no hit, and
// its gradient is softmax/N.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, set = 0, binding = 1) readonly buffer Labels { uint labels[]; };
// dlogits may alias logits (each row is read fully before it is written); when
// the caller wants no gradient this binds another buffer and grad is 0.
layout(std430, set = 0, binding = 2) writeonly buffer DLogits { float dlogits[]; };
layout(std430, set = 0, binding = 3) buffer Loss { float loss[]; };
layout(std430, set = 0, binding = 4) buffer Correct { uint correct[]; };

layout(push_constant) uniform Push {
	uint n, m;
	uint grad; // write dlogits
} p;

shared float partLoss[gl_WorkGroupSize.x];
shared uint partHits[gl_WorkGroupSize.x];

void main() {
	uint t = gl_LocalInvocationID.x;
	uint size = gl_WorkGroupSize.x;
	float invN = 1.0 / float(p.n);
	float total = 0.0;
	uint hits = 0u;
	for (uint i = t; i < p.n; i += size) {
		uint row = i * p.m;
		uint label = labels[i];
		float best = logits[row];
		uint arg = 0u;
		for (uint j = 1u; j < p.m; j++) {
			float v = logits[row + j];
			if (v > best) {
				best = v;
				arg = j;
			}
		}
		float sum = 0.0;
		for (uint j = 0u; j < p.m; j++) {
			sum += exp(logits[row + j] - best);
		}
		// The index is clamped before the load, not just the result
		// selected: a compiler may load both sides of a select.
		bool valid = label < p.m;
		float target = logits[row + (valid ? label : 0u)];
		// log(sum) - (x[label]-max): both terms are small, so no cancellation
		// of large values.
		total += valid ? log(sum) - (target - best) : uintBitsToFloat(0x7fc00000u);
		hits += arg == label ? 1u : 0u;
		if (p.grad != 0u) {
			float inv = 1.0 / sum;
			for (uint j = 0u; j < p.m; j++) {
				float g = exp(logits[row + j] - best) * inv;
				if (j == label) {
					g -= 1.0;
				}
				dlogits[row + j] = g * invN;
			}
		}
	}
	partLoss[t] = total;
	partHits[t] = hits;
	barrier();
	// Pairwise halving from the next power of two, so any workgroup size works.
	uint half_ = 1u;
	while (half_ < size) {
		half_ <<= 1u;
	}
	for (half_ >>= 1u; half_ > 0u; half_ >>= 1u) {
		if (t < half_ && t + half_ < size) {
			partLoss[t] += partLoss[t + half_];
			partHits[t] += partHits[t + half_];
		}
		barrier();
	}
	if (t == 0u) {
		loss[0] += partLoss[0];
		correct[0] += partHits[0];
	}
}
