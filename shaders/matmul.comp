#version 450
// MatMul: c = op(a)·op(b) for row-major a, b, c, op transposing when
// TRANS_A / TRANS_B say, with backend.Epilogue applied as each output is
// stored (epilogue.glsl). A split-K run (SPLIT) writes slice z's partial
// product to part[z*M*N ...], a scratch buffer that matmul_reduce then
// sums in a fixed order and applies the epilogue to.
//
// BIAS_COL (MatMulBiasGrad) appends a column of ones to op(b), so the
// product's last column is the row sums of op(a): a Linear layer's bias
// gradient comes out of the weight gradient's GEMM, N = ldc + 1, and that
// column goes to db.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 8) const bool TRANS_A = false; // a is stored [K,M]
layout(constant_id = 9) const bool TRANS_B = false; // b is stored [N,K]
layout(constant_id = 14) const bool BIAS_COL = false;
layout(constant_id = 15) const bool SPLIT = false;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { uint c[]; };
// 3, 4, 5: the epilogue's
layout(std430, set = 0, binding = 6) writeonly buffer DB { float db[]; };
layout(std430, set = 0, binding = 7) writeonly buffer Part { float part[]; };

#define EPI_BINDING 3
#include "epilogue.glsl"

layout(push_constant) uniform Push {
	uint M, N, K; // the GEMM is M x N (N = ldc, or ldc + 1 with BIAS_COL), the inner dimension K
	uint kSplit;  // reduction length of one split-K slice
	uint ldc;     // columns of c
	EPILOGUE_PUSH
} p;

#define GEMM_M p.M
#define GEMM_N p.N
#define GEMM_K p.K
#define GEMM_KSPLIT p.kSplit

struct GemmRow { uint a; };             // where row m of op(a) starts
struct GemmCol { uint b; bool one; };   // where column n of op(b) starts; the ones column
struct GemmCursor { uint a; uint b; };  // offsets of position k in each

GemmRow gemmRow(uint m) { return GemmRow(TRANS_A ? m : m * p.K); }
GemmCol gemmCol(uint n) {
	bool one = BIAS_COL && n >= p.ldc;
	return GemmCol(one ? 0u : (TRANS_B ? n * p.K : n), one);
}
GemmCursor gemmCursor(uint k) { return GemmCursor(TRANS_A ? k * p.M : k, TRANS_B ? k : k * p.ldc); }

void gemmNext(inout GemmCursor c) {
	c.a += TRANS_A ? p.M : 1u;
	c.b += TRANS_B ? 1u : p.ldc;
}

float gemmA(GemmRow r, GemmCursor c) { return a[r.a + c.a]; }
float gemmB(GemmCursor c, GemmCol col) {
	if (BIAS_COL) {
		// The load stays in bounds (col.b is 0) and the select needs no branch.
		float v = b[c.b + col.b];
		return col.one ? 1.0 : v;
	}
	return b[c.b + col.b];
}

void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v) {
	if (SPLIT) {
		part[(split * p.M + m) * p.N + n] = v;
	} else if (BIAS_COL && col.one) {
		db[m] = v;
	} else {
		uint i = m * p.ldc + n;
		c[i] = epilogue(v, i, EPI_BIAS ? epiBias[n] : 0.0);
	}
}

#include "gemm.glsl"

void main() {
	EPILOGUE_BEGIN();
	gemmMain();
}
