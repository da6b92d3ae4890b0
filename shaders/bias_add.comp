#version 450
#extension GL_GOOGLE_include_directive : require
// AddBias: y[i,j] += b[j] for y [rows, cols], in place. The column is the
// index modulo cols, taken with fastDiv.
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) buffer Y { float y[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };

layout(push_constant) uniform Push {
	uint rows, cols;
	uint colsMul, colsShift; // fastDiv by cols
} p;

#include "fastdiv.glsl"

void main() {
	uint total = p.rows * p.cols;
	// Grid-stride, so the workgroup count can stay under the device's limit.
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
		y[i] += b[i - fastDiv(i, p.colsMul, p.colsShift) * p.cols];
	}
}
