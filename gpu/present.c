// Presenting to a window (see present.h). Structure layouts are those of the
// Vulkan 1.1 specification and VK_KHR_surface / VK_KHR_swapchain.
#include "present.h"

#include <stdlib.h>
#include <string.h>

#include "vkstructs.h"

enum {
	pipeCompute = 0x800, // VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT
	pipeTransfer = 0x1000,
	pipeBottom = 0x2000,
	accessShaderRead = 0x20,
	accessShaderWrite = 0x40,
	accessTransferRead = 0x800,
	accessTransferWrite = 0x1000,
	layoutUndefined = 0,
	layoutGeneral = 1,
	layoutTransferSrc = 6,
	layoutTransferDst = 7,
	layoutPresent = 1000001002,
	aspectColor = 1,
	memoryDeviceLocal = 1,
};

int vkcnn_surface_support(void *instance, void *physicalDevice, uint32_t family, uint64_t surface, uint32_t *supported) {
	typedef int (*fn_t)(void *, uint32_t, uint64_t, uint32_t *);
	PROC(fn_t, instance, "vkGetPhysicalDeviceSurfaceSupportKHR");
	*supported = 0;
	return fn(physicalDevice, family, surface, supported);
}

int vkcnn_surface_caps(void *instance, void *physicalDevice, uint64_t surface, vkcnn_caps *caps) {
	typedef int (*fn_t)(void *, uint64_t, vkcnn_caps *);
	PROC(fn_t, instance, "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
	memset(caps, 0, sizeof *caps);
	return fn(physicalDevice, surface, caps);
}

int vkcnn_surface_formats(void *instance, void *physicalDevice, uint64_t surface, uint32_t *formats, uint32_t *spaces,
                          uint32_t *n) {
	typedef int (*fn_t)(void *, uint64_t, uint32_t *, uint32_t *);
	PROC(fn_t, instance, "vkGetPhysicalDeviceSurfaceFormatsKHR");
	uint32_t count = 0;
	int r = fn(physicalDevice, surface, &count, NULL);
	if (r != 0) {
		*n = 0;
		return r;
	}
	uint32_t *pairs = calloc(count == 0 ? 2 : 2 * count, sizeof *pairs); // VkSurfaceFormatKHR
	if (pairs == NULL) {
		return errHostMem;
	}
	r = fn(physicalDevice, surface, &count, pairs);
	uint32_t i = 0;
	for (; (r == 0 || r == 5) && i < count && i < *n; i++) {
		formats[i] = pairs[2 * i];
		spaces[i] = pairs[2 * i + 1];
	}
	*n = i;
	free(pairs);
	return r == 5 ? 0 : r; // VK_INCOMPLETE: the formats read are enough
}

int vkcnn_present_modes(void *instance, void *physicalDevice, uint64_t surface, uint32_t *modes, uint32_t *n) {
	typedef int (*fn_t)(void *, uint64_t, uint32_t *, uint32_t *);
	PROC(fn_t, instance, "vkGetPhysicalDeviceSurfacePresentModesKHR");
	int r = fn(physicalDevice, surface, n, modes);
	return r == 5 ? 0 : r;
}

uint32_t vkcnn_format_features(void *instance, void *physicalDevice, uint32_t format) {
	typedef void (*fn_t)(void *, uint32_t, uint32_t *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkGetPhysicalDeviceFormatProperties");
	uint32_t props[3] = {0, 0, 0}; // linear, optimal, buffer features
	if (fn == NULL) {
		return 0;
	}
	fn(physicalDevice, format, props);
	return props[1];
}

void vkcnn_features(void *instance, void *physicalDevice, uint32_t *features) {
	typedef void (*fn_t)(void *, uint32_t *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkGetPhysicalDeviceFeatures");
	memset(features, 0, vkcnn_feature_count * sizeof *features);
	if (fn != NULL) {
		fn(physicalDevice, features);
	}
}

void vkcnn_destroy_surface(void *instance, uint64_t surface) {
	typedef void (*fn_t)(void *, uint64_t, const void *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkDestroySurfaceKHR");
	if (fn != NULL && surface != 0) {
		fn(instance, surface, NULL);
	}
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint64_t surface;
	uint32_t minImageCount;
	uint32_t imageFormat;
	uint32_t imageColorSpace;
	uint32_t width, height;
	uint32_t imageArrayLayers;
	uint32_t imageUsage;
	uint32_t imageSharingMode;
	uint32_t queueFamilyIndexCount;
	const uint32_t *pQueueFamilyIndices;
	uint32_t preTransform;
	uint32_t compositeAlpha;
	uint32_t presentMode;
	uint32_t clipped;
	uint64_t oldSwapchain;
} swapchain_info_t;

int vkcnn_create_swapchain(void *instance, void *device, const vkcnn_swapchain_info *in, uint64_t *swapchain) {
	typedef int (*fn_t)(void *, const swapchain_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateSwapchainKHR");
	swapchain_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 1000001000;
	info.surface = in->surface;
	info.minImageCount = in->minImageCount;
	info.imageFormat = in->format;
	info.imageColorSpace = in->colorSpace;
	info.width = in->width;
	info.height = in->height;
	info.imageArrayLayers = 1;
	info.imageUsage = in->usage;
	info.preTransform = in->transform;
	info.compositeAlpha = in->compositeAlpha;
	info.presentMode = in->presentMode;
	info.clipped = 1;
	info.oldSwapchain = in->oldSwapchain;
	return fn(device, &info, NULL, swapchain);
}

int vkcnn_swapchain_images(void *instance, void *device, uint64_t swapchain, uint64_t *images, uint32_t *n) {
	typedef int (*fn_t)(void *, uint64_t, uint32_t *, uint64_t *);
	PROC(fn_t, instance, "vkGetSwapchainImagesKHR");
	int r = fn(device, swapchain, n, images);
	return r == 5 ? 0 : r;
}

void vkcnn_destroy(void *instance, void *device, const char *what, uint64_t handle) {
	typedef void (*fn_t)(void *, uint64_t, const void *);
	char name[64];
	if (handle == 0) {
		return;
	}
	if (strcmp(what, "Memory") == 0) {
		strcpy(name, "vkFreeMemory");
	} else {
		strcpy(name, "vkDestroy");
		strncat(name, what, sizeof name - strlen(name) - 1);
	}
	fn_t fn = (fn_t)vkcnn_proc(instance, name);
	if (fn != NULL) {
		fn(device, handle, NULL);
	}
}

typedef struct {
	uint32_t aspectMask, baseMipLevel, levelCount, baseArrayLayer, layerCount;
} range_t;

static const range_t colorRange = {aspectColor, 0, 1, 0, 1};

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint64_t image;
	uint32_t viewType;
	uint32_t format;
	uint32_t components[4];
	range_t range;
} view_info_t;

int vkcnn_create_view(void *instance, void *device, uint64_t image, uint32_t format, uint64_t *view) {
	typedef int (*fn_t)(void *, const view_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateImageView");
	view_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 15;
	info.image = image;
	info.viewType = 1; // VK_IMAGE_VIEW_TYPE_2D
	info.format = format;
	info.range = colorRange;
	return fn(device, &info, NULL, view);
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t imageType;
	uint32_t format;
	uint32_t width, height, depth;
	uint32_t mipLevels, arrayLayers, samples, tiling, usage, sharingMode, queueFamilyIndexCount;
	const uint32_t *pQueueFamilyIndices;
	uint32_t initialLayout;
} image_info_t;

typedef struct {
	uint64_t size, alignment;
	uint32_t memoryTypeBits;
} requirements_t;

typedef struct {
	uint32_t typeCount;
	struct {
		uint32_t flags, heap;
	} types[32];
	uint32_t heapCount;
	struct {
		uint64_t size;
		uint32_t flags;
	} heaps[16];
} memory_props_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint64_t size;
	uint32_t typeIndex;
} allocate_info_t;

int vkcnn_create_image(void *instance, void *physicalDevice, void *device, uint32_t format, uint32_t width,
                       uint32_t height, uint32_t usage, uint64_t *image, uint64_t *memory) {
	typedef int (*create_t)(void *, const image_info_t *, const void *, uint64_t *);
	typedef void (*reqs_t)(void *, uint64_t, requirements_t *);
	typedef void (*props_t)(void *, memory_props_t *);
	typedef int (*alloc_t)(void *, const allocate_info_t *, const void *, uint64_t *);
	typedef int (*bind_t)(void *, uint64_t, uint64_t, uint64_t);
	create_t create = (create_t)vkcnn_proc(instance, "vkCreateImage");
	reqs_t reqs = (reqs_t)vkcnn_proc(instance, "vkGetImageMemoryRequirements");
	props_t props = (props_t)vkcnn_proc(instance, "vkGetPhysicalDeviceMemoryProperties");
	alloc_t alloc = (alloc_t)vkcnn_proc(instance, "vkAllocateMemory");
	bind_t bind = (bind_t)vkcnn_proc(instance, "vkBindImageMemory");
	if (create == NULL || reqs == NULL || props == NULL || alloc == NULL || bind == NULL) {
		return errInit;
	}
	*image = 0;
	*memory = 0;
	image_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 14;
	info.imageType = 1; // VK_IMAGE_TYPE_2D
	info.format = format;
	info.width = width;
	info.height = height;
	info.depth = 1;
	info.mipLevels = 1;
	info.arrayLayers = 1;
	info.samples = 1;
	info.usage = usage;
	int r = create(device, &info, NULL, image);
	if (r != 0) {
		return r;
	}
	requirements_t req;
	reqs(device, *image, &req);
	memory_props_t mp;
	memset(&mp, 0, sizeof mp);
	props(physicalDevice, &mp);
	// The first device-local type the image allows, else the first it allows.
	int64_t type = -1;
	for (uint32_t i = 0; i < mp.typeCount && i < 32; i++) {
		if ((req.memoryTypeBits >> i & 1) == 0) {
			continue;
		}
		if (type < 0 || ((mp.types[i].flags & memoryDeviceLocal) && !(mp.types[type].flags & memoryDeviceLocal))) {
			type = i;
		}
	}
	if (type < 0) {
		return errDeviceMem;
	}
	allocate_info_t ainfo = {5, NULL, req.size, (uint32_t)type};
	if ((r = alloc(device, &ainfo, NULL, memory)) != 0) {
		return r;
	}
	return bind(device, *image, *memory, 0);
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	size_t codeSize;
	const uint32_t *pCode;
} module_info_t;

int vkcnn_create_module(void *instance, void *device, const uint32_t *code, size_t bytes, uint64_t *module) {
	typedef int (*fn_t)(void *, const module_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateShaderModule");
	module_info_t info = {16, NULL, 0, bytes, code};
	return fn(device, &info, NULL, module);
}

int vkcnn_create_image_set_layout(void *instance, void *device, uint32_t nBuffers, uint64_t *layout) {
	typedef int (*fn_t)(void *, const set_layout_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateDescriptorSetLayout");
	binding_t bindings[17];
	if (nBuffers > 16) {
		return errInit;
	}
	for (uint32_t i = 0; i <= nBuffers; i++) {
		bindings[i] = (binding_t){i, i == 0 ? typeStorageImage : typeStorageBuffer, 1, stageCompute, NULL};
	}
	set_layout_info_t info = {32, NULL, 0, nBuffers + 1, bindings};
	return fn(device, &info, NULL, layout);
}

int vkcnn_create_image_pool(void *instance, void *device, uint32_t sets, uint32_t nBuffers, uint64_t *pool) {
	typedef int (*fn_t)(void *, const pool_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateDescriptorPool");
	pool_size_t sizes[2] = {{typeStorageImage, sets}, {typeStorageBuffer, sets * (nBuffers == 0 ? 1 : nBuffers)}};
	pool_info_t info = {33, NULL, 0, sets, 2, sizes};
	return fn(device, &info, NULL, pool);
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint64_t pool;
	uint32_t count;
	const uint64_t *pSetLayouts;
} set_alloc_info_t;

int vkcnn_allocate_set(void *instance, void *device, uint64_t pool, uint64_t layout, uint64_t *set) {
	typedef int (*fn_t)(void *, const set_alloc_info_t *, uint64_t *);
	PROC(fn_t, instance, "vkAllocateDescriptorSets");
	set_alloc_info_t info = {34, NULL, pool, 1, &layout};
	return fn(device, &info, set);
}

int vkcnn_write_image_set(void *instance, void *device, uint64_t set, uint64_t view, const uint64_t *buffers,
                          uint32_t nBuffers) {
	typedef void (*fn_t)(void *, uint32_t, const write_t *, uint32_t, const void *);
	PROC(fn_t, instance, "vkUpdateDescriptorSets");
	if (nBuffers > 16) {
		return errInit;
	}
	image_desc_t image = {0, view, layoutGeneral};
	buffer_desc_t infos[16];
	write_t writes[17];
	memset(writes, 0, sizeof writes);
	for (uint32_t i = 0; i <= nBuffers; i++) {
		writes[i].sType = 35;
		writes[i].dstSet = set;
		writes[i].dstBinding = i;
		writes[i].descriptorCount = 1;
		if (i == 0) {
			writes[i].descriptorType = typeStorageImage;
			writes[i].pImageInfo = &image;
		} else {
			infos[i - 1] = (buffer_desc_t){buffers[i - 1], 0, wholeSize};
			writes[i].descriptorType = typeStorageBuffer;
			writes[i].pBufferInfo = &infos[i - 1];
		}
	}
	fn(device, nBuffers + 1, writes, 0, NULL);
	return 0;
}

int vkcnn_create_semaphore(void *instance, void *device, uint64_t *semaphore) {
	typedef int (*fn_t)(void *, const uint32_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateSemaphore");
	struct {
		uint32_t sType;
		const void *pNext;
		uint32_t flags;
	} info = {9, NULL, 0};
	return fn(device, (const uint32_t *)&info, NULL, semaphore);
}

int vkcnn_create_fence(void *instance, void *device, uint64_t *fence) {
	typedef int (*fn_t)(void *, const uint32_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateFence");
	struct {
		uint32_t sType;
		const void *pNext;
		uint32_t flags;
	} info = {8, NULL, 0};
	return fn(device, (const uint32_t *)&info, NULL, fence);
}

int vkcnn_create_command_buffer(void *instance, void *device, uint32_t family, uint64_t *pool, void **cb) {
	typedef int (*pool_t)(void *, const void *, const void *, uint64_t *);
	typedef int (*alloc_t)(void *, const void *, void **);
	pool_t create = (pool_t)vkcnn_proc(instance, "vkCreateCommandPool");
	alloc_t alloc = (alloc_t)vkcnn_proc(instance, "vkAllocateCommandBuffers");
	if (create == NULL || alloc == NULL) {
		return errInit;
	}
	struct {
		uint32_t sType;
		const void *pNext;
		uint32_t flags;
		uint32_t family;
	} pinfo = {39, NULL, 2 /* RESET_COMMAND_BUFFER */, family};
	int r = create(device, &pinfo, NULL, pool);
	if (r != 0) {
		return r;
	}
	struct {
		uint32_t sType;
		const void *pNext;
		uint64_t pool;
		uint32_t level;
		uint32_t count;
	} ainfo = {40, NULL, *pool, 0 /* PRIMARY */, 1};
	return alloc(device, &ainfo, cb);
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t srcAccessMask, dstAccessMask;
	uint32_t oldLayout, newLayout;
	uint32_t srcQueueFamilyIndex, dstQueueFamilyIndex;
	uint64_t image;
	range_t range;
} image_barrier_t;

static image_barrier_t imageBarrier(uint64_t image, uint32_t srcAccess, uint32_t dstAccess, uint32_t oldLayout,
                                    uint32_t newLayout) {
	image_barrier_t b = {45, NULL, srcAccess, dstAccess, oldLayout, newLayout, familyIgnored, familyIgnored, image,
	                     colorRange};
	return b;
}

typedef struct {
	uint32_t aspectMask, mipLevel, baseArrayLayer, layerCount;
} layers_t;

typedef struct {
	layers_t srcSubresource;
	int32_t srcOffset[3];
	layers_t dstSubresource;
	int32_t dstOffset[3];
	uint32_t extent[3];
} image_copy_t;

int vkcnn_record_frame(void *instance, void *cb, const vkcnn_frame *f) {
	typedef int (*reset_t)(void *, uint32_t);
	typedef int (*begin_t)(void *, const void *);
	typedef int (*end_t)(void *);
	typedef void (*barrier_t)(void *, uint32_t, uint32_t, uint32_t, uint32_t, const memory_barrier_t *, uint32_t,
	                          const void *, uint32_t, const image_barrier_t *);
	typedef void (*bind_t)(void *, uint32_t, uint64_t);
	typedef void (*sets_t)(void *, uint32_t, uint64_t, uint32_t, uint32_t, const uint64_t *, uint32_t, const uint32_t *);
	typedef void (*push_t)(void *, uint64_t, uint32_t, uint32_t, uint32_t, const void *);
	typedef void (*dispatch_t)(void *, uint32_t, uint32_t, uint32_t);
	typedef void (*copy_t)(void *, uint64_t, uint32_t, uint64_t, uint32_t, uint32_t, const image_copy_t *);
	reset_t reset = (reset_t)vkcnn_proc(instance, "vkResetCommandBuffer");
	begin_t begin = (begin_t)vkcnn_proc(instance, "vkBeginCommandBuffer");
	end_t end = (end_t)vkcnn_proc(instance, "vkEndCommandBuffer");
	barrier_t barrier = (barrier_t)vkcnn_proc(instance, "vkCmdPipelineBarrier");
	bind_t bind = (bind_t)vkcnn_proc(instance, "vkCmdBindPipeline");
	sets_t sets = (sets_t)vkcnn_proc(instance, "vkCmdBindDescriptorSets");
	push_t push = (push_t)vkcnn_proc(instance, "vkCmdPushConstants");
	dispatch_t dispatch = (dispatch_t)vkcnn_proc(instance, "vkCmdDispatch");
	copy_t copy = (copy_t)vkcnn_proc(instance, "vkCmdCopyImage");
	if (reset == NULL || begin == NULL || end == NULL || barrier == NULL || bind == NULL || sets == NULL ||
	    push == NULL || dispatch == NULL || copy == NULL) {
		return errInit;
	}
	int r = reset(cb, 0);
	if (r != 0) {
		return r;
	}
	struct {
		uint32_t sType;
		const void *pNext;
		uint32_t flags;
		const void *pInheritanceInfo;
	} binfo = {42, NULL, 1 /* ONE_TIME_SUBMIT */, NULL};
	if ((r = begin(cb, &binfo)) != 0) {
		return r;
	}
	// Before drawing: the training's writes to the buffers the shader reads
	// (earlier submits on this queue) become visible, and the images move
	// out of whatever layout they were left in. The source stages include
	// the stage the acquire semaphore is waited at, which chains the layout
	// change after the acquire.
	memory_barrier_t visible = {46, NULL, accessShaderWrite | accessTransferWrite, accessShaderRead};
	image_barrier_t before[2];
	uint32_t nBefore = 0;
	uint64_t drawn = f->storage != 0 ? f->storage : f->target;
	before[nBefore++] = imageBarrier(drawn, 0, accessShaderWrite, layoutUndefined, layoutGeneral);
	if (f->storage != 0) {
		before[nBefore++] = imageBarrier(f->target, 0, accessTransferWrite, layoutUndefined, layoutTransferDst);
	}
	barrier(cb, pipeCompute | pipeTransfer, pipeCompute | pipeTransfer, 0, 1, &visible, 0, NULL, nBefore, before);
	bind(cb, 1 /* COMPUTE */, f->pipeline);
	sets(cb, 1, f->layout, 0, 1, &f->set, 0, NULL);
	if (f->pushSize > 0) {
		push(cb, f->layout, stageCompute, 0, f->pushSize, f->push);
	}
	dispatch(cb, f->groupsX, f->groupsY, 1);
	uint32_t lastStage = pipeCompute, lastAccess = accessShaderWrite, lastLayout = layoutGeneral;
	if (f->storage != 0) {
		// The fallback for swapchains whose images do not allow storage: a
		// raw copy (the shader swaps red and blue itself where the
		// swapchain's format is BGRA).
		image_barrier_t toCopy = imageBarrier(f->storage, accessShaderWrite, accessTransferRead, layoutGeneral, layoutTransferSrc);
		barrier(cb, pipeCompute, pipeTransfer, 0, 0, NULL, 0, NULL, 1, &toCopy);
		image_copy_t region;
		memset(&region, 0, sizeof region);
		region.srcSubresource = (layers_t){aspectColor, 0, 0, 1};
		region.dstSubresource = region.srcSubresource;
		region.extent[0] = f->width;
		region.extent[1] = f->height;
		region.extent[2] = 1;
		copy(cb, f->storage, layoutTransferSrc, f->target, layoutTransferDst, 1, &region);
		lastStage = pipeTransfer;
		lastAccess = accessTransferWrite;
		lastLayout = layoutTransferDst;
	}
	// Presentation needs no access mask: the semaphore the submit signals
	// makes the writes available to the presentation engine.
	image_barrier_t toPresent = imageBarrier(f->target, lastAccess, 0, lastLayout, layoutPresent);
	barrier(cb, lastStage, pipeBottom, 0, 0, NULL, 0, NULL, 1, &toPresent);
	return end(cb);
}

int vkcnn_acquire(void *instance, void *device, uint64_t swapchain, uint64_t timeout, uint64_t semaphore,
                  uint32_t *index) {
	typedef int (*fn_t)(void *, uint64_t, uint64_t, uint64_t, uint64_t, uint32_t *);
	PROC(fn_t, instance, "vkAcquireNextImageKHR");
	return fn(device, swapchain, timeout, semaphore, 0, index);
}

int vkcnn_submit_frame(void *instance, void *queue, void *cb, uint64_t wait, uint32_t waitStage, uint64_t signal,
                       uint64_t fence) {
	typedef int (*fn_t)(void *, uint32_t, const submit_info_t *, uint64_t);
	PROC(fn_t, instance, "vkQueueSubmit");
	submit_info_t info = {4, NULL, 1, &wait, &waitStage, 1, &cb, 1, &signal};
	return fn(queue, 1, &info, fence);
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t waitSemaphoreCount;
	const uint64_t *pWaitSemaphores;
	uint32_t swapchainCount;
	const uint64_t *pSwapchains;
	const uint32_t *pImageIndices;
	int *pResults;
} present_info_t;

int vkcnn_present(void *instance, void *queue, uint64_t swapchain, uint32_t index, uint64_t wait) {
	typedef int (*fn_t)(void *, const present_info_t *);
	PROC(fn_t, instance, "vkQueuePresentKHR");
	present_info_t info = {1000001001, NULL, 1, &wait, 1, &swapchain, &index, NULL};
	return fn(queue, &info);
}

int vkcnn_wait_fence(void *instance, void *device, uint64_t fence, uint64_t timeout) {
	typedef int (*wait_t)(void *, uint32_t, const uint64_t *, uint32_t, uint64_t);
	typedef int (*reset_t)(void *, uint32_t, const uint64_t *);
	wait_t wait = (wait_t)vkcnn_proc(instance, "vkWaitForFences");
	reset_t reset = (reset_t)vkcnn_proc(instance, "vkResetFences");
	if (wait == NULL || reset == NULL) {
		return errInit;
	}
	int r = wait(device, 1, &fence, 1, timeout);
	if (r != 0) {
		return r;
	}
	return reset(device, 1, &fence);
}

int vkcnn_queue_wait_idle(void *instance, void *queue) {
	typedef int (*fn_t)(void *);
	PROC(fn_t, instance, "vkQueueWaitIdle");
	return fn(queue);
}
