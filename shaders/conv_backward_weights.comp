#version 450
// Conv2dBackwardWeights as an implicit GEMM: dw[f,c,r,s] = sum over
// (img,oh,ow) of dy[img,f,oh,ow]·x[img, c, oh*STRIDE-pad+r, ow*STRIDE-pad+s].
// GEMM rows are the filters (M = K), columns the weights of a filter
// (C*R*S) plus, when the bias gradient is wanted, one column of ones, whose
// product is db[f] = sum of dy[.,f,.,.] (N = C*R*S + 1); the reduction runs
// over batch*OH*OW. It is long and M*N small, so it is split (split-K): with
// SPLIT each slice writes its partial product to part[z, f, n], and
// matmul_reduce sums the slices in a fixed order, so the result is
// deterministic; without, the one slice writes dw and db directly.

layout(constant_id = 8) const uint STRIDE = 1;
layout(constant_id = 9) const bool SPLIT = false; // write partial products to part

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DW { float dw[]; };
layout(std430, set = 0, binding = 3) writeonly buffer DB { float db[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Part { float part[]; };

layout(push_constant) uniform Push {
	uint M, N, K, kSplit; // GEMM: filters, C*R*S (+1), batch*OH*OW, slice length
	uint C, H, W, R, S, OH, OW, CRS;
	int pad;
	uint ohowMul, ohowShift, owMul, owShift; // division by OH*OW and OW
	uint rsMul, rsShift, sMul, sShift;       // division by R*S and S
} p;

#define GEMM_M p.M
#define GEMM_N p.N
#define GEMM_K p.K
#define GEMM_KSPLIT p.kSplit

struct GemmRow { uint dy; };                     // filter f: f*OH*OW
struct GemmCol { int x; int r; int s; bool one; }; // weight (c,r,s): c*H*W + (r-pad)*W + (s-pad)
// Output pixel (img,oh,ow): its offsets in dy and x, and its window's corner.
struct GemmCursor { uint dy; int x; int ih; int iw; uint oh; uint ow; };

uint gemmDiv(uint x, uint mul, uint shift);

GemmRow gemmRow(uint m) { return GemmRow(m * p.OH * p.OW); }

GemmCol gemmCol(uint n) {
	bool one = n >= p.CRS;
	uint q = one ? 0u : n;
	uint c = gemmDiv(q, p.rsMul, p.rsShift);
	uint rs = q - c * p.R * p.S;
	uint r = gemmDiv(rs, p.sMul, p.sShift);
	uint s = rs - r * p.S;
	int rp = int(r) - p.pad, sp = int(s) - p.pad;
	return GemmCol(int(c * p.H * p.W) + rp * int(p.W) + sp, rp, sp, one);
}

GemmCursor gemmCursor(uint k) {
	uint ohow = p.OH * p.OW;
	uint img = gemmDiv(k, p.ohowMul, p.ohowShift);
	uint pix = k - img * ohow;
	uint oh = gemmDiv(pix, p.owMul, p.owShift);
	uint ow = pix - oh * p.OW;
	int ih = int(oh * STRIDE), iw = int(ow * STRIDE);
	return GemmCursor(img * p.M * ohow + pix, int(img * p.C * p.H * p.W) + ih * int(p.W) + iw, ih, iw, oh, ow);
}

void gemmNext(inout GemmCursor c) {
	c.dy++;
	c.ow++;
	c.iw += int(STRIDE);
	c.x += int(STRIDE);
	if (c.ow == p.OW) {
		c.ow = 0;
		c.iw = 0;
		c.x += int(STRIDE * p.W) - int(STRIDE * p.OW);
		c.oh++;
		c.ih += int(STRIDE);
		if (c.oh == p.OH) {
			c.oh = 0;
			c.ih = 0;
			c.x += int(p.C * p.H * p.W) - int(STRIDE * p.OH * p.W);
			c.dy += (p.M - 1) * p.OH * p.OW;
		}
	}
}

float gemmA(GemmRow r, GemmCursor c) { return dy[r.dy + c.dy]; }

float gemmB(GemmCursor c, GemmCol col) {
	bool inside = !col.one && uint(c.ih + col.r) < p.H && uint(c.iw + col.s) < p.W;
	float v = x[inside ? c.x + col.x : 0];
	return col.one ? 1.0 : (inside ? v : 0.0);
}

void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v) {
	if (SPLIT) {
		part[(split * p.M + m) * p.N + n] = v;
	} else if (col.one) {
		db[m] = v;
	} else {
		dw[m * p.CRS + n] = v;
	}
}

#include "gemm.glsl"

void main() {
	gemmMain();
}
