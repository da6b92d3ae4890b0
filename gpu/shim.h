// A few Vulkan entry points that vulkan-go does not wrap (its headers are
// Vulkan 1.1.88), reached through the loader this shim opens itself. The
// structures are declared here, laid out as in the Vulkan specification, so
// building needs no Vulkan headers.
#ifndef VKCNN_SHIM_H
#define VKCNN_SHIM_H

#include <stdint.h>

// vkcnn_open_loader dlopens name, or when it is NULL libvulkan.so.1 (then
// libvulkan.so), and returns its vkGetInstanceProcAddr, or NULL with *err
// set to dlerror's text.
void *vkcnn_open_loader(const char *name, const char **err);

// Subgroup size and driver identity, from vkGetPhysicalDeviceProperties2.
typedef struct {
	uint32_t subgroupSize;
	uint32_t subgroupStages;
	uint32_t subgroupOps;
	int hasDriver;
	uint32_t driverID;
	char driverName[256];
	char driverInfo[256];
} vkcnn_props2;

// vkcnn_properties2 fills out for one physical device. hasDriverProps says
// whether the device advertises VK_KHR_driver_properties (chaining an unknown
// struct is invalid usage). Returns 0 when the call is not available.
int vkcnn_properties2(void *instance, void *physicalDevice, int hasDriverProps, vkcnn_props2 *out);

// vkcnn_messenger is a VK_EXT_debug_utils messenger that counts validation
// errors and keeps the first message.
typedef struct vkcnn_messenger vkcnn_messenger;

// vkcnn_messenger_create installs a messenger on instance. Returns a VkResult.
int vkcnn_messenger_create(void *instance, vkcnn_messenger **out);
void vkcnn_messenger_destroy(void *instance, vkcnn_messenger *m);

// vkcnn_validation_take returns how many errors (and warnings) m heard since
// the last call and copies the first error message into buf.
uint32_t vkcnn_validation_take(vkcnn_messenger *m, char *buf, uint32_t bufLen, uint32_t *warnings);

// vkcnn_create_device creates a device with one queue of family.
int vkcnn_create_device(void *instance, void *physicalDevice, uint32_t family, void **device);

// vkcnn_create_compute_pipeline creates a compute pipeline (entry point
// "main") with specialization constants 0..specCount-1 set to spec's words.
int vkcnn_create_compute_pipeline(void *instance, void *device, uint64_t cache, uint64_t module, uint64_t layout,
                                  const uint32_t *spec, uint32_t specCount, uint64_t *pipeline);

#endif
