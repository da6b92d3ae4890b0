#version 450
// SGD over one parameter group packed in shared storage (backend
// SGDPacked): every range of the group in one dispatch, each element
// updated exactly as sgd.comp updates it (the same `precise` operations:
// the same bits as the CPU). The hyperparameters are push constants, as in
// sgd.comp, so every compiler sees them uniform (lavapipe, which vectorizes
// across invocations, runs a kernel that reads them from a buffer three
// times slower). A group of one range (the seed's: its neighbours merge)
// is bound from the range's start, as if it were a tensor of its own, and
// indexed exactly as sgd.comp indexes (which is what lets lavapipe load it
// as vectors); with more ranges, a table gives each range its workgroups:
//   table[4r ..] = first workgroup, workgroups, offset, length
// and workgroup w serves the range whose workgroups include w, striding over
// it.
//
// With STEP, the dispatch also advances the counters (Step): every
// workgroup reads ctr[0] for the schedule first, so the last workgroup to
// finish, the one whose atomic increment of the arrival count reaches the
// number of workgroups, does it, and resets the count for the next run.
layout(local_size_x_id = 0) in;
// STEP: fold Step in. A constant, so that without it the barrier and the
// atomic are not in the pipeline at all: on lavapipe their mere presence
// makes the whole kernel about twice as slow.
layout(constant_id = 1) const bool STEP = false;
// RANGES: read the ranges from the table; without, the bindings start at
// the one range (a constant for the same reason).
layout(constant_id = 2) const bool RANGES = false;

layout(std430, set = 0, binding = 0) buffer P { float param[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float grad[]; };
// buf binds p again without a momentum buffer (hasBuf 0): never touched.
layout(std430, set = 0, binding = 2) buffer Buf { float buf[]; };
// With one range this binds g again and is never touched.
layout(std430, set = 0, binding = 3) readonly buffer Table { uint table[]; };
// Without a schedule (s = 0) this binds g again and is never touched.
layout(std430, set = 0, binding = 4) readonly buffer Schedule { float schedule[]; };
// coherent: the last workgroup's writes follow every other's reads.
layout(std430, set = 0, binding = 5) coherent buffer Ctr { uint ctr[]; };
layout(std430, set = 0, binding = 6) coherent buffer Arrivals { uint arrivals[]; };

layout(push_constant) uniform Push {
	uint ranges; // how many (with RANGES)
	uint len;    // the length of the one range (without)
	uint total;       // workgroups in the dispatch
	float lr, momentum, wd;
	uint nesterov;
	uint hasBuf;
	uint s; // the schedule's length, 0 for none
} p;

// update is sgd.comp's update of element j.
void update(uint j, float lr) {
	precise float x = param[j];
	precise float d = grad[j] + p.wd * x;
	if (p.hasBuf != 0u) {
		precise float m = p.momentum * buf[j] + d;
		buf[j] = m;
		d = p.nesterov != 0u ? d + p.momentum * m : m;
	}
	param[j] = x - lr * d;
}

void main() {
	precise float lr = p.lr;
	if (p.s != 0u) {
		lr = p.lr * schedule[min(ctr[0], p.s - 1u)];
	}
	uint w = gl_WorkGroupID.x;
	if (!RANGES) {
		uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
		for (uint i = gl_GlobalInvocationID.x; i < p.len; i += stride) {
			update(i, lr);
		}
	} else {
		uint r = 0u;
		while (r + 1u < p.ranges && w >= table[(r + 1u) * 4u]) {
			r++;
		}
		uint first = table[4u * r], groups = table[4u * r + 1u];
		uint off = table[4u * r + 2u], len = table[4u * r + 3u];
		uint stride = groups * gl_WorkGroupSize.x;
		for (uint i = (w - first) * gl_WorkGroupSize.x + gl_LocalInvocationID.x; i < len; i += stride) {
			update(off + i, lr);
		}
	}

	if (STEP) {
		// Every invocation of this workgroup has read ctr[0] by here.
		barrier();
		if (gl_LocalInvocationIndex == 0u) {
			memoryBarrierBuffer();
			if (atomicAdd(arrivals[0], 1u) == p.total - 1u) {
				// Every workgroup has arrived, so every read of ctr is done.
				memoryBarrierBuffer();
				ctr[0] += 1u;
				ctr[1] += 1u;
				arrivals[0] = 0u;
			}
		}
	}
}
