package gpu

import (
	"fmt"
	"strings"
)

// Requirements are what a workload needs of a device beyond what every
// Vulkan device has. Open checks them, so that a device that falls short is
// refused at once with one message naming every shortfall, rather than
// failing later in a pipeline build, or computing garbage in a dispatch that
// a driver accepted without checking. The zero value asks for nothing but
// what the runtime itself needs (Vulkan 1.1).
type Requirements struct {
	// APIVersion is the least Vulkan version the device must support, as
	// Version packs it.
	APIVersion uint32
	// StorageBuffersPerStage is the most storage buffers one kernel binds
	// (maxPerStageDescriptorStorageBuffers; Vulkan guarantees 4).
	StorageBuffersPerStage uint32
	// WorkgroupInvocations is the largest workgroup (maxComputeWorkGroupInvocations;
	// Vulkan guarantees 128), and WorkgroupSizeX its largest x extent
	// (maxComputeWorkGroupSize[0]; guaranteed 128).
	WorkgroupInvocations, WorkgroupSizeX uint32
	// SharedMemory is the most shared memory one workgroup declares, in
	// bytes (maxComputeSharedMemorySize; Vulkan guarantees 16 KiB).
	SharedMemory uint32
	// PushConstants is the largest push-constant block, in bytes
	// (maxPushConstantsSize; Vulkan guarantees 128).
	PushConstants uint32
}

// runtimeVersion is the Vulkan version the runtime needs: it creates a 1.1
// instance, reads subgroup properties through vkGetPhysicalDeviceProperties2,
// and the shaders are SPIR-V 1.3 (glslc --target-env=vulkan1.1).
var runtimeVersion = Version(1, 1, 0)

// Version packs a Vulkan version number as VK_MAKE_API_VERSION does (variant 0).
func Version(major, minor, patch uint32) uint32 { return major<<22 | minor<<12 | patch }

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22&0x7f, v>>12&0x3ff, v&0xfff)
}

// Check returns nil if the device meets r and the runtime's own needs, or
// an error that lists every shortfall.
func (i Info) Check(r Requirements) error {
	var short []string
	need := max(r.APIVersion, runtimeVersion)
	if i.API < need {
		short = append(short, fmt.Sprintf("Vulkan %s (needs %s)", versionString(i.API), versionString(need)))
	}
	limit := func(have, want uint32, what, field string) {
		if have < want {
			short = append(short, fmt.Sprintf("%d %s (%s; needs %d)", have, what, field, want))
		}
	}
	limit(i.MaxStorageBuffersPerStage, r.StorageBuffersPerStage, "storage buffers per shader stage", "maxPerStageDescriptorStorageBuffers")
	limit(i.MaxWorkgroupInvocations, r.WorkgroupInvocations, "invocations per workgroup", "maxComputeWorkGroupInvocations")
	limit(i.MaxWorkgroupSize[0], r.WorkgroupSizeX, "invocations along a workgroup's x", "maxComputeWorkGroupSize[0]")
	limit(i.MaxSharedMemory, r.SharedMemory, "bytes of shared memory", "maxComputeSharedMemorySize")
	limit(i.MaxPushConstantsSize, r.PushConstants, "bytes of push constants", "maxPushConstantsSize")
	if len(short) == 0 {
		return nil
	}
	return &ShortfallError{Index: i.Index, Name: i.Name, Missing: short}
}

// ShortfallError is a device that lacks what the workload needs (see
// Requirements).
type ShortfallError struct {
	Index   int
	Name    string
	Missing []string // one entry per requirement not met
}

func (e *ShortfallError) Error() string {
	return fmt.Sprintf("Vulkan device %d (%s) falls short of what vkcnn needs: %s; update its driver, or choose another device (`vkcnn devices` lists them)",
		e.Index, e.Name, strings.Join(e.Missing, ", "))
}
