package gpu

import (
	"fmt"
	"os"
	"strconv"
	"time"

	vk "github.com/vulkan-go/vulkan"
)

// A GPU that stops answering is usually reset by its driver after a few
// seconds, which vkcnn sees as VK_ERROR_DEVICE_LOST. Where no driver does
// (a hung kernel on a driver without a watchdog, a misbehaving portability
// layer), a fence wait without a limit would hang vkcnn for good: waits are
// bounded, and a submit that runs past the bound leaves the device lost.

// FenceTimeoutEnv names an environment variable that sets how long one
// submit may run before the device is treated as hung, as a Go duration
// ("90s", "20m"); unset, it is DefaultFenceTimeout, or CPUFenceTimeout on a
// CPU driver.
const FenceTimeoutEnv = "VKCNN_FENCE_TIMEOUT"

// DefaultFenceTimeout is how long one submit may run on a GPU, far above
// anything legitimate: GPU drivers themselves reset a device that runs one
// submit for about 2 s, and vkcnn keeps its submits well under that.
const DefaultFenceTimeout = 5 * time.Minute

// CPUFenceTimeout is how long one submit may run on a CPU driver (lavapipe,
// SwiftShader): at a few GFLOP/s, one training step of a large model at a
// large batch takes minutes on a busy machine, and a CPU driver does not
// hang the way a GPU does.
const CPUFenceTimeout = 30 * time.Minute

// HangEnv names an environment variable for tests: set to N, the device's
// Nth submit (uploads and downloads included) never reaches the queue, so
// the wait for it runs into the fence timeout as a hung GPU's would.
const HangEnv = "VKCNN_TEST_HANG_AFTER"

// fenceTimeout reads FenceTimeoutEnv's value (empty: the default for a
// device of type t).
func fenceTimeout(value string, t DeviceType) (time.Duration, error) {
	def := DefaultFenceTimeout
	if t == CPU {
		def = CPUFenceTimeout
	}
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration: use e.g. %s=20m, or unset it for %v", FenceTimeoutEnv, value, FenceTimeoutEnv, def)
	}
	return d, nil
}

// faultInjection reads the test hooks LoseDeviceEnv and HangEnv.
func faultInjection() (loseAfter, hangAfter int) {
	loseAfter, _ = strconv.Atoi(os.Getenv(LoseDeviceEnv))
	hangAfter, _ = strconv.Atoi(os.Getenv(HangEnv))
	return loseAfter, hangAfter
}

// HungError is a submit that did not finish within the fence timeout. The
// device is then lost to vkcnn: its work may still be running, so every
// later call fails with this error, and Close abandons the device's objects
// rather than wait for the device or free memory it may still use.
type HungError struct {
	Timeout time.Duration
}

func (e *HungError) Error() string {
	return fmt.Sprintf("vkWaitForFences: VK_TIMEOUT: a submit ran for over %v, so the device is treated as lost (a hung GPU); if a slow driver needs longer, raise %s (e.g. %s=30m)",
		e.Timeout, FenceTimeoutEnv, FenceTimeoutEnv)
}

// waitFence waits for the device's fence for at most the fence timeout.
func (d *Device) waitFence() error {
	r := vk.WaitForFences(d.handle, 1, []vk.Fence{d.fence}, vk.True, uint64(d.timeout.Nanoseconds()))
	if r == vk.Timeout {
		d.lost = &HungError{Timeout: d.timeout}
		return d.lost
	}
	return check("vkWaitForFences", r)
}

// hung says whether a submit ran past the fence timeout.
func (d *Device) hung() bool {
	_, ok := d.lost.(*HungError)
	return ok
}
