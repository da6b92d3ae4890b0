package gpu

import (
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// blockSize is how much device memory one vkAllocateMemory takes; buffers are
// carved out of blocks because some drivers allow as few as 4096 allocations.
const blockSize = 256 << 20

// allocator sub-allocates device-local memory from large blocks, first fit,
// merging neighbouring free ranges when a range is released.
type allocator struct {
	d      *Device
	blocks []*block
	peak   int64 // the most bytes in use at once
}

type block struct {
	memory   vk.DeviceMemory
	typeBits uint32 // memory type index of this block
	size     uint64
	free     []span // sorted by offset, never adjacent
}

type span struct{ offset, size uint64 }

// allocation is one range of one block.
type allocation struct {
	block *block
	span
}

func newAllocator(d *Device) *allocator { return &allocator{d: d} }

// alloc returns a range that satisfies req in device-local memory.
func (a *allocator) alloc(req vk.MemoryRequirements) (allocation, error) {
	x, err := a.take(req)
	if err == nil {
		a.peak = max(a.peak, a.inUse())
	}
	return x, err
}

// take finds or makes room for req.
func (a *allocator) take(req vk.MemoryRequirements) (allocation, error) {
	typeIndex, err := memoryType(a.d.physical, req.MemoryTypeBits, vk.MemoryPropertyDeviceLocalBit)
	if err != nil {
		return allocation{}, err
	}
	size, align := uint64(req.Size), uint64(req.Alignment)
	for _, b := range a.blocks {
		if b.typeBits != typeIndex {
			continue
		}
		if s, ok := b.take(size, align); ok {
			return allocation{b, s}, nil
		}
	}
	n := uint64(blockSize)
	if size > n {
		n = size
	}
	info := &vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  vk.DeviceSize(n),
		MemoryTypeIndex: typeIndex,
	}
	var mem vk.DeviceMemory
	r := vk.AllocateMemory(a.d.handle, info, nil, &mem)
	info.Free()
	if err := check("vkAllocateMemory", r); err != nil {
		return allocation{}, fmt.Errorf("allocating %d MiB of device memory: %w", n>>20, err)
	}
	b := &block{memory: mem, typeBits: typeIndex, size: n, free: []span{{0, n}}}
	a.blocks = append(a.blocks, b)
	s, _ := b.take(size, align)
	return allocation{b, s}, nil
}

// take carves size bytes aligned to align out of the first free span that fits.
func (b *block) take(size, align uint64) (span, bool) {
	for i, f := range b.free {
		start := (f.offset + align - 1) / align * align
		if start+size > f.offset+f.size {
			continue
		}
		var rest []span
		if start > f.offset {
			rest = append(rest, span{f.offset, start - f.offset})
		}
		if end := f.offset + f.size; start+size < end {
			rest = append(rest, span{start + size, end - start - size})
		}
		b.free = append(b.free[:i], append(rest, b.free[i+1:]...)...)
		return span{start, size}, true
	}
	return span{}, false
}

// release returns a range to its block.
func (a *allocator) release(x allocation) {
	b := x.block
	i := 0
	for i < len(b.free) && b.free[i].offset < x.offset {
		i++
	}
	b.free = append(b.free[:i], append([]span{x.span}, b.free[i:]...)...)
	// Merge with the right neighbour, then the left one.
	if i+1 < len(b.free) && b.free[i].offset+b.free[i].size == b.free[i+1].offset {
		b.free[i].size += b.free[i+1].size
		b.free = append(b.free[:i+1], b.free[i+2:]...)
	}
	if i > 0 && b.free[i-1].offset+b.free[i-1].size == b.free[i].offset {
		b.free[i-1].size += b.free[i].size
		b.free = append(b.free[:i], b.free[i+1:]...)
	}
}

// inUse is how many bytes of the blocks are allocated.
func (a *allocator) inUse() int64 {
	var n int64
	for _, b := range a.blocks {
		n += int64(b.size)
		for _, f := range b.free {
			n -= int64(f.size)
		}
	}
	return n
}

func (a *allocator) destroy() {
	for _, b := range a.blocks {
		vk.FreeMemory(a.d.handle, b.memory, nil)
	}
	a.blocks = nil
}

// memoryType finds a memory type allowed by typeBits with the wanted properties.
func memoryType(pd vk.PhysicalDevice, typeBits uint32, want vk.MemoryPropertyFlagBits) (uint32, error) {
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	defer mp.Free() // vulkan-go's C copy, read by the Derefs
	mp.Deref()
	for i := uint32(0); i < mp.MemoryTypeCount; i++ {
		t := mp.MemoryTypes[i]
		t.Deref()
		if typeBits&(1<<i) != 0 && t.PropertyFlags&vk.MemoryPropertyFlags(want) == vk.MemoryPropertyFlags(want) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no memory type with properties 0x%x among 0x%x", want, typeBits)
}
