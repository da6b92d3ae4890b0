//go:build !cgo

package cpu

// Without cgo there is no C kernel: every GEMM goes to gonum.
const haveSgemm = false

func sgemmPackFloats(kc, m, n int) int { return 0 }

func sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, kc int, pack []float32) {
	panic("cpu: sgemm: built without cgo")
}
