package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Buffer is a storage buffer in device-local memory. Its contents are reached
// from the host through Write and Read, which go through staging buffers
// (staging.go).
type Buffer struct {
	d      *Device
	handle vk.Buffer
	mem    allocation
	size   int64
}

// NewBuffer allocates size bytes of device-local memory.
func (d *Device) NewBuffer(size int64) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("buffer of %d bytes: size must be positive", size)
	}
	if limit := int64(d.info.MaxStorageBufferRange); size > limit {
		return nil, fmt.Errorf("buffer of %d bytes is larger than this device's maxStorageBufferRange (%d bytes): use smaller tensors (e.g. a smaller batch)", size, limit)
	}
	h, mem, err := d.newBuffer(size, vk.BufferUsageStorageBufferBit|vk.BufferUsageTransferSrcBit|vk.BufferUsageTransferDstBit)
	if err != nil {
		return nil, err
	}
	b := &Buffer{d: d, handle: h, mem: mem, size: size}
	d.buffers[b] = struct{}{}
	return b, nil
}

func (d *Device) newBuffer(size int64, usage vk.BufferUsageFlagBits) (vk.Buffer, allocation, error) {
	info := &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(usage),
		SharingMode: vk.SharingModeExclusive,
	}
	var h vk.Buffer
	r := vk.CreateBuffer(d.handle, info, nil, &h)
	info.Free()
	if err := check("vkCreateBuffer", r); err != nil {
		return nil, allocation{}, fmt.Errorf("buffer of %d bytes: %w", size, err)
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(d.handle, h, &req)
	req.Deref()
	mem, err := d.memory.alloc(req)
	if err != nil {
		vk.DestroyBuffer(d.handle, h, nil)
		return nil, allocation{}, fmt.Errorf("buffer of %d bytes: %w", size, err)
	}
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(d.handle, h, mem.block.memory, vk.DeviceSize(mem.offset))); err != nil {
		d.memory.release(mem)
		vk.DestroyBuffer(d.handle, h, nil)
		return nil, allocation{}, err
	}
	return h, mem, nil
}

// MemoryInUse is how many bytes of device memory the device's buffers hold
// (staging memory aside): a figure for leak checks.
func (d *Device) MemoryInUse() int64 { return d.memory.inUse() }

// MemoryPeak is the most device memory the device's buffers have held at
// once since it opened: what a workload needs.
func (d *Device) MemoryPeak() int64 { return d.memory.peak }

// Size is the buffer's length in bytes.
func (b *Buffer) Size() int64 { return b.size }

// Close frees the buffer. A sequence that uses it must not run afterwards.
func (b *Buffer) Close() {
	if b.handle == vk.NullBuffer {
		return
	}
	vk.DestroyBuffer(b.d.handle, b.handle, nil)
	b.d.memory.release(b.mem)
	delete(b.d.buffers, b)
	b.handle = vk.NullBuffer
}

// stagingChunk bounds the staging buffer: bigger transfers go in pieces.
const stagingChunk = 64 << 20

// Write copies data into the buffer at byte offset.
func (b *Buffer) Write(offset int64, data []byte) error {
	if err := b.checkRange("write", offset, int64(len(data))); err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), stagingChunk)
		s, err := b.d.stagingFor(int64(n), false)
		if err != nil {
			return err
		}
		copy(s.bytes(n), data[:n])
		if err := b.d.copyBuffer(s.handle, 0, b.handle, offset, int64(n), false); err != nil {
			return fmt.Errorf("writing %d bytes to a buffer: %w", n, err)
		}
		data, offset = data[n:], offset+int64(n)
	}
	return nil
}

// Read copies len(dst) bytes at byte offset of the buffer into dst.
func (b *Buffer) Read(offset int64, dst []byte) error {
	if err := b.checkRange("read", offset, int64(len(dst))); err != nil {
		return err
	}
	for len(dst) > 0 {
		n := min(len(dst), stagingChunk)
		s, err := b.d.stagingFor(int64(n), true)
		if err != nil {
			return err
		}
		if err := b.d.copyBuffer(b.handle, offset, s.handle, 0, int64(n), true); err != nil {
			return fmt.Errorf("reading %d bytes from a buffer: %w", n, err)
		}
		if err := s.invalidate(b.d); err != nil {
			return fmt.Errorf("reading %d bytes from a buffer: %w", n, err)
		}
		copy(dst[:n], s.bytes(n))
		dst, offset = dst[n:], offset+int64(n)
	}
	return nil
}

func (b *Buffer) checkRange(op string, offset, n int64) error {
	if b.handle == vk.NullBuffer {
		return fmt.Errorf("%s: buffer is closed", op)
	}
	if offset < 0 || n < 0 || offset+n > b.size {
		return fmt.Errorf("%s of %d bytes at offset %d is outside the buffer's %d bytes", op, n, offset, b.size)
	}
	return nil
}

// copyBuffer copies n bytes between buffers on the queue and waits. Earlier
// dispatches and copies may have written either buffer, so a barrier orders
// the copy after them; toHost makes the result visible to the host.
func (d *Device) copyBuffer(src vk.Buffer, srcOffset int64, dst vk.Buffer, dstOffset int64, n int64, toHost bool) error {
	cb := d.transfer
	if err := check("vkResetCommandBuffer", vk.ResetCommandBuffer(cb, 0)); err != nil {
		return err
	}
	if err := begin(cb, vk.CommandBufferUsageOneTimeSubmitBit); err != nil {
		return err
	}
	err := d.memoryBarrier(cb,
		vk.PipelineStageComputeShaderBit|vk.PipelineStageTransferBit,
		vk.AccessShaderWriteBit|vk.AccessShaderReadBit|vk.AccessTransferWriteBit|vk.AccessTransferReadBit,
		vk.PipelineStageTransferBit,
		vk.AccessTransferReadBit|vk.AccessTransferWriteBit)
	if err != nil {
		return err
	}
	r := C.vkcnn_cmd_copy(unsafe.Pointer(d.inst.handle), unsafe.Pointer(cb), handle(unsafe.Pointer(src)), C.uint64_t(srcOffset), handle(unsafe.Pointer(dst)), C.uint64_t(dstOffset), C.uint64_t(n))
	if err := check("vkCmdCopyBuffer", vk.Result(r)); err != nil {
		return err
	}
	if toHost {
		if err := d.memoryBarrier(cb, vk.PipelineStageTransferBit, vk.AccessTransferWriteBit, vk.PipelineStageHostBit, vk.AccessHostReadBit); err != nil {
			return err
		}
	}
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(cb)); err != nil {
		return err
	}
	return d.submit(cb, 1)
}

func begin(cb vk.CommandBuffer, flags vk.CommandBufferUsageFlagBits) error {
	info := &vk.CommandBufferBeginInfo{
		SType: vk.StructureTypeCommandBufferBeginInfo,
		Flags: vk.CommandBufferUsageFlags(flags),
	}
	r := vk.BeginCommandBuffer(cb, info)
	info.Free() // the binding keeps a C copy of pointer arguments otherwise
	return check("vkBeginCommandBuffer", r)
}

// memoryBarrier records ordering all earlier accesses in src against later
// ones in dst.
func (d *Device) memoryBarrier(cb vk.CommandBuffer, srcStage vk.PipelineStageFlagBits, srcAccess vk.AccessFlagBits, dstStage vk.PipelineStageFlagBits, dstAccess vk.AccessFlagBits) error {
	r := C.vkcnn_cmd_memory_barrier(unsafe.Pointer(d.inst.handle), unsafe.Pointer(cb), C.uint32_t(srcStage), C.uint32_t(dstStage), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
	return check("vkCmdPipelineBarrier", vk.Result(r))
}
