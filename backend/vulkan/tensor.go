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
type Tensor struct {
	buf   *gpu.Buffer
	shape []int
	dtype backend.DType
	n     int
}

// Shape is the tensor's dimensions.
func (t *Tensor) Shape() []int { return t.shape }

// DType is the element type.
func (t *Tensor) DType() backend.DType { return t.dtype }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.n }

// Buffer is the device buffer holding the tensor.
func (t *Tensor) Buffer() *gpu.Buffer { return t.buf }

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
	buf, err := b.dev.NewBuffer((size + 3) &^ 3)
	if err != nil {
		return nil, fmt.Errorf("tensor %s%v: %w", dt, shape, err)
	}
	return &Tensor{buf: buf, shape: slices.Clone(shape), dtype: dt, n: n}, nil
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
	if int64(n)*int64(vt.dtype.Size()) > vt.buf.Size() {
		return nil, fmt.Errorf("view %v of a tensor %v: needs %d elements, the storage has fewer", shape, vt.shape, n)
	}
	return &Tensor{buf: vt.buf, shape: slices.Clone(shape), dtype: vt.dtype, n: n}, nil
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
	return vt.buf.Write(0, raw)
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
	if err := vt.buf.Read(0, raw); err != nil {
		return err
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
