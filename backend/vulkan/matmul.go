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
	// a, b, c, the epilogue's bias, counters and mask, db, the split-K partials
	register("matmul", 20+epiPushSize, gpu.Read, gpu.Read, gpu.Write, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.Write)
	// partials, out, extra, the epilogue's three
	register("matmul_reduce", 16+epiPushSize, gpu.Read, gpu.Write, gpu.Write, gpu.Read, gpu.Read, gpu.Read)
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
// The shared variant (see sharedTiles) takes its shape from the output and
// the device's limits.
func (b *Backend) tilesFor(v gemmVariant, m, n int) gemmTiles {
	if v == gemmRegisters {
		// bk is unused without shared memory: 1 keeps the (dead) loops short.
		return gemmTiles{wgX: 8, wgY: 1, tm: min(16, pow2(m)), tn: min(16, pow2((n+7)/8)), bk: 1}
	}
	return sharedTiles(b.dev.Info(), m, n)
}

// gemmTileVec4 is the size of one shared tile buffer of shaders/gemm.glsl,
// in vec4s (fixed there: MoltenVK cannot size shared arrays by
// specialization constants): bk·bm/4 and bk·bn/4 must fit it.
const gemmTileVec4 = 256

// gemmLoadMax is how many vec4 groups of each operand one thread of the
// shared variant may load per slice (LOAD_MAX in shaders/gemm.glsl).
const gemmLoadMax = 4

// sharedTiles picks the shared variant's blocking for an m x n output on a
// device, as fast GPU GEMMs block: 8x8 outputs per thread where the output
// is large (128x128 tiles of 256 threads: per k, 4 vec4 reads from shared
// memory feed 64 FMAs), 4x8 or 8x4 with 32-wide tiles for the narrow
// outputs of convolutions with few filters and of small batches, 4x4 in
// 64x64 tiles between. Devices that allow only 128 invocations a workgroup
// (Vulkan's minimum) get the same per-thread blocks in half the threads.
// bk is as deep as the fixed shared buffers allow (8 for 128-wide tiles).
//
// The choice is from the shape and the device's limits alone; it is
// tested for correctness on CPU drivers and awaits tuning on GPUs.
func sharedTiles(info gpu.Info, m, n int) gemmTiles {
	big := info.MaxWorkgroupInvocations >= 256 && info.MaxWorkgroupSize[0] >= 16 && info.MaxWorkgroupSize[1] >= 16
	var t gemmTiles
	switch {
	case m <= 32 && n > 32:
		t = gemmTiles{wgX: 16, wgY: 8, tm: 4, tn: 8} // 32x128
	case n <= 32 && m > 32:
		t = gemmTiles{wgX: 8, wgY: 16, tm: 8, tn: 4} // 128x32
	case m >= 128 && n >= 128 && big:
		t = gemmTiles{wgX: 16, wgY: 16, tm: 8, tn: 8} // 128x128
	case m >= 128 && n >= 128:
		t = gemmTiles{wgX: 16, wgY: 8, tm: 8, tn: 8} // 64x128
	case big:
		t = gemmTiles{wgX: 16, wgY: 16, tm: 4, tn: 4} // 64x64
	default:
		t = gemmTiles{wgX: 16, wgY: 8, tm: 8, tn: 4} // 64x64
	}
	// Every shape has 128 or 256 threads: whole subgroups of any size in
	// use (4 on SwiftShader to 64 on AMD; TestSharedTiles checks).
	t.shared = true
	t.bk = 16
	for t.bk > 1 && (t.bk*t.bm()/4 > gemmTileVec4 || t.bk*t.bn()/4 > gemmTileVec4) {
		t.bk /= 2
	}
	return t
}

// splitTarget is how many workgroups a GEMM should have in flight on a
// device: several per compute unit on a discrete GPU (Vulkan does not say
// how many units; 512 covers four or more per unit on GPUs of up to ~130),
// about a hundred on integrated ones, a few per core on CPU drivers (16
// covers the CPUs lavapipe runs on).
func splitTarget(t gpu.DeviceType) int {
	switch t {
	case gpu.DiscreteGPU:
		return 512
	case gpu.IntegratedGPU, gpu.VirtualGPU:
		return 128
	}
	return 16
}

// splitK divides a reduction of length k into slices when the output alone
// has too few tiles to occupy the device (splitTarget). It returns the
// slice length (a multiple of bk) and the slice count. Both depend only on
// the shape, the tiles and the device's limits, never on timing, so every
// run adds in the same order.
func (b *Backend) splitK(t gemmTiles, m, n, k int) (kSplit, splits int) {
	target, minSlice := splitTarget(b.dev.Info().Type), 128
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
// with the epilogue x applied, and extra[m] = the sum for n == ldo (the
// bias column), in fixed order.
func (p *Program) reduceSplits(part, out, extra backend.Tensor, m, n, splits, ldo int, x epi) {
	const local = 256
	g := max(1, min(groups(m*n, local), 65535))
	x = x.standIn(part)
	p.dispatch("matmul_reduce", x.specAfter([]uint32{local}), [3]uint32{g, 1, 1},
		pushConstants(append([]any{m, n, splits, ldo}, x.push()...)...), part, out, extra, x.bind[0], x.bind[1], x.bind[2])
}

// MatMul records c = op(a)·op(b).
func (p *Program) MatMul(a, b, c backend.Tensor, transA, transB bool) {
	p.matmul(p.b.gemmVariant(), a, b, c, nil, transA, transB, backend.Epilogue{})
}

// MatMulEpilogue records c = op(a)·op(b) with e applied as c is stored
// (by the split-K reduction when the reduction is split).
func (p *Program) MatMulEpilogue(a, b, c backend.Tensor, transA, transB bool, e backend.Epilogue) {
	p.matmul(p.b.gemmVariant(), a, b, c, nil, transA, transB, e)
}

// MatMulBiasGrad records c = op(a)·op(b) and db = the row sums of op(a),
// as one GEMM with a column of ones appended to op(b).
func (p *Program) MatMulBiasGrad(a, b, c, db backend.Tensor, transA, transB bool) {
	if !p.ok(backend.CheckRowSums("MatMulBiasGrad", db, rows(a, transA))) {
		return
	}
	p.matmul(p.b.gemmVariant(), a, b, c, db, transA, transB, backend.Epilogue{})
}

// rows is the number of rows of op(a), 0 when a is not 2-D (the GEMM's
// own check then reports it).
func rows(a backend.Tensor, trans bool) int {
	s := a.Shape()
	if len(s) != 2 {
		return 0
	}
	if trans {
		return s[1]
	}
	return s[0]
}

// matmul is MatMul with the GEMM variant chosen by the caller (the tests run
// every variant on whatever device they have), the bias-gradient column
// when db is not nil, and an epilogue.
func (p *Program) matmul(v gemmVariant, a, b, c, db backend.Tensor, transA, transB bool, e backend.Epilogue) {
	const op = "MatMul"
	m, n, k, err := backend.CheckMatMul(op, a, b, c, transA, transB)
	if !p.ok(err) {
		return
	}
	x, ok := p.epilogue(op, c, e, true)
	if !ok {
		return
	}
	cols, hasDB := n, db != nil
	if hasDB {
		cols++ // the ones column
	} else {
		db = c // bound but never written
	}
	t := p.b.tilesFor(v, m, cols)
	kSplit, splits := p.b.splitK(t, m, cols, k)
	part, split := c, splits > 1 // part: bound but never written without a split
	if split {
		if part = p.scratch(op, splits*m*cols); part == nil {
			return
		}
	}
	// The GEMM's own store applies the epilogue only when it writes c.
	own := x
	if split {
		own = epi{}
	}
	own = own.standIn(a)
	// A non-transposed a is contiguous along k, a non-transposed b along n.
	spec := append(own.specAfter(t.spec(!transA, !transB, word(transA), word(transB))), word(hasDB), word(split))
	push := pushConstants(append([]any{m, cols, k, kSplit, n}, own.push()...)...)
	p.dispatch("matmul", spec, t.groups(m, cols, splits), push, a, b, c, own.bind[0], own.bind[1], own.bind[2], db, part)
	if split {
		p.reduceSplits(part, c, db, m, cols, splits, n, x)
	}
}
