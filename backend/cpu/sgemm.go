//go:build cgo

package cpu

// #cgo CFLAGS: -O2
// #include "sgemm.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// haveSgemm says whether this build and CPU can run the C kernel (x86-64
// with AVX2 and FMA); elsewhere every GEMM goes to gonum.
var haveSgemm = C.vk_sgemm_have() != 0

// sgemmPackFloats is how many floats of scratch an sgemm call with k block
// kc needs for a product of m x n or less.
func sgemmPackFloats(kc, m, n int) int {
	return int(C.vk_sgemm_pack_floats(C.int64_t(kc), C.int64_t(m), C.int64_t(n)))
}

// sgemm computes C = op(A)·op(B) + beta·C for op(A) [m,k], op(B) [k,n] in
// one call into C, summing k in blocks of kc, with pack as the packing
// buffer. The slices start at the
// matrices' first elements; their lengths are checked against what the C
// code will touch, so a wrong size panics here instead of corrupting memory.
func sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, kc int, pack []float32) {
	if m <= 0 || n <= 0 {
		return
	}
	// Stored row lengths (the least leading dimensions) and extents.
	rowA, rowB := k, n
	if transA {
		rowA = m
	}
	if transB {
		rowB = k
	}
	needC := (m-1)*ldc + n
	needA, needB := 0, 0
	if k > 0 {
		needA, needB = (m-1)*lda+k, (k-1)*ldb+n
		if transA {
			needA = (k-1)*lda + m
		}
		if transB {
			needB = (n-1)*ldb + k
		}
	}
	needPack := sgemmPackFloats(kc, m, n)
	if len(a) < needA || len(b) < needB || len(c) < needC || len(pack) < needPack || kc <= 0 ||
		lda < rowA || ldb < rowB || ldc < n {
		panic(fmt.Sprintf("cpu: sgemm: %dx%dx%d: slices of %d, %d, %d, %d floats, need %d, %d, %d, %d; "+
			"leading dimensions %d, %d, %d, need %d, %d, %d; k block %d",
			m, n, k, len(a), len(b), len(c), len(pack), needA, needB, needC, needPack,
			lda, ldb, ldc, rowA, rowB, n, kc))
	}
	var ap, bp *float32
	if k > 0 {
		ap, bp = &a[0], &b[0]
	}
	C.vk_sgemm(cbool(transA), cbool(transB), C.int64_t(m), C.int64_t(n), C.int64_t(k),
		(*C.float)(unsafe.Pointer(ap)), C.int64_t(lda), (*C.float)(unsafe.Pointer(bp)), C.int64_t(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.int64_t(ldc),
		C.int64_t(kc), (*C.float)(unsafe.Pointer(&pack[0])))
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
