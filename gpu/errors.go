package gpu

import (
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// ResultError is a Vulkan call that returned an error code.
type ResultError struct {
	Call   string
	Result vk.Result
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("%s: %s", e.Call, resultName(e.Result))
}

// OutOfMemory says whether the call failed for lack of host or device memory.
func (e *ResultError) OutOfMemory() bool {
	return e.Result == vk.ErrorOutOfDeviceMemory || e.Result == vk.ErrorOutOfHostMemory
}

// check turns a VkResult into an error naming the call.
func check(call string, r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	return &ResultError{Call: call, Result: r}
}

func resultName(r vk.Result) string {
	names := map[vk.Result]string{
		vk.NotReady:                   "VK_NOT_READY",
		vk.Timeout:                    "VK_TIMEOUT",
		vk.Incomplete:                 "VK_INCOMPLETE",
		vk.ErrorOutOfHostMemory:       "VK_ERROR_OUT_OF_HOST_MEMORY",
		vk.ErrorOutOfDeviceMemory:     "VK_ERROR_OUT_OF_DEVICE_MEMORY",
		vk.ErrorInitializationFailed:  "VK_ERROR_INITIALIZATION_FAILED",
		vk.ErrorDeviceLost:            "VK_ERROR_DEVICE_LOST",
		vk.ErrorMemoryMapFailed:       "VK_ERROR_MEMORY_MAP_FAILED",
		vk.ErrorLayerNotPresent:       "VK_ERROR_LAYER_NOT_PRESENT",
		vk.ErrorExtensionNotPresent:   "VK_ERROR_EXTENSION_NOT_PRESENT",
		vk.ErrorFeatureNotPresent:     "VK_ERROR_FEATURE_NOT_PRESENT",
		vk.ErrorIncompatibleDriver:    "VK_ERROR_INCOMPATIBLE_DRIVER",
		vk.ErrorTooManyObjects:        "VK_ERROR_TOO_MANY_OBJECTS",
		vk.ErrorFormatNotSupported:    "VK_ERROR_FORMAT_NOT_SUPPORTED",
		vk.ErrorFragmentedPool:        "VK_ERROR_FRAGMENTED_POOL",
		vk.ErrorOutOfPoolMemory:       "VK_ERROR_OUT_OF_POOL_MEMORY",
		vk.ErrorInvalidShaderNv:       "VK_ERROR_INVALID_SHADER_NV",
		vk.ErrorInvalidExternalHandle: "VK_ERROR_INVALID_EXTERNAL_HANDLE",
	}
	if n, ok := names[r]; ok {
		return n
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}
