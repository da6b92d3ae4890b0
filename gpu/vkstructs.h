// Vulkan 1.1 constants and structure layouts shared by calls.c and
// present.c, which call Vulkan with arrays and nested structures directly
// (see shim.h for why not through vulkan-go).
#ifndef VKCNN_VKSTRUCTS_H
#define VKCNN_VKSTRUCTS_H

#include <stdint.h>

#include "shim.h"

enum {
	errHostMem = -1,   // VK_ERROR_OUT_OF_HOST_MEMORY
	errDeviceMem = -2, // VK_ERROR_OUT_OF_DEVICE_MEMORY
	errInit = -3,      // VK_ERROR_INITIALIZATION_FAILED
	errIncomplete = 5, // VK_INCOMPLETE
	typeStorageImage = 3,
	typeStorageBuffer = 7,
	stageCompute = 0x20, // VK_SHADER_STAGE_COMPUTE_BIT
	familyIgnored = 0xffffffffu,
};

#define wholeSize (~(uint64_t)0)

// PROC declares fn as instance's entry point name of type t (a typedef),
// returning errInit from the calling function when there is none.
#define PROC(t, instance, name)                                                                                        \
	t fn = (t)vkcnn_proc(instance, name);                                                                              \
	if (fn == NULL) {                                                                                                  \
		return errInit;                                                                                                \
	}

typedef struct {
	uint32_t binding;
	uint32_t descriptorType;
	uint32_t descriptorCount;
	uint32_t stageFlags;
	const void *pImmutableSamplers;
} binding_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t bindingCount;
	const binding_t *pBindings;
} set_layout_info_t;

typedef struct {
	uint32_t type;
	uint32_t descriptorCount;
} pool_size_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t maxSets;
	uint32_t poolSizeCount;
	const pool_size_t *pPoolSizes;
} pool_info_t;

typedef struct {
	uint64_t sampler;
	uint64_t view;
	uint32_t layout;
} image_desc_t;

typedef struct {
	uint64_t buffer;
	uint64_t offset;
	uint64_t range;
} buffer_desc_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint64_t dstSet;
	uint32_t dstBinding;
	uint32_t dstArrayElement;
	uint32_t descriptorCount;
	uint32_t descriptorType;
	const image_desc_t *pImageInfo;
	const buffer_desc_t *pBufferInfo;
	const void *pTexelBufferView;
} write_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t srcAccessMask;
	uint32_t dstAccessMask;
} memory_barrier_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t waitSemaphoreCount;
	const uint64_t *pWaitSemaphores;
	const uint32_t *pWaitDstStageMask;
	uint32_t commandBufferCount;
	void *const *pCommandBuffers;
	uint32_t signalSemaphoreCount;
	const uint64_t *pSignalSemaphores;
} submit_info_t;

#endif
