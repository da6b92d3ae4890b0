package gpu

// Hooks for the external tests (package gpu_test) into paths that the
// drivers here never take.

// ForceInvalidate makes d's downloads invalidate their mapping even where
// the memory is coherent (lavapipe's and SwiftShader's all are).
func ForceInvalidate(d *Device) { d.forceInvalidate = true }

// SetTimestampValidBits pretends that d's queue has bits valid timestamp
// bits (0: no timestamps).
func SetTimestampValidBits(d *Device, bits uint32) { d.info.TimestampValidBits = bits }
