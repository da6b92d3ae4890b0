// GELU and its gradient eight elements at a time with AVX2: gelu_math.go's
// algorithm (the shader's, see shaders/gelu.glsl) operation for operation,
// in the same order, so that the results are the Go code's bit for bit.
// The target is AVX2 without FMA on purpose: with FMA enabled, GCC may fuse
// a product and a sum written as two intrinsics into one rounding, and the
// bits would no longer be the shader's. Division and the float32 arithmetic
// are IEEE single precision as in Go; subnormals are kept (Go and cgo
// threads run with MXCSR's flush-to-zero and denormals-are-zero off).

#include "gelu_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define TGT __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

int vk_gelu_have(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

// The constants of gelu_math.go's geluK, in the same order.
static const float erfc_log[11] = {-2.36492342e-05f, 6.960475e-05f,  0.000129799082f, -0.00063389045f,
                                   -0.000215805529f, 0.00412304467f, -0.0015381967f,  -0.0311691556f,
                                   0.0182184614f,    0.58103478f,    -0.569994986f};

#define SET(v) _mm256_set1_ps(v)

TGT INLINE __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
TGT INLINE __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
TGT INLINE __m256 sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }

// horner is one step of a Horner scheme, p·u + c.
TGT INLINE __m256 horner(__m256 p, __m256 u, float c) { return add(mul(p, u), SET(c)); }

// exp_split is expReduce, expFirst, expLast and expScale: exp(hi + lo).
TGT INLINE __m256 exp_split(__m256 hi, __m256 lo) {
    const __m256 shifter = SET(0x1.8p23f);
    __m256 n = sub(add(mul(add(hi, lo), SET(1.44269504f)), shifter), shifter);
    __m256 r = add(sub(sub(hi, mul(n, SET(0.693145752f))), mul(n, SET(1.42860677e-6f))), lo);
    __m256 e = add(mul(SET(1.0f / 5040.0f), r), SET(1.0f / 720.0f));
    e = horner(e, r, 1.0f / 120.0f);
    e = horner(e, r, 1.0f / 24.0f);
    e = horner(e, r, 1.0f / 6.0f);
    e = horner(e, r, 0.5f);
    e = horner(e, r, 1.0f);
    e = horner(e, r, 1.0f);
    __m256i k = _mm256_cvttps_epi32(n);
    __m256i k1 = _mm256_srai_epi32(k, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(k, k1), bias), 23));
    return mul(mul(e, s1), s2);
}

// prep is geluPrep and the erfcLog polynomial: hi + lo = -x²/2 of |x|
// clamped to 16, t, and q = lo + P(t).
TGT INLINE void prep(__m256 x, __m256 *hi, __m256 *lo, __m256 *t, __m256 *q) {
    __m256i bits = _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7fffffff));
    __m256 a = _mm256_castsi256_ps(_mm256_min_epi32(bits, _mm256_set1_epi32(0x41800000)));
    __m256 xh = _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(a), _mm256_set1_epi32((int)0xfffff000)));
    const __m256 neg_half = SET(-0.5f), one = SET(1);
    *hi = mul(neg_half, mul(xh, xh));
    *lo = mul(neg_half, mul(sub(a, xh), add(a, xh)));
    __m256 w = _mm256_div_ps(one, add(one, mul(a, SET(0.353553391f))));
    *t = w;
    __m256 u = mul(sub(w, SET(0.575f)), SET(2.35294127f));
    __m256 p = add(mul(SET(erfc_log[0]), u), SET(erfc_log[1]));
    for (int i = 2; i < 10; i++) {
        p = horner(p, u, erfc_log[i]);
    }
    *q = add(*lo, horner(p, u, erfc_log[10]));
}

// normal_cdf is gelu_math.go's normalCdf: tail for x < 0, else 1 - tail,
// by bits (x = -0 counts as not negative).
TGT INLINE __m256 normal_cdf(__m256 x, __m256 tail) {
    __m256i xi = _mm256_castps_si256(x);
    __m256i not_neg = _mm256_or_si256(_mm256_cmpgt_epi32(xi, _mm256_set1_epi32(-1)),
                                      _mm256_cmpeq_epi32(xi, _mm256_set1_epi32((int)0x80000000)));
    __m256 one = _mm256_castsi256_ps(_mm256_and_si256(not_neg, _mm256_set1_epi32(0x3f800000)));
    __m256 flipped = _mm256_castsi256_ps(
        _mm256_xor_si256(_mm256_castps_si256(tail), _mm256_and_si256(not_neg, _mm256_set1_epi32((int)0x80000000))));
    return add(one, flipped);
}

// phi is Φ(x) from prep's results.
TGT INLINE __m256 phi(__m256 x, __m256 hi, __m256 t, __m256 q) {
    return normal_cdf(x, mul(mul(SET(0.5f), t), exp_split(hi, q)));
}

TGT void vk_gelu_forward(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i), hi, lo, t, q;
        prep(v, &hi, &lo, &t, &q);
        _mm256_storeu_ps(y + i, mul(v, phi(v, hi, t, q)));
    }
}

TGT void vk_gelu_backward(const float *x, const float *dy, float *dx, int64_t n) {
    for (int64_t i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i), g = _mm256_loadu_ps(dy + i), hi, lo, t, q;
        prep(v, &hi, &lo, &t, &q);
        __m256 pdf = mul(exp_split(hi, lo), SET(0.398942280f));
        _mm256_storeu_ps(dx + i, mul(g, add(phi(v, hi, t, q), mul(v, pdf))));
    }
}

#else

int vk_gelu_have(void) { return 0; }
void vk_gelu_forward(const float *x, float *y, int64_t n) {}
void vk_gelu_backward(const float *x, const float *dy, float *dx, int64_t n) {}

#endif
