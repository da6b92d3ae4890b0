#version 450
// Conv2dBackwardData as a gather, tiled like a GEMM: dx[img,c,h,w] = sum over
// (f,r,s) of w[f,c,r,s]·dy[img, f, oh, ow] for the output pixels whose window
// covers (h,w): oh = (h+pad-r)/STRIDE where that divides exactly and lands
// inside dy (likewise ow). GEMM rows are the input channels (M = C), columns
// the input pixels of the batch (N = batch*H*W), the reduction runs over
// K*R*S. Each dx element is written once: no atomics, no scatter.
// backend.Epilogue (epilogue.glsl: the gradient mask of the ReLU and dropout
// before the layer) is applied as each element is stored.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 8) const uint STRIDE = 1;

layout(std430, set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, set = 0, binding = 1) readonly buffer Wt { float w[]; };
layout(std430, set = 0, binding = 2) writeonly buffer DX { uint dx[]; };
// 3, 4, 5: the epilogue's

#define EPI_BINDING 3
#include "epilogue.glsl"

layout(push_constant) uniform Push {
	uint M, N, K, kSplit; // GEMM: channels, batch*H*W, filters*R*S, K
	uint F, H, W, R, S, OH, OW;
	int pad;
	uint hwMul, hwShift, wMul, wShift; // division by H*W and W
	uint rsMul, rsShift, sMul, sShift; // division by R*S and S
	EPILOGUE_PUSH
} p;

#define GEMM_M p.M
#define GEMM_N p.N
#define GEMM_K p.K
#define GEMM_KSPLIT p.kSplit

struct GemmRow { uint w; };                          // channel c: c*R*S
struct GemmCol { uint dy; int hp; int wp; uint dx; }; // input pixel, padded coordinates
struct GemmCursor { uint w; uint dy; int r; int s; }; // (f,r,s): f*C*R*S + r*S + s, f*OH*OW

uint gemmDiv(uint x, uint mul, uint shift);

GemmRow gemmRow(uint m) { return GemmRow(m * p.R * p.S); }

GemmCol gemmCol(uint n) {
	uint hw = p.H * p.W;
	uint img = gemmDiv(n, p.hwMul, p.hwShift);
	uint pix = n - img * hw;
	uint h = gemmDiv(pix, p.wMul, p.wShift);
	uint wc = pix - h * p.W;
	return GemmCol(img * p.F * p.OH * p.OW, int(h) + p.pad, int(wc) + p.pad, img * p.M * hw + pix);
}

GemmCursor gemmCursor(uint k) {
	uint rs = p.R * p.S;
	uint f = gemmDiv(k, p.rsMul, p.rsShift);
	uint q = k - f * rs;
	uint r = gemmDiv(q, p.sMul, p.sShift);
	uint s = q - r * p.S;
	return GemmCursor(f * p.M * rs + r * p.S + s, f * p.OH * p.OW, int(r), int(s));
}

void gemmNext(inout GemmCursor c) {
	c.s++;
	c.w++;
	if (c.s == int(p.S)) {
		c.s = 0;
		c.r++;
		if (c.r == int(p.R)) {
			c.r = 0;
			c.w += (p.M - 1) * p.R * p.S;
			c.dy += p.OH * p.OW;
		}
	}
}

float gemmA(GemmRow r, GemmCursor c) { return w[c.w + r.w]; }

float gemmB(GemmCursor c, GemmCol col) {
	int th = col.hp - c.r;
	int tw = col.wp - c.s;
	// Negative th or tw wrap to huge values that fail the range test.
	uint oh = uint(th) / STRIDE;
	uint ow = uint(tw) / STRIDE;
	bool hit = th >= 0 && tw >= 0 && oh * STRIDE == uint(th) && ow * STRIDE == uint(tw) && oh < p.OH && ow < p.OW;
	float v = dy[hit ? c.dy + col.dy + oh * p.OW + ow : 0];
	return hit ? v : 0.0;
}

void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v) {
	uint i = col.dx + m * p.H * p.W;
	dx[i] = epilogue(v, i, 0.0);
}

#include "gemm.glsl"

void main() {
	EPILOGUE_BEGIN();
	gemmMain();
}
