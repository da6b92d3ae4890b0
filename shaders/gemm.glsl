// gemm.glsl: the tiled GEMM core behind matmul and the three convolutions.
//
// It computes C[m,n] = sum over k of A(m,k)·B(k,n), one BM x BN tile of C per
// workgroup (gl_WorkGroupID.y picks the rows, .x the columns) and one slice of
// the reduction per gl_WorkGroupID.z (split-K: slice z covers
// [z*GEMM_KSPLIT, min(GEMM_K, (z+1)*GEMM_KSPLIT))). Every thread owns TM x TN
// outputs, rows ty + i*WGY and columns tx + j*WGX of the tile, so neighbouring
// threads touch neighbouring columns (coalesced loads and stores) and each
// loaded value feeds TM or TN multiply-adds.
//
// Two ways to feed the threads, chosen by the SHARED specialization constant:
//  - SHARED: the workgroup stages BK-deep slices of A and B in shared memory,
//    each element loaded from the buffer once per workgroup. What GPUs want.
//  - registers only: each thread loads its own TM + TN operands per k. CPU
//    drivers (lavapipe) run workgroups as loops on one core, where a barrier
//    is a costly coroutine switch and "shared" memory is ordinary memory, so
//    this is about ten times faster there (with 16x16 outputs per thread).
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
// once per row rather than once per output.
// gemmA and gemmB are only called in range (m < M, n < N, k in the slice);
// gemmStore once per output of the slice. Specialization constants 0-7 are
// the core's; an including shader numbers its own from 8. gemmDiv (below) is
// there for the decoding; an includer that calls it declares its prototype.

#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z = 1) in;

layout(constant_id = 2) const uint TM = 4;        // outputs per thread along M
layout(constant_id = 3) const uint TN = 4;        // outputs per thread along N
layout(constant_id = 4) const uint BK = 16;       // depth of a shared-memory slice
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
// Tile rows are padded by one so that threads storing along k hit distinct banks.
const uint SA = BM + 1;
const uint SB = BN + 1;

shared float tileA[BK * SA];
shared float tileB[BK * SB];

// gemmDiv is x / d for x < 2^31, from the multiplier and shift that the host
// computes for d (fastDiv in backend/vulkan): integer division is a long
// instruction sequence on GPUs and scalarized on lavapipe; this is a
// multiply-high and a shift. mul 0 stands for d = 1.
uint gemmDiv(uint x, uint mul, uint shift) {
	uint hi, lo;
	umulExtended(x, mul, hi, lo);
	return mul == 0u ? x : hi >> shift;
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

	float acc[TM * TN];
	[[unroll]] for (uint i = 0; i < TM * TN; i++) {
		acc[i] = 0.0;
	}

	if (SHARED) {
		uint tid = gl_LocalInvocationIndex;
		// When the threads walk B along n and their count is a multiple of
		// BN, every thread loads a single column of each tile: decode it once
		// (a convolution's column decode costs two divisions).
		const bool COL_FIXED = B_N_FAST && NT % BN == 0;
		GemmCol fixedCol = gemmCol(min(n0 + tid % BN, N - 1));
		for (uint k0 = kBegin; k0 < kEnd; k0 += BK) {
			for (uint e = tid; e < BM * BK; e += NT) {
				uint mm = A_K_FAST ? e / BK : e % BM;
				uint kk = A_K_FAST ? e % BK : e / BM;
				uint m = m0 + mm, k = k0 + kk;
				float v = 0.0;
				if (m < M && k < kEnd) {
					v = gemmA(gemmRow(m), gemmCursor(k));
				}
				tileA[kk * SA + mm] = v;
			}
			for (uint e = tid; e < BN * BK; e += NT) {
				uint nn = B_N_FAST ? e % BN : e / BK;
				uint kk = B_N_FAST ? e / BN : e % BK;
				uint n = n0 + nn, k = k0 + kk;
				float v = 0.0;
				if (n < N && k < kEnd) {
					v = gemmB(gemmCursor(k), COL_FIXED ? fixedCol : gemmCol(n));
				}
				tileB[kk * SB + nn] = v;
			}
			barrier();
			[[unroll]] for (uint kk = 0; kk < BK; kk++) {
				float a[TM], b[TN];
				[[unroll]] for (uint i = 0; i < TM; i++) {
					a[i] = tileA[kk * SA + ty + i * WGY];
				}
				[[unroll]] for (uint j = 0; j < TN; j++) {
					b[j] = tileB[kk * SB + tx + j * WGX];
				}
				[[unroll]] for (uint i = 0; i < TM; i++) {
					[[unroll]] for (uint j = 0; j < TN; j++) {
						acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
					}
				}
			}
			// The next slice overwrites the tiles only after everyone has read them.
			barrier();
		}
	} else {
		// Threads past the edge of C compute a clamped copy of the last row or
		// column, which keeps every load in bounds without a branch; their
		// results are never stored.
		GemmRow rows[TM];
		GemmCol cols[TN];
		[[unroll]] for (uint i = 0; i < TM; i++) {
			rows[i] = gemmRow(min(m0 + ty + i * WGY, M - 1));
		}
		[[unroll]] for (uint j = 0; j < TN; j++) {
			cols[j] = gemmCol(min(n0 + tx + j * WGX, N - 1));
		}
		GemmCursor cur = gemmCursor(kBegin);
		for (uint k = kBegin; k < kEnd; k++) {
			float a[TM], b[TN];
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
	}

	GemmCol outCols[TN];
	[[unroll]] for (uint j = 0; j < TN; j++) {
		outCols[j] = gemmCol(min(n0 + tx + j * WGX, N - 1));
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
					gemmStore(m, n, row, outCols[j], gl_WorkGroupID.z, acc[i * TN + j]);
				}
			}
		}
	}
}
