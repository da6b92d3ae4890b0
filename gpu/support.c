#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "shim.h"

enum { nameSize = 256, errIncomplete = 5 };

typedef struct {
	char extensionName[nameSize];
	uint32_t specVersion;
} extension_t;

// copyNames copies up to max of the n extensions' names into names.
static void copyNames(const extension_t *exts, uint32_t n, char *names, uint32_t max) {
	for (uint32_t i = 0; i < n && i < max; i++) {
		memcpy(names + (size_t)i * nameSize, exts[i].extensionName, nameSize);
		names[(size_t)i * nameSize + nameSize - 1] = 0;
	}
}

uint32_t vkcnn_instance_extensions(char *names, uint32_t max) {
	typedef int (*fn_t)(const char *, uint32_t *, extension_t *);
	fn_t fn = (fn_t)vkcnn_proc(NULL, "vkEnumerateInstanceExtensionProperties");
	uint32_t n = 0;
	if (fn == NULL || fn(NULL, &n, NULL) != 0 || n == 0) {
		return 0;
	}
	extension_t *exts = calloc(n, sizeof *exts);
	if (exts == NULL) {
		return 0;
	}
	int r = fn(NULL, &n, exts);
	if (r == 0 || r == errIncomplete) {
		copyNames(exts, n, names, max);
	} else {
		n = 0;
	}
	free(exts);
	return n;
}

uint32_t vkcnn_device_extensions(void *instance, void *physicalDevice, char *names, uint32_t max) {
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
	int r = fn(physicalDevice, NULL, &n, exts);
	if (r == 0 || r == errIncomplete) {
		copyNames(exts, n, names, max);
	} else {
		n = 0;
	}
	free(exts);
	return n;
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint64_t memory;
	uint64_t offset;
	uint64_t size;
} mapped_range_t;

int vkcnn_invalidate(void *instance, void *device, uint64_t memory) {
	typedef int (*fn_t)(void *, uint32_t, const mapped_range_t *);
	fn_t fn = (fn_t)vkcnn_proc(instance, "vkInvalidateMappedMemoryRanges");
	if (fn == NULL) {
		return -3; // VK_ERROR_INITIALIZATION_FAILED
	}
	// VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE; offset 0 is a multiple of any
	// nonCoherentAtomSize, and VK_WHOLE_SIZE runs to the end of the mapping.
	mapped_range_t r = {6, NULL, memory, 0, ~(uint64_t)0};
	return fn(device, 1, &r);
}
