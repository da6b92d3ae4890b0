package vulkan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// shardRows is the rows a shard holds in the sharding tests: odd, like the
// record size, so shards end mid-word and rows start at every byte offset.
const shardRows = 5

// shardLimit is a storage-buffer limit of shardRows records (padded to a
// word), small enough to shard tiny record sets.
const shardLimit = (shardRows*backend.RecordSize + 3) &^ 3

// smallBuffers is a backend on the test device whose tensors shard at limit
// bytes, so that sharding is tested without uploading the 128 MiB a real
// limit takes.
func smallBuffers(t *testing.T, limit int64) *Backend {
	t.Helper()
	b := NewOn(gpuBackend(t).Device())
	b.maxBuffer = limit
	t.Cleanup(func() { b.Close() })
	return b
}

// shardHarness is a harness whose GPU side shards at limit bytes.
func shardHarness(t *testing.T, limit int64) *harness {
	h := newHarness(t)
	h.gpu = smallBuffers(t, limit)
	return h
}

func sharded(t *testing.T, x backend.Tensor) *Tensor {
	t.Helper()
	vt, ok := x.(*Tensor)
	if !ok {
		t.Fatalf("%T is not a Vulkan tensor", x)
	}
	return vt
}

func TestShardLayout(t *testing.T) {
	b := smallBuffers(t, shardLimit)
	x, err := b.NewTensor(backend.U8, 13, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	vt := sharded(t, x)
	if len(vt.shards) != 3 || vt.rowsPerShard != shardRows || vt.Buffer() != vt.shards[0] {
		t.Fatalf("[13, %d] at a %d-byte limit: %d shards of %d rows, want 3 of %d, the first being Buffer()",
			backend.RecordSize, shardLimit, len(vt.shards), vt.rowsPerShard, shardRows)
	}
	for i, want := range []int64{shardLimit, shardLimit, (3*backend.RecordSize + 3) &^ 3} {
		if got := vt.shards[i].Size(); got != want {
			t.Errorf("shard %d: %d bytes, want %d", i, got, want)
		}
	}

	// Tensors that fit, that are not U8 or that have one dimension stay
	// one buffer.
	for _, c := range []struct {
		dt    backend.DType
		shape []int
	}{
		{backend.U8, []int{shardRows, backend.RecordSize}}, // exactly the limit once padded
		{backend.U8, []int{13 * backend.RecordSize}},
		{backend.F32, []int{13, backend.RecordSize}},
	} {
		x, err := b.NewTensor(c.dt, c.shape...)
		if err != nil {
			t.Fatal(err)
		}
		if vt := sharded(t, x); vt.sharded() {
			t.Errorf("%s%v is sharded at a %d-byte limit; want one buffer", c.dt, c.shape, shardLimit)
		}
	}

	if _, err := b.NewTensor(backend.U8, 2, shardLimit+1); err == nil || !strings.Contains(err.Error(), "one row") {
		t.Errorf("a row larger than the limit: error %v, want one saying the row does not fit", err)
	}
}

// TestShardUploadDownload round-trips a record set over three shards and
// views of it.
func TestShardUploadDownload(t *testing.T) {
	b := smallBuffers(t, shardLimit)
	const rows, row = 13, backend.RecordSize
	x, err := b.NewTensor(backend.U8, rows, row)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	data := make([]uint8, rows*row)
	for i := range data {
		data[i] = uint8(h.rng.UintN(256))
	}
	if err := b.Upload(x, data); err != nil {
		t.Fatal(err)
	}
	got := make([]uint8, len(data))
	if err := b.Download(x, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("download of a sharded tensor differs from its upload")
	}
	// Each shard holds its rows from its byte 0.
	for i, s := range sharded(t, x).shards {
		lo := i * shardRows * row
		hi := min(lo+shardRows*row, len(data))
		part := make([]byte, hi-lo)
		if err := s.Read(0, part); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(part, data[lo:hi]) {
			t.Errorf("shard %d does not hold rows %d-%d", i, lo/row, hi/row-1)
		}
	}

	for _, c := range []struct {
		shape  []int
		shards int // 0: one buffer
	}{
		{[]int{rows, row}, 3},
		{[]int{rows, 1, row}, 3},
		{[]int{7, row}, 2},
		{[]int{shardRows + 1, row}, 2},
		{[]int{shardRows, row}, 0},
		{[]int{2, row}, 0},
	} {
		t.Run(fmt.Sprint(c.shape), func(t *testing.T) {
			v, err := b.View(x, c.shape...)
			if err != nil {
				t.Fatal(err)
			}
			vt := sharded(t, v)
			if len(vt.shards) != c.shards {
				t.Errorf("%d shards, want %d", len(vt.shards), c.shards)
			}
			n := v.Len()
			got := make([]uint8, n)
			if err := b.Download(v, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[:n]) {
				t.Fatal("a view's download differs from the start of the tensor")
			}
			// Upload through the view, then check the whole tensor.
			for i := range got {
				got[i] ^= 0xa5
			}
			if err := b.Upload(v, got); err != nil {
				t.Fatal(err)
			}
			whole := make([]uint8, len(data))
			if err := b.Download(x, whole); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(whole[:n], got) || !bytes.Equal(whole[n:], data[n:]) {
				t.Fatal("upload through a view changed the wrong bytes")
			}
			copy(data, got)
		})
	}
}

func TestShardView(t *testing.T) {
	b := smallBuffers(t, shardLimit)
	x, err := b.NewTensor(backend.U8, 13, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range [][]int{
		{13 * backend.RecordSize},    // flattened: rows no longer whole
		{26, 3073 / 2},               // another row size (and more elements)
		{14, backend.RecordSize},     // more rows than there are
		{13, 3, 1024},                // same rows, shorter
		{1, 13 * backend.RecordSize}, // one long row
	} {
		if _, err := b.View(x, shape...); err == nil || !strings.Contains(err.Error(), "row size") {
			t.Errorf("view %v of a sharded [13 %d]: error %v, want one about keeping the row size", shape, backend.RecordSize, err)
		}
	}
}

// TestShardGather gathers from records over three shards of an odd number
// of records each, with indices in every shard and at each shard's edges,
// bit-identical to the CPU.
func TestShardGather(t *testing.T) {
	const rows, steps, n = 13, 3, 8
	for _, c := range []struct {
		name string
		o    backend.GatherParams
	}{
		{"plain", backend.GatherParams{}},
		{"crop+flip+normalize", backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true, Seed: 7}},
		{"reflect crop+index flip+normalize", backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 2, Reflect: true, IndexFlip: true, Seed: 7}},
		{"fixed reflect view", backend.GatherParams{Pad: 1, Reflect: true, Fixed: true, DX: 2, Mirror: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := shardHarness(t, shardLimit)
			recs, _ := h.records(rows)
			if vt := sharded(t, recs.gpu); len(vt.shards) != 3 {
				t.Fatalf("records in %d shards, want 3", len(vt.shards))
			}
			order := []uint32{0, 4, 5, 9, 10, 12, 1, 6, 11, 3, 8, 2, 7, 12, 0, 5}
			for len(order) < steps*n {
				order = append(order, uint32(h.rng.IntN(rows)))
			}
			if c.o.IndexFlip {
				// Mirror every other entry: the shard of a record must come
				// from the low 31 bits alone.
				for i := range order {
					order[i] |= uint32(i%2) << 31
				}
			}
			idx := h.alloc(backend.U32, []int{len(order)})
			h.upload(idx, order)
			ctr := h.counters(100, 0)
			gatherSteps(h, recs, idx, ctr, n, steps, c.o)
		})
	}

	// A view of fewer records, still sharded, gathers the same and treats
	// the records past it as out of range.
	t.Run("view", func(t *testing.T) {
		h := shardHarness(t, shardLimit)
		recs, _ := h.records(rows)
		var view pair
		var err error
		if view.cpu, err = h.cpu.View(recs.cpu, 11, backend.RecordSize); err != nil {
			t.Fatal(err)
		}
		if view.gpu, err = h.gpu.View(recs.gpu, 11, backend.RecordSize); err != nil {
			t.Fatal(err)
		}
		idx := h.alloc(backend.U32, []int{5})
		h.upload(idx, []uint32{10, 0, 5, 6, 4})
		ctr := h.counters(3, 0)
		x := h.output(backend.F32, 5, 3, backend.ImageSide, backend.ImageSide)
		labels := h.output(backend.U32, 5)
		h.run(1, func(o backend.Ops, s side) {
			o.Gather(s(view), s(idx), s(ctr), s(x), s(labels), backend.GatherParams{Mean: cifarMean, Std: cifarStd})
		})
		h.bitIdentical("x", x)
		h.same("labels", labels)

		h.upload(idx, []uint32{11, 12, 10, 13, 1 << 30})
		p := h.gpu.NewProgram()
		p.Gather(view.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{})
		if err := p.Run(1); err != nil {
			t.Fatal(err)
		}
		p.Close()
		got := h.uints(h.gpu, labels.gpu)
		if got[0] != 0xffffffff || got[1] != 0xffffffff || got[2] >= backend.NumClasses || got[3] != 0xffffffff || got[4] != 0xffffffff {
			t.Errorf("labels of records 11, 12, 10, 13, 2^30 of an 11-record view: %x, want out of range (0xffffffff) for all but 10", got)
		}

		// With IndexFlip, bit 31 is a mirror: the same bounds hold for the
		// other bits.
		h.upload(idx, []uint32{1<<31 | 11, 1<<31 | 10, 10, 1<<31 | 12, 1<<31 | 5})
		q := h.gpu.NewProgram()
		q.Gather(view.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{IndexFlip: true})
		if err := q.Run(1); err != nil {
			t.Fatal(err)
		}
		q.Close()
		got = h.uints(h.gpu, labels.gpu)
		if got[0] != 0xffffffff || got[1] >= backend.NumClasses || got[1] != got[2] || got[3] != 0xffffffff || got[4] >= backend.NumClasses {
			t.Errorf("IndexFlip labels of entries 11, 10, 10 unflipped, 12, 5 (flipped but the third) of an 11-record view: %x, want out of range for 11 and 12 only", got)
		}
	})
}

// TestShardGatherTooMany checks Gather's error for records in more shards
// than it binds.
func TestShardGatherTooMany(t *testing.T) {
	const limit = (2*backend.RecordSize + 3) &^ 3 // two records a shard
	h := shardHarness(t, limit)
	recs, _ := h.records(9) // five shards
	if got := len(sharded(t, recs.gpu).shards); got != 5 {
		t.Fatalf("%d shards, want 5", got)
	}
	idx := h.indexList(4, 9)
	ctr := h.counters(0, 0)
	x := h.output(backend.F32, 4, 3, backend.ImageSide, backend.ImageSide)
	labels := h.output(backend.U32, 4)
	p := h.gpu.NewProgram()
	defer p.Close()
	p.Gather(recs.gpu, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{})
	want := fmt.Sprintf("records tensor of %d bytes needs 5 shards of the device's %d-byte storage-buffer limit; at most 4 are supported", 9*backend.RecordSize, limit)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Gather from 5 shards: error %v, want %q", err, want)
	}
	if err := p.Run(1); err == nil {
		t.Error("a program whose Gather failed ran")
	}

	// Four shards are fine.
	v, err := h.gpu.View(recs.gpu, 8, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	q := h.gpu.NewProgram()
	defer q.Close()
	q.Gather(v, idx.gpu, ctr.gpu, x.gpu, labels.gpu, backend.GatherParams{})
	if err := q.Err(); err != nil {
		t.Errorf("Gather from 4 shards: %v", err)
	}
}

// TestShardOtherOps checks that ops other than Gather refuse a sharded
// tensor: bound as one buffer, a shader would see only the first shard.
func TestShardOtherOps(t *testing.T) {
	b := smallBuffers(t, shardLimit)
	x, err := b.NewTensor(backend.U8, 13, backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	// Every op but Gather checks its dtypes first (none takes U8), so the
	// sharding check is reached only by binding the tensor directly.
	y, err := b.NewTensor(backend.F32, 13*backend.RecordSize)
	if err != nil {
		t.Fatal(err)
	}
	p := b.NewProgram().(*Program)
	defer p.Close()
	n := y.Len()
	p.dispatch("relu", p.elementSpec(), p.elementGrid(n), pushConstants(n), x, y)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "stored in 3 buffers") || !strings.Contains(err.Error(), "only Gather") {
		t.Errorf("relu bound to a sharded tensor: error %v, want one saying it is sharded", err)
	}

	q := b.NewProgram()
	defer q.Close()
	q.ReLU(x, y)
	if q.Err() == nil {
		t.Error("ReLU of a sharded U8 tensor: no error")
	}
}

// TestShardGatherFullSize uploads a training set of CIFAR-10's size
// ([50000, 3073], 153.65 MB) at the device's real limit, sharded where that
// is under 154 MB (128 MiB on lavapipe), and gathers the last records,
// bit-identical to the CPU.
func TestShardGatherFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 154 MB")
	}
	b := gpuBackend(t)
	const rows = 50000
	h := newHarness(t)
	data := make([]uint8, rows*backend.RecordSize)
	for i := 0; i+8 <= len(data); i += 8 {
		v := h.rng.Uint64()
		for k := range 8 {
			data[i+k] = uint8(v >> (8 * k))
		}
	}
	for i := range rows {
		data[i*backend.RecordSize] %= backend.NumClasses
	}
	recs := h.inputU8(data, rows, backend.RecordSize)
	vt := sharded(t, recs.gpu)
	t.Logf("limit %d bytes: %d shard(s) of %d records", b.maxBuffer, max(1, len(vt.shards)), vt.rowsPerShard)
	// Free the 154 MB now rather than when the test device closes.
	defer func() {
		if !vt.sharded() {
			vt.buf.Close()
		}
		for _, s := range vt.shards {
			s.Close()
		}
	}()
	const n = 32
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(rows - 1 - h.rng.IntN(100))
	}
	order[0], order[1] = rows-1, 0
	if vt.sharded() {
		order[2], order[3] = uint32(vt.rowsPerShard-1), uint32(vt.rowsPerShard)
	}
	idx := h.alloc(backend.U32, []int{n})
	h.upload(idx, order)
	ctr := h.counters(1, 0)
	x := h.output(backend.F32, n, 3, backend.ImageSide, backend.ImageSide)
	labels := h.output(backend.U32, n)
	h.run(1, func(o backend.Ops, s side) {
		o.Gather(s(recs), s(idx), s(ctr), s(x), s(labels), backend.GatherParams{Mean: cifarMean, Std: cifarStd, Pad: 4, Flip: true, Seed: 1})
	})
	h.bitIdentical("x", x)
	h.same("labels", labels)
}

// TestShardGatherMNIST gathers grey 28x28 records (785 bytes: shards end
// mid-word, and records start at every byte offset) over three shards,
// bit-identical to the CPU.
func TestShardGatherMNIST(t *testing.T) {
	const rows, steps, n, rs = 13, 3, 8, 1 + 28*28
	shape := [3]int{1, 28, 28}
	h := shardHarness(t, (shardRows*rs+3)&^3)
	recs, _ := h.recordsOf(rows, shape)
	if vt := sharded(t, recs.gpu); len(vt.shards) != 3 || vt.rowsPerShard != shardRows {
		t.Fatalf("records in %d shards of %d, want 3 of %d", len(vt.shards), vt.rowsPerShard, shardRows)
	}
	order := []uint32{0, 4, 5, 9, 10, 12, 1, 6, 11, 3, 8, 2, 7, 12, 0, 5}
	for len(order) < steps*n {
		order = append(order, uint32(h.rng.IntN(rows)))
	}
	for i := range order {
		order[i] |= uint32(i%2) << 31
	}
	idx := h.alloc(backend.U32, []int{len(order)})
	h.upload(idx, order)
	ctr := h.counters(100, 0)
	gatherStepsOf(h, recs, idx, ctr, shape, n, steps, backend.GatherParams{
		Mean: [4]float32{0.1307}, Std: [4]float32{0.3081}, Pad: 2, Reflect: true, IndexFlip: true, Seed: 7})
}
