package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
)

// openBackend resolves --device: "cpu" is the gonum reference; an index is
// that Vulkan device; "auto" is the best GPU, else the CPU reference (which
// trains faster than a CPU Vulkan driver such as lavapipe). Each of extra
// adds to a Vulkan device's options (train --window's extensions).
func openBackend(device string, log io.Writer, extra ...func(*gpu.Options)) (backend.Backend, error) {
	switch device {
	case "cpu":
		return cpu.New(), nil
	case "auto", "":
		infos, err := gpu.Devices()
		if err != nil {
			fmt.Fprintf(log, "no Vulkan GPU (%v): using the CPU reference\n", err)
			return cpu.New(), nil
		}
		best := gpu.Best(infos)
		if !infos[best].Type.IsGPU() {
			fmt.Fprintf(log, "no Vulkan GPU (only %s): using the CPU reference; --device %d runs on it anyway\n", infos[best].Name, best)
			return cpu.New(), nil
		}
		return openVulkan(best, extra...)
	}
	index, err := strconv.Atoi(device)
	if err != nil || index < 0 {
		return nil, fmt.Errorf("unknown --device %q: use auto, cpu, or a device index from `vkcnn devices`", device)
	}
	return openVulkan(index, extra...)
}

func openVulkan(index int, extra ...func(*gpu.Options)) (backend.Backend, error) {
	o := gpu.Options{Index: index}
	for _, f := range extra {
		f(&o)
	}
	b, err := vulkan.New(o)
	if err != nil {
		return nil, fmt.Errorf("--device %d: %w", index, err)
	}
	return b, nil
}
