package gpu

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Access says how a kernel uses one of its storage buffers; sequences place
// barriers from it.
type Access int

// Buffer accesses.
const (
	Read Access = iota
	Write
	ReadWrite
)

// KernelDesc describes a compute shader's interface.
type KernelDesc struct {
	// Name is used in error messages.
	Name string
	// Bindings lists the storage buffers at set 0, bindings 0, 1, ...
	Bindings []Access
	// PushSize is the size in bytes of the push-constant block (0 for none).
	PushSize int
	// Spec holds the values of specialization constants 0, 1, ... (as 32-bit
	// words; use math.Float32bits for floats): workgroup and tile sizes, baked shapes.
	Spec []uint32
}

// Kernel is a compute pipeline with its descriptor set layout.
type Kernel struct {
	d         *Device
	desc      KernelDesc
	module    vk.ShaderModule
	setLayout vk.DescriptorSetLayout
	layout    vk.PipelineLayout
	pipeline  vk.Pipeline
}

// spirvMagic starts every SPIR-V module.
const spirvMagic = 0x07230203

// NewKernel builds a compute pipeline from SPIR-V (entry point "main").
func (d *Device) NewKernel(spirv []byte, desc KernelDesc) (_ *Kernel, err error) {
	if len(spirv) < 20 || len(spirv)%4 != 0 || binary.LittleEndian.Uint32(spirv) != spirvMagic {
		return nil, fmt.Errorf("kernel %s: not a SPIR-V module (%d bytes, need a multiple of 4 starting with 0x07230203)", desc.Name, len(spirv))
	}
	if desc.PushSize > int(d.info.MaxPushConstantsSize) || desc.PushSize%4 != 0 {
		return nil, fmt.Errorf("kernel %s: push constants of %d bytes (this device allows %d, in multiples of 4)", desc.Name, desc.PushSize, d.info.MaxPushConstantsSize)
	}
	k := &Kernel{d: d, desc: desc}
	defer func() {
		if err != nil {
			k.Close()
		}
	}()
	code := make([]uint32, len(spirv)/4)
	for i := range code {
		code[i] = binary.LittleEndian.Uint32(spirv[4*i:])
	}
	minfo := &vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(spirv)),
		PCode:    code,
	}
	// Handles are created into locals: cgo refuses a pointer into a Go
	// struct that holds other Go pointers.
	var module vk.ShaderModule
	r := vk.CreateShaderModule(d.handle, minfo, nil, &module)
	minfo.Free()
	k.module = module
	if err := k.check("vkCreateShaderModule", r); err != nil {
		return nil, err
	}

	in, dev := unsafe.Pointer(d.inst.handle), unsafe.Pointer(d.handle)
	// Non-dispatchable handles are 64-bit values that vulkan-go types as
	// pointers; the shim writes new ones straight into a variable of the
	// handle's type.
	var setLayout vk.DescriptorSetLayout
	r = vk.Result(C.vkcnn_create_set_layout(in, dev, C.uint32_t(len(desc.Bindings)), (*C.uint64_t)(unsafe.Pointer(&setLayout))))
	k.setLayout = setLayout
	if err := k.check("vkCreateDescriptorSetLayout", r); err != nil {
		return nil, err
	}
	var layout vk.PipelineLayout
	r = vk.Result(C.vkcnn_create_pipeline_layout(in, dev, handle(unsafe.Pointer(setLayout)), C.uint32_t(desc.PushSize), (*C.uint64_t)(unsafe.Pointer(&layout))))
	k.layout = layout
	if err := k.check("vkCreatePipelineLayout", r); err != nil {
		return nil, err
	}

	// Made through the shim: vulkan-go may free its C copy of the
	// specialization info while the driver, compiling, still reads it.
	var spec unsafe.Pointer
	if len(desc.Spec) > 0 {
		spec = C.malloc(C.size_t(4 * len(desc.Spec)))
		defer C.free(spec)
		copy(unsafe.Slice((*uint32)(spec), len(desc.Spec)), desc.Spec)
	}
	var pipeline vk.Pipeline
	r = vk.Result(C.vkcnn_create_compute_pipeline(in, dev,
		handle(unsafe.Pointer(d.cache)), handle(unsafe.Pointer(k.module)), handle(unsafe.Pointer(k.layout)),
		(*C.uint32_t)(spec), C.uint32_t(len(desc.Spec)), (*C.uint64_t)(unsafe.Pointer(&pipeline))))
	if err := k.check("vkCreateComputePipelines", r); err != nil {
		return nil, err
	}
	k.pipeline = pipeline
	if err := d.validationError(); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", desc.Name, err)
	}
	d.kernels[k] = struct{}{}
	return k, nil
}

// handle passes a non-dispatchable Vulkan handle (a 64-bit value that
// vulkan-go types as a pointer) to the shim.
func handle(p unsafe.Pointer) C.uint64_t { return C.uint64_t(uintptr(p)) }

func (k *Kernel) check(call string, r vk.Result) error {
	if err := check(call, r); err != nil {
		return fmt.Errorf("kernel %s: %w", k.desc.Name, err)
	}
	return nil
}

// Name is the kernel's name from its description.
func (k *Kernel) Name() string { return k.desc.Name }

// Close destroys the pipeline. Sequences that dispatch it must not run afterwards.
func (k *Kernel) Close() {
	h := k.d.handle
	if k.pipeline != vk.NullPipeline {
		vk.DestroyPipeline(h, k.pipeline, nil)
	}
	if k.layout != vk.NullPipelineLayout {
		vk.DestroyPipelineLayout(h, k.layout, nil)
	}
	if k.setLayout != vk.NullDescriptorSetLayout {
		vk.DestroyDescriptorSetLayout(h, k.setLayout, nil)
	}
	if k.module != vk.NullShaderModule {
		vk.DestroyShaderModule(h, k.module, nil)
	}
	*k = Kernel{d: k.d, desc: k.desc}
	delete(k.d.kernels, k)
}
