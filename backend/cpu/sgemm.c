// Single-precision GEMM for the CPU backend: BLIS-style blocking and
// packing around an AVX2+FMA micro-kernel that keeps a 6x16 block of C in
// twelve ymm registers. See sgemm.go for how the Go side drives it and for
// the summation order it guarantees.
//
// Only x86-64 gets the kernel; every other target compiles the stubs at the
// bottom and the Go side falls back to gonum. The functions carry their own
// target attribute so this file needs no -mavx2: the build stays portable,
// and vk_sgemm_have checks the CPU at run time before anything here runs.

#include "sgemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define MR 6  // rows of the micro-tile: six broadcasts of A per step
#define NR 16 // columns: two ymm vectors of B per step

#define TGT __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

int vk_sgemm_have(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// transpose8 transposes the 8x8 block whose rows are r[0..7] in place.
TGT INLINE void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // s_q holds column q (low half) and q+4 (high half) of rows 0-3 or 4-7.
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// pack_b copies op(B)[0:kc, 0:nc] (b points at its first element) into
// panels of NR columns, each stored row after row (kc rows of NR floats),
// with the columns past nc zeroed. Their lanes are never stored, but the
// kernel multiplies them, and stale floats could be subnormals, which cost
// the FMA units a slow path.
TGT static void pack_b(int transB, const float *b, int64_t ldb, int64_t kc, int64_t nc, float *dst) {
    if (!transB) {
        // op(B) rows are stored rows. Sweeping a few rows across all panels
        // reads B sequentially: panel by panel would jump a whole row
        // stride every 64 bytes, twice as slow once B outgrows the cache.
        for (int64_t l0 = 0; l0 < kc; l0 += 4) {
            int64_t l1 = min64(kc, l0 + 4);
            float *p = dst;
            for (int64_t j = 0; j < nc; j += NR, p += NR * kc) {
                int64_t nr = min64(NR, nc - j);
                for (int64_t l = l0; l < l1; l++) {
                    const float *s = b + l * ldb + j;
                    float *d = p + l * NR;
                    if (nr == NR) {
                        _mm256_store_ps(d, _mm256_loadu_ps(s));
                        _mm256_store_ps(d + 8, _mm256_loadu_ps(s + 8));
                    } else {
                        int64_t q = 0;
                        for (; q < nr; q++) d[q] = s[q];
                        for (; q < NR; q++) d[q] = 0;
                    }
                }
            }
        }
        return;
    }
    // op(B)[l, j+q] = b[(j+q)*ldb + l]: each column is a stored row, so a
    // panel is a transpose, done in 8x8 blocks.
    for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
        int64_t nr = min64(NR, nc - j);
        const float *src = b + j * ldb;
        int64_t l = 0;
        if (nr == NR) {
            for (; l + 8 <= kc; l += 8) {
                for (int h = 0; h < 2; h++) {
                    __m256 r[8];
                    for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(src + (h * 8 + q) * ldb + l);
                    transpose8(r);
                    for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (l + q) * NR + h * 8, r[q]);
                }
            }
        }
        for (; l < kc; l++) {
            int64_t q = 0;
            for (; q < nr; q++) dst[l * NR + q] = src[q * ldb + l];
            for (; q < NR; q++) dst[l * NR + q] = 0;
        }
    }
}

// pack_at copies op(A)[0:mc, 0:kc] for A stored transposed (op(A)[i, l] =
// a[l*lda + i]) into panels of MR rows, each stored column after column (kc
// columns of MR floats). Rows past mc in the last panel are left unset: the
// kernel never reads them (see kernel). A stored row-major needs no packing.
TGT static void pack_at(const float *a, int64_t lda, int64_t mc, int64_t kc, float *dst) {
    for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
        int64_t mr = min64(MR, mc - i);
        const float *src = a + i;
        for (int64_t l = 0; l < kc; l++) {
            const float *s = src + l * lda;
            float *d = dst + l * MR;
            if (mr == MR) {
                d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = s[3], d[4] = s[4], d[5] = s[5];
            } else {
                for (int64_t r = 0; r < mr; r++) d[r] = s[r];
            }
        }
    }
}

// store_row merges one row of the micro-tile, x0 and x1 (columns 0-7 and
// 8-15), into c: c = x when beta is 0 (c is not read, so a NaN there does
// not leak in), c + x when beta is 1, beta*c + x otherwise. Only the first
// nr columns are touched.
TGT INLINE void store_row(float *c, __m256 x0, __m256 x1, int64_t nr, float beta) {
    if (nr == NR) {
        if (beta == 0) {
        } else if (beta == 1) {
            x0 = _mm256_add_ps(_mm256_loadu_ps(c), x0);
            x1 = _mm256_add_ps(_mm256_loadu_ps(c + 8), x1);
        } else {
            __m256 bv = _mm256_set1_ps(beta);
            x0 = _mm256_fmadd_ps(bv, _mm256_loadu_ps(c), x0);
            x1 = _mm256_fmadd_ps(bv, _mm256_loadu_ps(c + 8), x1);
        }
        _mm256_storeu_ps(c, x0);
        _mm256_storeu_ps(c + 8, x1);
        return;
    }
    // A partial row: lanes below nr are enabled (masked loads read zeros
    // and never fault on the rest).
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lane);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lane);
    if (beta == 0) {
    } else if (beta == 1) {
        x0 = _mm256_add_ps(_mm256_maskload_ps(c, m0), x0);
        x1 = _mm256_add_ps(_mm256_maskload_ps(c + 8, m1), x1);
    } else {
        __m256 bv = _mm256_set1_ps(beta);
        x0 = _mm256_fmadd_ps(bv, _mm256_maskload_ps(c, m0), x0);
        x1 = _mm256_fmadd_ps(bv, _mm256_maskload_ps(c + 8, m1), x1);
    }
    _mm256_maskstore_ps(c, m0, x0);
    _mm256_maskstore_ps(c + 8, m1, x1);
}

// store_col merges the first mr lanes of x into c the way store_row does:
// six lanes (a whole micro-tile column) with plain 16- and 8-byte moves,
// fewer with masked ones.
TGT INLINE void store_col(float *c, __m256 x, int64_t mr, float beta) {
    if (mr == MR) {
        __m128 x4 = _mm256_castps256_ps128(x), x2 = _mm256_extractf128_ps(x, 1);
        if (beta == 0) {
        } else if (beta == 1) {
            x4 = _mm_add_ps(_mm_loadu_ps(c), x4);
            x2 = _mm_add_ps(_mm_castpd_ps(_mm_load_sd((const double *)(c + 4))), x2);
        } else {
            __m128 bv = _mm_set1_ps(beta);
            x4 = _mm_fmadd_ps(bv, _mm_loadu_ps(c), x4);
            x2 = _mm_fmadd_ps(bv, _mm_castpd_ps(_mm_load_sd((const double *)(c + 4))), x2);
        }
        _mm_storeu_ps(c, x4);
        _mm_store_sd((double *)(c + 4), _mm_castps_pd(x2));
        return;
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)mr), lane);
    if (beta == 0) {
    } else if (beta == 1) {
        x = _mm256_add_ps(_mm256_maskload_ps(c, m), x);
    } else {
        x = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(c, m), x);
    }
    _mm256_maskstore_ps(c, m, x);
}

// One step of the micro-kernel: broadcast A's element of row r and
// accumulate it times B's 16 columns.
#define STEP_ROW(r, p)                              \
    do {                                            \
        __m256 t = _mm256_broadcast_ss(p);          \
        c##r##0 = _mm256_fmadd_ps(t, b0, c##r##0); \
        c##r##1 = _mm256_fmadd_ps(t, b1, c##r##1); \
    } while (0)

// kernel computes the mr x nr (at most MR x NR) block x = op(A)·op(B) over
// kc steps, starting from zero and adding one product per step with a fused
// multiply-add, in increasing l, then merges x into C. A's element (r, l) is
// at a[r*rs + l*cs] (a packed panel: rs = 1, cs = MR); rows past mr repeat
// row mr-1, so no padding is read, and their results are dropped. b is a
// packed NR-wide panel. Element (r, q) of the block goes to c[r*ldc + q],
// or with ct (C transposed) to c[q*ldc + r].
//
// Every lane of every row does exactly the same arithmetic whatever mr, nr
// and ct are, so an element's value does not depend on where the tile edges
// fall or which operand came in as A: only on kc (see sgemm.go).
TGT INLINE void kernel(int64_t kc, const float *a, int64_t rs, int64_t cs, const float *b,
                       float *c, int64_t ldc, int ct, int64_t mr, int64_t nr, float beta) {
    const float *p0 = a, *p1 = a + min64(1, mr - 1) * rs, *p2 = a + min64(2, mr - 1) * rs;
    const float *p3 = a + min64(3, mr - 1) * rs, *p4 = a + min64(4, mr - 1) * rs;
    const float *p5 = a + min64(5, mr - 1) * rs;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    int64_t off = 0;
#if defined(__clang__)
#pragma clang loop unroll_count(4)
#elif defined(__GNUC__)
#pragma GCC unroll 4
#endif
    for (int64_t l = 0; l < kc; l++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        STEP_ROW(0, p0 + off);
        STEP_ROW(1, p1 + off);
        STEP_ROW(2, p2 + off);
        STEP_ROW(3, p3 + off);
        STEP_ROW(4, p4 + off);
        STEP_ROW(5, p5 + off);
        b += NR;
        off += cs;
    }
    if (!ct) {
        store_row(c, c00, c01, nr, beta);
        if (mr > 1) store_row(c + ldc, c10, c11, nr, beta);
        if (mr > 2) store_row(c + 2 * ldc, c20, c21, nr, beta);
        if (mr > 3) store_row(c + 3 * ldc, c30, c31, nr, beta);
        if (mr > 4) store_row(c + 4 * ldc, c40, c41, nr, beta);
        if (mr > 5) store_row(c + 5 * ldc, c50, c51, nr, beta);
        return;
    }
    // Transposed: column q of the block is a stored row of C. Two 8x8
    // transposes (rows 6 and 7 are filler) turn columns into vectors.
    __m256 z = _mm256_setzero_ps();
    __m256 lo[8] = {c00, c10, c20, c30, c40, c50, z, z};
    __m256 hi[8] = {c01, c11, c21, c31, c41, c51, z, z};
    transpose8(lo);
    transpose8(hi);
    for (int64_t q = 0; q < nr && q < 8; q++) store_col(c + q * ldc, lo[q], mr, beta);
    for (int64_t q = 8; q < nr; q++) store_col(c + q * ldc, hi[q - 8], mr, beta);
}

// kernel_packed is kernel on a packed A panel, its strides known constants.
TGT static void kernel_packed(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                              int ct, int64_t mr, int64_t nr, float beta) {
    kernel(kc, a, 1, MR, b, c, ldc, ct, mr, nr, beta);
}

// kernel_rows is kernel reading A straight from row-major storage (rs =
// lda, cs = 1): six rows streamed side by side.
TGT static void kernel_rows(int64_t kc, const float *a, int64_t lda, const float *b, float *c,
                            int64_t ldc, int ct, int64_t mr, int64_t nr, float beta) {
    kernel(kc, a, lda, 1, b, c, ldc, ct, mr, nr, beta);
}

// scale_c handles k == 0, where C = beta·C.
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
}

// MC rows of A per block (MC x kc floats, kept in L2 while the B block
// streams past) and NC columns of B per block (kc x NC floats, packed once
// per k block, meant for L3).
#define MC 144
#define NC 2048

int64_t vk_sgemm_pack_floats(int64_t kc, int64_t m, int64_t n) {
    int64_t big = m > n ? m : n; // either may end up as B (see vk_sgemm)
    return kc * (round_up(min64(NC, big), NR) + round_up(min64(MC, big), MR)) + 16;
}

// B blocks up to this many floats sit in L2, and then the micro-tiles run
// row of tiles by row of tiles, so C is written in order; bigger ones run
// column by column, each B panel kept in L1 for a whole column.
#define L2_FLOATS (64 * 1024)

// gemm is vk_sgemm once the operands are settled. ct says C is stored
// transposed (element (i, j) at c[j*ldc + i]).
TGT static void gemm(int transA, int transB, int64_t m, int64_t n, int64_t k,
                     const float *a, int64_t lda, const float *b, int64_t ldb,
                     float beta, float *c, int64_t ldc, int ct, int64_t kc, float *pack) {
    float *pb = (float *)(((uintptr_t)pack + 63) & ~(uintptr_t)63);
    float *pa = pb + kc * round_up(min64(NC, n), NR);
    int64_t rstep = ct ? 1 : ldc, cstep = ct ? ldc : 1; // C(i, j) = c[i*rstep + j*cstep]
    for (int64_t jc = 0; jc < n; jc += NC) {
        int64_t ncur = min64(NC, n - jc);
        for (int64_t pc = 0; pc < k; pc += kc) {
            int64_t kcur = min64(kc, k - pc);
            // The first k block applies beta; the later ones add to it.
            float bet = pc == 0 ? beta : 1;
            pack_b(transB, transB ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, kcur, ncur, pb);
            int rows_first = kcur * ncur <= L2_FLOATS;
            for (int64_t ic = 0; ic < m; ic += MC) {
                int64_t mcur = min64(MC, m - ic);
                const float *ablk = transA ? a + pc * lda + ic : a + ic * lda + pc;
                if (transA) pack_at(ablk, lda, mcur, kcur, pa);
                float *cblk = c + ic * rstep + jc * cstep;
                int64_t nj = (ncur + NR - 1) / NR, ni = (mcur + MR - 1) / MR;
                for (int64_t t = 0; t < ni * nj; t++) {
                    int64_t ir = (rows_first ? t / nj : t % ni) * MR;
                    int64_t jr = (rows_first ? t % nj : t / ni) * NR;
                    int64_t mr = min64(MR, mcur - ir), nr = min64(NR, ncur - jr);
                    const float *bp = pb + jr * kcur;
                    float *ctile = cblk + ir * rstep + jr * cstep;
                    // A stored row-major is read in place: six rows
                    // streamed side by side run as fast as a packed panel,
                    // and packing them would be a transpose.
                    if (transA)
                        kernel_packed(kcur, pa + ir * kcur, bp, ctile, ldc, ct, mr, nr, bet);
                    else
                        kernel_rows(kcur, ablk + ir * lda, lda, bp, ctile, ldc, ct, mr, nr, bet);
                }
            }
        }
    }
}

TGT void vk_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k,
                  const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc, int64_t kc, float *pack) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    // B is what gets packed, in full; A is read in place when stored
    // row-major. Where B is stored transposed (its packing a transpose) and
    // A is the smaller or also transposed, compute Cᵀ = op(B)ᵀ·op(A)ᵀ
    // instead: B then reads in place and only the smaller A is packed.
    if (transB && (transA || m < n)) {
        gemm(!transB, !transA, n, m, k, b, ldb, a, lda, beta, c, ldc, 1, kc, pack);
        return;
    }
    gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc, 0, kc, pack);
}

#else // not x86-64: no kernel; the Go side uses gonum.

int vk_sgemm_have(void) { return 0; }

int64_t vk_sgemm_pack_floats(int64_t kc, int64_t m, int64_t n) {
    (void)kc, (void)m, (void)n;
    return 0;
}

void vk_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t lda, const float *b, int64_t ldb,
              float beta, float *c, int64_t ldc, int64_t kc, float *pack) {
    (void)transA, (void)transB, (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc, (void)kc, (void)pack;
}

#endif
