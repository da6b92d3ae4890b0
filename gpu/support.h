// What the loader and a device offer, and the host side of mapped memory:
// the shim's calls for portability (MoltenVK) and for readback from
// non-coherent memory. Laid out and reached like the rest of the shim
// (shim.h).
#ifndef VKCNN_SUPPORT_H
#define VKCNN_SUPPORT_H

#include <stdint.h>

// vkcnn_instance_extensions writes the names of up to max instance
// extensions that the loader and its drivers offer (no layer's) into names,
// 256 bytes apart, and returns how many there are.
uint32_t vkcnn_instance_extensions(char *names, uint32_t max);

// vkcnn_device_extensions does the same for physicalDevice's extensions.
uint32_t vkcnn_device_extensions(void *instance, void *physicalDevice, char *names, uint32_t max);

// vkcnn_invalidate makes device writes to memory, mapped whole, visible to
// the host (vkInvalidateMappedMemoryRanges of VK_WHOLE_SIZE). Returns a
// VkResult.
int vkcnn_invalidate(void *instance, void *device, uint64_t memory);

#endif
