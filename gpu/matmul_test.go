package gpu_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/shaders"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// TestMatMulKernel runs the tiled GEMM shader (shaders/matmul.comp) through
// the runtime alone, both of its variants, against gonum's Sgemm: the
// runtime's first real kernel, with specialization constants, push
// constants and a 3-D dispatch.
func TestMatMulKernel(t *testing.T) {
	d := openDevice(t)
	code, err := shaders.SPIRV("matmul")
	if err != nil {
		t.Fatal(err)
	}
	// The core's specialization constants: workgroup x and y, outputs per
	// thread along M and N, shared slice depth, shared memory on/off, load
	// directions; then the transposes.
	variants := []struct {
		name                   string
		wgX, wgY, tm, tn, bk   uint32
		shared, aKFast, bNFast bool
	}{
		{"registers", 8, 1, 16, 16, 1, false, true, true},
		{"shared", 16, 16, 4, 4, 16, true, true, true},
		{"shared-8x8", 16, 16, 8, 8, 8, true, false, false},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, v := range variants {
		for _, s := range [][3]int{{64, 64, 64}, {33, 70, 129}, {1, 5, 300}, {130, 1, 17}} {
			m, n, k := s[0], s[1], s[2]
			t.Run(fmt.Sprintf("%s/%dx%dx%d", v.name, m, n, k), func(t *testing.T) {
				spec := []uint32{v.wgX, v.wgY, v.tm, v.tn, v.bk, b2u(v.shared), b2u(v.aKFast), b2u(v.bNFast), 0, 0}
				// a, b, c; the epilogue's bias, counters and mask, the bias
				// gradient and the split-K partials, which this test leaves
				// off (bound to a and c, never touched).
				kern, err := d.NewKernel(code, gpu.KernelDesc{Name: "matmul", PushSize: 36, Spec: spec,
					Bindings: []gpu.Access{gpu.Read, gpu.Read, gpu.Write, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.Write}})
				if err != nil {
					t.Fatal(err)
				}
				defer kern.Close()
				a, b := randomFloats(rng, m*k), randomFloats(rng, k*n)
				bufs := make([]*gpu.Buffer, 3)
				for i, data := range [][]float32{a, b, nanFloats(m * n)} {
					if bufs[i], err = d.NewBuffer(int64(4 * len(data))); err != nil {
						t.Fatal(err)
					}
					defer bufs[i].Close()
					if err := bufs[i].Write(0, floatBytes(data)); err != nil {
						t.Fatal(err)
					}
				}
				seq, err := d.NewSequence()
				if err != nil {
					t.Fatal(err)
				}
				defer seq.Close()
				bm, bn := int(v.wgY*v.tm), int(v.wgX*v.tn)
				groups := [3]uint32{uint32((n + bn - 1) / bn), uint32((m + bm - 1) / bm), 1}
				push := make([]byte, 36)                 // the epilogue's four words stay 0
				for i, w := range []int{m, n, k, k, n} { // M, N, K, one reduction slice of length K, c's columns
					binary.LittleEndian.PutUint32(push[4*i:], uint32(w))
				}
				bound := append(bufs, bufs[0], bufs[0], bufs[0], bufs[2], bufs[2])
				if err := seq.Dispatch(kern, groups, push, bound...); err != nil {
					t.Fatal(err)
				}
				if err := seq.Run(1); err != nil {
					t.Fatal(err)
				}
				raw := make([]byte, 4*m*n)
				if err := bufs[2].Read(0, raw); err != nil {
					t.Fatal(err)
				}
				got := bytesFloat(raw)

				want := blas32.General{Rows: m, Cols: n, Stride: n, Data: make([]float32, m*n)}
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
					blas32.General{Rows: m, Cols: k, Stride: k, Data: a},
					blas32.General{Rows: k, Cols: n, Stride: n, Data: b}, 0, want)
				var diff, norm float64
				for i, w := range want.Data {
					if math.IsNaN(float64(got[i])) {
						t.Fatalf("c[%d] is NaN: not written", i)
					}
					diff += float64(got[i]-w) * float64(got[i]-w)
					norm += float64(w) * float64(w)
				}
				if rel := math.Sqrt(diff / norm); rel > 1e-5 {
					t.Errorf("relative error %.3g against blas32.Gemm", rel)
				}
			})
		}
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func randomFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func nanFloats(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}
