package vulkan

import (
	"fmt"
	"math/bits"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// The GEMM-shaped ops (MatMul and the three convolutions) share one core,
// shaders/gemm.glsl, specialized per op and per device: this file holds the
// tiling decisions they share, and MatMul.

func init() {
	register("matmul", 16, gpu.Read, gpu.Read, gpu.Write)
	register("matmul_reduce", 16, gpu.Read, gpu.Write, gpu.Write)
}

// gemmVariant says how the GEMM core feeds its threads (specialization
// constant SHARED of shaders/gemm.glsl).
type gemmVariant int

const (
	// gemmRegisters: every thread loads its own operands, no shared memory
	// and no barriers. Fastest on CPU drivers such as lavapipe, where a
	// workgroup is a loop on one core and a barrier a coroutine switch.
	gemmRegisters gemmVariant = iota
	// gemmShared: the workgroup stages tiles in shared memory, so each
	// element is read from device memory once per tile. What GPUs need.
	gemmShared
)

// gemmVariants lists every variant, for the tests and benchmarks.
var gemmVariants = []gemmVariant{gemmRegisters, gemmShared}

// String names the variant in test and benchmark names.
func (v gemmVariant) String() string {
	if v == gemmShared {
		return "shared"
	}
	return "registers"
}

// variantFor picks the variant that is fast on a device type: shared-memory
// tiles on graphics hardware, register blocking on CPU implementations.
func variantFor(t gpu.DeviceType) gemmVariant {
	if t.IsGPU() {
		return gemmShared
	}
	return gemmRegisters
}

// gemmVariant is the variant the public ops use on this backend's device.
func (b *Backend) gemmVariant() gemmVariant { return variantFor(b.dev.Info().Type) }

// gemmTiles is the blocking of one GEMM dispatch: a workgroup of wgX x wgY
// threads computes a (wgY*tm) x (wgX*tn) tile of the output, each thread
// tm x tn elements; the shared variant stages bk-deep slices.
type gemmTiles struct {
	wgX, wgY int
	tm, tn   int
	bk       int
	shared   bool
}

func (t gemmTiles) bm() int { return t.wgY * t.tm }
func (t gemmTiles) bn() int { return t.wgX * t.tn }

// spec returns the core's specialization constants 0-7 followed by the
// op's own (8, 9, ...). aKFast and bNFast say in which direction A and B are
// contiguous in memory, which is how the shared variant walks them.
func (t gemmTiles) spec(aKFast, bNFast bool, op ...uint32) []uint32 {
	s := []uint32{uint32(t.wgX), uint32(t.wgY), uint32(t.tm), uint32(t.tn), uint32(t.bk),
		word(t.shared), word(aKFast), word(bNFast)}
	return append(s, op...)
}

// groups is the dispatch covering an m x n output in splits reduction slices.
func (t gemmTiles) groups(m, n, splits int) [3]uint32 {
	return [3]uint32{groups(n, t.bn()), groups(m, t.bm()), uint32(splits)}
}

// pow2 is the least power of two >= n (n >= 1).
func pow2(n int) int { return 1 << bits.Len(uint(n-1)) }

func word(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// tilesFor picks the blocking for an m x n output.
//
// The register variant gives each thread up to 16x16 outputs in workgroups
// of one row of 8 threads (lavapipe's SIMD width): a load there is a gather,
// lane by lane, so the more multiply-adds each loaded value feeds the better
// (on lavapipe's 2 cores, 4x4 per thread ran conv2 at ~4 GFLOP/s, 8x8 at ~10,
// 16x16 at ~18, in CPU time); tm and tn shrink, in powers of two, to small
// outputs so that little of the tile is wasted (and the pipeline, whose
// loops are unrolled, compiles faster).
//
// The shared variant uses 256 threads with 4x4 outputs each, shaped to the
// output: 64x64 tiles, or 32x128 (128x32) when the output has few rows
// (columns), as the convolutions do (32 filters).
func (b *Backend) tilesFor(v gemmVariant, m, n int) gemmTiles {
	if v == gemmRegisters {
		// bk is unused without shared memory: 1 keeps the (dead) tiles tiny.
		return gemmTiles{wgX: 8, wgY: 1, tm: min(16, pow2(m)), tn: min(16, pow2((n+7)/8)), bk: 1}
	}
	t := gemmTiles{wgX: 16, wgY: 16, tm: 4, tn: 4, bk: 16, shared: true}
	switch {
	case m <= 32 && n > 32:
		t.wgX, t.wgY = 32, 8
	case n <= 32 && m > 32:
		t.wgX, t.wgY = 8, 32
	}
	// Vulkan promises only 128 invocations a workgroup.
	for t.wgX*t.wgY > int(b.dev.Info().MaxWorkgroupInvocations) {
		if t.wgX >= t.wgY {
			t.wgX /= 2
		} else {
			t.wgY /= 2
		}
	}
	return t
}

// splitK divides a reduction of length k into slices when the output alone
// has too few tiles to occupy the device: a GPU wants on the order of a
// hundred workgroups, lavapipe a few per core (16 covers the CPUs it runs
// on). It returns the slice length (a multiple of bk) and the slice count.
// Both depend only on the shape, the tiles and the device's limits, never
// on timing, so every run adds in the same order.
func (b *Backend) splitK(t gemmTiles, m, n, k int) (kSplit, splits int) {
	target, minSlice := 128, 128
	if !t.shared {
		target, minSlice = 16, 256
	}
	tiles := int(groups(m, t.bm())) * int(groups(n, t.bn()))
	splits = min((target+tiles-1)/tiles, k/minSlice, 64)
	// The partial products must fit one buffer.
	limit := int(b.dev.Info().MaxStorageBufferRange) / 4
	for splits > 1 && splits*m*n > limit {
		splits--
	}
	if splits <= 1 {
		return k, 1
	}
	kSplit = (k + splits - 1) / splits
	kSplit = (kSplit + t.bk - 1) / t.bk * t.bk
	return kSplit, (k + kSplit - 1) / kSplit
}

// fastDiv returns the multiplier and shift with which gemmDiv (in
// shaders/gemm.glsl) divides by d: q = mulhi(x, mul) >> shift, exact for
// every x < 2^31 (the round-up method of Granlund and Montgomery, as
// CUTLASS's FastDivmod uses it). mul 0 stands for d = 1.
func fastDiv(d int) (mul, shift uint32) {
	if d <= 1 {
		return 0, 0
	}
	l := bits.Len(uint(d - 1)) // ceil(log2 d)
	p := 31 + l
	return uint32((uint64(1)<<p + uint64(d) - 1) / uint64(d)), uint32(l - 1)
}

// divisors lists the fastDiv pairs of ds as push-constant values.
func divisors(ds ...int) []any {
	out := make([]any, 0, 2*len(ds))
	for _, d := range ds {
		m, s := fastDiv(d)
		out = append(out, m, s)
	}
	return out
}

// scratch allocates a float buffer for split-K partial products. The
// recording refers to it, so it lives until the program closes.
func (p *Program) scratch(op string, n int) backend.Tensor {
	t, err := p.b.NewTensor(backend.F32, n)
	if err != nil {
		p.fail(fmt.Errorf("%s: split-K scratch of %d floats: %w", op, n, err))
		return nil
	}
	p.scratchTensors = append(p.scratchTensors, t)
	return t
}

// reduceSplits records out[m, n] = sum over z of part[z, m, n] for n < ldo,
// and extra[m] = the sum for n == ldo (the bias column), in fixed order.
func (p *Program) reduceSplits(part, out, extra backend.Tensor, m, n, splits, ldo int) {
	const local = 256
	g := max(1, min(groups(m*n, local), 65535))
	p.dispatch("matmul_reduce", []uint32{local}, [3]uint32{g, 1, 1}, pushConstants(m, n, splits, ldo), part, out, extra)
}

// MatMul records c = op(a)·op(b).
func (p *Program) MatMul(a, b, c backend.Tensor, transA, transB bool) {
	p.matmul(p.b.gemmVariant(), a, b, c, transA, transB)
}

// matmul is MatMul with the GEMM variant chosen by the caller (the tests run
// every variant on whatever device they have).
func (p *Program) matmul(v gemmVariant, a, b, c backend.Tensor, transA, transB bool) {
	const op = "MatMul"
	m, n, k, err := backend.CheckMatMul(op, a, b, c, transA, transB)
	if !p.ok(err) {
		return
	}
	t := p.b.tilesFor(v, m, n)
	kSplit, splits := p.b.splitK(t, m, n, k)
	out := c
	if splits > 1 {
		if out = p.scratch(op, splits*m*n); out == nil {
			return
		}
	}
	// A non-transposed a is contiguous along k, a non-transposed b along n.
	spec := t.spec(!transA, !transB, word(transA), word(transB))
	p.dispatch("matmul", spec, t.groups(m, n, splits), pushConstants(m, n, k, kSplit), a, b, out)
	if splits > 1 {
		p.reduceSplits(out, c, c, m, n, splits, n)
	}
}
