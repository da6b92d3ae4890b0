// Package vulkan is the Vulkan implementation of backend.Backend: each op is
// a GLSL compute shader (package shaders) dispatched through package gpu, and
// a Program is one recorded gpu.Sequence, replayed by Run.
package vulkan

import (
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/shaders"
)

// Backend runs ops on one Vulkan device.
type Backend struct {
	dev     *gpu.Device
	kernels map[string]*gpu.Kernel // by name and specialization
	owned   bool                   // Close closes dev
	// maxBuffer is the largest buffer a U8 tensor is stored in before it
	// is split into shards: the device's maxStorageBufferRange, smaller in
	// tests so that sharding is tested without uploading 128 MiB.
	maxBuffer int64
	// local is the workgroup size of the element-wise kernels and of the
	// one-workgroup reductions, from the device's limits (elementLocalFor).
	local uint32
	// foldStep makes SGDPacked advance the step counters in its last
	// dispatch instead of a Step dispatch of its own: on a GPU, where a
	// dispatch and its barrier cost more than the fold's one barrier and
	// atomic per workgroup; not on CPU drivers, where a kernel holding a
	// barrier runs about twice as slowly (tests set it to test the fold).
	foldStep bool
}

// Requirements is what the shaders need of a device, beyond what Vulkan
// guarantees: New refuses a device that falls short, with a message naming
// each shortfall.
func Requirements() gpu.Requirements {
	r := gpu.Requirements{
		// The BatchNorm reductions and the GEMM's 16x16 tiles are 256
		// invocations wide.
		WorkgroupInvocations: 256,
		WorkgroupSizeX:       256,
		// Vulkan's minimum: the GEMM's shared tiles (about 8 KiB) and
		// Gather's lookup table (4 KiB) stay within it.
		SharedMemory: 16 << 10,
	}
	// The storage buffers and push constants come from the kernels
	// themselves: Gather binds the most buffers (8, where Vulkan
	// guarantees 4).
	for _, d := range kernelDescs {
		r.StorageBuffersPerStage = max(r.StorageBuffersPerStage, uint32(len(d.Bindings)))
		r.PushConstants = max(r.PushConstants, uint32(d.PushSize))
	}
	return r
}

// New opens a device (see gpu.Options) and returns a backend on it. Unless
// o.Require says otherwise, the device must meet Requirements.
func New(o gpu.Options) (*Backend, error) {
	if o.Require == (gpu.Requirements{}) {
		o.Require = Requirements()
	}
	dev, err := gpu.Open(o)
	if err != nil {
		return nil, err
	}
	b := NewOn(dev)
	b.owned = true
	return b, nil
}

// NewOn returns a backend on an open device, which the caller keeps and
// closes, and which should meet Requirements (see gpu.Options.Require).
func NewOn(dev *gpu.Device) *Backend {
	info := dev.Info()
	return &Backend{dev: dev, kernels: map[string]*gpu.Kernel{}, maxBuffer: int64(info.MaxStorageBufferRange), local: elementLocalFor(info),
		foldStep: info.Type.IsGPU()}
}

// Device is the device the backend runs on.
func (b *Backend) Device() *gpu.Device { return b.dev }

// Name is the device's name.
func (b *Backend) Name() string { return b.dev.Info().Name }

// MemoryPeak is the most device memory the backend's tensors have held at once.
func (b *Backend) MemoryPeak() int64 { return b.dev.MemoryPeak() }

// Close frees the backend's kernels, and the device if New opened it.
func (b *Backend) Close() error {
	for _, k := range b.kernels {
		k.Close()
	}
	clear(b.kernels)
	if b.owned {
		return b.dev.Close()
	}
	return nil
}

// kernelDesc is what the backend knows about each shader: its buffers'
// access modes and push-constant size. Op files register their shaders here.
var kernelDescs = map[string]gpu.KernelDesc{}

func register(name string, push int, bindings ...gpu.Access) {
	kernelDescs[name] = gpu.KernelDesc{Name: name, Bindings: bindings, PushSize: push}
}

// kernel returns the pipeline of shader name with these specialization
// constants, building it on first use.
func (b *Backend) kernel(name string, spec ...uint32) (*gpu.Kernel, error) {
	var key strings.Builder
	key.WriteString(name)
	for _, v := range spec {
		fmt.Fprintf(&key, ",%d", v)
	}
	if k, ok := b.kernels[key.String()]; ok {
		return k, nil
	}
	desc, ok := kernelDescs[name]
	if !ok {
		return nil, fmt.Errorf("kernel %s is not registered", name)
	}
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	desc.Spec = spec
	k, err := b.dev.NewKernel(code, desc)
	if err != nil {
		return nil, err
	}
	b.kernels[key.String()] = k
	return k, nil
}

// NewProgram starts recording a program.
func (b *Backend) NewProgram() backend.Program {
	p := &Program{b: b}
	p.seq, p.err = b.dev.NewSequence()
	return p
}
