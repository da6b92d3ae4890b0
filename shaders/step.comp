#version 450
// Step: advance the global step and the batch counter (ctr[0]++, ctr[1]++)
// on the device, so a recorded program draws new numbers and reads the next
// batch on every replay without the host touching it.
layout(local_size_x = 1) in;

layout(std430, set = 0, binding = 0) buffer Ctr { uint ctr[]; };

void main() {
	ctr[0] += 1u;
	ctr[1] += 1u;
}
