#version 450
// BiasGrad: db[j] = sum over i of dy[i,j], for dy [rows, cols]. A workgroup
// owns WX columns; its WY threads of a column each sum every WY-th row in
// order, then a fixed halving tree adds the WY partial sums. The order of
// every addition is fixed by the shape, so runs are bit-identical (no float
// atomics).
layout(local_size_x_id = 0, local_size_y_id = 1) in; // WX columns x WY row slices (a power of two), WX*WY <= MAX_WG

layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) writeonly buffer DB { float db[]; };

layout(push_constant) uniform Push {
	uint rows, cols;
} p;

const uint WX = gl_WorkGroupSize.x;
const uint WY = gl_WorkGroupSize.y;

// The partial sums' array has a fixed size, the largest workgroup the host
// asks for: one sized by specialization constants fails in MoltenVK before
// 1.4 (Metal cannot size a threadgroup array by a function constant).
const uint MAX_WG = 256u;
shared float partial[MAX_WG];

void main() {
	uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
	uint j = gl_WorkGroupID.x * WX + tx;
	float s = 0.0;
	if (j < p.cols) {
		for (uint i = ty; i < p.rows; i += WY) {
			s += dy[i * p.cols + j];
		}
	}
	partial[ty * WX + tx] = s;
	barrier();
	for (uint h = WY / 2; h > 0; h /= 2) {
		if (ty < h) {
			partial[ty * WX + tx] += partial[(ty + h) * WX + tx];
		}
		barrier();
	}
	if (ty == 0 && j < p.cols) {
		db[j] = partial[tx];
	}
}
