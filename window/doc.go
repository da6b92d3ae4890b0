// Package window shows a training run live in a window: the current batch,
// the first convolution's filters and the loss curve, drawn by a compute
// shader (shaders/window.glsl) straight from the tensors on the GPU into the
// window's swapchain images, so watching costs no copy to the host.
//
// The window needs GLFW, which needs the X11 development headers to build,
// so it is behind the build tag "window":
//
//	apt-get install libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl-dev
//	go build -tags window ./cmd/vkcnn
//
// (GLFW's own tag "vulkan" only swaps -lGL for -lvulkan at link time, which
// vkcnn does not need: GLFW opens libvulkan.so.1 itself, as vkcnn does.)
// Without the tag the package holds only the layout and the Go reference
// renderer (render.go) that the tests compare the window with.
//
// A Window watches, never drives: it reads the tensors between the trainer's
// submits on the same queue, on a goroutine of its own, and closing it stops
// the drawing, not the training.
package window
