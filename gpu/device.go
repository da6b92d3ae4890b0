package gpu

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// DeviceType is the kind of a physical device, in the order Open prefers them.
type DeviceType int

// Device types, as Vulkan reports them.
const (
	Other DeviceType = iota
	CPU
	VirtualGPU
	IntegratedGPU
	DiscreteGPU
)

func (t DeviceType) String() string {
	return [...]string{"other", "cpu", "virtual-gpu", "integrated-gpu", "discrete-gpu"}[t]
}

// IsGPU says whether the device is real graphics hardware (not a CPU driver).
func (t DeviceType) IsGPU() bool { return t == DiscreteGPU || t == IntegratedGPU || t == VirtualGPU }

// Heap is one memory heap of a device.
type Heap struct {
	Size        uint64
	DeviceLocal bool
}

// Info describes a physical device.
type Info struct {
	Index      int
	Name       string
	Type       DeviceType
	Driver     string
	APIVersion string
	API        uint32 // APIVersion as Version packs it
	Heaps      []Heap
	// Portability says the device is a non-conformant implementation such
	// as MoltenVK (it lists VK_KHR_portability_subset).
	Portability bool

	SubgroupSize             uint32
	MaxWorkgroupSize         [3]uint32
	MaxWorkgroupInvocations  uint32
	MaxWorkgroupCount        [3]uint32
	MaxSharedMemory          uint32
	MaxStorageBufferRange    uint32
	MaxPushConstantsSize     uint32
	MaxMemoryAllocationCount uint32
	MinStorageBufferAlign    uint64
	TimestampPeriod          float32 // nanoseconds per timestamp tick
	// TimestampValidBits is how many low bits of a timestamp count on the
	// compute queue Open takes; 0 means it has no timestamps.
	TimestampValidBits        uint32
	MaxStorageBuffersPerStage uint32
}

// DeviceLocalMemory is the total size of the device-local heaps.
func (i Info) DeviceLocalMemory() uint64 {
	var n uint64
	for _, h := range i.Heaps {
		if h.DeviceLocal {
			n += h.Size
		}
	}
	return n
}

// Options say which device Open takes and how.
type Options struct {
	// Index selects a device from Devices; negative means the best one
	// (discrete > integrated > virtual GPU > CPU, lowest index first).
	Index int
	// Validate enables VK_LAYER_KHRONOS_validation; a validation error then
	// makes the next operation fail. The environment variable
	// VKCNN_VALIDATE=1 turns it on as well.
	Validate bool
	// InstanceExtensions and DeviceExtensions are enabled besides those the
	// runtime needs: a window's surface extensions (VK_KHR_surface and the
	// window system's) and VK_KHR_swapchain, to present with NewSwapchain.
	InstanceExtensions, DeviceExtensions []string
	// WriteWithoutFormat enables shaderStorageImageWriteWithoutFormat where
	// the device has it, so that a Swapchain draws straight into images of
	// formats a shader cannot name, such as B8G8R8A8 (see DrawDesc).
	WriteWithoutFormat bool
	// Require lists what the device must have (see Requirements); Open
	// refuses a device that falls short.
	Require Requirements
}

// instance is a VkInstance with its optional validation messenger.
type instance struct {
	handle    vk.Instance
	messenger *C.vkcnn_messenger
}

const validationLayer = "VK_LAYER_KHRONOS_validation"

func validationRequested(o Options) bool {
	return o.Validate || os.Getenv("VKCNN_VALIDATE") == "1"
}

func newInstance(validate bool, extensions []string) (*instance, error) {
	if err := load(); err != nil {
		return nil, err
	}
	var layers []string // none unless validating
	if validate {
		if !hasLayer(validationLayer) {
			return nil, fmt.Errorf("validation requested (VKCNN_VALIDATE=1) but %s is not installed: `apt-get install vulkan-validationlayers`, or unset VKCNN_VALIDATE", validationLayer)
		}
		layers, extensions = []string{validationLayer}, append([]string{"VK_EXT_debug_utils"}, extensions...)
	}
	// MoltenVK's devices are listed only where the loader is asked for
	// portability implementations.
	portability, flags := instancePortability(offeredInstanceExtensions())
	extensions = append(extensions, portability...)
	cl, ce := cStrings(layers), cStrings(extensions)
	defer cl.free()
	defer ce.free()
	var h vk.Instance
	r := vk.Result(C.vkcnn_create_instance(cl.ptr(), C.uint32_t(len(cl)), ce.ptr(), C.uint32_t(len(ce)), C.uint32_t(flags), (*unsafe.Pointer)(unsafe.Pointer(&h))))
	if r == vk.ErrorIncompatibleDriver {
		return nil, fmt.Errorf("%w (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)", ErrNoDevice)
	}
	if r == vk.ErrorExtensionNotPresent {
		return nil, fmt.Errorf("vkCreateInstance: the Vulkan loader lacks one of the instance extensions %v (VK_ERROR_EXTENSION_NOT_PRESENT)", extensions)
	}
	if err := check("vkCreateInstance", r); err != nil {
		return nil, err
	}
	// Without this, instance-level entry points such as
	// vkEnumeratePhysicalDevices stay NULL in vulkan-go.
	if err := vk.InitInstance(h); err != nil {
		vk.DestroyInstance(h, nil)
		return nil, fmt.Errorf("vkInitInstance: %w", err)
	}
	in := &instance{handle: h}
	if validate {
		if r := C.vkcnn_messenger_create(unsafe.Pointer(h), &in.messenger); r != 0 {
			vk.DestroyInstance(h, nil)
			return nil, check("vkCreateDebugUtilsMessengerEXT", vk.Result(r))
		}
	}
	return in, nil
}

// validationError returns the validation errors reported since the last call.
func (in *instance) validationError() error {
	if in.messenger == nil {
		return nil
	}
	var buf [2048]C.char
	var warnings C.uint32_t
	n := C.vkcnn_validation_take(in.messenger, &buf[0], C.uint32_t(len(buf)), &warnings)
	if n == 0 {
		return nil
	}
	return &ValidationError{Count: int(n), First: C.GoString(&buf[0])}
}

func (in *instance) destroy() {
	if in.messenger != nil {
		C.vkcnn_messenger_destroy(unsafe.Pointer(in.handle), in.messenger)
		in.messenger = nil
	}
	vk.DestroyInstance(in.handle, nil)
}

// ValidationError reports what VK_LAYER_KHRONOS_validation found.
type ValidationError struct {
	Count int
	First string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("Vulkan validation: %d error(s), first: %s", e.Count, e.First)
}

// cStringArray is a C array of C strings, for the shim's calls that take
// names: vulkan-go would convert a []string once and cache it.
type cStringArray []*C.char

func cStrings(names []string) cStringArray {
	a := make(cStringArray, len(names))
	for i, n := range names {
		a[i] = C.CString(n)
	}
	return a
}

// ptr is the array for C, nil when it is empty. The pointers it holds point
// to C memory, so passing the Go slice's backing array is allowed.
func (a cStringArray) ptr() **C.char {
	if len(a) == 0 {
		return nil
	}
	return &a[0]
}

func (a cStringArray) free() {
	for _, s := range a {
		C.free(unsafe.Pointer(s))
	}
}

func hasLayer(name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.vkcnn_has_layer(cname) != 0
}

// physicalDevices lists the instance's devices and describes each.
func physicalDevices(in *instance) ([]vk.PhysicalDevice, []Info, error) {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.handle, &n, nil)); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, ErrNoDevice
	}
	pds := make([]vk.PhysicalDevice, n)
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.handle, &n, pds)); err != nil {
		return nil, nil, err
	}
	pds = pds[:n]
	infos := make([]Info, n)
	for i, pd := range pds {
		infos[i] = describe(in, pd, i)
	}
	return pds, infos, nil
}

func hasDeviceExtension(in *instance, pd vk.PhysicalDevice, name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.vkcnn_has_device_extension(unsafe.Pointer(in.handle), unsafe.Pointer(pd), cname) != 0
}

func describe(in *instance, pd vk.PhysicalDevice, index int) Info {
	var p vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &p)
	defer p.Free() // vulkan-go's C copy, read by the Derefs
	p.Deref()
	p.Limits.Deref()
	l := p.Limits
	info := Info{
		Index:      index,
		Name:       vk.ToString(p.DeviceName[:]),
		Type:       deviceType(p.DeviceType),
		APIVersion: versionString(p.ApiVersion),
		API:        p.ApiVersion,
		Driver:     fmt.Sprintf("version 0x%x", p.DriverVersion),

		MaxWorkgroupSize:         l.MaxComputeWorkGroupSize,
		MaxWorkgroupInvocations:  l.MaxComputeWorkGroupInvocations,
		MaxWorkgroupCount:        l.MaxComputeWorkGroupCount,
		MaxSharedMemory:          l.MaxComputeSharedMemorySize,
		MaxStorageBufferRange:    l.MaxStorageBufferRange,
		MaxPushConstantsSize:     l.MaxPushConstantsSize,
		MaxMemoryAllocationCount: l.MaxMemoryAllocationCount,
		MinStorageBufferAlign:    uint64(l.MinStorageBufferOffsetAlignment),
		TimestampPeriod:          l.TimestampPeriod,

		MaxStorageBuffersPerStage: l.MaxPerStageDescriptorStorageBuffers,
		Portability:               hasDeviceExtension(in, pd, portabilitySubset),
	}
	if family, ok := computeFamily(in, pd); ok {
		info.TimestampValidBits = timestampBits(in, pd, family)
	}
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	defer mp.Free()
	mp.Deref()
	for i := uint32(0); i < mp.MemoryHeapCount; i++ {
		h := mp.MemoryHeaps[i]
		h.Deref()
		info.Heaps = append(info.Heaps, Heap{Size: uint64(h.Size), DeviceLocal: h.Flags&vk.MemoryHeapFlags(vk.MemoryHeapDeviceLocalBit) != 0})
	}
	// Subgroup size and the driver's name are only in the 1.1 Properties2
	// chain, which vulkan-go does not wrap.
	var p2 C.vkcnn_props2
	hasDriver := hasDeviceExtension(in, pd, "VK_KHR_driver_properties")
	if C.vkcnn_properties2(unsafe.Pointer(in.handle), unsafe.Pointer(pd), boolInt(hasDriver), &p2) != 0 {
		info.SubgroupSize = uint32(p2.subgroupSize)
		if p2.hasDriver != 0 {
			info.Driver = strings.TrimSpace(C.GoString(&p2.driverName[0]) + " " + C.GoString(&p2.driverInfo[0]))
		}
	}
	return info
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func deviceType(t vk.PhysicalDeviceType) DeviceType {
	switch t {
	case vk.PhysicalDeviceTypeDiscreteGpu:
		return DiscreteGPU
	case vk.PhysicalDeviceTypeIntegratedGpu:
		return IntegratedGPU
	case vk.PhysicalDeviceTypeVirtualGpu:
		return VirtualGPU
	case vk.PhysicalDeviceTypeCpu:
		return CPU
	}
	return Other
}

// Devices lists every Vulkan device of the machine.
func Devices() ([]Info, error) {
	in, err := newInstance(false, nil)
	if err != nil {
		return nil, err
	}
	defer in.destroy()
	_, infos, err := physicalDevices(in)
	return infos, err
}

// Best returns the index of the device Open picks when none is named:
// discrete > integrated > virtual GPU > CPU, the lowest index among equals.
func Best(infos []Info) int {
	if len(infos) == 0 {
		return -1
	}
	order := make([]Info, len(infos))
	copy(order, infos)
	sort.SliceStable(order, func(a, b int) bool { return order[a].Type > order[b].Type })
	return order[0].Index
}

// LoseDeviceEnv names an environment variable for tests: set to N, the
// device's Nth submit (uploads and downloads included) fails with
// VK_ERROR_DEVICE_LOST.
const LoseDeviceEnv = "VKCNN_TEST_LOSE_DEVICE_AFTER"

// ErrBadIndex means a device index that does not exist was asked for.
var ErrBadIndex = errors.New("no such Vulkan device")

// Device is an open Vulkan device with one compute queue. Its methods are not
// safe for concurrent use, except that a Swapchain may draw from another
// goroutine (it takes queueMu for the queue and has its own command pool).
type Device struct {
	info     Info
	inst     *instance
	physical vk.PhysicalDevice
	handle   vk.Device
	queue    vk.Queue
	family   uint32
	// queueMu serializes vkQueueSubmit and vkQueuePresentKHR, which Vulkan
	// requires of calls on one queue from several threads.
	queueMu sync.Mutex
	// extensions are the device extensions asked for in Options, and
	// writeWithoutFormat whether Options asked for that feature (features
	// says whether it is on).
	extensions         []string
	writeWithoutFormat bool

	memory   *allocator
	pool     vk.CommandPool
	fence    vk.Fence
	cache    vk.PipelineCache
	staging  *stagingBuffer // uploads
	readback *stagingBuffer // downloads (staging.go says why apart)
	transfer vk.CommandBuffer
	// forceInvalidate makes downloads invalidate even coherent memory, so
	// that tests on drivers whose memory is all coherent run that path.
	forceInvalidate bool

	// loseAfter > 0 makes that submit fail as if the device were lost, and
	// hangAfter > 0 makes that submit never finish: fault injection for
	// tests of what a run does then (LoseDeviceEnv, HangEnv).
	loseAfter, hangAfter int
	// timeout bounds each fence wait (FenceTimeoutEnv); lost is set once a
	// submit ran past it, and fails every later submit.
	timeout time.Duration
	lost    error

	kernels   map[*Kernel]struct{}
	sequences map[*Sequence]struct{}
	buffers   map[*Buffer]struct{}
	closed    bool
}

// Open creates a device (see Options).
func Open(o Options) (d *Device, err error) {
	in, err := newInstance(validationRequested(o), o.InstanceExtensions)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			in.destroy()
		}
	}()
	pds, infos, err := physicalDevices(in)
	if err != nil {
		return nil, err
	}
	index := o.Index
	if index < 0 {
		index = Best(infos)
	}
	if index >= len(pds) {
		return nil, fmt.Errorf("%w: index %d, but this machine has %d (0-%d); `vkcnn devices` lists them", ErrBadIndex, index, len(pds), len(pds)-1)
	}
	if err := infos[index].Check(o.Require); err != nil {
		return nil, err
	}
	timeout, err := fenceTimeout(os.Getenv(FenceTimeoutEnv), infos[index].Type)
	if err != nil {
		return nil, err
	}
	loseAfter, hangAfter := faultInjection()
	d = &Device{
		loseAfter:  loseAfter,
		hangAfter:  hangAfter,
		timeout:    timeout,
		extensions: o.DeviceExtensions,
		info:       infos[index],
		inst:       in,
		physical:   pds[index],
		kernels:    map[*Kernel]struct{}{},
		sequences:  map[*Sequence]struct{}{},
		buffers:    map[*Buffer]struct{}{},
	}
	d.writeWithoutFormat = o.WriteWithoutFormat // create keeps it where the device has it
	if err := d.create(); err != nil {
		d.destroy()
		return nil, err
	}
	return d, nil
}

func (d *Device) create() error {
	family, ok := computeFamily(d.inst, d.physical)
	if !ok {
		return fmt.Errorf("device %d (%s) has no compute queue", d.info.Index, d.info.Name)
	}
	d.family = family
	for _, e := range d.extensions {
		if !hasDeviceExtension(d.inst, d.physical, e) {
			return fmt.Errorf("device %d (%s) lacks the extension %s", d.info.Index, d.info.Name, e)
		}
	}
	// Made through the shim: vulkan-go may free its C copy of the queue
	// infos while the driver still reads them. The specification requires
	// VK_KHR_portability_subset on a device that lists it.
	ce := cStrings(append(devicePortability(offeredDeviceExtensions(d.inst, unsafe.Pointer(d.physical))), d.extensions...))
	defer ce.free()
	var h vk.Device
	features := d.features()
	defer C.free(features)
	r := vk.Result(C.vkcnn_create_device(unsafe.Pointer(d.inst.handle), unsafe.Pointer(d.physical), C.uint32_t(family), ce.ptr(), C.uint32_t(len(ce)), features, (*unsafe.Pointer)(unsafe.Pointer(&h))))
	if err := check("vkCreateDevice", r); err != nil {
		return err
	}
	d.handle = h
	var q vk.Queue
	vk.GetDeviceQueue(h, family, 0, &q)
	d.queue = q

	poolInfo := &vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: family,
	}
	var pool vk.CommandPool
	r = vk.CreateCommandPool(h, poolInfo, nil, &pool)
	poolInfo.Free()
	if err := check("vkCreateCommandPool", r); err != nil {
		return err
	}
	d.pool = pool
	if d.fence, r = newFence(h); r != vk.Success {
		return check("vkCreateFence", r)
	}
	cacheInfo := &vk.PipelineCacheCreateInfo{SType: vk.StructureTypePipelineCacheCreateInfo}
	var cache vk.PipelineCache
	r = vk.CreatePipelineCache(h, cacheInfo, nil, &cache)
	cacheInfo.Free()
	if err := check("vkCreatePipelineCache", r); err != nil {
		return err
	}
	d.cache = cache
	d.memory = newAllocator(d)
	cb, err := d.allocateCommandBuffer()
	if err != nil {
		return err
	}
	d.transfer = cb
	return d.validationError()
}

func newFence(h vk.Device) (vk.Fence, vk.Result) {
	info := &vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}
	var f vk.Fence
	r := vk.CreateFence(h, info, nil, &f)
	info.Free()
	return f, r
}

func computeFamily(in *instance, pd vk.PhysicalDevice) (uint32, bool) {
	var flags, timestampBits [64]C.uint32_t
	n := C.vkcnn_queue_families(unsafe.Pointer(in.handle), unsafe.Pointer(pd), &flags[0], &timestampBits[0], C.uint32_t(len(flags)))
	first := -1
	for i := range min(int(n), len(flags)) {
		if flags[i]&C.uint32_t(vk.QueueComputeBit) == 0 {
			continue
		}
		// Timestamps need timestampValidBits; prefer a family that has them.
		if timestampBits[i] > 0 {
			return uint32(i), true
		}
		if first < 0 {
			first = i
		}
	}
	return uint32(first), first >= 0
}

func (d *Device) allocateCommandBuffer() (vk.CommandBuffer, error) {
	info := &vk.CommandBufferAllocateInfo{
		SType:              vk.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        d.pool,
		Level:              vk.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}
	cbs := make([]vk.CommandBuffer, 1)
	r := vk.AllocateCommandBuffers(d.handle, info, cbs)
	info.Free()
	return cbs[0], check("vkAllocateCommandBuffers", r)
}

// Info describes the device.
func (d *Device) Info() Info { return d.info }

// validationError returns (and clears) validation errors reported so far.
func (d *Device) validationError() error { return d.inst.validationError() }

// submit runs one command buffer times times in a row and waits for it.
func (d *Device) submit(cb vk.CommandBuffer, times int) error {
	if d.lost != nil {
		return d.lost
	}
	if d.loseAfter > 0 {
		if d.loseAfter--; d.loseAfter == 0 {
			return &ResultError{Call: "vkQueueSubmit", Result: vk.ErrorDeviceLost}
		}
	}
	hang := false
	if d.hangAfter > 0 {
		d.hangAfter--
		hang = d.hangAfter == 0
	}
	if !hang { // an injected hang leaves the fence unsignalled
		d.queueMu.Lock()
		r := vk.Result(C.vkcnn_submit(unsafe.Pointer(d.inst.handle), unsafe.Pointer(d.queue), unsafe.Pointer(cb), C.uint32_t(times), handle(unsafe.Pointer(d.fence))))
		d.queueMu.Unlock()
		if err := check("vkQueueSubmit", r); err != nil {
			return err
		}
	}
	if err := d.waitFence(); err != nil {
		return err
	}
	if err := check("vkResetFences", vk.ResetFences(d.handle, 1, []vk.Fence{d.fence})); err != nil {
		return err
	}
	return d.validationError()
}

// Close waits for the device to finish and frees everything created on it.
// With validation on, it fails if the device still held objects that the
// runtime did not destroy (the layer reports them when the device goes).
func (d *Device) Close() error {
	if d.closed {
		return nil
	}
	err := d.validationError()
	if leak := d.destroy(); err == nil {
		err = leak
	}
	return err
}

// destroy frees everything and returns what validation reported meanwhile.
func (d *Device) destroy() (err error) {
	d.closed = true
	if d.hung() {
		// Waiting for the device could hang for good, and freeing memory
		// that a running kernel may still write is worse: abandon it all.
		return nil
	}
	if d.handle != nil {
		vk.DeviceWaitIdle(d.handle)
		for s := range d.sequences {
			s.Close()
		}
		for k := range d.kernels {
			k.Close()
		}
		for b := range d.buffers {
			b.Close()
		}
		for _, s := range []*stagingBuffer{d.staging, d.readback} {
			if s != nil {
				s.destroy(d)
			}
		}
		if d.memory != nil {
			d.memory.destroy()
		}
		if d.cache != vk.NullPipelineCache {
			vk.DestroyPipelineCache(d.handle, d.cache, nil)
		}
		if d.fence != vk.NullFence {
			vk.DestroyFence(d.handle, d.fence, nil)
		}
		if d.pool != vk.NullCommandPool {
			vk.DestroyCommandPool(d.handle, d.pool, nil)
		}
		vk.DestroyDevice(d.handle, nil)
		d.handle = nil
	}
	if d.inst != nil {
		err = d.inst.validationError()
		d.inst.destroy()
		d.inst = nil
	}
	return err
}
