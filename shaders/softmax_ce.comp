#version 450
// Softmax cross-entropy over a batch in ONE workgroup: invocation t takes rows
// t, t+size, ..., and the workgroup then sums its per-invocation loss and hit
// counts by a fixed tree in shared memory, so every run adds in the same order
// and gives the same bits. Batches are small (N up to a few thousand, M about
// 10), so one workgroup is plenty, and it needs no atomics or second pass.
//
// Label smoothing ε makes the target (1-ε)·onehot + ε/M (PyTorch's
// label_smoothing): with z = x - max and lse = log Σ exp z, a row's loss is
// lse - on·z[label] - off·Σz with on = 1-ε and off = ε/M, three terms each
// >= 0, so nothing cancels; the gradient is (softmax - target)·scale, scale
// 1/N for the mean loss or 1 for the sum. ε = 0 gives the same bits as
// without smoothing.
//
// A label >= M (which the CPU reports as an error) must not index out of the
// row: that row adds NaN to the loss, so the run is visibly broken, no hit, and
// its gradient is (softmax - off)·scale.
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
	uint sum;  // dlogits is the gradient of the summed loss, not the mean
	float on;  // 1 - ε, the label's share of the target beyond off
	float off; // ε/M, every class's share of the target
	float hit; // on + off, the label's target, rounded once on the host
} p;

// Fixed sizes, the largest workgroup the host asks for: arrays sized by the
// specialized workgroup size fail in MoltenVK before 1.4 (Metal cannot size
// a threadgroup array by a function constant).
const uint MAX_WG = 256u;
shared float partLoss[MAX_WG];
shared uint partHits[MAX_WG];

void main() {
	uint t = gl_LocalInvocationID.x;
	uint size = gl_WorkGroupSize.x;
	float scale = p.sum != 0u ? 1.0 : 1.0 / float(p.n);
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
		float zsum = 0.0;
		for (uint j = 0u; j < p.m; j++) {
			float z = logits[row + j] - best;
			sum += exp(z);
			zsum += z;
		}
		// The index is clamped before the load, not just the result
		// selected: a compiler may load both sides of a select.
		bool valid = label < p.m;
		float target = logits[row + (valid ? label : 0u)];
		// log(sum) - (x[label]-max): both terms are small, so no cancellation
		// of large values.
		float l = log(sum) - p.on * (target - best);
		// Skipped without smoothing: zsum may overflow to -inf for logits
		// near the float range, and 0·inf would make the loss NaN.
		if (p.off != 0.0) {
			l -= p.off * zsum;
		}
		total += valid ? l : uintBitsToFloat(0x7fc00000u);
		hits += arg == label ? 1u : 0u;
		if (p.grad != 0u) {
			float inv = 1.0 / sum;
			for (uint j = 0u; j < p.m; j++) {
				float g = exp(logits[row + j] - best) * inv;
				g -= j == label ? p.hit : p.off;
				dlogits[row + j] = g * scale;
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
