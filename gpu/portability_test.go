package gpu

import (
	"slices"
	"strings"
	"testing"
	"time"

	vk "github.com/vulkan-go/vulkan"
)

// The platform and driver choices are pure functions, tested here for every
// platform whatever this machine is.

func TestLoaderNames(t *testing.T) {
	tests := []struct {
		goos, override string
		first          []string // the names tried first, in order
	}{
		{"linux", "", []string{"libvulkan.so.1", "libvulkan.so"}},
		{"freebsd", "", []string{"libvulkan.so.1"}},
		{"darwin", "", []string{"libvulkan.1.dylib", "libMoltenVK.dylib"}},
		{"darwin", "/opt/x/libMoltenVK.dylib", []string{"/opt/x/libMoltenVK.dylib"}},
		{"linux", "/x/libvulkan.so.1", []string{"/x/libvulkan.so.1"}},
	}
	for _, tc := range tests {
		got := loaderNames(tc.goos, tc.override)
		if len(got) < len(tc.first) || !slices.Equal(got[:len(tc.first)], tc.first) {
			t.Errorf("loaderNames(%q, %q) = %q, want it to start with %q", tc.goos, tc.override, got, tc.first)
		}
		if tc.override != "" && len(got) != 1 {
			t.Errorf("loaderNames(%q, %q) = %q: a named library must be the only one tried", tc.goos, tc.override, got)
		}
	}
	if !strings.Contains(noLoaderHelp("darwin"), "molten-vk") || !strings.Contains(noLoaderHelp("linux"), "apt-get") {
		t.Errorf("install hints: darwin %q, linux %q", noLoaderHelp("darwin"), noLoaderHelp("linux"))
	}
}

func TestLoaderEnv(t *testing.T) {
	unset := func(string) (string, bool) { return "", false }
	if env := loaderEnv("darwin", unset); env[moltenVKFastMath] != "0" {
		t.Errorf("darwin: %v, want MoltenVK's fast math turned off", env)
	}
	userSet := func(k string) (string, bool) { return "1", k == moltenVKFastMath }
	if env := loaderEnv("darwin", userSet); len(env) != 0 {
		t.Errorf("darwin with the variable set by the user: %v, want it kept", env)
	}
	if env := loaderEnv("linux", unset); len(env) != 0 {
		t.Errorf("linux: %v, want nothing set", env)
	}
}

func TestPortabilityExtensions(t *testing.T) {
	// MoltenVK under loader >= 1.3.216.
	exts, flags := instancePortability([]string{"VK_KHR_surface", portabilityEnumeration, "VK_EXT_metal_surface"})
	if !slices.Equal(exts, []string{portabilityEnumeration}) || flags != enumeratePortabilityBit {
		t.Errorf("loader offering portability enumeration: %q, flags 0x%x", exts, flags)
	}
	// An older loader: asking for it would fail vkCreateInstance.
	if exts, flags := instancePortability([]string{"VK_KHR_surface"}); exts != nil || flags != 0 {
		t.Errorf("loader without portability enumeration: %q, flags 0x%x", exts, flags)
	}
	if got := devicePortability([]string{"VK_KHR_swapchain", portabilitySubset}); !slices.Equal(got, []string{portabilitySubset}) {
		t.Errorf("device listing the portability subset: %q", got)
	}
	if got := devicePortability([]string{"VK_KHR_swapchain"}); got != nil {
		t.Errorf("conformant device: %q", got)
	}
}

func TestPickMemoryType(t *testing.T) {
	const (
		local    = vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit)
		visible  = vk.MemoryPropertyFlags(hostVisible)
		coherent = vk.MemoryPropertyFlags(hostCoherent)
		cached   = vk.MemoryPropertyFlags(hostCached)
	)
	// A discrete GPU: its first host-visible type is write-combined.
	discrete := []vk.MemoryPropertyFlags{local, visible | coherent, visible | coherent | cached, local | visible | coherent}
	// A device whose cached memory is not coherent (some mobile GPUs).
	incoherent := []vk.MemoryPropertyFlags{local, visible | coherent, visible | cached}
	// A CPU driver: one type that is everything.
	cpu := []vk.MemoryPropertyFlags{local | visible | coherent | cached}
	tests := []struct {
		name         string
		types        []vk.MemoryPropertyFlags
		allowed      uint32
		prefs        []vk.MemoryPropertyFlagBits
		want         uint32
		wantCoherent bool
	}{
		{"discrete upload", discrete, 0xf, uploadMemory, 1, true},
		{"discrete download", discrete, 0xf, downloadMemory, 2, true},
		{"discrete download, cached type not allowed", discrete, 0xb, downloadMemory, 1, true},
		{"non-coherent cached download", incoherent, 0x7, downloadMemory, 2, false},
		{"cpu download", cpu, 0x1, downloadMemory, 0, true},
		{"cpu upload", cpu, 0x1, uploadMemory, 0, true},
	}
	for _, tc := range tests {
		i, props, ok := pickMemoryType(tc.types, tc.allowed, tc.prefs)
		coherent := props&coherent != 0
		if !ok || i != tc.want || coherent != tc.wantCoherent {
			t.Errorf("%s: type %d (coherent %v, found %v), want %d (coherent %v)", tc.name, i, coherent, ok, tc.want, tc.wantCoherent)
		}
	}
	if _, _, ok := pickMemoryType([]vk.MemoryPropertyFlags{local}, 1, downloadMemory); ok {
		t.Error("found host-visible memory on a device without any")
	}
}

func TestTicksSince(t *testing.T) {
	tests := []struct {
		t0, t uint64
		bits  uint32
		want  uint64
	}{
		{100, 250, 64, 150},
		{100, 250, 36, 150},
		// A 36-bit counter that wrapped between the two.
		{1<<36 - 10, 5, 36, 15},
		// Bits above the valid ones are garbage.
		{0xdead<<48 | 7, 0xbeef<<48 | 9, 48, 2},
		// A 64-bit counter wraps modulo 2^64.
		{^uint64(0) - 1, 3, 64, 5},
	}
	for _, tc := range tests {
		if got := ticksSince(tc.t0, tc.t, tc.bits); got != tc.want {
			t.Errorf("ticksSince(%#x, %#x, %d) = %d, want %d", tc.t0, tc.t, tc.bits, got, tc.want)
		}
	}
}

func TestFenceTimeout(t *testing.T) {
	if d, err := fenceTimeout("", DiscreteGPU); err != nil || d != DefaultFenceTimeout {
		t.Errorf("unset, on a GPU: %v, %v", d, err)
	}
	if d, err := fenceTimeout("", CPU); err != nil || d != CPUFenceTimeout || d <= DefaultFenceTimeout {
		t.Errorf("unset, on a CPU driver: %v, %v", d, err)
	}
	if d, err := fenceTimeout("90s", CPU); err != nil || d != 90*time.Second {
		t.Errorf("90s: %v, %v", d, err)
	}
	for _, bad := range []string{"5", "soon", "-1m", "0s"} {
		if _, err := fenceTimeout(bad, IntegratedGPU); err == nil || !strings.Contains(err.Error(), FenceTimeoutEnv) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, FenceTimeoutEnv)
		}
	}
}

func TestRequirements(t *testing.T) {
	// SwiftShader's figures where they matter, and lavapipe's.
	swiftshader := Info{Index: 0, Name: "SwiftShader", API: Version(1, 3, 0), MaxStorageBuffersPerStage: 1 << 20,
		MaxWorkgroupInvocations: 256, MaxWorkgroupSize: [3]uint32{256, 256, 64}, MaxSharedMemory: 32 << 10, MaxPushConstantsSize: 256}
	need := Requirements{StorageBuffersPerStage: 8, WorkgroupInvocations: 256, WorkgroupSizeX: 256, SharedMemory: 16 << 10, PushConstants: 128}
	if err := swiftshader.Check(need); err != nil {
		t.Errorf("SwiftShader: %v", err)
	}
	// A device at Vulkan's minimum limits, on Vulkan 1.0.
	minimal := Info{Index: 2, Name: "Tiny GPU", API: Version(1, 0, 68), MaxStorageBuffersPerStage: 4,
		MaxWorkgroupInvocations: 128, MaxWorkgroupSize: [3]uint32{128, 128, 64}, MaxSharedMemory: 16 << 10, MaxPushConstantsSize: 128}
	err := minimal.Check(need)
	if err == nil {
		t.Fatal("a device below the requirements passed")
	}
	msg := err.Error()
	for _, want := range []string{"device 2 (Tiny GPU)", "Vulkan 1.0.68 (needs 1.1.0)", "maxPerStageDescriptorStorageBuffers; needs 8", "maxComputeWorkGroupInvocations; needs 256", "maxComputeWorkGroupSize[0]", "vkcnn devices"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "shared memory") || strings.Contains(msg, "\n") {
		t.Errorf("%q: names a requirement that is met, or spans lines", msg)
	}
	// The zero value still asks for Vulkan 1.1.
	if err := minimal.Check(Requirements{}); err == nil || !strings.Contains(err.Error(), "Vulkan 1.0.68") {
		t.Errorf("zero requirements on Vulkan 1.0: %v", err)
	}
}
