package backend

import "fmt"

// CheckAvgPool validates average-pool's input x and output y (the backward
// op passes dx as the input and dy as the output) and returns the pool's
// dimensions. The window rules are max-pool's (CheckPool): no padding, floor
// mode, a kernel that fits the input; there is no argmax.
func CheckAvgPool(op string, x, y Tensor, kernel, stride int) (PoolShape, error) {
	if err := firstErr(want(op, "input", x, F32, 4), want(op, "output", y, F32, 4)); err != nil {
		return PoolShape{}, err
	}
	xs := x.Shape()
	p := PoolShape{N: xs[0], C: xs[1], H: xs[2], W: xs[3], Kernel: kernel, Stride: stride}
	if kernel < 1 || stride < 1 {
		return p, fmt.Errorf("%s: kernel %d and stride %d: need both >= 1", op, kernel, stride)
	}
	if kernel > p.H || kernel > p.W {
		return p, fmt.Errorf("%s: kernel %d does not fit %s %v", op, kernel, argName(op, "input"), xs)
	}
	p.OH = (p.H-kernel)/stride + 1
	p.OW = (p.W-kernel)/stride + 1
	return p, wantShape(op, "output", y, F32, p.N, p.C, p.OH, p.OW)
}

// AvgPoolScale is the factor 1/kernel² by which both backends turn a
// window's sum into its mean. Multiplying by one float32 rounded here, rather
// than dividing, is what lets the backends agree to the bit: a product is
// correctly rounded in GLSL as in Go, a quotient in GLSL is not (Vulkan
// allows 2.5 ULP). It differs from PyTorch's sum/kernel² by at most an ULP
// or so, and not at all for kernels of 1, 2, 4, 8, ...
func AvgPoolScale(kernel int) float32 {
	return float32(1 / (float64(kernel) * float64(kernel)))
}
