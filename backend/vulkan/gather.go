package vulkan

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// gatherLocal is Gather's workgroup size: each workgroup builds whole images
// (3072 outputs for CIFAR-10) after computing a lookup table of 256 entries
// a channel.
const gatherLocal = 256

// gatherPush is the size of gather.comp's push constants: 22 words.
const gatherPush = 4 * (7 + 2*backend.MaxGatherChannels + 7)

// gatherShards is how many record shards (see Tensor) the gather shader
// binds: 4 buffers of a 128 MiB limit hold 174,000 records, over three times
// CIFAR-10's training set. A fixed count keeps one pipeline for every
// records tensor.
const gatherShards = 4

func init() {
	bindings := make([]gpu.Access, 0, gatherShards+4)
	for range gatherShards {
		bindings = append(bindings, gpu.Read)
	}
	bindings = append(bindings, gpu.Read, gpu.Read, gpu.Write, gpu.Write)
	register("gather", gatherPush, bindings...)
	register("step", 0, gpu.ReadWrite)
}

// Gather records building a batch from records[indices[ctr[1]*N + i]] (see
// backend.Ops.Gather), for any image shape x gives, bit-identical to the
// CPU's. The GPU cannot report an
// error while it runs, so where the CPU fails on an index position past the
// index list or an index past the records, it writes that image as zeros and
// its label as 0xffffffff, a label that SoftmaxCrossEntropy turns into a NaN
// loss.
//
// With IndexFlip, the record index is an entry's low 31 bits, bounds-checked
// the same way, and its bit 31 the mirror.
//
// Records may be sharded (see Tensor), in up to gatherShards buffers.
func (p *Program) Gather(records, indices, ctr, x, labels backend.Tensor, o backend.GatherParams) {
	n, err := backend.CheckGather("Gather", records, indices, ctr, x, labels, o)
	if !p.ok(err) {
		return
	}
	rt, err := p.b.tensor(records)
	if !p.ok(err) {
		return
	}
	shards, perShard := []*gpu.Buffer{rt.buf}, rt.shape[0]
	if rt.sharded() {
		shards, perShard = rt.shards, rt.rowsPerShard
	}
	if len(shards) > gatherShards {
		p.fail(fmt.Errorf("Gather: records tensor of %d bytes needs %d shards of the device's %d-byte storage-buffer limit; at most %d are supported",
			rt.n, len(shards), p.b.maxBuffer, gatherShards))
		return
	}
	bufs := make([]*gpu.Buffer, 0, gatherShards+4)
	bufs = append(bufs, shards...)
	// Unused shard bindings repeat the last shard: every binding needs a
	// buffer, and the shader never reads them.
	for len(bufs) < gatherShards {
		bufs = append(bufs, shards[len(shards)-1])
	}
	for i, t := range []backend.Tensor{indices, ctr, x, labels} {
		vt, err := p.b.tensor(t)
		if err == nil {
			err = vt.notSharded()
		}
		if err != nil {
			p.fail(fmt.Errorf("Gather: binding %d: %w", gatherShards+i, err))
			return
		}
		bufs = append(bufs, vt.buf)
	}
	// IndexFlip takes the mirror from the entry, so Flip's draw is skipped
	// (the CPU skips it too); Fixed replaces all three draws.
	vals := []any{n, indices.Len(), records.Shape()[0], o.Pad, o.Flip && !o.IndexFlip, o.Seed, float32(backend.GatherPixel)}
	for _, v := range o.Mean {
		vals = append(vals, v)
	}
	for _, v := range o.Std {
		vals = append(vals, v)
	}
	vals = append(vals, perShard, o.Reflect, o.IndexFlip, o.Fixed, o.DX, o.DY, o.Mirror)
	push := pushConstants(vals...)
	// The image shape is specialization constants (see gather.comp): one
	// pipeline per shape, and a run has one or two.
	xs := x.Shape()
	spec := []uint32{gatherLocal, uint32(xs[1]), uint32(xs[2]), uint32(xs[3])}
	g := uint32(min(n, maxElementGroups))
	p.dispatchBuffers("gather", spec, [3]uint32{g, 1, 1}, push, bufs...)
}

// Step records ctr[0]++ and ctr[1]++ on the device.
func (p *Program) Step(ctr backend.Tensor) {
	if !p.ok(backend.CheckCounters("Step", ctr)) {
		return
	}
	p.dispatch("step", nil, [3]uint32{1, 1, 1}, nil, ctr)
}
