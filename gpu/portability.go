package gpu

/*
#include <stdlib.h>
#include "support.h"
*/
import "C"

import (
	"slices"
	"unsafe"
)

// What vkcnn does differently on a platform or driver, each decided by a
// pure function of the platform (GOOS) and of what the loader or device
// offers, so that tests on Linux cover the macOS choices too.

// Extension names and flags of the Vulkan portability extensions, through
// which the loader exposes non-conformant implementations such as MoltenVK.
const (
	portabilityEnumeration = "VK_KHR_portability_enumeration"
	portabilitySubset      = "VK_KHR_portability_subset"
	// enumeratePortabilityBit is VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR.
	enumeratePortabilityBit = 0x1
)

// loaderNames lists the Vulkan libraries load tries, in order, on goos. A
// library named by the user (LoaderEnv) is the only one tried. On Linux the
// versioned name comes first: the unversioned one ships only in the -dev
// package. On macOS the Khronos loader (Vulkan SDK, Homebrew's vulkan-loader)
// comes before MoltenVK itself, which also exports vkGetInstanceProcAddr and
// serves where no loader is installed; Homebrew's prefix on Apple silicon is
// not on dlopen's default search path, so it is tried by full path as well.
func loaderNames(goos, override string) []string {
	if override != "" {
		return []string{override}
	}
	switch goos {
	case "darwin", "ios":
		return []string{
			"libvulkan.1.dylib", "libMoltenVK.dylib",
			"/opt/homebrew/lib/libvulkan.1.dylib", "/opt/homebrew/lib/libMoltenVK.dylib",
		}
	}
	return []string{"libvulkan.so.1", "libvulkan.so"}
}

// noLoaderHelp says what to install when no loader opens on goos.
func noLoaderHelp(goos string) string {
	switch goos {
	case "darwin", "ios":
		return "no Vulkan loader (libvulkan.1.dylib or libMoltenVK.dylib): install MoltenVK, e.g. `brew install molten-vk vulkan-loader` or the LunarG Vulkan SDK"
	}
	return "no Vulkan loader (libvulkan.so.1): install one, e.g. `apt-get install libvulkan1 mesa-vulkan-drivers` on Debian, or your GPU vendor's driver"
}

// moltenVKFastMath is MoltenVK's setting for Metal's fast math, which it
// turns on by default. Fast math lets the Metal compiler assume no NaN or
// infinity and reassociate arithmetic: the loss's NaN checks would never
// fire and the kernels that match the CPU bit for bit would not.
const moltenVKFastMath = "MVK_CONFIG_FAST_MATH_ENABLED"

// loaderEnv returns the environment variables to set before the loader
// starts on goos (MoltenVK reads its configuration once, when it loads).
// A value the user set already is kept.
func loaderEnv(goos string, lookup func(string) (string, bool)) map[string]string {
	env := map[string]string{}
	if goos != "darwin" && goos != "ios" {
		return env
	}
	if _, set := lookup(moltenVKFastMath); !set {
		env[moltenVKFastMath] = "0" // MVK_CONFIG_FAST_MATH_NEVER
	}
	return env
}

// instancePortability returns the instance extensions and
// VkInstanceCreateFlags that let the loader list portability
// implementations, given the extensions it offers. Since loader 1.3.216 a
// MoltenVK device is listed only to an instance created with both; older
// loaders neither offer the extension nor hide such devices.
func instancePortability(offered []string) (extensions []string, flags uint32) {
	if slices.Contains(offered, portabilityEnumeration) {
		return []string{portabilityEnumeration}, enumeratePortabilityBit
	}
	return nil, 0
}

// devicePortability returns the device extensions to enable, given those the
// device offers: the specification requires enabling VK_KHR_portability_subset
// on every device that lists it.
func devicePortability(offered []string) []string {
	if slices.Contains(offered, portabilitySubset) {
		return []string{portabilitySubset}
	}
	return nil
}

// maxExtensions bounds the extension names read from the loader or a device
// (drivers list a few hundred at most).
const maxExtensions = 1024

// offeredInstanceExtensions lists the instance extensions the loader offers.
func offeredInstanceExtensions() []string {
	buf := C.malloc(C.size_t(256 * maxExtensions))
	defer C.free(buf)
	n := C.vkcnn_instance_extensions((*C.char)(buf), maxExtensions)
	return extensionNames(buf, int(n))
}

// offeredDeviceExtensions lists the extensions of a physical device.
func offeredDeviceExtensions(in *instance, pd unsafe.Pointer) []string {
	buf := C.malloc(C.size_t(256 * maxExtensions))
	defer C.free(buf)
	n := C.vkcnn_device_extensions(unsafe.Pointer(in.handle), pd, (*C.char)(buf), maxExtensions)
	return extensionNames(buf, int(n))
}

func extensionNames(buf unsafe.Pointer, n int) []string {
	names := make([]string, min(n, maxExtensions))
	for i := range names {
		names[i] = C.GoString((*C.char)(unsafe.Add(buf, 256*i)))
	}
	return names
}
