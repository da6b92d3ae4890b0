package gpu

/*
#include <stdlib.h>
#include "present.h"
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// SwapchainExtension is the device extension a Swapchain needs: name it in
// Options.DeviceExtensions, and the window system's surface extensions in
// Options.InstanceExtensions.
const SwapchainExtension = "VK_KHR_swapchain"

// features returns the VkPhysicalDeviceFeatures to create the device with,
// in C memory for the caller to free, or nil for none: only
// shaderStorageImageWriteWithoutFormat, when Options asked for it and the
// device has it (else writeWithoutFormat becomes false).
func (d *Device) features() unsafe.Pointer {
	if !d.writeWithoutFormat {
		return nil
	}
	f := (*C.uint32_t)(C.malloc(4 * C.vkcnn_feature_count))
	all := unsafe.Slice(f, C.vkcnn_feature_count)
	C.vkcnn_features(d.Instance(), unsafe.Pointer(d.physical), f)
	d.writeWithoutFormat = all[C.vkcnn_feature_write_without_format] != 0
	clear(all)
	all[C.vkcnn_feature_write_without_format] = C.uint32_t(boolInt(d.writeWithoutFormat))
	return unsafe.Pointer(f)
}

// Instance is the device's VkInstance handle, for a window system to create
// a surface on (e.g. GLFW's CreateWindowSurface) before NewSwapchain.
func (d *Device) Instance() unsafe.Pointer { return unsafe.Pointer(d.inst.handle) }

// DrawDesc describes the compute shader a Swapchain draws each frame with:
// it writes the picture to the storage image at binding 0 (declared rgba8,
// one invocation per pixel) and reads storage buffers at bindings 1, 2, ...
type DrawDesc struct {
	// Name is used in error messages.
	Name string
	// PushSize is the size in bytes of the push-constant block (0 for none).
	PushSize int
	// Workgroup is the shader's local size in x and y.
	Workgroup [2]uint32
	// Unformatted is the shader again with its image declared without a
	// format, to draw straight into swapchain images of a format GLSL cannot
	// name (B8G8R8A8, what most X11 surfaces offer) on a device opened with
	// Options.WriteWithoutFormat. Without it such swapchains are drawn by
	// copy.
	Unformatted []byte
	// Copy draws into an image of the swapchain's own and copies it into
	// the swapchain's image even where that could be drawn into directly:
	// the path of swapchains whose images do not allow storage, kept
	// testable on drivers whose do.
	Copy bool
}

// ErrOutOfDate means the window changed size: call Resize with its new
// size before drawing again.
var ErrOutOfDate = errors.New("the swapchain no longer matches its window: resize it")

// Swapchain presents pictures that a compute shader draws from device
// buffers to a window's surface, so that showing what a computation holds
// costs no copy to the host.
//
// Draw, Resize and Close may be called from a goroutine other than the one
// that uses the rest of the device (one goroutine for all three): the
// swapchain records into its own command pool, waits on its own fence and
// takes the device's queue lock to submit and present. Every frame begins
// with a barrier after all earlier work on the queue, and every sequence
// begins with one after the frame, so a frame reads the buffers between two
// submits, never during one. Close it before the device.
type Swapchain struct {
	d       *Device
	desc    DrawDesc
	surface uint64
	buffers []C.uint64_t

	module, setLayout, layout, pipeline C.uint64_t
	pool                                C.uint64_t // command pool
	cb                                  unsafe.Pointer
	fence, acquired                     C.uint64_t

	// What depends on the size, made again by Resize.
	handle        C.uint64_t
	format, space uint32
	width, height int
	copying, swap bool
	unformatted   bool // drawn straight into images of another format than rgba8
	hung          bool // a frame never finished: waiting for the queue would hang
	images        []C.uint64_t
	views         []C.uint64_t
	done          []C.uint64_t // per image: the frame is drawn, present it
	sets          []C.uint64_t // per image (or one, when copying)
	descPool      C.uint64_t
	storage       C.uint64_t // the picture's own image when copying
	storageMem    C.uint64_t
	storageView   C.uint64_t
}

// Formats of swapchain images.
const (
	formatRGBA8     = 37 // VK_FORMAT_R8G8B8A8_UNORM: the shader's rgba8
	formatRGBA8SRGB = 43
	formatBGRA8     = 44
	formatBGRA8SRGB = 50

	usageTransferDst = 0x2
	usageStorage     = 0x8
	featureStorage   = 0x2 // VK_FORMAT_FEATURE_STORAGE_IMAGE_BIT
	stageCompute     = 0x800
	stageTransfer    = 0x1000
)

// NewSwapchain makes a swapchain of width x height images (or the
// surface's own size) for surface, a VkSurfaceKHR made on Instance, and a
// pipeline for the shader spirv that draws into them from buffers. The
// swapchain owns the surface: Close destroys it, as does a failed
// NewSwapchain.
func (d *Device) NewSwapchain(surface uint64, width, height int, spirv []byte, desc DrawDesc, buffers ...*Buffer) (_ *Swapchain, err error) {
	s := &Swapchain{d: d, desc: desc, surface: surface}
	defer func() {
		if err != nil {
			s.Close()
			err = fmt.Errorf("swapchain for %s: %w", desc.Name, err)
		}
	}()
	in, pd := d.Instance(), unsafe.Pointer(d.physical)
	var supported C.uint32_t
	if err := check("vkGetPhysicalDeviceSurfaceSupportKHR", vk.Result(C.vkcnn_surface_support(in, pd, C.uint32_t(d.family), C.uint64_t(surface), &supported))); err != nil {
		return nil, err
	}
	if supported == 0 {
		return nil, fmt.Errorf("device %d (%s) cannot present to this window from its compute queue (family %d)", d.info.Index, d.info.Name, d.family)
	}
	if len(buffers) > 16 || desc.Workgroup[0] == 0 || desc.Workgroup[1] == 0 {
		return nil, fmt.Errorf("%d buffers (at most 16), workgroup %v", len(buffers), desc.Workgroup)
	}
	if desc.PushSize > int(d.info.MaxPushConstantsSize) || desc.PushSize%4 != 0 {
		return nil, fmt.Errorf("push constants of %d bytes (this device allows %d, in multiples of 4)", desc.PushSize, d.info.MaxPushConstantsSize)
	}
	for _, b := range buffers {
		if b == nil || b.handle == vk.NullBuffer {
			return nil, fmt.Errorf("a buffer to draw from is missing or closed")
		}
		s.buffers = append(s.buffers, handle(unsafe.Pointer(b.handle)))
	}
	var caps C.vkcnn_caps
	if err := check("vkGetPhysicalDeviceSurfaceCapabilitiesKHR", vk.Result(C.vkcnn_surface_caps(in, pd, C.uint64_t(surface), &caps))); err != nil {
		return nil, err
	}
	if err := s.chooseFormat(uint32(caps.supportedUsageFlags)); err != nil {
		return nil, err
	}
	if s.unformatted {
		spirv = desc.Unformatted
	}
	if len(spirv) < 20 || len(spirv)%4 != 0 || binary.LittleEndian.Uint32(spirv) != spirvMagic {
		return nil, fmt.Errorf("not a SPIR-V module (%d bytes)", len(spirv))
	}
	dev := unsafe.Pointer(d.handle)
	code := C.malloc(C.size_t(len(spirv)))
	defer C.free(code)
	copy(unsafe.Slice((*byte)(code), len(spirv)), spirv)
	if err := check("vkCreateShaderModule", vk.Result(C.vkcnn_create_module(in, dev, (*C.uint32_t)(code), C.size_t(len(spirv)), &s.module))); err != nil {
		return nil, err
	}
	if err := check("vkCreateDescriptorSetLayout", vk.Result(C.vkcnn_create_image_set_layout(in, dev, C.uint32_t(len(buffers)), &s.setLayout))); err != nil {
		return nil, err
	}
	if err := check("vkCreatePipelineLayout", vk.Result(C.vkcnn_create_pipeline_layout(in, dev, s.setLayout, C.uint32_t(desc.PushSize), &s.layout))); err != nil {
		return nil, err
	}
	if err := check("vkCreateComputePipelines", vk.Result(C.vkcnn_create_compute_pipeline(in, dev, handle(unsafe.Pointer(d.cache)), s.module, s.layout, nil, 0, &s.pipeline))); err != nil {
		return nil, err
	}
	if err := check("vkCreateCommandPool", vk.Result(C.vkcnn_create_command_buffer(in, dev, C.uint32_t(d.family), &s.pool, &s.cb))); err != nil {
		return nil, err
	}
	if err := check("vkCreateFence", vk.Result(C.vkcnn_create_fence(in, dev, &s.fence))); err != nil {
		return nil, err
	}
	if err := check("vkCreateSemaphore", vk.Result(C.vkcnn_create_semaphore(in, dev, &s.acquired))); err != nil {
		return nil, err
	}
	if err := s.Resize(width, height); err != nil {
		return nil, err
	}
	return s, nil
}

// Size is the size of the swapchain's images, which the shader fills.
func (s *Swapchain) Size() (width, height int) { return s.width, s.height }

// Copying says whether frames are drawn into an image of the swapchain's own
// and copied, rather than drawn into the swapchain's images.
func (s *Swapchain) Copying() bool { return s.copying }

// SwapRedBlue says whether the shader must write blue where it means red
// and the other way round: the picture is copied byte for byte into a
// swapchain of BGRA images.
func (s *Swapchain) SwapRedBlue() bool { return s.swap }

// Resize makes the swapchain's images width x height, or the surface's
// size where the surface decides it.
func (s *Swapchain) Resize(width, height int) error {
	d, in, pd, dev := s.d, s.d.Instance(), unsafe.Pointer(s.d.physical), unsafe.Pointer(s.d.handle)
	var caps C.vkcnn_caps
	if err := check("vkGetPhysicalDeviceSurfaceCapabilitiesKHR", vk.Result(C.vkcnn_surface_caps(in, pd, C.uint64_t(s.surface), &caps))); err != nil {
		return err
	}
	w, h := uint32(width), uint32(height)
	if caps.currentWidth != 0xffffffff {
		w, h = uint32(caps.currentWidth), uint32(caps.currentHeight)
	}
	w = min(max(w, uint32(caps.minWidth)), uint32(caps.maxWidth))
	h = min(max(h, uint32(caps.minHeight)), uint32(caps.maxHeight))
	if w == 0 || h == 0 {
		return fmt.Errorf("the window has no area (%dx%d)", w, h)
	}
	usage := uint32(usageStorage)
	if s.copying {
		usage = usageTransferDst
	}
	count := uint32(caps.minImageCount) + 1
	if caps.maxImageCount > 0 {
		count = min(count, uint32(caps.maxImageCount))
	}
	alpha := uint32(1) // opaque
	for bit := uint32(1); bit <= 8; bit <<= 1 {
		if uint32(caps.supportedCompositeAlpha)&alpha == 0 && uint32(caps.supportedCompositeAlpha)&bit != 0 {
			alpha = bit
		}
	}
	info := C.vkcnn_swapchain_info{
		surface: C.uint64_t(s.surface), minImageCount: C.uint32_t(count), format: C.uint32_t(s.format), colorSpace: C.uint32_t(s.space),
		width: C.uint32_t(w), height: C.uint32_t(h), usage: C.uint32_t(usage), transform: caps.currentTransform,
		compositeAlpha: C.uint32_t(alpha), presentMode: C.uint32_t(s.presentMode()), oldSwapchain: s.handle,
	}
	var next C.uint64_t
	r := vk.Result(C.vkcnn_create_swapchain(in, dev, &info, &next))
	s.release() // the old swapchain has served as oldSwapchain
	if err := check("vkCreateSwapchainKHR", r); err != nil {
		return err
	}
	s.handle, s.width, s.height = next, int(w), int(h)
	images := make([]C.uint64_t, 16)
	n := C.uint32_t(len(images))
	if err := check("vkGetSwapchainImagesKHR", vk.Result(C.vkcnn_swapchain_images(in, dev, s.handle, &images[0], &n))); err != nil {
		return err
	}
	s.images = images[:n]
	for range s.images {
		var sem C.uint64_t
		if err := check("vkCreateSemaphore", vk.Result(C.vkcnn_create_semaphore(in, dev, &sem))); err != nil {
			return err
		}
		s.done = append(s.done, sem)
	}
	targets := s.images
	if s.copying {
		const usage = usageStorage | 0x1 // and TRANSFER_SRC, to be copied
		if err := check("vkCreateImage", vk.Result(C.vkcnn_create_image(in, pd, dev, formatRGBA8, C.uint32_t(w), C.uint32_t(h), usage, &s.storage, &s.storageMem))); err != nil {
			return err
		}
		targets = []C.uint64_t{s.storage}
	}
	if err := check("vkCreateDescriptorPool", vk.Result(C.vkcnn_create_image_pool(in, dev, C.uint32_t(len(targets)), C.uint32_t(len(s.buffers)), &s.descPool))); err != nil {
		return err
	}
	for _, img := range targets {
		var view, set C.uint64_t
		format := C.uint32_t(formatRGBA8)
		if s.unformatted {
			format = C.uint32_t(s.format)
		}
		if err := check("vkCreateImageView", vk.Result(C.vkcnn_create_view(in, dev, img, format, &view))); err != nil {
			return err
		}
		s.views = append(s.views, view)
		if err := check("vkAllocateDescriptorSets", vk.Result(C.vkcnn_allocate_set(in, dev, s.descPool, s.setLayout, &set))); err != nil {
			return err
		}
		s.sets = append(s.sets, set)
		var bufs *C.uint64_t
		if len(s.buffers) > 0 {
			bufs = &s.buffers[0]
		}
		if err := check("vkUpdateDescriptorSets", vk.Result(C.vkcnn_write_image_set(in, dev, set, view, bufs, C.uint32_t(len(s.buffers))))); err != nil {
			return err
		}
	}
	return d.validationError()
}

// chooseFormat picks the swapchain's format and how it is drawn:
// R8G8B8A8_UNORM drawn into directly where the surface offers it with
// storage; else B8G8R8A8_UNORM drawn into directly by the unformatted
// shader where the device writes without format; else any 8-bit RGBA or
// BGRA format that a copy of the shader's rgba8 image can fill.
func (s *Swapchain) chooseFormat(usage uint32) error {
	in, pd := s.d.Instance(), unsafe.Pointer(s.d.physical)
	formats, spaces := make([]C.uint32_t, 64), make([]C.uint32_t, 64)
	n := C.uint32_t(len(formats))
	if err := check("vkGetPhysicalDeviceSurfaceFormatsKHR", vk.Result(C.vkcnn_surface_formats(in, pd, C.uint64_t(s.surface), &formats[0], &spaces[0], &n))); err != nil {
		return err
	}
	offered := map[uint32]uint32{}
	for i := range int(n) {
		if _, ok := offered[uint32(formats[i])]; !ok {
			offered[uint32(formats[i])] = uint32(spaces[i])
		}
	}
	if space, ok := offered[formatRGBA8]; ok && !s.desc.Copy && usage&usageStorage != 0 &&
		uint32(C.vkcnn_format_features(in, pd, formatRGBA8))&featureStorage != 0 {
		s.format, s.space, s.copying, s.swap = formatRGBA8, space, false, false
		return nil
	}
	if space, ok := offered[formatBGRA8]; ok && !s.desc.Copy && usage&usageStorage != 0 && s.desc.Unformatted != nil &&
		s.d.writeWithoutFormat && uint32(C.vkcnn_format_features(in, pd, formatBGRA8))&featureStorage != 0 {
		s.format, s.space, s.copying, s.swap, s.unformatted = formatBGRA8, space, false, false, true
		return nil
	}
	if usage&usageTransferDst == 0 || uint32(C.vkcnn_format_features(in, pd, formatRGBA8))&featureStorage == 0 {
		return fmt.Errorf("the surface's images allow neither storage nor copies into them (usage 0x%x), or rgba8 images cannot be storage images", usage)
	}
	// UNORM before SRGB: the bytes land unchanged either way, but a UNORM
	// format says what they are.
	for _, f := range []uint32{formatBGRA8, formatRGBA8, formatBGRA8SRGB, formatRGBA8SRGB} {
		if space, ok := offered[f]; ok {
			s.format, s.space, s.copying = f, space, true
			s.swap = f == formatBGRA8 || f == formatBGRA8SRGB
			return nil
		}
	}
	return fmt.Errorf("the surface offers no 8-bit RGBA or BGRA format (it offers %v)", formats[:n])
}

// presentMode prefers modes that never wait for the display (mailbox,
// immediate) to FIFO, which every surface has: drawing must not hold the
// queue for a vertical blank.
func (s *Swapchain) presentMode() uint32 {
	modes := make([]C.uint32_t, 16)
	n := C.uint32_t(len(modes))
	if C.vkcnn_present_modes(s.d.Instance(), unsafe.Pointer(s.d.physical), C.uint64_t(s.surface), &modes[0], &n) != 0 {
		return 2
	}
	best := uint32(2) // FIFO
	for _, m := range modes[:n] {
		switch uint32(m) {
		case 1: // MAILBOX
			return 1
		case 0: // IMMEDIATE
			best = 0
		}
	}
	return best
}

// Draw acquires the next image, runs the shader over it with these push
// constants, presents it, and waits until the frame is drawn. It returns
// false, and no error, when no image was ready within a second;
// ErrOutOfDate when the window changed size.
func (s *Swapchain) Draw(push []byte) (bool, error) {
	if len(push) != s.desc.PushSize {
		return false, fmt.Errorf("draw %s: %d bytes of push constants, want %d", s.desc.Name, len(push), s.desc.PushSize)
	}
	if s.handle == 0 {
		return false, fmt.Errorf("draw %s: the swapchain is closed or failed to resize", s.desc.Name)
	}
	in, dev, queue := s.d.Instance(), unsafe.Pointer(s.d.handle), unsafe.Pointer(s.d.queue)
	var index C.uint32_t
	switch r := vk.Result(C.vkcnn_acquire(in, dev, s.handle, 1e9, s.acquired, &index)); r {
	case vk.Success, vk.Suboptimal:
	case vk.Timeout, vk.NotReady:
		return false, nil
	case vk.ErrorOutOfDate:
		return false, ErrOutOfDate
	default:
		return false, check("vkAcquireNextImageKHR", r)
	}
	f := C.vkcnn_frame{
		pipeline: s.pipeline, layout: s.layout, set: s.sets[0],
		pushSize: C.uint32_t(len(push)),
		groupsX:  C.uint32_t((uint32(s.width) + s.desc.Workgroup[0] - 1) / s.desc.Workgroup[0]),
		groupsY:  C.uint32_t((uint32(s.height) + s.desc.Workgroup[1] - 1) / s.desc.Workgroup[1]),
		target:   s.images[index], width: C.uint32_t(s.width), height: C.uint32_t(s.height),
	}
	wait := C.uint32_t(stageCompute)
	if s.copying {
		f.storage, wait = s.storage, stageTransfer
	} else {
		f.set = s.sets[index]
	}
	if len(push) > 0 {
		p := C.CBytes(push)
		defer C.free(p)
		f.push = p
	}
	if err := check("vkBeginCommandBuffer", vk.Result(C.vkcnn_record_frame(in, s.cb, &f))); err != nil {
		return false, err
	}
	s.d.queueMu.Lock()
	r := vk.Result(C.vkcnn_submit_frame(in, queue, s.cb, s.acquired, wait, s.done[index], s.fence))
	var presented vk.Result
	if r == vk.Success {
		presented = vk.Result(C.vkcnn_present(in, queue, s.handle, index, s.done[index]))
	}
	s.d.queueMu.Unlock()
	if err := check("vkQueueSubmit", r); err != nil {
		return false, err
	}
	// Bounded as the device's own waits are (FenceTimeoutEnv): a hung
	// device must not keep the window, and so Close, waiting for ever.
	if r := vk.Result(C.vkcnn_wait_fence(in, dev, s.fence, C.uint64_t(s.d.timeout.Nanoseconds()))); r == vk.Timeout {
		s.hung = true
		return false, &HungError{Timeout: s.d.timeout}
	} else if err := check("vkWaitForFences", r); err != nil {
		return false, err
	}
	if err := s.d.validationError(); err != nil {
		return false, err
	}
	switch presented {
	case vk.Success:
		return true, nil
	case vk.Suboptimal, vk.ErrorOutOfDate:
		return true, ErrOutOfDate
	}
	return false, check("vkQueuePresentKHR", presented)
}

// release destroys what depends on the size, waiting first until the queue
// (presentation included) no longer uses it.
func (s *Swapchain) release() {
	in, dev := s.d.Instance(), unsafe.Pointer(s.d.handle)
	if (s.handle != 0 || len(s.done) > 0) && !s.hung {
		s.d.queueMu.Lock()
		C.vkcnn_queue_wait_idle(in, unsafe.Pointer(s.d.queue))
		s.d.queueMu.Unlock()
	}
	destroy := func(what string, hs ...C.uint64_t) {
		cwhat := C.CString(what)
		defer C.free(unsafe.Pointer(cwhat))
		for _, h := range hs {
			C.vkcnn_destroy(in, dev, cwhat, h)
		}
	}
	destroy("ImageView", s.views...)
	destroy("ImageView", s.storageView)
	destroy("Image", s.storage)
	destroy("Memory", s.storageMem)
	destroy("DescriptorPool", s.descPool)
	destroy("Semaphore", s.done...)
	destroy("SwapchainKHR", s.handle)
	s.views, s.sets, s.done, s.images = nil, nil, nil, nil
	s.storageView, s.storage, s.storageMem, s.descPool, s.handle = 0, 0, 0, 0, 0
}

// Close destroys the swapchain, its pipeline and its surface.
func (s *Swapchain) Close() {
	if s.d == nil || s.d.handle == nil {
		return
	}
	s.release()
	in, dev := s.d.Instance(), unsafe.Pointer(s.d.handle)
	for _, x := range []struct {
		what string
		h    C.uint64_t
	}{{"Semaphore", s.acquired}, {"Fence", s.fence}, {"CommandPool", s.pool}, {"Pipeline", s.pipeline},
		{"PipelineLayout", s.layout}, {"DescriptorSetLayout", s.setLayout}, {"ShaderModule", s.module}} {
		cwhat := C.CString(x.what)
		C.vkcnn_destroy(in, dev, cwhat, x.h)
		C.free(unsafe.Pointer(cwhat))
	}
	C.vkcnn_destroy_surface(in, C.uint64_t(s.surface))
	*s = Swapchain{}
}
