package vulkan

import (
	"math"
	"testing"

	"github.com/vkcnn/vkcnn/gpu"
)

// TestRequirements: what New asks of a device follows from the kernels.
func TestRequirements(t *testing.T) {
	r := Requirements()
	if r.StorageBuffersPerStage < gatherShards+4 {
		t.Errorf("%d storage buffers per stage, but Gather binds %d", r.StorageBuffersPerStage, gatherShards+4)
	}
	if r.PushConstants < gatherPush {
		t.Errorf("%d bytes of push constants, but Gather pushes %d", r.PushConstants, gatherPush)
	}
	if r.WorkgroupInvocations < maxElementLocal || r.WorkgroupSizeX < maxElementLocal {
		t.Errorf("workgroups of %d (x %d), but the element-wise kernels use up to %d", r.WorkgroupInvocations, r.WorkgroupSizeX, maxElementLocal)
	}
	// The drivers the tests run on meet them.
	if b := gpuBackend(t); b.dev.Info().Check(r) != nil {
		t.Errorf("%s: %v", b.Name(), b.dev.Info().Check(r))
	}
}

// TestSizesFromLimits: element-wise workgroups and grids follow the
// device's limits.
func TestSizesFromLimits(t *testing.T) {
	tests := []struct {
		name      string
		info      gpu.Info
		local     uint32
		maxGroups uint32
	}{
		{"SwiftShader", gpu.Info{MaxWorkgroupInvocations: 256, MaxWorkgroupSize: [3]uint32{256, 256, 64}, MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}}, 256, 65535},
		{"lavapipe", gpu.Info{MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 1024}, MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}}, 256, 65535},
		{"a large GPU", gpu.Info{MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, MaxWorkgroupCount: [3]uint32{math.MaxInt32, 65535, 65535}}, 256, math.MaxInt32},
		{"Vulkan's minimum", gpu.Info{MaxWorkgroupInvocations: 128, MaxWorkgroupSize: [3]uint32{128, 128, 64}, MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}}, 128, 65535},
		{"a narrow x", gpu.Info{MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{96, 1024, 64}, MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}}, 64, 65535},
	}
	for _, tc := range tests {
		if got := elementLocalFor(tc.info); got != tc.local {
			t.Errorf("%s: workgroup %d, want %d", tc.name, got, tc.local)
		}
		if got := elementGroupsFor(tc.info); got != tc.maxGroups {
			t.Errorf("%s: at most %d workgroups, want %d", tc.name, got, tc.maxGroups)
		}
	}
}
