// gemm.glsl: the tiled GEMM core behind matmul and the three convolutions.
//
// It computes C[m,n] = sum over k of A(m,k)·B(k,n), one BM x BN tile of C per
// workgroup (gl_WorkGroupID.y picks the rows, .x the columns) and one slice of
// the reduction per gl_WorkGroupID.z (split-K: slice z covers
// [z*GEMM_KSPLIT, min(GEMM_K, (z+1)*GEMM_KSPLIT))). Every output sums its
// products in k order with fma, in both variants and every tile shape, so
// the tiling never changes a result's bits (the split does).
//
// Two ways to feed the threads, chosen by the SHARED specialization constant:
//  - SHARED: what GPUs want, written the way fast GPU GEMMs are. The
//    workgroup stages BK-deep slices of A and B in shared memory, each
//    element read from device memory once per workgroup, in two buffers: the
//    next slice's loads are in flight while the threads multiply the current
//    one, and one barrier per slice suffices. Every thread owns TM x TN
//    outputs (4 or 8 each way) as 4x4 blocks, so it reads its operands from
//    shared memory as vec4s: per k, TM/4 + TN/4 loads feed TM·TN FMAs (8x8:
//    4 loads, 64 FMAs). Tiles are stored k-major with their vec4 columns
//    XOR-swizzled by k, so both the transposing stores and the vec4 reads
//    are free of bank conflicts without padding.
//  - registers only: each thread loads its own TM + TN operands per k. CPU
//    drivers (lavapipe) run workgroups as loops on one core, where a barrier
//    is a costly coroutine switch and "shared" memory is ordinary memory, so
//    this is about ten times faster there (with 16x16 outputs per thread).
//
// Shared arrays have fixed sizes (MoltenVK before 1.4 cannot size them by
// specialization constants or gl_WorkGroupSize): 2 buffers x 256 vec4 per
// operand, 16 KiB in all, Vulkan's guaranteed minimum. The host keeps
// BK·BM/4 and BK·BN/4 within 256 (backend/vulkan tilesFor); local arrays
// have fixed maxima too (TM, TN <= 16 registers-only, <= 8 shared).
//
// The including shader describes its operands through a cursor interface, so
// convolutions run as implicit GEMMs (no im2col buffer) with their index
// arithmetic done once per row, column or k step rather than per load:
//   GEMM_M, GEMM_N, GEMM_K, GEMM_KSPLIT    the sizes (push constants)
//   struct GemmRow, GemmCol, GemmCursor    what a row m, a column n and a
//                                          reduction position k decode to
//   GemmRow gemmRow(uint m); GemmCol gemmCol(uint n); GemmCursor gemmCursor(uint k)
//   void gemmNext(inout GemmCursor c)      step to k+1 (no division)
//   float gemmA(GemmRow r, GemmCursor c); float gemmB(GemmCursor c, GemmCol col)
//   void gemmStore(uint m, uint n, GemmRow r, GemmCol col, uint split, float v)
// and, optionally, GEMM_OUT_ROW and GemmRow gemmOutRow(uint m): the row
// state handed to gemmStore, for what only the store needs (a bias), loaded
// once per row rather than once per output; and GEMM_HEAVY_STORE (below).
// gemmA and gemmB are only called in range (m < M, n < N, k in the slice);
// gemmStore once per output of the slice. Specialization constants 0-7 are
// the core's, 10-13 the epilogue's (epilogue.glsl); an including shader
// numbers its own 8, 9 and from 14. gemmDiv (below) is there for the
// decoding; an includer that calls it declares its prototype.

#extension GL_EXT_control_flow_attributes : require

// GEMM_HEAVY_STORE, which an includer may define as a constant expression,
// says gemmStore is long (an epilogue's exact division): the
// registers-only variant then stores in a loop rather than unrolled.
#ifndef GEMM_HEAVY_STORE
#define GEMM_HEAVY_STORE false
#endif

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;

layout(constant_id = 2) const uint TM = 4;        // outputs per thread along M
layout(constant_id = 3) const uint TN = 4;        // outputs per thread along N
layout(constant_id = 4) const uint BK = 8;        // depth of a shared-memory slice
layout(constant_id = 5) const bool SHARED = true; // stage tiles in shared memory
// Which way consecutive threads walk a tile while loading it: along k, or
// along the tile's rows (A) or columns (B). Pick the operand's contiguous
// direction in memory, so the loads coalesce.
layout(constant_id = 6) const bool A_K_FAST = true;
layout(constant_id = 7) const bool B_N_FAST = true;

const uint WGX = gl_WorkGroupSize.x;
const uint WGY = gl_WorkGroupSize.y;
const uint NT = WGX * WGY;
const uint BM = WGY * TM;
const uint BN = WGX * TN;

// Fixed sizes (see above).
const uint TILE_VEC4 = 256;  // vec4 per operand per buffer
const uint REG_MAX = 16;     // TM, TN of the registers-only variant
const uint FRAG_MAX = 8;     // TM, TN of the shared variant
const uint LOAD_MAX = 4;     // vec4 groups a thread loads per operand per slice

shared vec4 tileA[2 * TILE_VEC4];
shared vec4 tileB[2 * TILE_VEC4];

// gemmDiv is x / d for x < 2^31, from the multiplier and shift that the host
// computes for d (fastDiv in backend/vulkan): integer division is a long
// instruction sequence on GPUs and scalarized on lavapipe; this is a
// multiply-high and a shift. mul 0 stands for d = 1.
uint gemmDiv(uint x, uint mul, uint shift) {
	uint hi, lo;
	umulExtended(x, mul, hi, lo);
	return mul == 0u ? x : hi >> shift;
}

// tileAt is where vec4 column v of k-row kk of a tile with w vec4 columns
// (a power of two) lives: its row, with the column XORed with kk. A vec4
// read of one row by many threads still touches every column once, and
// the stores of threads walking k hit distinct banks.
uint tileAt(uint kk, uint v, uint w) {
	return kk * w + (v ^ (kk & (w - 1u)));
}

// The A and B groups a thread loads per slice: groups of 4 consecutive rows
// (columns) at one k, BK·BM/4 (BK·BN/4) of them spread over the threads.
const uint GA = BK * (BM / 4u);
const uint GB = BK * (BN / 4u);
const uint LA = (GA + NT - 1u) / NT;
const uint LB = (GB + NT - 1u) / NT;

// groupA decodes load group e of A into its k-row and its vec4 column.
void groupA(uint e, out uint kk, out uint v) {
	kk = A_K_FAST ? e % BK : e / (BM / 4u);
	v = A_K_FAST ? e / BK : e % (BM / 4u);
}

void groupB(uint e, out uint kk, out uint v) {
	kk = B_N_FAST ? e / (BN / 4u) : e % BK;
	v = B_N_FAST ? e % (BN / 4u) : e / BK;
}

void gemmShared(uint M, uint N, uint kBegin, uint kEnd, uint m0, uint n0, inout float acc[FRAG_MAX * FRAG_MAX]) {
	uint tid = gl_LocalInvocationIndex;
	uint tx = gl_LocalInvocationID.x;
	uint ty = gl_LocalInvocationID.y;
	// The rows and columns this thread loads stay the same from slice to
	// slice: decode them once (a convolution's decode costs divisions).
	// Out-of-range ones decode a clamped copy and load zeros.
	GemmRow rows[LOAD_MAX * 4];
	GemmCol cols[LOAD_MAX * 4];
	[[unroll]] for (uint i = 0; i < LA; i++) {
		uint kk, v;
		groupA(tid + i * NT, kk, v);
		[[unroll]] for (uint c = 0; c < 4u; c++) {
			rows[i * 4u + c] = gemmRow(min(m0 + v * 4u + c, M - 1u));
		}
	}
	[[unroll]] for (uint i = 0; i < LB; i++) {
		uint kk, v;
		groupB(tid + i * NT, kk, v);
		[[unroll]] for (uint c = 0; c < 4u; c++) {
			cols[i * 4u + c] = gemmCol(min(n0 + v * 4u + c, N - 1u));
		}
	}

	// One slice's loads, held in registers between the global reads and
	// the shared stores.
	vec4 va[LOAD_MAX], vb[LOAD_MAX];
	uint buf = 0;
	for (uint k0 = kBegin; k0 < kEnd; k0 += BK) {
		// Prologue (first slice only): load and store slice k0 into buffer 0.
		if (k0 == kBegin) {
			[[unroll]] for (uint i = 0; i < LA; i++) {
				uint e = tid + i * NT, kk, v;
				groupA(e, kk, v);
				uint k = k0 + kk;
				vec4 x = vec4(0.0);
				if (e < GA && k < kEnd) {
					GemmCursor cur = gemmCursor(k);
					[[unroll]] for (uint c = 0; c < 4u; c++) {
						float a = gemmA(rows[i * 4u + c], cur);
						x[c] = m0 + v * 4u + c < M ? a : 0.0;
					}
				}
				if (e < GA) {
					tileA[tileAt(kk, v, BM / 4u)] = x;
				}
			}
			[[unroll]] for (uint i = 0; i < LB; i++) {
				uint e = tid + i * NT, kk, v;
				groupB(e, kk, v);
				uint k = k0 + kk;
				vec4 x = vec4(0.0);
				if (e < GB && k < kEnd) {
					GemmCursor cur = gemmCursor(k);
					[[unroll]] for (uint c = 0; c < 4u; c++) {
						float b = gemmB(cur, cols[i * 4u + c]);
						x[c] = n0 + v * 4u + c < N ? b : 0.0;
					}
				}
				if (e < GB) {
					tileB[tileAt(kk, v, BN / 4u)] = x;
				}
			}
			barrier();
		}
		// Issue the next slice's global loads; they complete while this
		// slice is multiplied.
		uint k1 = k0 + BK;
		bool more = k1 < kEnd;
		if (more) {
			[[unroll]] for (uint i = 0; i < LA; i++) {
				uint e = tid + i * NT, kk, v;
				groupA(e, kk, v);
				uint k = k1 + kk;
				va[i] = vec4(0.0);
				if (e < GA && k < kEnd) {
					GemmCursor cur = gemmCursor(k);
					[[unroll]] for (uint c = 0; c < 4u; c++) {
						float a = gemmA(rows[i * 4u + c], cur);
						va[i][c] = m0 + v * 4u + c < M ? a : 0.0;
					}
				}
			}
			[[unroll]] for (uint i = 0; i < LB; i++) {
				uint e = tid + i * NT, kk, v;
				groupB(e, kk, v);
				uint k = k1 + kk;
				vb[i] = vec4(0.0);
				if (e < GB && k < kEnd) {
					GemmCursor cur = gemmCursor(k);
					[[unroll]] for (uint c = 0; c < 4u; c++) {
						float b = gemmB(cur, cols[i * 4u + c]);
						vb[i][c] = n0 + v * 4u + c < N ? b : 0.0;
					}
				}
			}
		}
		// Multiply the current slice: thread (tx, ty) owns the 4x4 blocks
		// at vec4 rows ty + q·WGY and vec4 columns tx + q·WGX.
		uint base = buf * TILE_VEC4;
		[[unroll]] for (uint kk = 0; kk < BK; kk++) {
			vec4 a[FRAG_MAX / 4u], b[FRAG_MAX / 4u];
			[[unroll]] for (uint q = 0; q < TM / 4u; q++) {
				a[q] = tileA[base + tileAt(kk, ty + q * WGY, BM / 4u)];
			}
			[[unroll]] for (uint q = 0; q < TN / 4u; q++) {
				b[q] = tileB[base + tileAt(kk, tx + q * WGX, BN / 4u)];
			}
			[[unroll]] for (uint i = 0; i < TM; i++) {
				[[unroll]] for (uint j = 0; j < TN; j++) {
					acc[i * TN + j] = fma(a[i / 4u][i % 4u], b[j / 4u][j % 4u], acc[i * TN + j]);
				}
			}
		}
		// Store the next slice into the other buffer, which every thread
		// finished reading before the last barrier; then one barrier makes
		// it visible and frees this one.
		if (more) {
			uint next = (buf ^ 1u) * TILE_VEC4;
			[[unroll]] for (uint i = 0; i < LA; i++) {
				uint e = tid + i * NT, kk, v;
				groupA(e, kk, v);
				if (e < GA) {
					tileA[next + tileAt(kk, v, BM / 4u)] = va[i];
				}
			}
			[[unroll]] for (uint i = 0; i < LB; i++) {
				uint e = tid + i * NT, kk, v;
				groupB(e, kk, v);
				if (e < GB) {
					tileB[next + tileAt(kk, v, BN / 4u)] = vb[i];
				}
			}
		}
		barrier();
		buf ^= 1u;
	}
}

void gemmMain() {
	uint M = GEMM_M;
	uint N = GEMM_N;
	uint kBegin = gl_WorkGroupID.z * GEMM_KSPLIT;
	uint kEnd = min(GEMM_K, kBegin + GEMM_KSPLIT);
	uint m0 = gl_WorkGroupID.y * BM;
	uint n0 = gl_WorkGroupID.x * BN;
	uint tx = gl_LocalInvocationID.x;
	uint ty = gl_LocalInvocationID.y;

	if (SHARED) {
		float acc[FRAG_MAX * FRAG_MAX];
		[[unroll]] for (uint i = 0; i < TM * TN; i++) {
			acc[i] = 0.0;
		}
		gemmShared(M, N, kBegin, kEnd, m0, n0, acc);
		// Output (i, j) of the thread is row 4·(ty + (i/4)·WGY) + i%4, and
		// likewise the column: neighbouring threads store neighbouring
		// groups of four.
		GemmCol outCols[FRAG_MAX];
		[[unroll]] for (uint j = 0; j < TN; j++) {
			outCols[j] = gemmCol(min(n0 + 4u * (tx + (j / 4u) * WGX) + j % 4u, N - 1u));
		}
		[[unroll]] for (uint i = 0; i < TM; i++) {
			uint m = m0 + 4u * (ty + (i / 4u) * WGY) + i % 4u;
			if (m < M) {
#ifdef GEMM_OUT_ROW
				GemmRow row = gemmOutRow(m);
#else
				GemmRow row = gemmRow(m);
#endif
				[[unroll]] for (uint j = 0; j < TN; j++) {
					uint n = n0 + 4u * (tx + (j / 4u) * WGX) + j % 4u;
					if (n < N) {
						gemmStore(m, n, row, outCols[j], gl_WorkGroupID.z, acc[i * TN + j]);
					}
				}
			}
		}
		return;
	}

	// Registers only. Threads past the edge of C compute a clamped copy of
	// the last row or column, which keeps every load in bounds without a
	// branch; their results are never stored.
	float acc[REG_MAX * REG_MAX];
	[[unroll]] for (uint i = 0; i < TM * TN; i++) {
		acc[i] = 0.0;
	}
	GemmRow rows[REG_MAX];
	GemmCol cols[REG_MAX];
	[[unroll]] for (uint i = 0; i < TM; i++) {
		rows[i] = gemmRow(min(m0 + ty + i * WGY, M - 1));
	}
	[[unroll]] for (uint j = 0; j < TN; j++) {
		cols[j] = gemmCol(min(n0 + tx + j * WGX, N - 1));
	}
	GemmCursor cur = gemmCursor(kBegin);
	for (uint k = kBegin; k < kEnd; k++) {
		float a[REG_MAX], b[REG_MAX];
		[[unroll]] for (uint i = 0; i < TM; i++) {
			a[i] = gemmA(rows[i], cur);
		}
		[[unroll]] for (uint j = 0; j < TN; j++) {
			b[j] = gemmB(cur, cols[j]);
		}
		[[unroll]] for (uint i = 0; i < TM; i++) {
			[[unroll]] for (uint j = 0; j < TN; j++) {
				acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
			}
		}
		gemmNext(cur);
	}

	if (GEMM_HEAVY_STORE) {
		// A long store (an epilogue's exact division, with its loop)
		// unrolled TM·TN times swamps lavapipe's compiler, and the main
		// loop above ran twice as slowly beside it: store from copies in
		// a loop instead. (The copies keep acc and cols in registers: an
		// array indexed by a variable lives in memory.)
		float outs[REG_MAX * REG_MAX];
		GemmCol outCols[REG_MAX];
		[[unroll]] for (uint i = 0; i < TM * TN; i++) {
			outs[i] = acc[i];
		}
		[[unroll]] for (uint j = 0; j < TN; j++) {
			outCols[j] = cols[j];
		}
		[[dont_unroll]] for (uint i = 0; i < TM; i++) {
			uint m = m0 + ty + i * WGY;
			if (m < M) {
#ifdef GEMM_OUT_ROW
				GemmRow row = gemmOutRow(m);
#else
				GemmRow row = gemmRow(m);
#endif
				[[dont_unroll]] for (uint j = 0; j < TN; j++) {
					uint n = n0 + tx + j * WGX;
					if (n < N) {
						gemmStore(m, n, row, outCols[j], gl_WorkGroupID.z, outs[i * TN + j]);
					}
				}
			}
		}
		return;
	}
	[[unroll]] for (uint i = 0; i < TM; i++) {
		uint m = m0 + ty + i * WGY;
		if (m < M) {
#ifdef GEMM_OUT_ROW
			GemmRow row = gemmOutRow(m);
#else
			GemmRow row = gemmRow(m);
#endif
			[[unroll]] for (uint j = 0; j < TN; j++) {
				uint n = n0 + tx + j * WGX;
				if (n < N) {
					gemmStore(m, n, row, cols[j], gl_WorkGroupID.z, acc[i * TN + j]);
				}
			}
		}
	}
}
