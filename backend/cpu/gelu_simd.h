// The C side of the CPU backend's GELU (see gelu_simd.go).

#ifndef VKCNN_GELU_SIMD_H
#define VKCNN_GELU_SIMD_H

#include <stdint.h>

// vk_gelu_have says whether this CPU and build can run the functions below:
// an x86-64 build on a CPU with AVX2. Elsewhere it is 0 and they do nothing.
int vk_gelu_have(void);

// vk_gelu_forward stores x·Φ(x) in y for the first n elements (n a multiple
// of 8); y may be x.
void vk_gelu_forward(const float *x, float *y, int64_t n);

// vk_gelu_backward stores dy·(Φ(x) + x·φ(x)) in dx for the first n
// elements (n a multiple of 8); dx may be dy or x.
void vk_gelu_backward(const float *x, const float *dy, float *dx, int64_t n);

#endif
