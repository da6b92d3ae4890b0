package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ErrNoTimestamps means the device's compute queue cannot write timestamps
// (its family's timestampValidBits is 0): time work by the wall clock.
var ErrNoTimestamps = errors.New("this device's compute queue has no timestamps (timestampValidBits is 0): time with the wall clock instead")

// timestampBits returns timestampValidBits of a queue family.
func timestampBits(in *instance, pd vk.PhysicalDevice, family uint32) uint32 {
	var flags, bits [64]C.uint32_t
	n := C.vkcnn_queue_families(unsafe.Pointer(in.handle), unsafe.Pointer(pd), &flags[0], &bits[0], C.uint32_t(len(flags)))
	if family >= uint32(n) || family >= uint32(len(bits)) {
		return 0
	}
	return uint32(bits[family])
}

// ticksSince returns the ticks from timestamp t0 to t on a queue whose
// timestamps have validBits valid low bits: the bits above are undefined,
// and the counter wraps at 2^validBits, so the difference is taken modulo
// that.
func ticksSince(t0, t uint64, validBits uint32) uint64 {
	d := t - t0
	if validBits < 64 {
		d &= 1<<validBits - 1
	}
	return d
}
