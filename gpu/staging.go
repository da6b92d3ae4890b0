package gpu

/*
#include "support.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Uploads and downloads go through two host-visible buffers, each mapped for
// the life of the device, in memory chosen for its direction. On a discrete
// GPU the first HOST_VISIBLE|HOST_COHERENT memory type is write-combined
// system memory: fast for the host to write, but every host read of it is
// uncached, so copying a download out of it crawls. Downloads therefore
// prefer HOST_CACHED memory, which is coherent on most devices; where it is
// not, the host invalidates the mapping before reading it.

// stagingBuffer is host-visible memory mapped for the life of the device.
type stagingBuffer struct {
	handle   vk.Buffer
	memory   vk.DeviceMemory
	ptr      unsafe.Pointer
	size     int64
	coherent bool // else invalidate before reading what the device wrote
}

func (s *stagingBuffer) bytes(n int) []byte { return unsafe.Slice((*byte)(s.ptr), n) }

func (s *stagingBuffer) destroy(d *Device) {
	vk.UnmapMemory(d.handle, s.memory)
	vk.DestroyBuffer(d.handle, s.handle, nil)
	vk.FreeMemory(d.handle, s.memory, nil)
}

// invalidate makes what the device copied into s visible to the host, where
// its memory is not coherent (or a test forces the call).
func (s *stagingBuffer) invalidate(d *Device) error {
	if s.coherent && !d.forceInvalidate {
		return nil
	}
	r := C.vkcnn_invalidate(unsafe.Pointer(d.inst.handle), unsafe.Pointer(d.handle), handle(unsafe.Pointer(s.memory)))
	return check("vkInvalidateMappedMemoryRanges", vk.Result(r))
}

const (
	hostVisible  = vk.MemoryPropertyHostVisibleBit
	hostCoherent = vk.MemoryPropertyHostCoherentBit
	hostCached   = vk.MemoryPropertyHostCachedBit
)

// Memory properties wanted for each direction, best first. Vulkan
// guarantees a HOST_VISIBLE|HOST_COHERENT type, so both lists end in one.
var (
	uploadMemory   = []vk.MemoryPropertyFlagBits{hostVisible | hostCoherent}
	downloadMemory = []vk.MemoryPropertyFlagBits{hostVisible | hostCached | hostCoherent, hostVisible | hostCached, hostVisible | hostCoherent}
)

// pickMemoryType returns the first memory type, among those allowed (a bit
// per type index) and of the given property flags, that has all the
// properties of the earliest entry of prefs that any of them has.
func pickMemoryType(types []vk.MemoryPropertyFlags, allowed uint32, prefs []vk.MemoryPropertyFlagBits) (index uint32, props vk.MemoryPropertyFlags, ok bool) {
	for _, want := range prefs {
		w := vk.MemoryPropertyFlags(want)
		for i, t := range types {
			if allowed&(1<<i) != 0 && t&w == w {
				return uint32(i), t, true
			}
		}
	}
	return 0, 0, false
}

// memoryTypes lists the property flags of the device's memory types.
func memoryTypes(pd vk.PhysicalDevice) []vk.MemoryPropertyFlags {
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	defer mp.Free() // vulkan-go's C copy, read by the Derefs
	mp.Deref()
	types := make([]vk.MemoryPropertyFlags, mp.MemoryTypeCount)
	for i := range types {
		t := mp.MemoryTypes[i]
		t.Deref()
		types[i] = t.PropertyFlags
	}
	return types
}

// stagingFor returns the upload or download staging buffer, grown to at
// least n bytes.
func (d *Device) stagingFor(n int64, download bool) (*stagingBuffer, error) {
	slot, prefs := &d.staging, uploadMemory
	if download {
		slot, prefs = &d.readback, downloadMemory
	}
	if *slot != nil && (*slot).size >= n {
		return *slot, nil
	}
	size := int64(1 << 20)
	for size < n {
		size *= 2
	}
	if *slot != nil {
		(*slot).destroy(d)
		*slot = nil
	}
	s, err := d.newStaging(size, prefs)
	if err != nil {
		return nil, err
	}
	*slot = s
	return s, nil
}

// newStaging creates a mapped buffer of size bytes in the first memory type
// that has the properties of one of prefs.
func (d *Device) newStaging(size int64, prefs []vk.MemoryPropertyFlagBits) (*stagingBuffer, error) {
	info := &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit),
		SharingMode: vk.SharingModeExclusive,
	}
	var (
		buf    vk.Buffer
		memory vk.DeviceMemory
		ptr    unsafe.Pointer
	)
	r := vk.CreateBuffer(d.handle, info, nil, &buf)
	info.Free()
	if err := check("vkCreateBuffer", r); err != nil {
		return nil, err
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(d.handle, buf, &req)
	req.Deref()
	typeIndex, props, ok := pickMemoryType(memoryTypes(d.physical), req.MemoryTypeBits, prefs)
	if !ok {
		vk.DestroyBuffer(d.handle, buf, nil)
		return nil, fmt.Errorf("staging memory: no host-visible memory type among 0x%x (a driver bug: Vulkan guarantees one)", req.MemoryTypeBits)
	}
	ainfo := &vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: typeIndex,
	}
	r = vk.AllocateMemory(d.handle, ainfo, nil, &memory)
	ainfo.Free()
	if err := check("vkAllocateMemory", r); err != nil {
		vk.DestroyBuffer(d.handle, buf, nil)
		return nil, fmt.Errorf("staging memory of %d MiB: %w", size>>20, err)
	}
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(d.handle, buf, memory, 0)); err != nil {
		vk.DestroyBuffer(d.handle, buf, nil)
		vk.FreeMemory(d.handle, memory, nil)
		return nil, err
	}
	if err := check("vkMapMemory", vk.MapMemory(d.handle, memory, 0, vk.DeviceSize(vk.WholeSize), 0, &ptr)); err != nil {
		vk.DestroyBuffer(d.handle, buf, nil)
		vk.FreeMemory(d.handle, memory, nil)
		return nil, err
	}
	return &stagingBuffer{
		handle: buf, memory: memory, ptr: ptr, size: size,
		coherent: props&vk.MemoryPropertyFlags(hostCoherent) != 0,
	}, nil
}
