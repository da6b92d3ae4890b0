//go:build !cgo

package cpu

// Without cgo there are no C kernels: GELU is gelu_math.go's Go code.
const haveGELUSimd = false

func geluForwardSimd(x, y []float32) int { return 0 }

func geluBackwardSimd(x, dy, dx []float32) int { return 0 }
