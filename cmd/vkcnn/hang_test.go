package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/gpu"
)

// TestDeviceHung: a submit that never finishes ends the run once the fence
// timeout passes, as a lost device does (TestDeviceLost): an error naming
// the timeout, with the epoch and step, the last epoch's checkpoint intact,
// and no hang.
func TestDeviceHung(t *testing.T) {
	if _, err := gpu.Devices(); err != nil {
		t.Skipf("no Vulkan device: %v", err)
	}
	data := archive(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--data", data, "--device", "0", "--batch-size", "16", "--epochs", "3", "--out", out}
	// The 70th submit hangs, as the 70th is lost in TestDeviceLost.
	t.Setenv(gpu.HangEnv, "70")
	t.Setenv(gpu.FenceTimeoutEnv, "2s")
	msg, code := vkcnn(t, args...)
	if code == 0 || !strings.Contains(msg, "VK_TIMEOUT") || !strings.Contains(msg, gpu.FenceTimeoutEnv) {
		t.Fatalf("exit %d, want an error saying the device hung:\n%s", code, msg)
	}
	if !regexp.MustCompile(`epoch \d+, step \d+`).MatchString(msg) {
		t.Errorf("the error does not give the epoch and step:\n%s", msg)
	}
	if strings.Contains(msg, "Epoch 0:") {
		if !strings.Contains(msg, "is intact") {
			t.Errorf("the error does not say the checkpoint is kept:\n%s", msg)
		}
		if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
			t.Errorf("no checkpoint of epoch 0 after the hang: %v", err)
		}
	}
	if strings.Contains(msg, "goroutine") {
		t.Errorf("a stack trace:\n%s", msg)
	}
}
