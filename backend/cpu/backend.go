// Package cpu is the CPU reference implementation of backend.Backend. It
// exists to train without a GPU (vkcnn train --device cpu) and to be the
// ground truth the Vulkan kernels are cross-checked against, so it favours
// plainly correct, deterministic code paths, with the heavy lifting (every
// GEMM) done by gonum's blas32 and the batch spread over all cores.
package cpu

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vkcnn/vkcnn/backend"
)

// Backend is the CPU device. It holds no resources beyond Go memory, so it is
// safe to drop without Close.
type Backend struct {
	workers int
}

var _ backend.Backend = (*Backend)(nil)

// New returns a backend that uses all cores: the batch is split among
// runtime.GOMAXPROCS(0) workers, a number fixed here so that the split, and
// with it the summation order of every reduction, is the same on every run.
func New() *Backend {
	return &Backend{workers: max(1, runtime.GOMAXPROCS(0))}
}

// Name identifies the device in messages.
func (b *Backend) Name() string { return "cpu" }

// NewTensor allocates a zeroed tensor (the interface only promises undefined
// contents; zero is what Go gives for free).
func (b *Backend) NewTensor(dt backend.DType, shape ...int) (backend.Tensor, error) {
	n, err := checkShape(shape)
	if err != nil {
		return nil, fmt.Errorf("cpu: NewTensor: %w", err)
	}
	t := &Tensor{shape: append([]int(nil), shape...), dtype: dt, n: n}
	switch dt {
	case backend.F32:
		t.f = make([]float32, n)
	case backend.U32:
		t.u = make([]uint32, n)
	case backend.U8:
		t.b = make([]uint8, n)
	default:
		return nil, fmt.Errorf("cpu: NewTensor: unknown dtype %v", dt)
	}
	return t, nil
}

// View reslices t's storage, so writes through either tensor are seen by the
// other; the view may be larger than t as long as the storage allows it.
func (b *Backend) View(t backend.Tensor, shape ...int) (backend.Tensor, error) {
	ct, err := own(t)
	if err != nil {
		return nil, fmt.Errorf("cpu: View: %w", err)
	}
	n, err := checkShape(shape)
	if err != nil {
		return nil, fmt.Errorf("cpu: View: %w", err)
	}
	if c := ct.storageCap(); n > c {
		return nil, fmt.Errorf("cpu: View: shape %v needs %d elements, the storage of %v holds %d", shape, n, ct, c)
	}
	v := &Tensor{shape: append([]int(nil), shape...), dtype: ct.dtype, n: n}
	switch ct.dtype {
	case backend.F32:
		v.f = ct.f[:n]
	case backend.U32:
		v.u = ct.u[:n]
	default:
		v.b = ct.b[:n]
	}
	return v, nil
}

// Upload copies src into t; the dtype and length must match exactly so that
// a mix-up of tensors is an error rather than a silently partial copy.
func (b *Backend) Upload(t backend.Tensor, src any) error {
	ct, err := own(t)
	if err != nil {
		return fmt.Errorf("cpu: Upload: %w", err)
	}
	switch s := src.(type) {
	case []float32:
		return copyInto("Upload", ct, backend.F32, ct.f, s)
	case []uint32:
		return copyInto("Upload", ct, backend.U32, ct.u, s)
	case []uint8:
		return copyInto("Upload", ct, backend.U8, ct.b, s)
	}
	return fmt.Errorf("cpu: Upload: source type %T, want []float32, []uint32 or []uint8", src)
}

// Download copies t into dst, with the same strictness as Upload.
func (b *Backend) Download(t backend.Tensor, dst any) error {
	ct, err := own(t)
	if err != nil {
		return fmt.Errorf("cpu: Download: %w", err)
	}
	switch d := dst.(type) {
	case []float32:
		return copyInto("Download", ct, backend.F32, d, ct.f)
	case []uint32:
		return copyInto("Download", ct, backend.U32, d, ct.u)
	case []uint8:
		return copyInto("Download", ct, backend.U8, d, ct.b)
	}
	return fmt.Errorf("cpu: Download: destination type %T, want []float32, []uint32 or []uint8", dst)
}

// copyInto checks a host slice against t and copies; it serves both
// directions, so the length checked is that of the host side.
func copyInto[E float32 | uint32 | uint8](op string, t *Tensor, dt backend.DType, dst, src []E) error {
	if t.dtype != dt {
		return fmt.Errorf("cpu: %s: tensor %v is %v, host slice is %v", op, t, t.dtype, dt)
	}
	host := len(src)
	if op == "Download" {
		host = len(dst)
	}
	if host != t.n {
		return fmt.Errorf("cpu: %s: host slice has %d elements, tensor %v has %d", op, host, t, t.n)
	}
	copy(dst, src)
	return nil
}

// NewProgram starts an empty program on this backend.
func (b *Backend) NewProgram() backend.Program {
	return &Program{workers: b.workers}
}

// Close has nothing to free: tensors and programs are ordinary Go memory.
func (b *Backend) Close() error { return nil }

// Free has nothing to do on the CPU: the garbage collector reclaims a
// tensor once nothing refers to it.
func (b *Backend) Free(t backend.Tensor) error {
	if _, err := own(t); err != nil {
		return fmt.Errorf("free: %w", err)
	}
	return nil
}

// own converts an interface tensor to this backend's type, so that a tensor of
// another backend is a clear error rather than a panic.
func own(t backend.Tensor) (*Tensor, error) {
	if backend.Absent(t) {
		return nil, errors.New("nil tensor")
	}
	ct, ok := t.(*Tensor)
	if !ok {
		return nil, fmt.Errorf("%T is not a cpu tensor", t)
	}
	return ct, nil
}
