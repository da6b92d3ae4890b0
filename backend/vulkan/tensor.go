package vulkan

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
)

// Tensor is a backend.Tensor in a device buffer. Views share their
// parent's buffer.
//
// A U8 tensor of two or more dimensions too large for one storage buffer
// (the device's maxStorageBufferRange, which a shader cannot address past
// through one binding) is stored in several buffers, shards, each holding
// rowsPerShard whole rows (rows are the first dimension), the last one fewer.
// That is how the CIFAR-10 training set (153 MB) fits devices with a 128 MiB
// limit. Only Upload, Download, View and Gather accept a sharded tensor;
// every other op reports an error.
type Tensor struct {
	buf   *gpu.Buffer // the only buffer, or the first shard
	shape []int
	dtype backend.DType
	n     int

	shards       []*gpu.Buffer // nil unless sharded; shards[0] == buf
	rowsPerShard int

	// offset is where the tensor begins in buf, in bytes: non-zero for a
	// part of a Pack, which kernels see through a descriptor that starts
	// there. limit is how many bytes from offset the tensor and its views
	// may use: a part's own share; 0 for the rest of the buffer.
	offset, limit int64
}

// room is how many bytes from its offset the tensor's views may use.
func (t *Tensor) room() int64 {
	if t.limit == 0 {
		return t.buf.Size() - t.offset
	}
	return t.limit
}

// Free closes t's buffers, which its views share.
func (b *Backend) Free(t backend.Tensor) error {
	vt, err := b.tensor(t)
	if err != nil {
		return fmt.Errorf("free: %w", err)
	}
	for _, buf := range append([]*gpu.Buffer{vt.buf}, vt.shards...) {
		buf.Close()
	}
	return nil
}

// Shape is the tensor's dimensions.
func (t *Tensor) Shape() []int { return t.shape }

// DType is the element type.
func (t *Tensor) DType() backend.DType { return t.dtype }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.n }

// Buffer is the device buffer holding the tensor; for a tensor stored in
// shards (see Tensor), the first shard, which holds only its first rows.
func (t *Tensor) Buffer() *gpu.Buffer { return t.buf }

// sharded reports whether t is stored in several buffers.
func (t *Tensor) sharded() bool { return t.shards != nil }

// rowBytes is the size of one row (everything but the first dimension).
func (t *Tensor) rowBytes() int { return t.n / t.shape[0] * t.dtype.Size() }

// shardRange splits t's bytes over its shards: shard i holds bytes
// [lo, hi) of the tensor.
func (t *Tensor) shardRange(i int) (lo, hi int) {
	per := t.rowsPerShard * t.rowBytes()
	return i * per, min((i+1)*per, t.n*t.dtype.Size())
}

// notSharded is the error of an op other than Gather given a sharded tensor.
func (t *Tensor) notSharded() error {
	if !t.sharded() {
		return nil
	}
	return fmt.Errorf("tensor %s%v is stored in %d buffers of up to %d rows (it exceeds one storage buffer); only Gather, Upload, Download and View accept it",
		t.dtype, t.shape, len(t.shards), t.rowsPerShard)
}

func count(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return 0, fmt.Errorf("shape %v: every dimension must be positive", shape)
		}
		n *= d
	}
	return n, nil
}

// NewTensor allocates a tensor on the device. uint8 tensors are padded to
// whole 32-bit words, which is how the shaders read them.
func (b *Backend) NewTensor(dt backend.DType, shape ...int) (backend.Tensor, error) {
	n, err := count(shape)
	if err != nil {
		return nil, err
	}
	size := int64(n) * int64(dt.Size())
	if dt == backend.U8 && len(shape) >= 2 && (size+3)&^3 > b.maxBuffer {
		return b.newSharded(shape, n)
	}
	buf, err := b.dev.NewBuffer((size + 3) &^ 3)
	if err != nil {
		return nil, fmt.Errorf("tensor %s%v: %w", dt, shape, err)
	}
	return &Tensor{buf: buf, shape: slices.Clone(shape), dtype: dt, n: n}, nil
}

// Pack allocates one buffer for tensors of every shape, each starting at a
// multiple of the device's minStorageBufferOffsetAlignment (so a kernel can
// bind it alone), zeroes all of it and returns the parts with a 1-D tensor
// over the whole buffer.
func (b *Backend) Pack(dt backend.DType, shapes ...[]int) (whole backend.Tensor, parts []backend.Tensor, offsets []int, err error) {
	if len(shapes) == 0 {
		return nil, nil, nil, fmt.Errorf("pack: no shapes")
	}
	// Offsets in elements, aligned for binding (and to 16 bytes, which
	// vector loads like).
	align := max(int(b.dev.Info().MinStorageBufferAlign), 16) / dt.Size()
	total := 0
	ns := make([]int, len(shapes))
	for i, s := range shapes {
		if ns[i], err = count(s); err != nil {
			return nil, nil, nil, fmt.Errorf("pack: %w", err)
		}
		total = (total + align - 1) / align * align
		offsets = append(offsets, total)
		total += ns[i]
	}
	size := (int64(total)*int64(dt.Size()) + 3) &^ 3
	if size > b.maxBuffer {
		return nil, nil, nil, fmt.Errorf("pack of %d tensors (%d bytes): larger than the device's %d-byte storage-buffer limit", len(shapes), size, b.maxBuffer)
	}
	buf, err := b.dev.NewBuffer(size)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pack of %d tensors (%d bytes): %w", len(shapes), size, err)
	}
	// The gaps must hold zeros: an op over the whole (SGD) passes over them.
	if err := buf.Write(0, make([]byte, size)); err != nil {
		buf.Close()
		return nil, nil, nil, err
	}
	whole = &Tensor{buf: buf, shape: []int{total}, dtype: dt, n: total}
	for i, s := range shapes {
		off := int64(offsets[i]) * int64(dt.Size())
		lim := (int64(ns[i])*int64(dt.Size()) + 3) &^ 3
		parts = append(parts, &Tensor{buf: buf, shape: slices.Clone(s), dtype: dt, n: ns[i], offset: off, limit: lim})
	}
	return whole, parts, offsets, nil
}

// binding is the part of the tensor's buffer a kernel binds: all of it
// from the tensor's offset (whole is false only for a part of a Pack).
func (t *Tensor) binding() (r gpu.Range, whole bool) {
	if t.offset == 0 {
		return gpu.Range{Buffer: t.buf, Size: t.buf.Size()}, true
	}
	return gpu.Range{Buffer: t.buf, Offset: t.offset, Size: t.room()}, false
}

// newSharded allocates a U8 tensor of n elements in shards of as many whole
// rows as fit in b.maxBuffer, each padded to whole 32-bit words (which is how
// shaders read bytes; the limit is rounded down to words so the padding
// fits).
func (b *Backend) newSharded(shape []int, n int) (*Tensor, error) {
	rows := shape[0]
	rowBytes := int64(n / rows)
	limit := b.maxBuffer &^ 3
	per := limit / rowBytes
	if per == 0 {
		return nil, fmt.Errorf("tensor %s%v: one row of %d bytes is larger than the device's %d-byte storage-buffer limit", backend.U8, shape, rowBytes, b.maxBuffer)
	}
	t := &Tensor{shape: slices.Clone(shape), dtype: backend.U8, n: n, rowsPerShard: int(per)}
	for lo := 0; lo < rows; lo += int(per) {
		size := int64(min(rows-lo, int(per))) * rowBytes
		buf, err := b.dev.NewBuffer((size + 3) &^ 3)
		if err != nil {
			for _, s := range t.shards {
				s.Close()
			}
			return nil, fmt.Errorf("tensor %s%v, shard %d: %w", backend.U8, shape, len(t.shards), err)
		}
		t.shards = append(t.shards, buf)
	}
	t.buf = t.shards[0]
	return t, nil
}

// View returns a tensor of another shape over the start of t's buffer.
func (b *Backend) View(t backend.Tensor, shape ...int) (backend.Tensor, error) {
	vt, err := b.tensor(t)
	if err != nil {
		return nil, err
	}
	n, err := count(shape)
	if err != nil {
		return nil, err
	}
	if vt.sharded() {
		return vt.shardedView(shape, n)
	}
	if int64(n)*int64(vt.dtype.Size()) > vt.room() {
		return nil, fmt.Errorf("view %v of a tensor %v: needs %d elements, the storage has fewer", shape, vt.shape, n)
	}
	return &Tensor{buf: vt.buf, shape: slices.Clone(shape), dtype: vt.dtype, n: n, offset: vt.offset, limit: vt.limit}, nil
}

// shardedView is View of a sharded tensor: its rows stay split at the same
// places, so a view may only reshape the row or take fewer rows, keeping the
// row size. A view whose rows all lie in the first shard is an ordinary
// tensor over it.
func (t *Tensor) shardedView(shape []int, n int) (backend.Tensor, error) {
	if len(shape) < 2 || n/shape[0] != t.n/t.shape[0] || shape[0] > t.shape[0] {
		return nil, fmt.Errorf("view %v of a tensor %v stored in %d buffers: a view of it must keep its row size of %d elements and have at most %d rows",
			shape, t.shape, len(t.shards), t.n/t.shape[0], t.shape[0])
	}
	v := &Tensor{buf: t.buf, shape: slices.Clone(shape), dtype: t.dtype, n: n}
	if shape[0] > t.rowsPerShard {
		v.shards = t.shards[:(shape[0]+t.rowsPerShard-1)/t.rowsPerShard]
		v.rowsPerShard = t.rowsPerShard
	}
	return v, nil
}

func (b *Backend) tensor(t backend.Tensor) (*Tensor, error) {
	vt, ok := t.(*Tensor)
	if !ok || vt == nil {
		return nil, fmt.Errorf("tensor %T does not belong to the Vulkan backend", t)
	}
	return vt, nil
}

// Upload copies src into t.
func (b *Backend) Upload(t backend.Tensor, src any) error {
	vt, err := b.tensor(t)
	if err != nil {
		return err
	}
	var raw []byte
	switch s := src.(type) {
	case []float32:
		if vt.dtype == backend.F32 && len(s) == vt.n {
			raw = make([]byte, 4*len(s))
			for i, v := range s {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
		}
	case []uint32:
		if vt.dtype == backend.U32 && len(s) == vt.n {
			raw = make([]byte, 4*len(s))
			for i, v := range s {
				binary.LittleEndian.PutUint32(raw[4*i:], v)
			}
		}
	case []uint8:
		if vt.dtype == backend.U8 && len(s) == vt.n {
			raw = s
		}
	}
	if raw == nil {
		return fmt.Errorf("upload of %T (%d elements) into a %s tensor %v: type or length does not match", src, lenOf(src), vt.dtype, vt.shape)
	}
	if !vt.sharded() {
		return vt.buf.Write(vt.offset, raw)
	}
	for i, s := range vt.shards {
		lo, hi := vt.shardRange(i)
		if err := s.Write(0, raw[lo:hi]); err != nil {
			return fmt.Errorf("upload into shard %d of a tensor %v: %w", i, vt.shape, err)
		}
	}
	return nil
}

// Download copies t into dst.
func (b *Backend) Download(t backend.Tensor, dst any) error {
	vt, err := b.tensor(t)
	if err != nil {
		return err
	}
	raw := make([]byte, vt.n*vt.dtype.Size())
	ok := false
	switch d := dst.(type) {
	case []float32:
		ok = vt.dtype == backend.F32 && len(d) == vt.n
	case []uint32:
		ok = vt.dtype == backend.U32 && len(d) == vt.n
	case []uint8:
		ok = vt.dtype == backend.U8 && len(d) == vt.n
	}
	if !ok {
		return fmt.Errorf("download of a %s tensor %v into %T (%d elements): type or length does not match", vt.dtype, vt.shape, dst, lenOf(dst))
	}
	if !vt.sharded() {
		if err := vt.buf.Read(vt.offset, raw); err != nil {
			return err
		}
	}
	for i, s := range vt.shards {
		lo, hi := vt.shardRange(i)
		if err := s.Read(0, raw[lo:hi]); err != nil {
			return fmt.Errorf("download of shard %d of a tensor %v: %w", i, vt.shape, err)
		}
	}
	switch d := dst.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case []uint32:
		for i := range d {
			d[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
	case []uint8:
		copy(d, raw)
	}
	return nil
}

func lenOf(v any) int {
	switch s := v.(type) {
	case []float32:
		return len(s)
	case []uint32:
		return len(s)
	case []uint8:
		return len(s)
	}
	return -1
}
