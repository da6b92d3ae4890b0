#version 450
// Conv2d forward as an implicit GEMM: y[img,f,oh,ow] = bias[f] + sum over
// (c,r,s) of w[f,c,r,s]·x[img, c, oh*STRIDE-pad+r, ow*STRIDE-pad+s], zero
// outside the image. GEMM rows are the filters (M = K), columns the output
// pixels of the whole batch (N = batch*OH*OW, contiguous in y within an
// image), the reduction runs over C*R*S; the im2col matrix is never built.
// backend.Epilogue (epilogue.glsl: the ReLU and dropout after the layer) is
// applied as each output is stored.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 8) const uint STRIDE = 1;
layout(constant_id = 9) const bool HAS_BIAS = true;

layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Y { uint y[]; };
// 4, 5, 6: the epilogue's

#define EPI_BINDING 4
#include "epilogue.glsl"

layout(push_constant) uniform Push {
	uint M, N, K, kSplit; // GEMM: filters, batch*OH*OW, C*R*S, K
	uint C, H, W, R, S, OW, OHOW;
	int pad;
	uint ohowMul, ohowShift, owMul, owShift; // division by OH*OW and OW
	uint rsMul, rsShift, sMul, sShift;       // division by R*S and S
	EPILOGUE_PUSH
} p;

#define GEMM_M p.M
#define GEMM_N p.N
#define GEMM_K p.K
#define GEMM_KSPLIT p.kSplit

struct GemmRow { uint w; float bias; };                 // filter f: f*C*R*S, and its bias
struct GemmCol { int x; int ih; int iw; uint y; };      // output pixel: its window's corner
struct GemmCursor { uint k; int x; int r; int s; };     // (c,r,s): offset c*H*W + r*W + s

GemmRow gemmRow(uint m) { return GemmRow(m * p.K, 0.0); }

#define GEMM_OUT_ROW
GemmRow gemmOutRow(uint m) { return GemmRow(m * p.K, HAS_BIAS ? bias[m] : 0.0); }

uint gemmDiv(uint x, uint mul, uint shift);

GemmCol gemmCol(uint n) {
	uint img = gemmDiv(n, p.ohowMul, p.ohowShift);
	uint pix = n - img * p.OHOW;
	uint oh = gemmDiv(pix, p.owMul, p.owShift);
	uint ow = pix - oh * p.OW;
	int ih = int(oh * STRIDE) - p.pad;
	int iw = int(ow * STRIDE) - p.pad;
	return GemmCol(int(img * p.C * p.H * p.W) + ih * int(p.W) + iw, ih, iw, img * p.M * p.OHOW + pix);
}

GemmCursor gemmCursor(uint k) {
	uint c = gemmDiv(k, p.rsMul, p.rsShift);
	uint rs = k - c * p.R * p.S;
	uint r = gemmDiv(rs, p.sMul, p.sShift);
	uint s = rs - r * p.S;
	return GemmCursor(k, int((c * p.H + r) * p.W + s), int(r), int(s));
}

void gemmNext(inout GemmCursor c) {
	c.k++;
	c.s++;
	c.x++;
	if (c.s == int(p.S)) {
		c.s = 0;
		c.r++;
		c.x += int(p.W - p.S);
		if (c.r == int(p.R)) {
			c.r = 0;
			c.x += int((p.H - p.R) * p.W);
		}
	}
}

float gemmA(GemmRow r, GemmCursor c) { return w[r.w + c.k]; }

float gemmB(GemmCursor c, GemmCol col) {
	bool inside = uint(col.ih + c.r) < p.H && uint(col.iw + c.s) < p.W;
	float v = x[inside ? col.x + c.x : 0];
	return inside ? v : 0.0;
}

void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v) {
	// precise: the bias add rounds on its own in every variant of the
	// shader, so the fused and unfused convolutions agree to the bit.
	precise float s = v + r.bias;
	uint i = col.y + m * p.OHOW;
	y[i] = epilogue(s, i, 0.0);
}

#include "gemm.glsl"

void main() {
	EPILOGUE_BEGIN();
	gemmMain();
}
