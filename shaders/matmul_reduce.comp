#version 450
// Sums split-K partial products: out[m,n] = sum over z of part[z,m,n], z in
// order 0, 1, ..., so the result is the same on every run, then applies
// backend.Epilogue (epilogue.glsl) as a one-slice GEMM would have. Columns
// n >= ldo (a bias-gradient column) go to extra[m] instead.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Part { float part[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uint outv[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Extra { float extra[]; };

#define EPI_BINDING 3
#include "epilogue.glsl"

layout(push_constant) uniform Push {
	uint M, N;   // each partial is M x N
	uint splits; // how many partials
	uint ldo;    // columns of out; the rest go to extra
	EPILOGUE_PUSH
} p;

void main() {
	EPILOGUE_BEGIN();
	uint total = p.M * p.N;
	uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
	for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
		float s = 0.0;
		for (uint z = 0; z < p.splits; z++) {
			s += part[z * total + i];
		}
		uint m = i / p.N, n = i - m * p.N;
		if (n < p.ldo) {
			uint o = m * p.ldo + n;
			outv[o] = epilogue(s, o, EPI_BIAS ? epiBias[n] : 0.0);
		} else {
			extra[m] = s;
		}
	}
}
