#version 450
// Gather builds a training batch from raw records on the device: workgroup g
// takes images g, g+groups, ...; its invocations first fill a table of what
// each byte value of each channel becomes (scale, then normalize), then
// write the image's C*H*W outputs in order, so neighbouring invocations read
// neighbouring bytes and write neighbouring floats.
//
// The image shape (channels, height, width) is specialization constants:
// a run gathers one or two shapes, and constant divisors let the compiler
// turn the per-pixel divisions into multiplies. A record is a label byte
// and then the image's planes, 1+C*H*W bytes, so records start at any byte
// offset (CIFAR-10's 3073, MNIST's 785).
//
// The table is computed with divRN, the exact division, and `precise` scale
// and subtract, so the batch is bit-identical to the CPU's (which folds the
// same arithmetic into the same table). Whether a channel is normalized is
// decided on the bits of its std (+0 and -0 mean no), not by comparing it
// with 0.0: a driver that flushes subnormals would take a subnormal std for
// zero, where the CPU divides by it.
//
// The records may be split over up to 4 buffers (shards) of shardRows whole
// records each, because one binding cannot address more than the device's
// maxStorageBufferRange (128 MiB on some devices; CIFAR-10's training set is
// 153 MB). Record idx is record idx % shardRows of shard idx / shardRows;
// bindings past the last shard repeat it and are never read. Separate
// bindings rather than an array of buffers: indexing one by a computed value
// needs a feature core Vulkan 1.1 does not require.
//
// The records are read as 32-bit words (storage buffers have no bytes in core
// Vulkan 1.1): byte i is (word[i/4] >> 8*(i%4)) & 0xff.
//
// An index position past the index list, or an index past the records (both
// errors on the CPU), reads nothing: that image is written as zeros and its
// label as 0xffffffff, which SoftmaxCrossEntropy turns into a NaN loss.
//
// The view of each image (crop offsets dx, dy and mirror) is drawn by
// augmentation(), or, with indexFlip, the mirror is bit 31 of the image's
// index-list entry (its record index the other 31 bits), or with fixedView the
// push constants give all three. Padded pixels are zero, or with reflect the
// image reflected PyTorch's way (edge not repeated); the host keeps pad below
// the shorter side then, so one reflection always lands inside.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

#include "random.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Records0 { uint records0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Records1 { uint records1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Records2 { uint records2[]; };
layout(std430, set = 0, binding = 3) readonly buffer Records3 { uint records3[]; };
layout(std430, set = 0, binding = 4) readonly buffer Indices { uint indices[]; };
layout(std430, set = 0, binding = 5) readonly buffer Ctr { uint ctr[]; };
layout(std430, set = 0, binding = 6) writeonly buffer X { uint x[]; }; // float bits
layout(std430, set = 0, binding = 7) writeonly buffer Labels { uint labels[]; };

layout(constant_id = 1) const uint channels = 3u; // at most 4
layout(constant_id = 2) const uint height = 32u;
layout(constant_id = 3) const uint width = 32u;

layout(push_constant) uniform Push {
	uint n;    // images in the batch
	uint nidx; // length of the index list
	uint nrec; // records
	uint pad;  // crop padding
	uint flip;
	uint seed;
	float scale; // float32(1/255), the CPU's constant
	float mean[4];
	float std[4]; // +0 or -0: no normalization of that channel
	uint shardRows; // records a shard (nrec when there is one buffer)
	uint reflect;   // reflect padding instead of zeros
	uint indexFlip; // mirror = bit 31 of the entry, record = the other bits
	uint fixedView; // one view for every image: fixedDX, fixedDY, fixedMirror
	uint fixedDX, fixedDY, fixedMirror;
} p;

const uint plane = height * width;
const uint image = channels * plane;
const uint recordSize = image + 1u;

shared uint lut[4 * 256];

// reflected maps a coordinate u of the padded image, in the image's frame
// and wrapped to uint when negative, to the row or column of an image of
// size pixels that PyTorch's 'reflect' padding reads there: -1 reads 1,
// size reads size-2. With pad below the size, u lies in
// [-(size-1), 2*(size-1)], where one reflection is enough.
uint reflected(uint u, uint size) {
	int a = abs(int(u));
	return uint(int(size - 1u) - abs(int(size - 1u) - a));
}

// byteAt is byte i of shard s. s is the same across the workgroup (one
// image at a time), so the branches do not diverge.
uint byteAt(uint s, uint i) {
	uint w = i >> 2u, word;
	if (s == 0u) {
		word = records0[w];
	} else if (s == 1u) {
		word = records1[w];
	} else if (s == 2u) {
		word = records2[w];
	} else {
		word = records3[w];
	}
	return (word >> ((i & 3u) * 8u)) & 0xffu;
}

void main() {
	uint t = gl_LocalInvocationID.x;
	uint size = gl_WorkGroupSize.x;
	for (uint k = t; k < channels * 256u; k += size) {
		uint c = k >> 8u;
		float sd = p.std[c];
		precise float f = float(k & 255u) * p.scale;
		if ((floatBitsToUint(sd) & 0x7fffffffu) != 0u) {
			precise float d = f - p.mean[c];
			lut[k] = divRN(floatBitsToUint(d), floatBitsToUint(sd));
		} else {
			lut[k] = floatBitsToUint(f);
		}
	}
	barrier();

	uint step = ctr[0], batch = ctr[1];
	for (uint img = gl_WorkGroupID.x; img < p.n; img += gl_NumWorkGroups.x) {
		// pos = batch*n + img, which must not wrap: the CPU computes it in
		// 64 bits.
		uint hi, lo;
		umulExtended(batch, p.n, hi, lo);
		uint pos = lo + img;
		bool valid = hi == 0u && pos >= lo && pos < p.nidx;
		uint entry = valid ? indices[pos] : 0u;
		uint idx = p.indexFlip != 0u ? entry & 0x7fffffffu : entry;
		valid = valid && idx < p.nrec;
		// Offsets within a shard fit 32 bits: a shard is one buffer.
		uint shard = valid ? idx / p.shardRows : 0u;
		uint base = valid ? (idx - shard * p.shardRows) * recordSize : 0u;
		if (t == 0u) {
			labels[img] = valid ? byteAt(shard, base) : 0xffffffffu;
		}
		uint dx, dy;
		bool mirror;
		if (p.fixedView != 0u) {
			dx = p.fixedDX;
			dy = p.fixedDY;
			mirror = p.fixedMirror != 0u;
		} else {
			augmentation(p.seed, step, img, p.pad, p.flip != 0u, dx, dy, mirror);
			if (p.indexFlip != 0u) {
				mirror = (entry >> 31u) != 0u;
			}
		}
		for (uint k = t; k < image; k += size) {
			uint c = k / plane, yy = (k / width) % height, xx = k % width;
			uint sx = mirror ? width - 1u - xx : xx;
			// Source pixel (iy, ix), unsigned: a negative one wraps past the
			// image.
			uint iy = yy + dy - p.pad, ix = sx + dx - p.pad;
			if (p.reflect != 0u) {
				iy = reflected(iy, height);
				ix = reflected(ix, width);
			}
			uint v = 0u;
			if (valid && iy < height && ix < width) {
				v = byteAt(shard, base + 1u + c * plane + iy * width + ix);
			}
			x[img * image + k] = valid ? lut[c * 256u + v] : 0u;
		}
	}
}
