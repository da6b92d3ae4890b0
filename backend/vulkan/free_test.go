package vulkan

import (
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// TestFree: freeing a tensor gives its device memory back, sharded ones
// included, and the tensor cannot be used afterwards.
func TestFree(t *testing.T) {
	b := gpuBackend(t)
	dev := b.Device()
	for _, tc := range []struct {
		name     string
		dt       backend.DType
		shape    []int
		maxBytes int64
	}{
		{"float", backend.F32, []int{3, 5, 7}, 0},
		{"sharded records", backend.U8, []int{13, backend.RecordSize}, 5 * backend.RecordSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.maxBytes > 0 {
				saved := b.maxBuffer
				b.maxBuffer = tc.maxBytes
				defer func() { b.maxBuffer = saved }()
			}
			before := dev.MemoryInUse()
			x, err := b.NewTensor(tc.dt, tc.shape...)
			if err != nil {
				t.Fatal(err)
			}
			if dev.MemoryInUse() <= before {
				t.Fatal("the tensor took no device memory")
			}
			if err := b.Free(x); err != nil {
				t.Fatal(err)
			}
			if got := dev.MemoryInUse(); got != before {
				t.Errorf("%d bytes in use after Free, %d before", got, before)
			}
			var data any = make([]float32, x.Len())
			if tc.dt == backend.U8 {
				data = make([]uint8, x.Len())
			}
			if err := b.Upload(x, data); err == nil {
				t.Error("upload into a freed tensor succeeded")
			}
		})
	}
}
