package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGELUSimdMatchesGo checks the C kernels bit for bit against the Go code
// over geluSweep (every binade, subnormals, NaNs, infinities), with the
// output apart from and equal to an input, and at lengths that are not a
// multiple of 8, whose tail the Go code does. TestGELUSweep checks the same
// path against the shader's algorithm.
func TestGELUSimdMatchesGo(t *testing.T) {
	if !haveGELUSimd {
		t.Skip("no C GELU here (needs cgo on x86-64 with AVX2): only the Go code runs, which TestGELUSweep checks")
	}
	xv := geluSweep()
	rng := rand.New(rand.NewPCG(43, 44))
	dyv := uniform(rng, len(xv))
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	for _, n := range []int{len(xv), 8, 13, 1001} {
		x, dy := xv[len(xv)-n:], dyv[len(xv)-n:]
		wantY, wantD := make([]float32, n), make([]float32, n)
		geluForwardGo(x, wantY)
		geluBackwardGo(x, dy, wantD)
		for _, alias := range []string{"apart", "in place"} {
			y, d := make([]float32, n), make([]float32, n)
			for i := range y {
				y[i], d[i] = -7.25e33, -7.25e33 // poison: no GELU gives it
			}
			if alias == "in place" {
				copy(y, x)
				copy(d, dy)
				geluForward(y, y)
				geluBackward(x, d, d)
			} else {
				geluForward(x, y)
				geluBackward(x, dy, d)
			}
			for i := range n {
				if !same(y[i], wantY[i]) {
					t.Fatalf("n %d, %s: GELU(%v) = %v in C, %v in Go", n, alias, x[i], y[i], wantY[i])
				}
				if !same(d[i], wantD[i]) {
					t.Fatalf("n %d, %s: GELUBackward(%v, %v) = %v in C, %v in Go", n, alias, x[i], dy[i], d[i], wantD[i])
				}
			}
		}
	}
}
