package cpu

import (
	"os"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// useSgemm says whether new gemm plans use the C kernel of sgemm.c; when
// false they use gonum's Sgemm. It is on wherever the kernel can run, unless
// VKCNN_CPU_GEMM=gonum asks for gonum (to compare, or to rule the kernel out
// when hunting a bug). Tests flip it to cover both paths; a plan keeps the
// choice it was made with.
var useSgemm = haveSgemm && os.Getenv("VKCNN_CPU_GEMM") != "gonum"

// Blocking of the C kernel (see sgemm.c for the rest). sgemmKC is the
// longest k block: its B panels (kc x 16 floats, 16 KiB) stay in L1 while a
// column of micro-tiles runs over them.
const (
	sgemmKC = 256
	// Tiles that MatMul hands to its workers: large enough that packing
	// costs little next to the arithmetic, small enough that a batch-32
	// linear layer still splits several ways.
	sgemmTileM = 144
	sgemmTileN = 256
)

// gemm is one matrix product C = op(A)·op(B) + beta·C of fixed shape, cut
// into tiles. Each C tile is computed start to finish by one goroutine, so
// the tiles are the unit of parallel work, and results never depend on
// scheduling.
//
// With the C kernel (fast), every element of C is summed the same way
// wherever tile and block edges fall: k is cut into blocks of kt (all of
// length kt but the last, kt depending only on k); within a block the
// element's products are accumulated in increasing k order, one fused
// multiply-add each, starting from zero; the block sums are then added to C
// in increasing block order, the first one to beta·C (or stored, for beta
// 0). So a product is bit-identical however it is split into tiles or among
// workers, and whether run or tile computes it.
//
// With gonum (the fallback, and the path on CPUs without AVX2 and FMA),
// tiles of at most 64 rows by 3 blocks of columns keep each Sgemm call on
// gonum's serial path, with our own choice of k chunk; on the seed model
// this cost 30-50% less CPU than whole-matrix calls. Each element's order is
// again fixed by the plan.
type gemm struct {
	tA, tB        blas.Transpose
	m, n, k       int
	lda, ldb, ldc int
	fast          bool // the C kernel, not gonum
	mt, nt, kt    int  // tile sizes; kt is the k block
	cols          int  // tiles per row of tiles
	count         int  // tiles in all
	pack          int  // floats of packing scratch that tile and run need
}

// newGemm plans op(A) [m,k] · op(B) [k,n] into C [m,n] with the given
// leading dimensions (row strides of the stored matrices).
func newGemm(transA, transB bool, m, n, k, lda, ldb, ldc int) *gemm {
	g := &gemm{tA: blas.NoTrans, tB: blas.NoTrans, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, fast: useSgemm}
	if transA {
		g.tA = blas.Trans
	}
	if transB {
		g.tB = blas.Trans
	}
	switch {
	case g.fast:
		// Even splits avoid a thin last k block (which would cost a pass
		// over C for little arithmetic) and thin last tiles.
		g.kt = evenSplit(k, sgemmKC)
		g.mt = roundUp(evenSplit(m, sgemmTileM), 6)
		g.nt = roundUp(evenSplit(n, sgemmTileN), 16)
		g.pack = sgemmPackFloats(g.kt, m, n)
	case transB && !transA:
		// Column tiles of at most 3 blocks keep each call serial. The
		// dot-product kernel (A·Bᵀ) runs best on long k and ~128 columns;
		// the axpy kernels (the other forms) on rows of ~150 and a k chunk
		// that keeps the B panel in cache. Splitting evenly avoids a thin
		// last tile.
		g.mt, g.nt, g.kt = 64, evenSplit(n, 128), evenSplit(k, 1024)
	default:
		g.mt, g.nt, g.kt = 64, evenSplit(n, 160), evenSplit(k, 256)
	}
	g.cols = (n + g.nt - 1) / g.nt
	g.count = ((m + g.mt - 1) / g.mt) * g.cols
	return g
}

// evenSplit is the size of the pieces when n is cut into as few pieces of
// at most limit as possible, all of about the same size (1 for n <= 0).
func evenSplit(n, limit int) int {
	if n <= 0 {
		return 1
	}
	pieces := (n + limit - 1) / limit
	return (n + pieces - 1) / pieces
}

// roundUp is n rounded up to a multiple of m.
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// tile computes C tile t (row-major over the tile grid) over all of k. pack
// is the calling worker's scratch, at least g.pack floats.
func (g *gemm) tile(t int, a, b []float32, beta float32, c, pack []float32) {
	i0, j0 := (t/g.cols)*g.mt, (t%g.cols)*g.nt
	mi, nj := min(g.mt, g.m-i0), min(g.nt, g.n-j0)
	g.block(i0, j0, mi, nj, a, b, beta, c, pack)
}

// run computes the whole product on the calling goroutine: with the C
// kernel in one call (it blocks the work itself), with gonum tile by tile.
func (g *gemm) run(a, b []float32, beta float32, c, pack []float32) {
	if g.fast {
		g.block(0, 0, g.m, g.n, a, b, beta, c, pack)
		return
	}
	for t := range g.count {
		g.tile(t, a, b, beta, c, pack)
	}
}

// block computes rows [i0, i0+mi) and columns [j0, j0+nj) of C.
func (g *gemm) block(i0, j0, mi, nj int, a, b []float32, beta float32, c, pack []float32) {
	cs := c[i0*g.ldc+j0:]
	var as, bs []float32
	if g.tA == blas.Trans {
		as = a[i0:]
	} else {
		as = a[i0*g.lda:]
	}
	if g.tB == blas.Trans {
		bs = b[j0*g.ldb:]
	} else {
		bs = b[j0:]
	}
	if g.fast {
		sgemm(g.tA == blas.Trans, g.tB == blas.Trans, mi, nj, g.k, as, g.lda, bs, g.ldb,
			beta, cs, g.ldc, g.kt, pack)
		return
	}
	// gonum, one k chunk at a time.
	impl := blas32.Implementation()
	for l0 := 0; l0 < g.k; l0 += g.kt {
		kl := min(g.kt, g.k-l0)
		var al, bl []float32
		if g.tA == blas.Trans {
			al = as[l0*g.lda:]
		} else {
			al = as[l0:]
		}
		if g.tB == blas.Trans {
			bl = bs[l0:]
		} else {
			bl = bs[l0*g.ldb:]
		}
		impl.Sgemm(g.tA, g.tB, mi, nj, kl, 1, al, g.lda, bl, g.ldb, beta, cs, g.ldc)
		beta = 1
	}
}
