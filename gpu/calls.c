// Vulkan calls whose arguments are arrays or nested structures (see shim.h
// for why they are not made through vulkan-go). Structure layouts are those
// of the Vulkan 1.1 specification.
#include "vkstructs.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint32_t sType;
	const void *pNext;
	const char *pApplicationName;
	uint32_t applicationVersion;
	const char *pEngineName;
	uint32_t engineVersion;
	uint32_t apiVersion;
} app_info_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	const app_info_t *pApplicationInfo;
	uint32_t enabledLayerCount;
	const char *const *ppEnabledLayerNames;
	uint32_t enabledExtensionCount;
	const char *const *ppEnabledExtensionNames;
} instance_info_t;

int vkcnn_create_instance(const char *const *layers, uint32_t nLayers, const char *const *extensions,
                          uint32_t nExtensions, uint32_t flags, void **instance) {
	typedef int (*fn_t)(const instance_info_t *, const void *, void **);
	PROC(fn_t, NULL, "vkCreateInstance");
	app_info_t app = {0, NULL, "vkcnn", 0, "vkcnn", 0, (1u << 22) | (1u << 12)};
	instance_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 1;
	info.flags = flags;
	info.pApplicationInfo = &app;
	info.enabledLayerCount = nLayers;
	info.ppEnabledLayerNames = layers;
	info.enabledExtensionCount = nExtensions;
	info.ppEnabledExtensionNames = extensions;
	return fn(&info, NULL, instance);
}

typedef struct {
	char layerName[256];
	uint32_t specVersion;
	uint32_t implementationVersion;
	char description[256];
} layer_t;

int vkcnn_has_layer(const char *name) {
	typedef int (*fn_t)(uint32_t *, layer_t *);
	fn_t fn = (fn_t)vkcnn_proc(NULL, "vkEnumerateInstanceLayerProperties");
	uint32_t n = 0;
	if (fn == NULL || fn(&n, NULL) != 0 || n == 0) {
		return 0;
	}
	layer_t *layers = calloc(n, sizeof *layers);
	if (layers == NULL) {
		return 0;
	}
	int found = 0;
	int r = fn(&n, layers);
	for (uint32_t i = 0; (r == 0 || r == errIncomplete) && i < n && !found; i++) {
		found = strncmp(layers[i].layerName, name, sizeof layers[i].layerName) == 0;
	}
	free(layers);
	return found;
}

typedef struct {
	char extensionName[256];
	uint32_t specVersion;
} extension_t;

int vkcnn_has_device_extension(void *instance, void *physicalDevice, const char *name) {
	typedef int (*fn_t)(void *, const char *, uint32_t *, extension_t *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkEnumerateDeviceExtensionProperties");
	uint32_t n = 0;
	if (fn == NULL || fn(physicalDevice, NULL, &n, NULL) != 0 || n == 0) {
		return 0;
	}
	extension_t *exts = calloc(n, sizeof *exts);
	if (exts == NULL) {
		return 0;
	}
	int found = 0;
	int r = fn(physicalDevice, NULL, &n, exts);
	for (uint32_t i = 0; (r == 0 || r == errIncomplete) && i < n && !found; i++) {
		found = strncmp(exts[i].extensionName, name, sizeof exts[i].extensionName) == 0;
	}
	free(exts);
	return found;
}

typedef struct {
	uint32_t queueFlags;
	uint32_t queueCount;
	uint32_t timestampValidBits;
	uint32_t minImageTransferGranularity[3];
} family_t;

uint32_t vkcnn_queue_families(void *instance, void *physicalDevice, uint32_t *flags, uint32_t *timestampBits, uint32_t max) {
	typedef void (*fn_t)(void *, uint32_t *, family_t *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkGetPhysicalDeviceQueueFamilyProperties");
	uint32_t n = 0;
	if (fn == NULL) {
		return 0;
	}
	fn(physicalDevice, &n, NULL);
	family_t *families = calloc(n == 0 ? 1 : n, sizeof *families);
	if (families == NULL) {
		return 0;
	}
	fn(physicalDevice, &n, families);
	for (uint32_t i = 0; i < n && i < max; i++) {
		flags[i] = families[i].queueFlags;
		timestampBits[i] = families[i].timestampValidBits;
	}
	free(families);
	return n;
}

int vkcnn_create_set_layout(void *instance, void *device, uint32_t n, uint64_t *layout) {
	typedef int (*fn_t)(void *, const set_layout_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateDescriptorSetLayout");
	binding_t *bindings = calloc(n == 0 ? 1 : n, sizeof *bindings);
	if (bindings == NULL) {
		return errHostMem;
	}
	for (uint32_t i = 0; i < n; i++) {
		bindings[i].binding = i;
		bindings[i].descriptorType = typeStorageBuffer;
		bindings[i].descriptorCount = 1;
		bindings[i].stageFlags = stageCompute;
	}
	set_layout_info_t info = {32, NULL, 0, n, bindings};
	int r = fn(device, &info, NULL, layout);
	free(bindings);
	return r;
}

typedef struct {
	uint32_t stageFlags;
	uint32_t offset;
	uint32_t size;
} push_range_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t setLayoutCount;
	const uint64_t *pSetLayouts;
	uint32_t pushConstantRangeCount;
	const push_range_t *pPushConstantRanges;
} pipeline_layout_info_t;

int vkcnn_create_pipeline_layout(void *instance, void *device, uint64_t setLayout, uint32_t pushSize, uint64_t *layout) {
	typedef int (*fn_t)(void *, const pipeline_layout_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreatePipelineLayout");
	push_range_t push = {stageCompute, 0, pushSize};
	pipeline_layout_info_t info = {30, NULL, 0, 1, &setLayout, pushSize > 0, pushSize > 0 ? &push : NULL};
	return fn(device, &info, NULL, layout);
}

int vkcnn_create_descriptor_pool(void *instance, void *device, uint32_t sets, uint32_t perSet, uint64_t *pool) {
	typedef int (*fn_t)(void *, const pool_info_t *, const void *, uint64_t *);
	PROC(fn_t, instance, "vkCreateDescriptorPool");
	pool_size_t size = {typeStorageBuffer, sets * perSet};
	pool_info_t info = {33, NULL, 0, sets, 1, &size};
	return fn(device, &info, NULL, pool);
}

int vkcnn_write_descriptors(void *instance, void *device, uint64_t set, const uint64_t *buffers, uint32_t n) {
	typedef void (*fn_t)(void *, uint32_t, const write_t *, uint32_t, const void *);
	PROC(fn_t, instance, "vkUpdateDescriptorSets");
	buffer_desc_t *infos = calloc(n == 0 ? 1 : n, sizeof *infos);
	write_t *writes = calloc(n == 0 ? 1 : n, sizeof *writes);
	if (infos == NULL || writes == NULL) {
		free(infos);
		free(writes);
		return errHostMem;
	}
	for (uint32_t i = 0; i < n; i++) {
		infos[i] = (buffer_desc_t){buffers[i], 0, wholeSize};
		writes[i].sType = 35;
		writes[i].dstSet = set;
		writes[i].dstBinding = i;
		writes[i].descriptorCount = 1;
		writes[i].descriptorType = typeStorageBuffer;
		writes[i].pBufferInfo = &infos[i];
	}
	fn(device, n, writes, 0, NULL);
	free(infos);
	free(writes);
	return 0;
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t srcAccessMask;
	uint32_t dstAccessMask;
	uint32_t srcQueueFamilyIndex;
	uint32_t dstQueueFamilyIndex;
	uint64_t buffer;
	uint64_t offset;
	uint64_t size;
} buffer_barrier_t;

typedef void (*barrier_fn_t)(void *, uint32_t, uint32_t, uint32_t, uint32_t, const memory_barrier_t *, uint32_t,
                             const buffer_barrier_t *, uint32_t, const void *);

int vkcnn_cmd_buffer_barriers(void *instance, void *cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess,
                              uint32_t dstAccess, const uint64_t *buffers, uint32_t n) {
	PROC(barrier_fn_t, instance, "vkCmdPipelineBarrier");
	buffer_barrier_t *barriers = calloc(n == 0 ? 1 : n, sizeof *barriers);
	if (barriers == NULL) {
		return errHostMem;
	}
	for (uint32_t i = 0; i < n; i++) {
		barriers[i] = (buffer_barrier_t){44, NULL, srcAccess, dstAccess, familyIgnored, familyIgnored, buffers[i], 0, wholeSize};
	}
	fn(cb, srcStage, dstStage, 0, 0, NULL, n, barriers, 0, NULL);
	free(barriers);
	return 0;
}

int vkcnn_cmd_memory_barrier(void *instance, void *cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess,
                             uint32_t dstAccess) {
	PROC(barrier_fn_t, instance, "vkCmdPipelineBarrier");
	memory_barrier_t barrier = {46, NULL, srcAccess, dstAccess};
	fn(cb, srcStage, dstStage, 0, 1, &barrier, 0, NULL, 0, NULL);
	return 0;
}

int vkcnn_cmd_copy(void *instance, void *cb, uint64_t src, uint64_t srcOffset, uint64_t dst, uint64_t dstOffset,
                   uint64_t size) {
	typedef void (*fn_t)(void *, uint64_t, uint64_t, uint32_t, const uint64_t *);
	PROC(fn_t, instance, "vkCmdCopyBuffer");
	uint64_t region[3] = {srcOffset, dstOffset, size}; // VkBufferCopy
	fn(cb, src, dst, 1, region);
	return 0;
}

int vkcnn_submit(void *instance, void *queue, void *cb, uint32_t times, uint64_t fence) {
	typedef int (*fn_t)(void *, uint32_t, const submit_info_t *, uint64_t);
	PROC(fn_t, instance, "vkQueueSubmit");
	void **cbs = calloc(times == 0 ? 1 : times, sizeof *cbs);
	if (cbs == NULL) {
		return errHostMem;
	}
	for (uint32_t i = 0; i < times; i++) {
		cbs[i] = cb;
	}
	submit_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 4;
	info.commandBufferCount = times;
	info.pCommandBuffers = cbs;
	int r = fn(queue, 1, &info, fence);
	free(cbs);
	return r;
}
