//go:build window

package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/shaders"
)

// Options say how the window looks and behaves; zero values take defaults.
type Options struct {
	Title         string  // default "vkcnn"
	Width, Height int     // the initial size, default 800x450
	FPS           float64 // frames a second at most, default 10
	// Copy draws into an image of the window's own and copies it into the
	// swapchain's, as on drivers whose swapchain images do not allow
	// storage (see gpu.DrawDesc.Copy).
	Copy bool
	// Log hears that the window was closed (nil: nobody).
	Log io.Writer
}

// Window is a window that shows a training run. New opens it, DeviceOptions
// says what the device needs to present to it, Show attaches it to the
// trainer, Progress feeds the loss curve, Close ends it. All GLFW calls and
// all drawing happen on one locked OS thread of its own; only one Window
// may exist at a time (GLFW is global).
type Window struct {
	o     Options
	calls chan func()
	quit  chan struct{}
	done  chan struct{} // closed when the thread has ended

	// Owned by the thread.
	win   *glfw.Window
	chain *gpu.Swapchain
	pic   Picture
	drawn time.Time // the last frame
	// The batch's images and the filters there are, of which the layout
	// shows what fits.
	images, filters int
	// resized says GLFW reported a new framebuffer size: not every driver
	// reports a swapchain out of date when its window changes size.
	resized bool

	// Owned by the goroutine that uses the device (Show, Progress, Close).
	dev          *gpu.Device
	loss, filler *gpu.Buffer
	hist         history

	mu        sync.Mutex // guards what both sides read
	lossCount int
	lossMax   float32
	frames    int
	err       error // the first drawing error
	// dirty says the picture may have changed since the last frame: the
	// trainer reported progress (so it ran steps) or the window system
	// asked for a redraw. Frames are drawn only then (and once a second),
	// so an idle window costs a CPU driver such as lavapipe nothing.
	dirty bool
}

// New opens a window (GLFW on its own thread). It fails when there is no
// display or no Vulkan loader for GLFW.
func New(o Options) (*Window, error) {
	if o.Title == "" {
		o.Title = "vkcnn"
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 800, 450
	}
	if o.FPS <= 0 {
		o.FPS = 10
	}
	w := &Window{o: o, calls: make(chan func()), quit: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error, 1)
	go w.loop(started)
	if err := <-started; err != nil {
		return nil, err
	}
	return w, nil
}

// loop is the window's thread: GLFW wants every call from one thread, and
// the window must keep answering the X server while training holds the
// goroutine that called New.
func (w *Window) loop(started chan<- error) {
	runtime.LockOSThread()
	defer close(w.done)
	if err := w.open(); err != nil {
		started <- err
		return
	}
	started <- nil
	tick := time.NewTicker(time.Duration(float64(time.Second) / w.o.FPS))
	defer tick.Stop()
	for {
		select {
		case f := <-w.calls:
			f()
		case <-tick.C:
			w.frame()
		case <-w.quit:
			w.destroy()
			glfw.Terminate()
			return
		}
	}
}

func (w *Window) open() (err error) {
	if err := checkDisplay(); err != nil {
		return fmt.Errorf("opening a window: %w", err)
	}
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("opening a window: %w", err)
	}
	defer func() {
		if err != nil {
			glfw.Terminate()
		}
	}()
	if !glfw.VulkanSupported() {
		return fmt.Errorf("opening a window: GLFW found no Vulkan loader (libvulkan.so.1): apt-get install libvulkan1")
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI) // Vulkan draws, not OpenGL
	win, err := glfw.CreateWindow(w.o.Width, w.o.Height, w.o.Title, nil, nil)
	if err != nil {
		return fmt.Errorf("opening a window: %w", err)
	}
	w.win = win
	win.SetRefreshCallback(func(*glfw.Window) { w.touch() })
	win.SetFramebufferSizeCallback(func(*glfw.Window, int, int) { w.resized = true })
	return nil
}

// touch marks the picture as changed.
func (w *Window) touch() {
	w.mu.Lock()
	w.dirty = true
	w.mu.Unlock()
}

// do runs f on the window's thread and returns its error.
func (w *Window) do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case w.calls <- func() { errc <- f() }:
		return <-errc
	case <-w.done:
		return errors.New("the window has ended")
	}
}

// DeviceOptions adds to o what a gpu.Device needs to present to the window:
// the window system's instance extensions, VK_KHR_swapchain, and storing
// without a format (to draw straight into BGRA swapchain images).
func (w *Window) DeviceOptions(o *gpu.Options) {
	var instance []string
	w.do(func() error {
		if w.win != nil {
			instance = w.win.GetRequiredInstanceExtensions()
		}
		return nil
	})
	o.InstanceExtensions = append(o.InstanceExtensions, instance...)
	o.DeviceExtensions = append(o.DeviceExtensions, gpu.SwapchainExtension)
	o.WriteWithoutFormat = true
}

// Show attaches the window to a run: from now on it draws t's batch, m's
// first convolution and the loss that Progress reports, from b's device
// (opened with DeviceOptions). Call it, Progress and Close from the goroutine
// that uses the device.
func (w *Window) Show(b *vulkan.Backend, m *layers.Model, t *layers.Trainer) error {
	batch, ok := t.Batch().(*vulkan.Tensor)
	if !ok || len(batch.Shape()) != 4 {
		return fmt.Errorf("the window: the trainer has no batch on the Vulkan device")
	}
	pic := Picture{C: batch.Shape()[1], H: batch.Shape()[2], W: batch.Shape()[3]}
	for i := range min(len(m.Std), len(m.Mean), 3) {
		pic.Mean[i], pic.Std[i] = m.Mean[i], m.Std[i]
	}
	w.dev = b.Device()
	var err error
	if w.loss, err = w.dev.NewBuffer(4 * historyCap); err != nil {
		return fmt.Errorf("the window's loss history: %w", err)
	}
	filters := w.filler
	k := 0
	if c := m.FirstConv(); c != nil {
		if ft, ok := c.Weight.Value.(*vulkan.Tensor); ok {
			filters, k, pic.FC, pic.FK = ft.Buffer(), c.Out, c.In, c.Kernel
		}
	}
	if filters == nil { // no convolution: the panel stays empty, the binding needs a buffer
		if w.filler, err = w.dev.NewBuffer(4); err != nil {
			return err
		}
		filters = w.filler
	}
	spirv, err := shaders.SPIRV("window")
	if err != nil {
		return err
	}
	unformatted, err := shaders.SPIRV("window_unformatted")
	if err != nil {
		return err
	}
	desc := gpu.DrawDesc{Name: "window", PushSize: pushSize, Workgroup: [2]uint32{8, 8}, Unformatted: unformatted, Copy: w.o.Copy}
	return w.do(func() error {
		if w.win == nil {
			return nil // closed already: nothing to show
		}
		// glfw returns the address of the VkSurfaceKHR it made, not the
		// handle (a uintptr to Go memory the GC keeps while it is on the
		// heap): read the handle at once.
		addr, err := w.win.CreateWindowSurface((*byte)(w.dev.Instance()), nil)
		if err != nil {
			return fmt.Errorf("the window's Vulkan surface: %w", err)
		}
		surface := **(**uint64)(unsafe.Pointer(&addr))
		fw, fh := w.win.GetFramebufferSize()
		chain, err := w.dev.NewSwapchain(surface, fw, fh, spirv, desc, batch.Buffer(), filters, w.loss)
		if err != nil {
			return err
		}
		w.chain, w.pic, w.images, w.filters = chain, pic, batch.Shape()[0], k
		w.relayout()
		return nil
	})
}

// relayout fits the picture to the swapchain's size.
func (w *Window) relayout() {
	width, height := w.chain.Size()
	w.pic.Layout = NewLayout(width, height, w.images, max(w.pic.H, w.pic.W), w.filters, w.pic.FK)
}

// Progress adds a progress report to the loss curve: a few bytes uploaded
// between the trainer's submits. It is meant to wrap the trainer's progress
// callback.
func (w *Window) Progress(p layers.Progress) {
	if w.loss == nil {
		return
	}
	from, added := w.hist.add(p.Images, p.Total, p.Loss)
	if !added {
		return
	}
	pts := w.hist.points[from:]
	buf := make([]byte, 4*len(pts))
	for i, v := range pts {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	// A frame drawn meanwhile reads the old count, or the new one after the
	// write has finished; after a halving, at most one frame mixes the two.
	if err := w.loss.Write(int64(4*from), buf); err != nil {
		w.fail(fmt.Errorf("updating the loss curve: %w", err))
		return
	}
	w.mu.Lock()
	w.lossCount, w.lossMax = len(w.hist.points), w.hist.top()
	w.dirty = true
	w.mu.Unlock()
}

func (w *Window) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// frame handles the window's events and draws a frame.
func (w *Window) frame() {
	defer func() {
		// go-gl/glfw panics on errors it deems unexpected, such as a lost
		// X connection: end the window, not the training.
		if r := recover(); r != nil {
			w.fail(fmt.Errorf("the window: %v", r))
			w.destroy()
		}
	}()
	if w.win == nil {
		return
	}
	glfw.PollEvents()
	if w.win.ShouldClose() {
		w.destroy()
		if w.o.Log != nil {
			fmt.Fprintln(w.o.Log, "window closed: training goes on (Ctrl-C stops it)")
		}
		return
	}
	if w.chain == nil {
		return
	}
	w.mu.Lock()
	dirty := w.dirty || time.Since(w.drawn) >= time.Second
	w.pic.LossCount, w.pic.LossMax, w.dirty = w.lossCount, w.lossMax, false
	w.mu.Unlock()
	if !dirty {
		return
	}
	var err error
	drawn := false
	if !w.resized {
		w.drawn = time.Now()
		drawn, err = w.chain.Draw(w.pic.Push(w.chain.SwapRedBlue()))
	}
	if w.resized || errors.Is(err, gpu.ErrOutOfDate) {
		fw, fh := w.win.GetFramebufferSize()
		if fw == 0 || fh == 0 {
			return // minimized
		}
		w.resized = false
		if err = w.chain.Resize(fw, fh); err == nil {
			w.relayout()
			w.touch()
		}
	}
	if err != nil {
		w.fail(fmt.Errorf("drawing the window: %w", err))
		w.destroy()
		return
	}
	if drawn {
		w.mu.Lock()
		w.frames++
		w.mu.Unlock()
	}
}

// destroy closes the swapchain and the GLFW window, on the thread.
func (w *Window) destroy() {
	if w.chain != nil {
		w.chain.Close()
		w.chain = nil
	}
	if w.win != nil {
		w.win.Destroy()
		w.win = nil
	}
}

// Frames is how many frames the window has presented.
func (w *Window) Frames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// Copying says whether frames are drawn into an image of the window's own
// and copied into the swapchain's (Options.Copy, or a surface whose images
// do not allow storage), rather than drawn into them.
func (w *Window) Copying() bool {
	copying := false
	w.do(func() error { copying = w.chain != nil && w.chain.Copying(); return nil })
	return copying
}

// Open says whether the window is still open (the user has not closed it
// and drawing has not failed).
func (w *Window) Open() bool {
	open := false
	w.do(func() error { open = w.win != nil; return nil })
	return open
}

// Position is where the window's drawing area is on the screen, and its
// picture's layout.
func (w *Window) Position() (x, y int, l Layout) {
	w.do(func() error {
		if w.win != nil {
			x, y = w.win.GetPos()
		}
		l = w.pic.Layout
		return nil
	})
	return x, y, l
}

// RequestClose asks the window to close as its close button does.
func (w *Window) RequestClose() {
	w.do(func() error {
		if w.win != nil {
			w.win.SetShouldClose(true)
		}
		return nil
	})
}

// Snapshot reads back what the window draws from (the batch, the filters,
// the loss history) and the picture it draws them as: for tests, which
// compare Picture.Render of these with a screenshot. Call it between
// training steps, from the goroutine that uses the device.
func (w *Window) Snapshot(b backend.Backend, m *layers.Model, t *layers.Trainer) (p Picture, batch, filters, loss []float32, err error) {
	w.do(func() error { p = w.pic; return nil })
	w.mu.Lock()
	p.LossCount, p.LossMax = w.lossCount, w.lossMax
	w.mu.Unlock()
	batch = make([]float32, t.Batch().Len())
	if err = b.Download(t.Batch(), batch); err != nil {
		return
	}
	if c := m.FirstConv(); c != nil {
		filters = make([]float32, c.Weight.Value.Len())
		if err = b.Download(c.Weight.Value, filters); err != nil {
			return
		}
	}
	loss = append([]float32(nil), w.hist.points...)
	return p, batch, filters, loss, nil
}

// Close ends the window and frees what it made on the device; call it
// before closing the device. It returns the first error drawing met.
func (w *Window) Close() error {
	select {
	case w.quit <- struct{}{}:
		<-w.done
	case <-w.done:
	}
	for _, b := range []*gpu.Buffer{w.loss, w.filler} {
		if b != nil {
			b.Close()
		}
	}
	w.loss, w.filler = nil, nil
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
