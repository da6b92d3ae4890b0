package vulkan

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// Program records ops into one gpu.Sequence.
type Program struct {
	b   *Backend
	seq *gpu.Sequence
	err error
	// scratchTensors are buffers the program allocated for itself.
	scratchTensors []backend.Tensor
}

// Err is the first error an op reported.
func (p *Program) Err() error { return p.err }

// Run replays the recorded sequence times times.
func (p *Program) Run(times int) error {
	if p.err != nil {
		return p.err
	}
	return p.seq.Run(times)
}

// Close frees the recording.
func (p *Program) Close() error {
	if p.seq != nil {
		p.seq.Close()
		p.seq = nil
	}
	for _, t := range p.scratchTensors {
		p.b.Free(t)
	}
	p.scratchTensors = nil
	return nil
}

// Sequence is the recording, for timing individual ops (gpu.Sequence.Timestamp).
func (p *Program) Sequence() *gpu.Sequence { return p.seq }

// Counts is how many dispatches and hazard barriers one run of the program
// records (see gpu.Sequence.Counts).
func (p *Program) Counts() (dispatches, barriers int) {
	if p.seq == nil {
		return 0, 0
	}
	return p.seq.Counts()
}

// fail remembers the first error.
func (p *Program) fail(err error) {
	if p.err == nil && err != nil {
		p.err = err
	}
}

// ok checks an op's arguments (err from a backend.Check function) and
// whether the program can still record.
func (p *Program) ok(err error) bool {
	p.fail(err)
	return p.err == nil
}

// dispatch records shader name (specialized with spec) over groups
// workgroups. Tensors bind in order; nil tensors are an error, and so are
// sharded ones (see Tensor): a shader binding one buffer would see only the
// first shard's rows.
func (p *Program) dispatch(name string, spec []uint32, groups [3]uint32, push []byte, ts ...backend.Tensor) {
	if p.err != nil {
		return
	}
	bufs := make([]*gpu.Buffer, len(ts))
	ranges := make([]gpu.Range, len(ts))
	parts := false // a part of a Pack, bound from its offset
	for i, t := range ts {
		vt, err := p.b.tensor(t)
		if err == nil {
			err = vt.notSharded()
		}
		if err != nil {
			p.fail(fmt.Errorf("%s: binding %d: %w", name, i, err))
			return
		}
		bufs[i] = vt.buf
		r, whole := vt.binding()
		ranges[i], parts = r, parts || !whole
	}
	if !parts {
		p.dispatchBuffers(name, spec, groups, push, bufs...)
		return
	}
	k, err := p.b.kernel(name, spec...)
	if err != nil {
		p.fail(err)
		return
	}
	p.fail(p.seq.DispatchRanges(k, groups, push, ranges...))
}

// dispatchBuffers is dispatch with the buffers given, for an op that binds
// other than one buffer per tensor (Gather binds each record shard).
func (p *Program) dispatchBuffers(name string, spec []uint32, groups [3]uint32, push []byte, bufs ...*gpu.Buffer) {
	if p.err != nil {
		return
	}
	k, err := p.b.kernel(name, spec...)
	if err != nil {
		p.fail(err)
		return
	}
	p.fail(p.seq.Dispatch(k, groups, push, bufs...))
}

// pushConstants packs values (int, uint32, float32) as 32-bit words in order,
// as a std430 push-constant block of scalars lays them out.
func pushConstants(vals ...any) []byte {
	out := make([]byte, 4*len(vals))
	for i, v := range vals {
		var w uint32
		switch x := v.(type) {
		case int:
			w = uint32(x)
		case uint32:
			w = x
		case float32:
			w = math.Float32bits(x)
		case bool:
			if x {
				w = 1
			}
		default:
			panic(fmt.Sprintf("pushConstants: unsupported %T", v))
		}
		binary.LittleEndian.PutUint32(out[4*i:], w)
	}
	return out
}

// groups returns how many workgroups of size cover n items.
func groups(n, size int) uint32 { return uint32((n + size - 1) / size) }
