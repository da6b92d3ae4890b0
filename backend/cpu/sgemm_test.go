package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemmPaths are the GEMM implementations a test covers: the C kernel where
// this CPU runs it, and always gonum.
func gemmPaths(t testing.TB) []bool {
	if !haveSgemm {
		t.Log("no AVX2+FMA kernel on this CPU or build: testing the gonum path only")
		return []bool{false}
	}
	return []bool{true, false}
}

func pathName(fast bool) string {
	if fast {
		return "sgemm"
	}
	return "gonum"
}

// withPath runs f with new gemm plans on the given path.
func withPath(fast bool, f func()) {
	saved := useSgemm
	useSgemm = fast
	defer func() { useSgemm = saved }()
	f()
}

// gemmCase is one product op(A)[m,k]·op(B)[k,n] with stored leading
// dimensions padded by pad beyond the tight ones.
type gemmCase struct {
	m, n, k        int
	transA, transB bool
	pad            int
}

func (gc gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d_tA%v_tB%v_pad%d", gc.m, gc.n, gc.k, gc.transA, gc.transB, gc.pad)
}

// operands draws A and B (never zero) and returns them with their leading
// dimensions and C's; the padding between rows is filled too, with values
// that would show if read.
func (gc gemmCase) operands(rng *rand.Rand) (a []float32, lda int, b []float32, ldb, ldc int) {
	ar, ac := gc.m, gc.k
	if gc.transA {
		ar, ac = gc.k, gc.m
	}
	br, bc := gc.k, gc.n
	if gc.transB {
		br, bc = gc.n, gc.k
	}
	lda, ldb, ldc = ac+gc.pad, bc+gc.pad, gc.n+gc.pad
	a, b = uniform(rng, (ar-1)*lda+ac), uniform(rng, (br-1)*ldb+bc)
	return a, lda, b, ldb, ldc
}

// reference is op(A)·op(B) + beta·C in float64, [m,n] tight.
func (gc gemmCase) reference(a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, gc.m*gc.n)
	for i := range gc.m {
		for j := range gc.n {
			var s float64
			for l := range gc.k {
				ai, bi := i*lda+l, l*ldb+j
				if gc.transA {
					ai = l*lda + i
				}
				if gc.transB {
					bi = j*ldb + l
				}
				s += float64(a[ai]) * float64(b[bi])
			}
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*gc.n+j] = s
		}
	}
	return out
}

// window copies C's [m,n] window out of its padded storage.
func window(c []float32, m, n, ldc int) []float32 {
	out := make([]float32, 0, m*n)
	for i := range m {
		out = append(out, c[i*ldc:][:n]...)
	}
	return out
}

// checkPadding fails if C's storage outside the [m,n] window is not the
// sentinel it was filled with: the kernel's edge stores must be exact.
func checkPadding(t *testing.T, c []float32, m, n, ldc int, sentinel float32) {
	t.Helper()
	for i, v := range c {
		if i%ldc >= n || i/ldc >= m {
			if math.Float32bits(v) != math.Float32bits(sentinel) {
				t.Fatalf("C[%d] (row %d, column %d) outside the %dx%d product was written: %v", i, i/ldc, i%ldc, m, n, v)
			}
		}
	}
}

// gemmCases: every transpose form of odd shapes, none a multiple of the 6x16
// micro-tile or of the blocks (kc 256, mc 144, MatMul's 144x256 tiles), some
// of them crossing several blocks each way, with and without padded rows.
func gemmCases() []gemmCase {
	var cs []gemmCase
	for _, sh := range [][3]int{
		{1, 1, 1}, {7, 13, 5}, {6, 16, 1}, {5, 17, 3}, {65, 161, 257}, {300, 200, 700},
		{13, 15, 600}, {151, 33, 40}, {20, 2100, 9},
	} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, pad := range []int{0, 3} {
					cs = append(cs, gemmCase{sh[0], sh[1], sh[2], ta, tb, pad})
				}
			}
		}
	}
	return cs
}

// sgemmTol is the relative error ||got-ref||/||ref|| allowed against the
// float64 product: float32 sums of k <= 700 terms of order 1 carry a few
// 1e-7 relative error (fused multiply-adds, sums in blocks), so 1e-5 is a
// wide margin that any indexing bug still blows through.
const sgemmTol = 1e-5

// TestGemmAgainstReference runs each product through a gemm plan, both whole
// (run) and tile by tile, on both paths, with beta 0 on C poisoned with NaN
// and beta 1 on random C, and compares it with the float64 definition and
// with one gonum Sgemm call on the whole matrix. The padding around C's
// window must stay untouched.
func TestGemmAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	nan := float32(math.NaN())
	const sentinel = -7.5
	for _, gc := range gemmCases() {
		a, lda, b, ldb, ldc := gc.operands(rng)
		c0 := uniform(rng, (gc.m-1)*ldc+gc.n)
		if testing.Short() && gc.pad > 0 && gc.m*gc.n*gc.k > 1e6 {
			continue // the small shapes cover padding
		}
		tA, tB := blas.NoTrans, blas.NoTrans
		if gc.transA {
			tA = blas.Trans
		}
		if gc.transB {
			tB = blas.Trans
		}
		for _, beta := range []float32{0, 1} {
			ref := gc.reference(a, lda, b, ldb, beta, c0, ldc)
			// gonum on the whole matrix, in one call.
			gonum := window(c0, gc.m, gc.n, ldc)
			blas32.Implementation().Sgemm(tA, tB, gc.m, gc.n, gc.k, 1, a, lda, b, ldb, beta, gonum, gc.n)
			for _, fast := range gemmPaths(t) {
				var g *gemm
				withPath(fast, func() { g = newGemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, lda, ldb, ldc) })
				if g.fast != fast {
					t.Fatalf("plan fast = %v, want %v", g.fast, fast)
				}
				for _, whole := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/%v/beta%v/whole%v", pathName(fast), gc, beta, whole), func(t *testing.T) {
						// C's window holds NaN for beta 0 (it must not be
						// read) or c0; the padding around it a sentinel.
						c := make([]float32, gc.m*ldc)
						for i := range c {
							c[i] = sentinel
							if i%ldc < gc.n {
								c[i] = c0[i]
								if beta == 0 {
									c[i] = nan
								}
							}
						}
						pack := make([]float32, g.pack)
						if whole {
							g.run(a, b, beta, c, pack)
						} else {
							for tl := range g.count {
								g.tile(tl, a, b, beta, c, pack)
							}
						}
						checkPadding(t, c, gc.m, gc.n, ldc, sentinel)
						got := window(c, gc.m, gc.n, ldc)
						checkRel(t, "vs float64", got, ref, sgemmTol)
						checkRel(t, "vs gonum", got, to64(gonum), sgemmTol)
					})
				}
			}
		}
	}
}

// TestSgemmBeta covers what gemm never asks for but the kernel supports: a
// general beta, and k = 0 (C = beta·C, zeros for beta 0 even over NaN).
func TestSgemmBeta(t *testing.T) {
	if !haveSgemm {
		t.Skip("no AVX2+FMA kernel")
	}
	rng := rand.New(rand.NewPCG(33, 34))
	for _, gc := range []gemmCase{{7, 19, 11, false, true, 2}, {30, 40, 300, true, false, 0}} {
		a, lda, b, ldb, ldc := gc.operands(rng)
		c0 := uniform(rng, (gc.m-1)*ldc+gc.n)
		c := append([]float32(nil), c0...)
		pack := make([]float32, sgemmPackFloats(sgemmKC, gc.m, gc.n))
		sgemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, a, lda, b, ldb, -0.5, c, ldc, 64, pack)
		checkRel(t, gc.String()+" beta -0.5", window(c, gc.m, gc.n, ldc), gc.reference(a, lda, b, ldb, -0.5, c0, ldc), sgemmTol)

		c = append([]float32(nil), c0...)
		sgemm(gc.transA, gc.transB, gc.m, gc.n, 0, nil, lda, nil, ldb, 0.5, c, ldc, 64, pack)
		for i := range gc.m {
			for j := range gc.n {
				if got, want := c[i*ldc+j], 0.5*c0[i*ldc+j]; got != want {
					t.Fatalf("k=0 beta 0.5: C[%d,%d] = %v, want %v", i, j, got, want)
				}
			}
		}
		c[0] = float32(math.NaN())
		sgemm(gc.transA, gc.transB, gc.m, gc.n, 0, nil, lda, nil, ldb, 0, c, ldc, 64, pack)
		for i := range gc.m {
			for j := range gc.n {
				if c[i*ldc+j] != 0 {
					t.Fatalf("k=0 beta 0: C[%d,%d] = %v, want 0", i, j, c[i*ldc+j])
				}
			}
		}
	}
}

// TestSgemmChecks: slices too short for the shape, or leading dimensions
// shorter than a row, panic in Go instead of letting C read or write past
// them.
func TestSgemmChecks(t *testing.T) {
	if !haveSgemm {
		t.Skip("no AVX2+FMA kernel")
	}
	m, n, k := 7, 9, 5
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	pack := make([]float32, sgemmPackFloats(k, m, n))
	for name, call := range map[string]func(){
		"a short":    func() { sgemm(false, false, m, n, k, a[1:], k, b, n, 0, c, n, k, pack) },
		"bT short":   func() { sgemm(false, true, m, n, k, a, k, b[:len(b)-1], k, 0, c, n, k, pack) },
		"c short":    func() { sgemm(false, false, m, n, k, a, k, b, n, 0, c[1:], n, k, pack) },
		"pack short": func() { sgemm(false, false, m, n, k, a, k, b, n, 0, c, n, k, pack[1:]) },
		"lda < k":    func() { sgemm(false, false, m, n, k, a, k-1, b, n, 0, c, n, k, pack) },
		"ldc < n":    func() { sgemm(false, false, m, n, k, a, k, b, n, 0, c, n-1, k, pack) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
	sgemm(false, false, m, n, k, a, k, b, n, 0, c, n, k, pack) // the exact sizes pass
}

// runTiles computes g's tiles split among workers goroutines the way MatMul
// does, worker w packing into packs[w] (made when nil).
func runTiles(g *gemm, workers int, a, b []float32, beta float32, c []float32, packs [][]float32) {
	parts := min(workers, g.count)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pack := packs[w]
			if pack == nil {
				pack = make([]float32, g.pack)
			}
			lo, hi := span(g.count, parts, w)
			for tl := lo; tl < hi; tl++ {
				g.tile(tl, a, b, beta, c, pack)
			}
		}()
	}
	wg.Wait()
}

// TestGemmDeterminism requires bit-identical products from repeated runs,
// from any number of workers, and from run versus tiles: each element's sum
// has one order, fixed by the plan (see gemm).
func TestGemmDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, fast := range gemmPaths(t) {
		for _, gc := range []gemmCase{
			{300, 600, 700, false, false, 0}, {300, 700, 200, false, true, 1}, {290, 530, 600, true, false, 0},
			{165, 661, 257, true, true, 2}, {32, 1100, 1030, false, true, 0},
		} {
			t.Run(pathName(fast)+"/"+gc.String(), func(t *testing.T) {
				a, lda, b, ldb, ldc := gc.operands(rng)
				c0 := uniform(rng, (gc.m-1)*ldc+gc.n)
				var g *gemm
				withPath(fast, func() { g = newGemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, lda, ldb, ldc) })
				if g.count < 4 {
					t.Fatalf("only %d tiles: the case does not test the split", g.count)
				}
				for _, beta := range []float32{0, 1} {
					var first []float32
					runs := []int{1, 1, 2, 3, 7, 0} // workers; 0: run on one goroutine
					if testing.Short() {
						runs = []int{1, 1, 3, 0}
					}
					for _, workers := range runs {
						c := append([]float32(nil), c0...)
						if workers == 0 {
							g.run(a, b, beta, c, make([]float32, g.pack))
						} else {
							runTiles(g, workers, a, b, beta, c, make([][]float32, workers))
						}
						if first == nil {
							first = c
							continue
						}
						for i := range c {
							if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
								t.Fatalf("beta %v, %d workers: C[%d] = %v, first run gave %v", beta, workers, i, c[i], first[i])
							}
						}
					}
				}
			})
		}
	}
}

// TestGonumFallback runs the GEMM-based op tests again on the gonum path,
// which CPUs without AVX2+FMA (and VKCNN_CPU_GEMM=gonum) take.
func TestGonumFallback(t *testing.T) {
	if !useSgemm {
		t.Skip("the default path is already gonum")
	}
	withPath(false, func() {
		if !testing.Short() { // the two slowest: float64 references at the seed model's sizes
			t.Run("MatMul", TestMatMulAgainstNaive)
			t.Run("Conv", TestConvAgainstNaive)
		}
		t.Run("MatMulGradients", TestMatMulGradients)
		t.Run("ConvGradients", TestConvGradients)
		t.Run("ZooConv", TestZooConv)
		t.Run("Determinism", TestDeterminism)
	})
}

// sgemmBenchShapes are GEMMs the zoo and the seed model run, in the forms
// the CPU backend gives them (see conv.go and im2col.go), plus a cube.
var sgemmBenchShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	// ResNet-18's first stage, one 32x32 image: 64 filters of 3x3x64.
	{"resnet64_fwd_NT", 64, 1024, 576, false, true},
	{"resnet64_bwdData_TN", 1024, 576, 64, true, false},
	{"resnet64_bwdWeights_NN", 64, 576, 1024, false, false},
	// Its third stage (8x8 maps): 256 filters of 3x3x256.
	{"resnet256_fwd_NT", 256, 64, 2304, false, true},
	{"256x2304x64_NN", 256, 2304, 64, false, false},
	// The seed model's 8192->512 linear layer at batch 32.
	{"seed_fc_NT", 32, 512, 8192, false, true},
	{"cube1024_NN", 1024, 1024, 1024, false, false},
}

// BenchmarkSgemm times each shape on each path, on one goroutine (run) and
// on two (tiles split as MatMul splits them), in GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(37, 38))
	for _, sh := range sgemmBenchShapes {
		gc := gemmCase{m: sh.m, n: sh.n, k: sh.k, transA: sh.transA, transB: sh.transB}
		a, lda, bm, ldb, ldc := gc.operands(rng)
		c := make([]float32, sh.m*ldc)
		for _, fast := range gemmPaths(b) {
			var g *gemm
			withPath(fast, func() { g = newGemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, lda, ldb, ldc) })
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/%dcore", sh.name, pathName(fast), workers), func(b *testing.B) {
					packs := make([][]float32, workers)
					for w := range packs {
						packs[w] = make([]float32, g.pack)
					}
					for b.Loop() {
						if workers == 1 {
							g.run(a, bm, 0, c, packs[0])
						} else {
							runTiles(g, workers, a, bm, 0, c, packs)
						}
					}
					flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
