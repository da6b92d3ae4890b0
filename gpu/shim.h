// A few Vulkan entry points that vulkan-go does not wrap (its headers are
// Vulkan 1.1.88), reached through the loader this shim opens itself. The
// structures are declared here, laid out as in the Vulkan specification, so
// building needs no Vulkan headers.
#ifndef VKCNN_SHIM_H
#define VKCNN_SHIM_H

#include <stdint.h>

// vkcnn_open_loader dlopens name and returns its vkGetInstanceProcAddr, or
// NULL with *err set to dlerror's text. Which names to try, in which order,
// is the caller's choice (loaderNames in loader.go).
void *vkcnn_open_loader(const char *name, const char **err);

// vkcnn_proc returns the entry point name of instance (NULL for global
// commands), or NULL.
void *vkcnn_proc(void *instance, const char *name);

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

// vkcnn_create_device creates a device with one queue of family, the
// nExtensions device extensions named in extensions and, unless it is NULL,
// the VkPhysicalDeviceFeatures features.
int vkcnn_create_device(void *instance, void *physicalDevice, uint32_t family, const char *const *extensions,
                        uint32_t nExtensions, const void *features, void **device);

// vkcnn_create_compute_pipeline creates a compute pipeline (entry point
// "main") with specialization constants 0..specCount-1 set to spec's words.
int vkcnn_create_compute_pipeline(void *instance, void *device, uint64_t cache, uint64_t module, uint64_t layout,
                                  const uint32_t *spec, uint32_t specCount, uint64_t *pipeline);

// The calls below take arrays or structures that point to more structures.
// They are made here rather than through vulkan-go, whose C copies of such
// arguments are freed by finalizers that can run while the call still reads
// them. Non-dispatchable handles are uint64_t; each returns a VkResult (the
// vkCmd* ones VK_SUCCESS, or VK_ERROR_INITIALIZATION_FAILED when the entry
// point is missing).

// vkcnn_create_instance creates a Vulkan 1.1 instance with these layers and
// extensions and VkInstanceCreateFlags flags.
int vkcnn_create_instance(const char *const *layers, uint32_t nLayers, const char *const *extensions,
                          uint32_t nExtensions, uint32_t flags, void **instance);

// vkcnn_has_layer reports whether the instance layer name is installed.
int vkcnn_has_layer(const char *name);

// vkcnn_has_device_extension reports whether physicalDevice offers name.
int vkcnn_has_device_extension(void *instance, void *physicalDevice, const char *name);

// vkcnn_queue_families writes up to max families' queue flags and
// timestampValidBits and returns how many the device has.
uint32_t vkcnn_queue_families(void *instance, void *physicalDevice, uint32_t *flags, uint32_t *timestampBits, uint32_t max);

// vkcnn_create_set_layout creates a descriptor set layout of n storage
// buffers at bindings 0..n-1 for the compute stage.
int vkcnn_create_set_layout(void *instance, void *device, uint32_t n, uint64_t *layout);

// vkcnn_create_pipeline_layout creates a pipeline layout of one set layout
// and, when pushSize > 0, pushSize bytes of compute push constants.
int vkcnn_create_pipeline_layout(void *instance, void *device, uint64_t setLayout, uint32_t pushSize, uint64_t *layout);

// vkcnn_create_descriptor_pool creates a pool of sets sets and
// sets*perSet storage buffer descriptors.
int vkcnn_create_descriptor_pool(void *instance, void *device, uint32_t sets, uint32_t perSet, uint64_t *pool);

// vkcnn_write_descriptors binds the whole of buffers[i] to binding i of set.
int vkcnn_write_descriptors(void *instance, void *device, uint64_t set, const uint64_t *buffers, uint32_t n);

// vkcnn_cmd_buffer_barriers records one barrier between stages with a
// whole-buffer memory barrier for each of buffers.
int vkcnn_cmd_buffer_barriers(void *instance, void *cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess,
                              uint32_t dstAccess, const uint64_t *buffers, uint32_t n);

// vkcnn_cmd_memory_barrier records one global memory barrier.
int vkcnn_cmd_memory_barrier(void *instance, void *cb, uint32_t srcStage, uint32_t dstStage, uint32_t srcAccess,
                             uint32_t dstAccess);

// vkcnn_cmd_copy records copying size bytes from src at srcOffset to dst at
// dstOffset.
int vkcnn_cmd_copy(void *instance, void *cb, uint64_t src, uint64_t srcOffset, uint64_t dst, uint64_t dstOffset,
                   uint64_t size);

// vkcnn_submit submits cb times times in one batch, signalling fence.
int vkcnn_submit(void *instance, void *queue, void *cb, uint32_t times, uint64_t fence);

#endif
