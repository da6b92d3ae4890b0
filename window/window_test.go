//go:build window

package window_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/internal/xvfb"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/window"
)

// startX starts a virtual X server for the test and points DISPLAY at it.
// Without Xvfb the test fails, or skips where VKCNN_NO_WINDOW=1 says the
// window tests cannot run here.
func startX(t *testing.T) *xvfb.Server {
	t.Helper()
	x, err := xvfb.Start(1024, 600)
	if err != nil {
		if errors.Is(err, xvfb.ErrNoXvfb) && os.Getenv("VKCNN_NO_WINDOW") == "1" {
			t.Skipf("VKCNN_NO_WINDOW=1 and %v", err)
		}
		t.Fatalf("%v (set VKCNN_NO_WINDOW=1 to skip the window tests)", err)
	}
	t.Cleanup(x.Stop)
	t.Setenv("DISPLAY", x.Display)
	// GLFW and Mesa look for a runtime directory; Xvfb sessions have none.
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	return x
}

// run is a small training run with a window on it.
type run struct {
	b  *vulkan.Backend
	m  *layers.Model
	tr *layers.Trainer
	w  *window.Window
}

func start(t *testing.T, o window.Options) *run {
	t.Helper()
	w, err := window.New(o)
	if err != nil {
		t.Fatal(err)
	}
	device := gpu.Options{Index: -1, Validate: true}
	w.DeviceOptions(&device)
	b, err := vulkan.New(device)
	if err != nil {
		w.Close()
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device to test on (install mesa-vulkan-drivers and vulkan-validationlayers): %v", err)
	}
	r := &run{b: b, m: layers.CNN(6, 4, 16), w: w}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("the window: %v", err)
		}
		if r.tr != nil {
			r.tr.Close()
		}
		if err := b.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
	})
	// CIFAR-10's normalization, which the window undoes.
	r.m.Mean, r.m.Std = []float32{0.49, 0.48, 0.45}, []float32{0.25, 0.24, 0.26}
	if err := r.m.Alloc(b); err != nil {
		t.Fatal(err)
	}
	if err := r.m.Init(b, 1); err != nil {
		t.Fatal(err)
	}
	data := cifar10.Synthetic(64, 16, 1)
	cfg := layers.Config{BatchSize: 16, SGD: backend.SGDParams{LR: 0.01, Momentum: 0.9}, Augment: layers.TutorialAugment, StepsPerRun: 1, Seed: 2}
	if r.tr, err = layers.NewTrainer(b, r.m, cfg, data.Train.Records, data.Test.Records); err != nil {
		t.Fatal(err)
	}
	if err := w.Show(b, r.m, r.tr); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *run) epochs(t *testing.T, from, n int) {
	t.Helper()
	for e := from; e < from+n; e++ {
		if _, err := r.tr.Epoch(context.Background(), e, r.w.Progress); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFrames waits until the window has presented n more frames.
func (r *run) waitFrames(t *testing.T, n int) {
	t.Helper()
	want := r.w.Frames() + n
	for deadline := time.Now().Add(30 * time.Second); r.w.Frames() < want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the window presented %d frames in 30 s, want %d", r.w.Frames(), want)
		}
	}
}

// TestWindowShowsTraining trains a little with the window open, then
// compares a screenshot of the X server with the picture the Go reference
// draws from the same tensors, read back: the batch tiles, the filters and
// the loss curve. Both ways of presenting are tested: drawing into the
// swapchain's images, and drawing into an image of the window's own that is
// copied into them.
func TestWindowShowsTraining(t *testing.T) {
	x := startX(t)
	for _, copying := range []bool{false, true} {
		t.Run(fmt.Sprintf("copy=%v", copying), func(t *testing.T) {
			r := start(t, window.Options{Width: 560, Height: 320, Copy: copying, FPS: 20})
			if r.w.Copying() != copying {
				t.Logf("this driver's swapchain images do not allow storage: frames are copied")
			}
			r.epochs(t, 0, 2)
			got := r.checkScreen(t, x)
			if path := os.Getenv("VKCNN_WINDOW_SCREENSHOT"); path != "" && !copying {
				writePNG(t, path, got)
			}
			// A resized window draws its new size, laid out anew.
			r.w.SetSize(400, 300)
			r.epochs(t, 2, 1)
			if got := r.checkScreen(t, x); got.Bounds().Dx() != 400 || got.Bounds().Dy() != 300 {
				t.Errorf("after resizing to 400x300 the picture is %v", got.Bounds())
			}
		})
	}
}

// checkScreen waits for the window to show the tensors as they are (training
// has stopped: every frame from now on is the same) and compares the screen
// with the reference drawing of them. It returns the window's pixels.
func (r *run) checkScreen(t *testing.T, x *xvfb.Server) *image.RGBA {
	t.Helper()
	r.waitFrames(t, 2)
	p, batch, filters, loss, err := r.w.Snapshot(r.b, r.m, r.tr)
	if err != nil {
		t.Fatal(err)
	}
	if p.Batch.Count == 0 || p.Filters.Count != 6 || p.LossCount < 2 {
		t.Fatalf("the picture shows %d images, %d filters and %d losses; want some, 6 and at least 2", p.Batch.Count, p.Filters.Count, p.LossCount)
	}
	want := p.Render(batch, filters, loss)
	px, py, _ := r.w.Position()
	var got *image.RGBA
	var diff string
	// The X server may show a frame a moment after it is presented.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		screen, err := x.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		got = crop(screen, image.Rect(px, py, px+p.Width, py+p.Height))
		if diff = compare(got, want, p); diff == "" || time.Now().After(deadline) {
			break
		}
	}
	if diff != "" {
		dir := t.TempDir()
		writePNG(t, dir+"/got.png", got)
		writePNG(t, dir+"/want.png", want)
		t.Fatalf("the window differs from the reference drawing (%s; see %s)", diff, dir)
	}
	return got
}

// TestWindowCloseKeepsTraining closes the window mid-run: drawing stops,
// training goes on.
func TestWindowCloseKeepsTraining(t *testing.T) {
	startX(t)
	r := start(t, window.Options{Width: 320, Height: 200})
	r.epochs(t, 0, 1)
	r.waitFrames(t, 1)
	r.w.RequestClose()
	for deadline := time.Now().Add(10 * time.Second); r.w.Open(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the window did not close")
		}
	}
	frames := r.w.Frames()
	r.epochs(t, 1, 1)
	if _, _, _, err := r.tr.Evaluate(); err != nil {
		t.Fatal(err)
	}
	if r.w.Frames() != frames {
		t.Errorf("the closed window drew %d more frames", r.w.Frames()-frames)
	}
}

func crop(img *image.RGBA, r image.Rectangle) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := range r.Dy() {
		for x := range r.Dx() {
			out.SetRGBA(x, y, img.RGBAAt(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

// compare checks got against want: every pixel of the batch and filter
// tiles within 2/255 a channel (the device rounds floats its own way), and
// the loss panel allowing a few pixels where the curve's edge falls the
// other way. It returns "" or what differs.
func compare(got, want *image.RGBA, p window.Picture) string {
	var bad, badLoss, loss int
	first := image.Point{-1, -1}
	for y := range p.Height {
		for x := range p.Width {
			g, w := got.RGBAAt(x, y), want.RGBAAt(x, y)
			d := max(absDiff(g.R, w.R), absDiff(g.G, w.G), absDiff(g.B, w.B))
			inLoss := image.Pt(x, y).In(p.Loss)
			if inLoss {
				loss++
			}
			if d <= 2 {
				continue
			}
			if inLoss {
				badLoss++
				continue
			}
			if bad++; first.X < 0 {
				first = image.Pt(x, y)
			}
		}
	}
	switch {
	case bad > 0:
		return fmt.Sprintf("%d pixels outside the loss panel, the first at %v: got %v, want %v", bad, first, got.RGBAAt(first.X, first.Y), want.RGBAAt(first.X, first.Y))
	case badLoss > loss/50:
		return fmt.Sprintf("%d of the loss panel's %d pixels", badLoss, loss)
	}
	return ""
}

func absDiff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }

func writePNG(t *testing.T, path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
