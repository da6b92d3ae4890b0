// The C side of the CPU backend's single-precision GEMM (see sgemm.go).

#ifndef VKCNN_SGEMM_H
#define VKCNN_SGEMM_H

#include <stdint.h>

// vk_sgemm_have says whether this CPU and build can run vk_sgemm: an x86-64
// build on a CPU with AVX2 and FMA. Elsewhere it is 0 and vk_sgemm does
// nothing.
int vk_sgemm_have(void);

// vk_sgemm computes C = op(A)·op(B) + beta·C for op(A) [m,k], op(B) [k,n] and
// C [m,n], all row-major with the given leading dimensions; op transposes
// where trans is non-zero. k is summed in blocks of kc (the last may be
// shorter); pack must hold vk_sgemm_pack_floats(kc, m, n) floats, or that
// of a larger m and n. beta == 0 never reads C.
void vk_sgemm(int transA, int transB, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t lda, const float *b, int64_t ldb,
              float beta, float *c, int64_t ldc, int64_t kc, float *pack);

// vk_sgemm_pack_floats is the size of vk_sgemm's pack buffer, in floats.
int64_t vk_sgemm_pack_floats(int64_t kc, int64_t m, int64_t n);

#endif
