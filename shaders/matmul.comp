#version 450
// MatMul: c = op(a)·op(b) for row-major a, b, c, op transposing when
// TRANS_A / TRANS_B say. A split-K run (gl_NumWorkGroups.z > 1) writes slice
// z's partial product to c[z*M*N ...], a scratch buffer that matmul_reduce
// then sums in a fixed order.

layout(constant_id = 8) const bool TRANS_A = false; // a is stored [K,M]
layout(constant_id = 9) const bool TRANS_B = false; // b is stored [N,K]

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };

layout(push_constant) uniform Push {
	uint M, N, K; // c is M x N, the inner dimension K
	uint kSplit;  // reduction length of one split-K slice
} p;

#define GEMM_M p.M
#define GEMM_N p.N
#define GEMM_K p.K
#define GEMM_KSPLIT p.kSplit

struct GemmRow { uint a; };             // where row m of op(a) starts
struct GemmCol { uint b; };             // where column n of op(b) starts
struct GemmCursor { uint a; uint b; };  // offsets of position k in each

GemmRow gemmRow(uint m) { return GemmRow(TRANS_A ? m : m * p.K); }
GemmCol gemmCol(uint n) { return GemmCol(TRANS_B ? n * p.K : n); }
GemmCursor gemmCursor(uint k) { return GemmCursor(TRANS_A ? k * p.M : k, TRANS_B ? k : k * p.N); }

void gemmNext(inout GemmCursor c) {
	c.a += TRANS_A ? p.M : 1u;
	c.b += TRANS_B ? 1u : p.N;
}

float gemmA(GemmRow r, GemmCursor c) { return a[r.a + c.a]; }
float gemmB(GemmCursor c, GemmCol col) { return b[c.b + col.b]; }

void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v) {
	c[(split * p.M + m) * p.N + n] = v;
}

#include "gemm.glsl"

void main() {
	gemmMain();
}
