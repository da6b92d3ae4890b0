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
}

// New opens a device (see gpu.Options) and returns a backend on it.
func New(o gpu.Options) (*Backend, error) {
	dev, err := gpu.Open(o)
	if err != nil {
		return nil, err
	}
	b := NewOn(dev)
	b.owned = true
	return b, nil
}

// NewOn returns a backend on an open device, which the caller keeps and closes.
func NewOn(dev *gpu.Device) *Backend {
	return &Backend{dev: dev, kernels: map[string]*gpu.Kernel{}, maxBuffer: int64(dev.Info().MaxStorageBufferRange)}
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
