// Package gpu is a small Vulkan compute runtime: a Device (instance, physical
// device, one compute queue), Buffers of device memory, Kernels (compute
// pipelines from SPIR-V) and Sequences (recorded dispatches, replayed as many
// times as asked). It knows nothing about neural networks and is the only
// package that imports vulkan-go.
package gpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ErrNoLoader means the Vulkan loader library could not be opened.
var ErrNoLoader = errors.New(noLoaderHelp(runtime.GOOS))

// ErrNoDevice means the loader works but no Vulkan device exists.
var ErrNoDevice = errors.New("no Vulkan device found: install a GPU driver with Vulkan support, or Mesa's lavapipe (`apt-get install mesa-vulkan-drivers`) to run on the CPU")

var loader struct {
	once sync.Once
	err  error
}

// LoaderEnv names an environment variable that, when set, is the path of the
// Vulkan loader library to open instead of libvulkan.so.1 (libvulkan.1.dylib
// or libMoltenVK.dylib on macOS).
const LoaderEnv = "VKCNN_VULKAN_LIBRARY"

// load opens the Vulkan loader once per process, trying loaderNames in
// order. vulkan-go's own loader dlopens only the unversioned libvulkan.so,
// which exists only where the -dev package is installed.
func load() error {
	loader.once.Do(func() {
		// Set in the C environment too (cgo's os.Setenv does), before the
		// driver reads it.
		for k, v := range loaderEnv(runtime.GOOS, os.LookupEnv) {
			os.Setenv(k, v)
		}
		var (
			proc  unsafe.Pointer
			tried []string
		)
		for _, lib := range loaderNames(runtime.GOOS, os.Getenv(LoaderEnv)) {
			name := C.CString(lib)
			var cerr *C.char
			proc = C.vkcnn_open_loader(name, &cerr)
			C.free(unsafe.Pointer(name))
			if proc != nil {
				break
			}
			tried = append(tried, C.GoString(cerr))
		}
		if proc == nil {
			loader.err = fmt.Errorf("%w (dlopen: %s)", ErrNoLoader, strings.Join(tried, "; "))
			return
		}
		vk.SetGetInstanceProcAddr(proc)
		if err := vk.Init(); err != nil {
			loader.err = fmt.Errorf("%w (vkInit: %v)", ErrNoLoader, err)
		}
	})
	return loader.err
}
