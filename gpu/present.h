// Presenting to a window: surface queries, swapchains, storage images and
// one frame's commands, reached like the rest of the shim through the loader
// (vulkan-go's headers have the KHR structures, but its conversions of
// nested structures are what shim.h explains it avoids). Non-dispatchable
// handles are uint64_t; each call returns a VkResult unless it says otherwise.
#ifndef VKCNN_PRESENT_H
#define VKCNN_PRESENT_H

#include <stddef.h>
#include <stdint.h>

// VkSurfaceCapabilitiesKHR, field for field.
typedef struct {
	uint32_t minImageCount, maxImageCount;
	uint32_t currentWidth, currentHeight;
	uint32_t minWidth, minHeight, maxWidth, maxHeight;
	uint32_t maxImageArrayLayers;
	uint32_t supportedTransforms, currentTransform;
	uint32_t supportedCompositeAlpha;
	uint32_t supportedUsageFlags;
} vkcnn_caps;

// vkcnn_surface_support sets *supported to whether family of physicalDevice
// can present to surface.
int vkcnn_surface_support(void *instance, void *physicalDevice, uint32_t family, uint64_t surface, uint32_t *supported);
int vkcnn_surface_caps(void *instance, void *physicalDevice, uint64_t surface, vkcnn_caps *caps);

// vkcnn_surface_formats writes up to *n (format, color space) pairs and sets
// *n to how many it wrote.
int vkcnn_surface_formats(void *instance, void *physicalDevice, uint64_t surface, uint32_t *formats, uint32_t *spaces,
                          uint32_t *n);
int vkcnn_present_modes(void *instance, void *physicalDevice, uint64_t surface, uint32_t *modes, uint32_t *n);

// vkcnn_format_features returns format's optimalTilingFeatures.
uint32_t vkcnn_format_features(void *instance, void *physicalDevice, uint32_t format);

void vkcnn_destroy_surface(void *instance, uint64_t surface);

// VkPhysicalDeviceFeatures is this many VkBool32; shaderStorageImageWrite-
// WithoutFormat is the one at featureWriteWithoutFormat.
enum { vkcnn_feature_count = 55, vkcnn_feature_write_without_format = 32 };

// vkcnn_features fills features (vkcnn_feature_count words) with
// physicalDevice's.
void vkcnn_features(void *instance, void *physicalDevice, uint32_t *features);

// What vkcnn_create_swapchain makes.
typedef struct {
	uint64_t surface;
	uint32_t minImageCount, format, colorSpace, width, height, usage, transform, compositeAlpha, presentMode;
	uint64_t oldSwapchain;
} vkcnn_swapchain_info;

int vkcnn_create_swapchain(void *instance, void *device, const vkcnn_swapchain_info *info, uint64_t *swapchain);

// vkcnn_swapchain_images writes up to *n image handles and sets *n.
int vkcnn_swapchain_images(void *instance, void *device, uint64_t swapchain, uint64_t *images, uint32_t *n);

// vkcnn_destroy calls the device-level vkDestroy<what>(device, handle, NULL)
// (Swapchain KHR, ImageView, Image, Semaphore, Fence, CommandPool,
// DescriptorPool, DescriptorSetLayout, PipelineLayout, Pipeline,
// ShaderModule) or vkFreeMemory for "Memory"; a zero handle is skipped.
void vkcnn_destroy(void *instance, void *device, const char *what, uint64_t handle);

// vkcnn_create_view creates a 2-D color view of image.
int vkcnn_create_view(void *instance, void *device, uint64_t image, uint32_t format, uint64_t *view);

// vkcnn_create_image creates a 2-D optimal-tiling image in its own
// device-local allocation.
int vkcnn_create_image(void *instance, void *physicalDevice, void *device, uint32_t format, uint32_t width,
                       uint32_t height, uint32_t usage, uint64_t *image, uint64_t *memory);

int vkcnn_create_module(void *instance, void *device, const uint32_t *code, size_t bytes, uint64_t *module);

// vkcnn_create_image_set_layout creates a set layout of one storage image at
// binding 0 and nBuffers storage buffers at bindings 1..nBuffers, for the
// compute stage; vkcnn_create_image_pool a pool for sets of them.
int vkcnn_create_image_set_layout(void *instance, void *device, uint32_t nBuffers, uint64_t *layout);
int vkcnn_create_image_pool(void *instance, void *device, uint32_t sets, uint32_t nBuffers, uint64_t *pool);
int vkcnn_allocate_set(void *instance, void *device, uint64_t pool, uint64_t layout, uint64_t *set);

// vkcnn_write_image_set binds view (in the GENERAL layout) at binding 0 and
// the whole of buffers[i] at binding i+1.
int vkcnn_write_image_set(void *instance, void *device, uint64_t set, uint64_t view, const uint64_t *buffers,
                          uint32_t nBuffers);

int vkcnn_create_semaphore(void *instance, void *device, uint64_t *semaphore);
int vkcnn_create_fence(void *instance, void *device, uint64_t *fence);

// vkcnn_create_command_buffer creates a pool for family whose one command
// buffer can be reset, and that buffer.
int vkcnn_create_command_buffer(void *instance, void *device, uint32_t family, uint64_t *pool, void **cb);

// One frame: a compute shader fills an image, which is then presented.
typedef struct {
	uint64_t pipeline, layout, set;
	const void *push;
	uint32_t pushSize;
	uint32_t groupsX, groupsY;
	uint64_t target;  // the swapchain image
	uint64_t storage; // the shader's image when it is not target (then copied into it), else 0
	uint32_t width, height;
} vkcnn_frame;

// vkcnn_record_frame resets cb and records f into it.
int vkcnn_record_frame(void *instance, void *cb, const vkcnn_frame *f);

// vkcnn_acquire acquires the next image of swapchain, signalling semaphore.
int vkcnn_acquire(void *instance, void *device, uint64_t swapchain, uint64_t timeout, uint64_t semaphore,
                  uint32_t *index);

// vkcnn_submit_frame submits cb waiting for wait at waitStage and signalling
// signal and fence.
int vkcnn_submit_frame(void *instance, void *queue, void *cb, uint64_t wait, uint32_t waitStage, uint64_t signal,
                       uint64_t fence);

// vkcnn_present presents image index of swapchain once wait is signalled.
int vkcnn_present(void *instance, void *queue, uint64_t swapchain, uint32_t index, uint64_t wait);

// vkcnn_wait_fence waits up to timeout ns for fence and resets it.
int vkcnn_wait_fence(void *instance, void *device, uint64_t fence, uint64_t timeout);

// vkcnn_queue_wait_idle waits until queue has nothing left to do.
int vkcnn_queue_wait_idle(void *instance, void *queue);

#endif
