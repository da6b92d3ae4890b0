package vulkan

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/gpu"
)

// The harness runs an op on the CPU reference and on the Vulkan backend from
// the same random inputs and compares the outputs. GPU outputs start as NaN
// (or all ones for integers), so an element the kernel never writes fails.

var shared struct {
	b   *Backend
	err error
}

// TestMain opens one validated device for the whole package: pipelines
// compile once, and the device closes (checking validation) at the end.
func TestMain(m *testing.M) {
	shared.b, shared.err = New(gpu.Options{Index: -1, Validate: true})
	code := m.Run()
	if shared.b != nil {
		if err := shared.b.Close(); err != nil {
			println("closing the device:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

func gpuBackend(t testing.TB) *Backend {
	t.Helper()
	if shared.err != nil {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", shared.err)
		}
		t.Skipf("no Vulkan device to test on (install mesa-vulkan-drivers and vulkan-validationlayers): %v", shared.err)
	}
	return shared.b
}

// pair is one tensor on both backends.
type pair struct {
	cpu, gpu backend.Tensor
}

// side picks one backend's tensor of a pair.
type side func(pair) backend.Tensor

type harness struct {
	t        testing.TB
	cpu, gpu backend.Backend
	rng      *rand.Rand
}

func newHarness(t testing.TB) *harness {
	g := gpuBackend(t)
	return &harness{t: t, cpu: cpu.New(), gpu: g, rng: rand.New(rand.NewPCG(1, uint64(len(t.Name()))))}
}

func (h *harness) alloc(dt backend.DType, shape []int) pair {
	h.t.Helper()
	c, err := h.cpu.NewTensor(dt, shape...)
	if err != nil {
		h.t.Fatal(err)
	}
	g, err := h.gpu.NewTensor(dt, shape...)
	if err != nil {
		h.t.Fatal(err)
	}
	return pair{c, g}
}

func (h *harness) upload(p pair, data any) {
	h.t.Helper()
	if err := h.cpu.Upload(p.cpu, data); err != nil {
		h.t.Fatal(err)
	}
	if err := h.gpu.Upload(p.gpu, data); err != nil {
		h.t.Fatal(err)
	}
}

// input is a float tensor of uniform values in [-1, 1), never all zero.
func (h *harness) input(shape ...int) pair {
	p := h.alloc(backend.F32, shape)
	v := make([]float32, p.cpu.Len())
	for i := range v {
		v[i] = h.rng.Float32()*2 - 1
	}
	h.upload(p, v)
	return p
}

// inputValues is a float tensor holding v.
func (h *harness) inputValues(v []float32, shape ...int) pair {
	p := h.alloc(backend.F32, shape)
	h.upload(p, v)
	return p
}

// inputU32 is a uint32 tensor of values in [0, limit).
func (h *harness) inputU32(limit uint32, shape ...int) pair {
	p := h.alloc(backend.U32, shape)
	v := make([]uint32, p.cpu.Len())
	for i := range v {
		v[i] = h.rng.Uint32N(limit)
	}
	h.upload(p, v)
	return p
}

// inputU8 is a uint8 tensor holding v.
func (h *harness) inputU8(v []uint8, shape ...int) pair {
	p := h.alloc(backend.U8, shape)
	h.upload(p, v)
	return p
}

// output is a tensor the op overwrites: NaN (or 0xffffffff) on the GPU.
func (h *harness) output(dt backend.DType, shape ...int) pair {
	p := h.alloc(dt, shape)
	switch dt {
	case backend.F32:
		v := make([]float32, p.cpu.Len())
		for i := range v {
			v[i] = float32(math.NaN())
		}
		h.upload(p, v)
	case backend.U32:
		v := make([]uint32, p.cpu.Len())
		for i := range v {
			v[i] = math.MaxUint32
		}
		h.upload(p, v)
	}
	return p
}

// run records the ops on both backends and runs them times times.
func (h *harness) run(times int, record func(o backend.Ops, s side)) {
	h.t.Helper()
	for i, b := range []backend.Backend{h.cpu, h.gpu} {
		p := b.NewProgram()
		pick := func(x pair) backend.Tensor {
			if i == 0 {
				return x.cpu
			}
			return x.gpu
		}
		record(p, pick)
		if err := p.Run(times); err != nil {
			h.t.Fatalf("%s: %v", b.Name(), err)
		}
		p.Close()
	}
}

func (h *harness) floats(b backend.Backend, t backend.Tensor) []float32 {
	h.t.Helper()
	v := make([]float32, t.Len())
	if err := b.Download(t, v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *harness) uints(b backend.Backend, t backend.Tensor) []uint32 {
	h.t.Helper()
	v := make([]uint32, t.Len())
	if err := b.Download(t, v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

// close reports the relative error ||gpu-cpu|| / ||cpu|| of a float output
// and fails above tol or on any NaN.
func (h *harness) close(name string, p pair, tol float64) {
	h.t.Helper()
	want := h.floats(h.cpu, p.cpu)
	got := h.floats(h.gpu, p.gpu)
	var diff, norm float64
	for i := range want {
		if math.IsNaN(float64(got[i])) || math.IsInf(float64(got[i]), 0) {
			h.t.Fatalf("%s: element %d is %v on the GPU (reference %v): not written?", name, i, got[i], want[i])
		}
		d := float64(got[i] - want[i])
		diff += d * d
		norm += float64(want[i]) * float64(want[i])
	}
	rel := math.Sqrt(diff / norm)
	if norm == 0 {
		rel = math.Sqrt(diff)
	}
	if !(rel <= tol) {
		h.t.Errorf("%s: relative error %.3g > %.3g", name, rel, tol)
	}
}

// same fails unless a uint32 output is identical on both backends.
func (h *harness) same(name string, p pair) {
	h.t.Helper()
	want := h.uints(h.cpu, p.cpu)
	got := h.uints(h.gpu, p.gpu)
	for i := range want {
		if got[i] != want[i] {
			h.t.Fatalf("%s: element %d is %d on the GPU, %d on the CPU", name, i, got[i], want[i])
		}
	}
}

// Tolerances of the issue: elementwise ops, and GEMMs, convolutions and reductions.
const (
	tolElementwise = 1e-5
	tolReduction   = 1e-4
)
