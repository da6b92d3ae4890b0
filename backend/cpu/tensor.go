package cpu

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Tensor is the CPU backend's tensor: a shape over a Go slice of its dtype.
// Views reslice the same backing array, so a view's slice has length Len and
// capacity the size of the storage it was carved from; that capacity is what
// View may grow back into.
type Tensor struct {
	shape []int
	dtype backend.DType
	n     int
	f     []float32 // set when dtype is F32
	u     []uint32  // set when dtype is U32
	b     []uint8   // set when dtype is U8
}

// Shape returns a copy, so callers cannot reshape the tensor behind the
// backend's back.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// DType is the element type the tensor was created with.
func (t *Tensor) DType() backend.DType { return t.dtype }

// Len is the number of elements, the product of Shape.
func (t *Tensor) Len() int { return t.n }

// String shows dtype and shape, which is what error messages need.
func (t *Tensor) String() string { return fmt.Sprintf("%v%v", t.dtype, t.shape) }

// storageCap is how many elements the backing storage holds.
func (t *Tensor) storageCap() int {
	switch t.dtype {
	case backend.F32:
		return cap(t.f)
	case backend.U32:
		return cap(t.u)
	}
	return cap(t.b)
}

// sameStorage reports whether two tensors are views of one allocation. Every
// view starts at element 0 of its storage, so equal first addresses mean
// shared storage.
func (t *Tensor) sameStorage(o *Tensor) bool {
	if t.dtype != o.dtype {
		return false
	}
	switch t.dtype {
	case backend.F32:
		return &t.f[:1][0] == &o.f[:1][0]
	case backend.U32:
		return &t.u[:1][0] == &o.u[:1][0]
	}
	return &t.b[:1][0] == &o.b[:1][0]
}

// checkShape validates a requested shape and returns its element count.
func checkShape(shape []int) (int, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("empty shape: a tensor needs at least one dimension")
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return 0, fmt.Errorf("shape %v has a non-positive dimension", shape)
		}
		if n > (1<<62)/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}
