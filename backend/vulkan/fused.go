package vulkan

import (
	"math"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// The fused ops: GEMM epilogues (shaders/epilogue.glsl, used by matmul.go
// and conv.go), the ReLU-and-dropout gradient in one pass, and SGD over
// packed parameters, a dispatch per parameter group, with the step counter
// advanced in the last. Each replaces two to ten dispatches (and as many barriers) of
// the unfused ops and gives their bits.

func init() {
	register("relu_dropout_backward", 12, gpu.Read, gpu.Read, gpu.Write)
	// p, g, buf, the range table, the schedule, the counters, the arrival count
	register("sgd_packed", 36, gpu.ReadWrite, gpu.Read, gpu.ReadWrite, gpu.Read, gpu.Read, gpu.ReadWrite, gpu.ReadWrite)
}

// epiPushSize is the epilogue's share of a GEMM kernel's push constants
// (EPILOGUE_PUSH: four words).
const epiPushSize = 16

// epiSpecAt is the first of the epilogue's specialization constants.
const epiSpecAt = 10

// epi is a backend.Epilogue as the GEMM kernels take it: specialization
// constants 10-13, four push-constant words and three bindings (bias,
// counters, mask). The zero value is no epilogue.
type epi struct {
	spec                   [4]uint32
	prefix, keep, maskKeep uint32
	prob                   float32
	bind                   [3]backend.Tensor
}

// epilogue checks e for an op writing y (bias: whether the op takes
// e.Bias) and converts it.
func (p *Program) epilogue(op string, y backend.Tensor, e backend.Epilogue, bias bool) (epi, bool) {
	if !p.ok(backend.CheckEpilogue(op, y, e, bias)) {
		return epi{}, false
	}
	var x epi
	if !backend.Absent(e.Bias) {
		x.spec[0], x.bind[0] = 1, e.Bias
	}
	if e.ReLU {
		x.spec[1] = 1
	}
	if !backend.Absent(e.Ctr) {
		// As dropout.go: the seed and stream levels of backend.Hash are
		// fixed for the recording, and the divisor is the CPU's float32.
		x.spec[2], x.bind[1] = 1, e.Ctr
		x.prefix = backend.PCG(backend.PCG(e.Seed) + e.Stream)
		x.prob, x.keep = e.P, math.Float32bits(1-e.P)
	}
	if !backend.Absent(e.Mask) {
		x.spec[3], x.bind[2] = 1, e.Mask
		if e.MaskP != 0 {
			x.spec[3], x.maskKeep = 2, math.Float32bits(1-e.MaskP)
		}
	}
	return x, true
}

// standIn binds t where the epilogue has no tensor: a tensor the op already
// reads, so the stand-in adds no hazard. The kernel never touches it.
func (x epi) standIn(t backend.Tensor) epi {
	for i, b := range x.bind {
		if backend.Absent(b) {
			x.bind[i] = t
		}
	}
	return x
}

// specAfter pads an op's specialization constants to the epilogue's and
// appends them.
func (x epi) specAfter(spec []uint32) []uint32 {
	for len(spec) < epiSpecAt {
		spec = append(spec, 0)
	}
	return append(spec, x.spec[:]...)
}

// push is the EPILOGUE_PUSH words.
func (x epi) push() []any { return []any{x.prefix, x.prob, x.keep, x.maskKeep} }

// ReLUDropoutBackward records dx = dy/(1-p) where y > 0, else 0 (dy's bits
// where y > 0 with p = 0): DropoutBackward then ReLUBackward, without the
// draw.
func (p *Program) ReLUDropoutBackward(y, dy, dx backend.Tensor, prob float32) {
	if !p.ok(backend.CheckReLUDropoutBackward("ReLUDropoutBackward", y, dy, dx, prob)) {
		return
	}
	n := y.Len()
	p.dispatch("relu_dropout_backward", p.elementSpec(), p.elementGrid(n), pushConstants(n, math.Float32bits(1-prob), prob != 0), y, dy, dx)
}

// SGDPacked records one dispatch per group, every range of the group in
// it, with Step folded into the last on a GPU (its counters advanced by the
// last workgroup to finish, after every other has read them for the
// schedule; see foldStep).
// The hyperparameters are push constants; a group of several ranges reads
// them from a table (uploaded now: the recording refers to it) that gives
// each range its own workgroups, so no workgroup searches for its elements.
func (p *Program) SGDPacked(param, grad, buf backend.Tensor, gs []backend.SGDGroup, ctr backend.Tensor) {
	const op = "SGDPacked"
	if !p.ok(backend.CheckSGDPacked(op, param, grad, buf, gs, ctr)) {
		return
	}
	hasBuf := !backend.Absent(buf)
	bind := buf
	if !hasBuf {
		bind = param // never touched: hasBuf is 0
	}
	last := -1 // the last group with a range, which steps
	for i, g := range gs {
		if len(g.Ranges) > 0 {
			last = i
		}
	}
	step := !backend.Absent(ctr)
	local := int(p.b.local)
	for i, g := range gs {
		if len(g.Ranges) == 0 {
			continue
		}
		// Workgroups per range: one element per invocation, but no more
		// than the dispatch limit allows all ranges together; the kernel
		// strides over the rest.
		limit := max(1, 65535/len(g.Ranges))
		var table []uint32
		first := 0
		for _, r := range g.Ranges {
			n := min(int(groups(r.Len, local)), limit)
			table = append(table, uint32(first), uint32(n), uint32(r.Offset), uint32(r.Len))
			first += n
		}
		// Stand-ins, never touched: g for the table and the schedule, p
		// (already bound read-write) for the counters and the arrival count.
		tab, schedule, counters, arrivals, s := grad, grad, param, param, 0
		if len(g.Ranges) > 1 {
			if tab = p.uploadU32(op, table); tab == nil {
				return
			}
		}
		if !backend.Absent(g.Schedule) {
			schedule, counters, s = g.Schedule, g.Ctr, g.Schedule.Len()
		}
		// Step here on a GPU, unless the schedule reads other counters than
		// Step advances (two counter tensors: rare); otherwise Step follows
		// in a dispatch of its own.
		stepHere := p.b.foldStep && step && i == last && (s == 0 || g.Ctr == ctr)
		if stepHere {
			arrivals = p.scratchU32(op, 1)
			if arrivals == nil {
				return
			}
			counters, step = ctr, false
		}
		// One range binds from its start where the device allows (a part
		// of a Pack begins there): the kernel then indexes as sgd.comp does.
		pt, gt, bt, nr := param, grad, bind, len(g.Ranges)
		if nr == 1 {
			r := g.Ranges[0]
			var ok [3]bool
			var v [3]backend.Tensor
			for k, t := range []backend.Tensor{param, grad, bind} {
				v[k], ok[k] = p.b.slice(t, r.Offset, r.Len)
			}
			if ok[0] && ok[1] && ok[2] {
				pt, gt, bt = v[0], v[1], v[2]
			} else {
				nr, tab = 2, p.uploadU32(op, append(table, uint32(first), 0, 0, 0)) // a second, empty range
				if tab == nil {
					return
				}
			}
		}
		p.dispatch("sgd_packed", append(p.elementSpec(), word(stepHere), word(nr > 1)), [3]uint32{uint32(first), 1, 1},
			pushConstants(nr, g.Ranges[0].Len, first, g.LR, g.Momentum, g.WeightDecay, g.Nesterov, hasBuf, s),
			pt, gt, bt, tab, schedule, counters, arrivals)
	}
	if step {
		p.Step(ctr)
	}
}

// slice is the n elements of t from element off on, as a tensor bound from
// there, if the device allows a binding to start there.
func (b *Backend) slice(t backend.Tensor, off, n int) (backend.Tensor, bool) {
	vt, err := b.tensor(t)
	if err != nil || vt.sharded() {
		return nil, false
	}
	start := vt.offset + int64(off)*int64(vt.dtype.Size())
	size := (int64(n)*int64(vt.dtype.Size()) + 3) &^ 3
	if align := int64(max(1, b.dev.Info().MinStorageBufferAlign)); start%align != 0 || start+size > vt.buf.Size() {
		return nil, false
	}
	return &Tensor{buf: vt.buf, shape: []int{n}, dtype: vt.dtype, n: n, offset: start, limit: size}, true
}

// uploadU32 allocates a uint32 tensor holding v for the program's own use
// (freed with the program).
func (p *Program) uploadU32(op string, v []uint32) backend.Tensor {
	t := p.scratchU32(op, len(v))
	if t != nil {
		p.fail(p.b.Upload(t, v))
	}
	return t
}

// scratchU32 allocates a zeroed uint32 tensor of n elements for the
// program's own use (freed with the program).
func (p *Program) scratchU32(op string, n int) backend.Tensor {
	t, err := p.b.NewTensor(backend.U32, n)
	if err == nil {
		err = p.b.Upload(t, make([]uint32, n))
		p.scratchTensors = append(p.scratchTensors, t)
	}
	if err != nil {
		p.fail(err)
		return nil
	}
	return t
}
