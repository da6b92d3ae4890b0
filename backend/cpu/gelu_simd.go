//go:build cgo

package cpu

// #cgo CFLAGS: -O2
// #include "gelu_simd.h"
import "C"

import "unsafe"

// haveGELUSimd says whether this build and CPU can run the C kernels
// (x86-64 with AVX2); elsewhere GELU is gelu_math.go's Go code alone.
var haveGELUSimd = C.vk_gelu_have() != 0

// geluForwardSimd does the first len(x) rounded down to 8 elements of
// geluForward in C and returns how many it did.
func geluForwardSimd(x, y []float32) int {
	n := len(x) &^ 7
	if n == 0 || !haveGELUSimd {
		return 0
	}
	_ = y[n-1]
	C.vk_gelu_forward((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&y[0])), C.int64_t(n))
	return n
}

// geluBackwardSimd does the first len(x) rounded down to 8 elements of
// geluBackward in C and returns how many it did.
func geluBackwardSimd(x, dy, dx []float32) int {
	n := len(x) &^ 7
	if n == 0 || !haveGELUSimd {
		return 0
	}
	_, _ = dy[n-1], dx[n-1]
	C.vk_gelu_backward((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&dy[0])),
		(*C.float)(unsafe.Pointer(&dx[0])), C.int64_t(n))
	return n
}
