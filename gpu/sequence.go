package gpu

/*
#include "shim.h"
#include <stdlib.h>

// vkcnn_write_descriptor_ranges binds buffers[i] from byte offsets[i], for
// sizes[i] bytes, to binding i of set: a tensor that is part of a larger
// buffer (parameters packed for one optimizer dispatch) seen by a shader as
// if it were the whole. The structures are Vulkan 1.0's
// VkDescriptorBufferInfo and VkWriteDescriptorSet.
static int vkcnn_write_descriptor_ranges(void *instance, void *device, uint64_t set, const uint64_t *buffers,
                                         const uint64_t *offsets, const uint64_t *sizes, uint32_t n) {
	typedef struct {
		uint64_t buffer, offset, range;
	} info_t;
	typedef struct {
		uint32_t sType;
		const void *pNext;
		uint64_t dstSet;
		uint32_t dstBinding, dstArrayElement, descriptorCount, descriptorType;
		const void *pImageInfo;
		const info_t *pBufferInfo;
		const void *pTexelBufferView;
	} write_t;
	typedef void (*fn_t)(void *, uint32_t, const write_t *, uint32_t, const void *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkUpdateDescriptorSets");
	if (fn == NULL) {
		return -3; // VK_ERROR_INITIALIZATION_FAILED
	}
	info_t *infos = calloc(n == 0 ? 1 : n, sizeof *infos);
	write_t *writes = calloc(n == 0 ? 1 : n, sizeof *writes);
	if (infos == NULL || writes == NULL) {
		free(infos);
		free(writes);
		return -1; // VK_ERROR_OUT_OF_HOST_MEMORY
	}
	for (uint32_t i = 0; i < n; i++) {
		infos[i] = (info_t){buffers[i], offsets[i], sizes[i]};
		writes[i].sType = 35;         // VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
		writes[i].dstSet = set;
		writes[i].dstBinding = i;
		writes[i].descriptorCount = 1;
		writes[i].descriptorType = 7; // VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
		writes[i].pBufferInfo = &infos[i];
	}
	fn(device, n, writes, 0, NULL);
	free(infos);
	free(writes);
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Sequence is a recorded list of dispatches and copies that can be run many
// times. Recording places a buffer memory barrier before a command only where
// it touches a buffer that an earlier command of the sequence wrote (or writes
// one that an earlier command read), so independent dispatches overlap.
type Sequence struct {
	d     *Device
	cb    vk.CommandBuffer
	pools []vk.DescriptorPool
	left  int // descriptor sets left in the newest pool

	queries    vk.QueryPool
	timestamps int

	written map[vk.Buffer]bool // since the last barrier
	read    map[vk.Buffer]bool
	ended   bool
	err     error

	// dispatches and barriers count what one run records, for measuring
	// what fusion saves (barriers: the hazard barriers between commands,
	// not the one that opens every recording).
	dispatches, barriers int
}

// setsPerPool is how many dispatches one descriptor pool serves.
const setsPerPool = 256

// maxBindings bounds the storage buffers one kernel may bind.
const maxBindings = 16

// maxTimestamps bounds the timestamps one sequence may write.
const maxTimestamps = 1024

// NewSequence starts recording a sequence.
func (d *Device) NewSequence() (*Sequence, error) {
	cb, err := d.allocateCommandBuffer()
	if err != nil {
		return nil, err
	}
	s := &Sequence{d: d, cb: cb, written: map[vk.Buffer]bool{}, read: map[vk.Buffer]bool{}}
	// Several copies of the recording run back to back in one submit.
	if err := begin(cb, vk.CommandBufferUsageSimultaneousUseBit); err != nil {
		vk.FreeCommandBuffers(d.handle, d.pool, 1, []vk.CommandBuffer{cb})
		return nil, err
	}
	// Order this run after whatever ran before it on the queue: uploads, an
	// earlier run of this recording, other sequences.
	if err := d.memoryBarrier(cb, computeOrTransfer, anyWrite, computeOrTransfer, anyAccess); err != nil {
		vk.FreeCommandBuffers(d.handle, d.pool, 1, []vk.CommandBuffer{cb})
		return nil, err
	}
	d.sequences[s] = struct{}{}
	return s, nil
}

const (
	computeOrTransfer = vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit
	anyWrite          = vk.AccessShaderWriteBit | vk.AccessTransferWriteBit
	anyAccess         = vk.AccessShaderReadBit | vk.AccessShaderWriteBit | vk.AccessTransferReadBit | vk.AccessTransferWriteBit
)

// Err is the first recording error, which Run also returns.
func (s *Sequence) Err() error { return s.err }

func (s *Sequence) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

func (s *Sequence) recording(what string) bool {
	if s.err != nil {
		return false
	}
	if s.ended {
		s.fail(fmt.Errorf("%s: the sequence has already run; record a new one", what))
		return false
	}
	return true
}

// use notes that the next command reads and writes these buffers, and
// records a barrier first when it depends on an earlier command.
func (s *Sequence) use(reads, writes []vk.Buffer) error {
	hazard := false
	for _, b := range reads {
		hazard = hazard || s.written[b]
	}
	for _, b := range writes {
		hazard = hazard || s.written[b] || s.read[b]
	}
	if hazard {
		buffers := make([]C.uint64_t, 0, len(s.written))
		for b := range s.written {
			buffers = append(buffers, handle(unsafe.Pointer(b)))
		}
		// An execution dependency orders every earlier command, which is
		// all a write-after-read needs; the buffer barriers make the writes
		// visible.
		r := C.vkcnn_cmd_buffer_barriers(unsafe.Pointer(s.d.inst.handle), unsafe.Pointer(s.cb), C.uint32_t(computeOrTransfer), C.uint32_t(computeOrTransfer),
			C.uint32_t(anyWrite), C.uint32_t(anyAccess), unsafe.SliceData(buffers), C.uint32_t(len(buffers)))
		if err := check("vkCmdPipelineBarrier", vk.Result(r)); err != nil {
			return err
		}
		s.barriers++
		clear(s.written)
		clear(s.read)
	}
	for _, b := range reads {
		s.read[b] = true
	}
	for _, b := range writes {
		s.written[b] = true
	}
	return nil
}

// Dispatch records k over groups workgroups with the given push constants
// (len must be the kernel's PushSize) and buffers (one per binding).
func (s *Sequence) Dispatch(k *Kernel, groups [3]uint32, push []byte, buffers ...*Buffer) error {
	return s.dispatch(k, groups, push, buffers, nil)
}

// Range is part of a buffer: Size bytes from byte Offset, which must be a
// multiple of the device's MinStorageBufferAlign.
type Range struct {
	Buffer       *Buffer
	Offset, Size int64
}

// DispatchRanges is Dispatch with each binding given a part of a buffer,
// which the kernel sees as if it were the whole. Hazards are still tracked
// per buffer: a command touching one part waits for a command that wrote
// another part of the same buffer (never wrong, sometimes a barrier more).
func (s *Sequence) DispatchRanges(k *Kernel, groups [3]uint32, push []byte, ranges ...Range) error {
	buffers := make([]*Buffer, len(ranges))
	for i, r := range ranges {
		buffers[i] = r.Buffer
		if r.Buffer == nil {
			continue // reported by dispatch
		}
		align := int64(max(1, s.d.info.MinStorageBufferAlign))
		if r.Offset < 0 || r.Size <= 0 || r.Offset+r.Size > r.Buffer.size || r.Offset%align != 0 {
			return s.fail(fmt.Errorf("dispatch %s: binding %d: %d bytes at offset %d of a %d-byte buffer (offsets must be multiples of %d)",
				k.desc.Name, i, r.Size, r.Offset, r.Buffer.size, align))
		}
	}
	return s.dispatch(k, groups, push, buffers, ranges)
}

func (s *Sequence) dispatch(k *Kernel, groups [3]uint32, push []byte, buffers []*Buffer, ranges []Range) error {
	if !s.recording("dispatch " + k.desc.Name) {
		return s.err
	}
	if len(buffers) != len(k.desc.Bindings) {
		return s.fail(fmt.Errorf("dispatch %s: %d buffers for %d bindings", k.desc.Name, len(buffers), len(k.desc.Bindings)))
	}
	if len(push) != k.desc.PushSize {
		return s.fail(fmt.Errorf("dispatch %s: %d bytes of push constants, want %d", k.desc.Name, len(push), k.desc.PushSize))
	}
	for i, g := range groups {
		if g == 0 || g > s.d.info.MaxWorkgroupCount[i] {
			return s.fail(fmt.Errorf("dispatch %s: %d workgroups in dimension %d (the device allows 1-%d)", k.desc.Name, g, i, s.d.info.MaxWorkgroupCount[i]))
		}
	}
	var reads, writes []vk.Buffer
	for i, b := range buffers {
		if b == nil || b.handle == vk.NullBuffer {
			return s.fail(fmt.Errorf("dispatch %s: binding %d has no buffer", k.desc.Name, i))
		}
		if k.desc.Bindings[i] != Write {
			reads = append(reads, b.handle)
		}
		if k.desc.Bindings[i] != Read {
			writes = append(writes, b.handle)
		}
	}
	set, err := s.descriptorSet(k, buffers, ranges)
	if err != nil {
		return s.fail(fmt.Errorf("dispatch %s: %w", k.desc.Name, err))
	}
	if err := s.use(reads, writes); err != nil {
		return s.fail(fmt.Errorf("dispatch %s: %w", k.desc.Name, err))
	}
	vk.CmdBindPipeline(s.cb, vk.PipelineBindPointCompute, k.pipeline)
	vk.CmdBindDescriptorSets(s.cb, vk.PipelineBindPointCompute, k.layout, 0, 1, []vk.DescriptorSet{set}, 0, nil)
	if len(push) > 0 {
		vk.CmdPushConstants(s.cb, k.layout, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, uint32(len(push)), unsafe.Pointer(&push[0]))
	}
	vk.CmdDispatch(s.cb, groups[0], groups[1], groups[2])
	s.dispatches++
	return nil
}

// Counts returns how many dispatches and hazard barriers the recording
// holds: the cost of one run in commands, which bounds a small model's
// step on a GPU more than its arithmetic does.
func (s *Sequence) Counts() (dispatches, barriers int) { return s.dispatches, s.barriers }

func (s *Sequence) descriptorSet(k *Kernel, buffers []*Buffer, ranges []Range) (vk.DescriptorSet, error) {
	if len(buffers) > maxBindings {
		return nil, fmt.Errorf("%d bindings, at most %d", len(buffers), maxBindings)
	}
	if s.left == 0 {
		var pool vk.DescriptorPool
		r := vk.Result(C.vkcnn_create_descriptor_pool(unsafe.Pointer(s.d.inst.handle), unsafe.Pointer(s.d.handle), setsPerPool, maxBindings, (*C.uint64_t)(unsafe.Pointer(&pool))))
		if err := check("vkCreateDescriptorPool", r); err != nil {
			return nil, err
		}
		s.pools = append(s.pools, pool)
		s.left = setsPerPool
	}
	ainfo := &vk.DescriptorSetAllocateInfo{
		SType:              vk.StructureTypeDescriptorSetAllocateInfo,
		DescriptorPool:     s.pools[len(s.pools)-1],
		DescriptorSetCount: 1,
		PSetLayouts:        []vk.DescriptorSetLayout{k.setLayout},
	}
	var set vk.DescriptorSet
	r := vk.AllocateDescriptorSets(s.d.handle, ainfo, &set)
	ainfo.Free()
	if err := check("vkAllocateDescriptorSets", r); err != nil {
		return nil, err
	}
	s.left--
	handles := make([]C.uint64_t, len(buffers))
	for i, b := range buffers {
		handles[i] = handle(unsafe.Pointer(b.handle))
	}
	if ranges != nil {
		offsets, sizes := make([]C.uint64_t, len(ranges)), make([]C.uint64_t, len(ranges))
		for i, r := range ranges {
			offsets[i], sizes[i] = C.uint64_t(r.Offset), C.uint64_t(r.Size)
		}
		r := vk.Result(C.vkcnn_write_descriptor_ranges(unsafe.Pointer(s.d.inst.handle), unsafe.Pointer(s.d.handle), handle(unsafe.Pointer(set)),
			unsafe.SliceData(handles), unsafe.SliceData(offsets), unsafe.SliceData(sizes), C.uint32_t(len(handles))))
		if r != vk.Success {
			return nil, check("vkUpdateDescriptorSets", r)
		}
		return set, nil
	}
	if r := vk.Result(C.vkcnn_write_descriptors(unsafe.Pointer(s.d.inst.handle), unsafe.Pointer(s.d.handle), handle(unsafe.Pointer(set)), unsafe.SliceData(handles), C.uint32_t(len(handles)))); r != vk.Success {
		return nil, check("vkUpdateDescriptorSets", r)
	}
	return set, nil
}

// Fill records setting every 32-bit word of b to value.
func (s *Sequence) Fill(b *Buffer, value uint32) error {
	if !s.recording("fill") {
		return s.err
	}
	if err := s.use(nil, []vk.Buffer{b.handle}); err != nil {
		return s.fail(fmt.Errorf("fill: %w", err))
	}
	vk.CmdFillBuffer(s.cb, b.handle, 0, vk.DeviceSize(vk.WholeSize), value)
	return nil
}

// Copy records copying n bytes from src to dst, both at offset 0.
func (s *Sequence) Copy(src, dst *Buffer, n int64) error {
	if !s.recording("copy") {
		return s.err
	}
	if n <= 0 || n > src.size || n > dst.size {
		return s.fail(fmt.Errorf("copy of %d bytes between buffers of %d and %d bytes", n, src.size, dst.size))
	}
	if err := s.use([]vk.Buffer{src.handle}, []vk.Buffer{dst.handle}); err != nil {
		return s.fail(fmt.Errorf("copy: %w", err))
	}
	r := C.vkcnn_cmd_copy(unsafe.Pointer(s.d.inst.handle), unsafe.Pointer(s.cb), handle(unsafe.Pointer(src.handle)), 0, handle(unsafe.Pointer(dst.handle)), 0, C.uint64_t(n))
	if err := check("vkCmdCopyBuffer", vk.Result(r)); err != nil {
		return s.fail(fmt.Errorf("copy: %w", err))
	}
	return nil
}

// Timestamp records a timestamp once every earlier command has finished and
// returns its number, for Times after a run. On a queue without timestamps
// it returns ErrNoTimestamps, and the sequence records on.
func (s *Sequence) Timestamp() (int, error) {
	if !s.recording("timestamp") {
		return 0, s.err
	}
	if s.d.info.TimestampValidBits == 0 {
		return 0, ErrNoTimestamps
	}
	if s.queries == vk.NullQueryPool {
		info := &vk.QueryPoolCreateInfo{
			SType:      vk.StructureTypeQueryPoolCreateInfo,
			QueryType:  vk.QueryTypeTimestamp,
			QueryCount: maxTimestamps,
		}
		var queries vk.QueryPool
		r := vk.CreateQueryPool(s.d.handle, info, nil, &queries)
		info.Free()
		s.queries = queries
		if err := check("vkCreateQueryPool", r); err != nil {
			return 0, s.fail(err)
		}
		vk.CmdResetQueryPool(s.cb, s.queries, 0, maxTimestamps)
	}
	if s.timestamps == maxTimestamps {
		return 0, s.fail(fmt.Errorf("more than %d timestamps in one sequence", maxTimestamps))
	}
	vk.CmdWriteTimestamp(s.cb, vk.PipelineStageBottomOfPipeBit, s.queries, uint32(s.timestamps))
	s.timestamps++
	return s.timestamps - 1, nil
}

// Run submits the recording times times back to back and waits for the
// last. The first Run ends recording. Keep one Run to well under a second of
// device work: some drivers reset a device that runs one submit for ~2 s.
func (s *Sequence) Run(times int) error {
	if s.err != nil {
		return s.err
	}
	if times < 1 {
		return fmt.Errorf("run a sequence %d times: need at least 1", times)
	}
	if !s.ended {
		s.ended = true
		if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cb)); err != nil {
			return s.fail(err)
		}
		if err := s.d.validationError(); err != nil {
			return s.fail(fmt.Errorf("recording: %w", err))
		}
	}
	if s.timestamps > 0 && times > 1 {
		// Each copy would reset the queries the previous one wrote while
		// they may still be pending: time single runs.
		return fmt.Errorf("a sequence with timestamps runs one copy at a time, not %d", times)
	}
	return s.d.submit(s.cb, times)
}

// Times returns, for the last run, the nanoseconds from timestamp 0 to each
// timestamp: tick differences, modulo the queue's valid timestamp bits,
// times the device's timestampPeriod.
func (s *Sequence) Times() ([]float64, error) {
	if s.timestamps == 0 {
		return nil, nil
	}
	raw := make([]uint64, s.timestamps)
	r := vk.GetQueryPoolResults(s.d.handle, s.queries, 0, uint32(s.timestamps), uint(8*len(raw)), unsafe.Pointer(&raw[0]), 8,
		vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))
	if err := check("vkGetQueryPoolResults", r); err != nil {
		return nil, err
	}
	ns := make([]float64, len(raw))
	for i, t := range raw {
		ns[i] = float64(ticksSince(raw[0], t, s.d.info.TimestampValidBits)) * float64(s.d.info.TimestampPeriod)
	}
	return ns, nil
}

// Close frees the recording.
func (s *Sequence) Close() {
	h := s.d.handle
	if s.cb != nil {
		vk.FreeCommandBuffers(h, s.d.pool, 1, []vk.CommandBuffer{s.cb})
		s.cb = nil
	}
	for _, p := range s.pools {
		vk.DestroyDescriptorPool(h, p, nil)
	}
	s.pools = nil
	if s.queries != vk.NullQueryPool {
		vk.DestroyQueryPool(h, s.queries, nil)
		s.queries = vk.NullQueryPool
	}
	delete(s.d.sequences, s)
}
