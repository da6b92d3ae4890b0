package backend

// The random draws of dropout and augmentation come from a counter-based
// generator: a pure function of (seed, stream, step, index), so the CPU
// reference and the GLSL kernels (shaders/random.glsl) draw exactly the same
// numbers with no generator state to carry between steps.

// PCG is the PCG-RXS-M-XS 32-bit output permutation of an LCG step, a good
// one-round integer hash.
func PCG(v uint32) uint32 {
	state := v*747796405 + 2891336453
	word := ((state >> ((state >> 28) + 4)) ^ state) * 277803737
	return (word >> 22) ^ word
}

// Hash mixes the four counters into 32 random bits.
func Hash(seed, stream, step, index uint32) uint32 {
	return PCG(PCG(PCG(PCG(seed)+stream)+step) + index)
}

// Uniform maps Hash to [0,1) with 24 bits, exactly representable in float32.
func Uniform(seed, stream, step, index uint32) float32 {
	return float32(Hash(seed, stream, step, index)>>8) * (1.0 / 16777216.0)
}

// Keep says whether dropout with probability p keeps element index.
func Keep(seed, stream, step, index uint32, p float32) bool {
	return Uniform(seed, stream, step, index) >= p
}

// StreamGather is the stream Gather draws from; dropout layers use their own
// small stream numbers, so layers never share a draw.
const StreamGather = 0x9a7e

// Augmentation returns image i's crop offsets (each in [0, 2*pad]) and flip,
// as Gather draws them at the given step. Draws are taken with indices 3i,
// 3i+1, 3i+2.
func Augmentation(seed, step, i uint32, pad int, flip bool) (dx, dy int, mirror bool) {
	if pad > 0 {
		span := uint32(2*pad + 1)
		dx = int(Hash(seed, StreamGather, step, 3*i) % span)
		dy = int(Hash(seed, StreamGather, step, 3*i+1) % span)
	} else {
		dx, dy = 0, 0
	}
	if flip {
		mirror = Hash(seed, StreamGather, step, 3*i+2)&1 == 1
	}
	return dx, dy, mirror
}
