package dashboard_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/dashboard"
	"github.com/vkcnn/vkcnn/dashboard/dashboardtest"
)

// The browser tests drive a Hub in this process, so the page's state is
// known at each step, and look at the page as a person would in Debian's
// Chromium.

// poll waits until the JavaScript expression is true in the page.
func poll(t *testing.T, b *dashboardtest.Browser, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		state, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.querySelector(".stats").innerText + " | conn: " + document.getElementById("conn").innerText`))
		t.Fatalf("the page never showed %s (%s): %v; page: %q", what, expr, err, state)
	}
}

// eval returns a JavaScript expression's value in the page.
func eval[T any](t *testing.T, b *dashboardtest.Browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// inkOf counts the pixels of a chart's canvas drawn in roughly the first
// series' color (#1f77b4): the curve a person sees, not axes or grid.
const inkOf = `(id) => {
  const c = document.querySelector("#" + id + " canvas");
  if (!c || !c.width) return 0;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4)
    if (d[i+3] > 128 && Math.abs(d[i] - 0x1f) < 40 && Math.abs(d[i+1] - 0x77) < 40 && Math.abs(d[i+2] - 0xb4) < 40) n++;
  return n;
}`

// testRun is a Hub over a small generated test set.
type testRun struct {
	hub    *dashboard.Hub
	labels []int
}

func newTestRun(t *testing.T, dir, name string, epochs float64) *testRun {
	t.Helper()
	test := cifar10.Synthetic(0, 60, 1).Test
	h, err := dashboard.NewHub(dir, dashboard.Settings{
		Run: name, Arch: "seed", ArchText: "conv1: conv 4 kernel=3\n", Device: "cpu", Data: "synthetic",
		TrainImages: 1000, TestImages: test.N, Classes: cifar10.ClassNames(), Epochs: epochs, BatchSize: 32,
		Flags: map[string]string{"lr": "0.001"},
	}, test.Records)
	if err != nil {
		t.Fatal(err)
	}
	r := &testRun{hub: h}
	for i := range test.N {
		r.labels = append(r.labels, test.Label(i))
	}
	return r
}

// epoch reports an epoch's progress and results: images 0-9 of every ten
// are predicted right after epoch e, the others wrong, so accuracy grows.
func (r *testRun) epoch(e int, loss float64) (wrong []int) {
	for images := 100; images <= 1000; images += 300 {
		r.hub.Progress(dashboard.Progress{Epoch: e, Images: images, Total: 1000, Loss: loss - float64(images)/5000, LR: 0.001 * float64(e+1)})
	}
	r.hub.Progress(dashboard.Progress{Epoch: e, Images: 1000, Total: 1000, Loss: loss - 0.2, LR: 0.001 * float64(e+1)})
	pred := make([]uint32, len(r.labels))
	right := 0
	for i, l := range r.labels {
		pred[i] = uint32(l)
		if i%10 > 3+e {
			pred[i] = uint32((l + 1) % 10)
			if i < 40 {
				wrong = append(wrong, i)
			}
		} else {
			right++
		}
	}
	f := &dashboard.Filters{Name: "conv1.weight", Shape: []int{4, 3, 3, 3}}
	for i := range 4 * 27 {
		f.Data = append(f.Data, float32(i%7-3)/3)
	}
	r.hub.Epoch(dashboard.Epoch{
		Epoch: e, TrainLoss: loss - 0.1, TrainAccuracy: 30 + 10*float64(e), TestLoss: loss,
		TestAccuracy: 100 * float64(right) / float64(len(r.labels)), Seconds: 2, ImagesPerSecond: 500,
		Predictions: pred, Filters: f,
	})
	return wrong
}

// TestBrowserLive: a page open while a run trains shows its epoch advance,
// curves with points, predictions with the wrong ones marked, the confusion
// matrix with examples on a click, the filters and the settings; it loads
// under 300 KB and nothing from any other host.
func TestBrowserLive(t *testing.T) {
	b := dashboardtest.New(t, 90*time.Second)
	r := newTestRun(t, t.TempDir(), "live", 3)
	srv, err := dashboard.Listen("127.0.0.1:0", r.hub.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "epoch 1 of 3 before any progress", `document.getElementById("epoch").textContent === "1 / 3"`)
	poll(t, b, "the settings", `document.getElementById("settings").innerText.includes("synthetic")`)

	wrong := r.epoch(0, 2.3)
	poll(t, b, "the first epoch's accuracy", `document.getElementById("accuracy").textContent.includes("%")`)
	poll(t, b, "epoch 2 of 3", `document.getElementById("epoch").textContent === "2 / 3"`)
	poll(t, b, "the loss chart's points", `+document.getElementById("chart-loss").dataset.points >= 3`)
	poll(t, b, "the loss curve drawn", "("+inkOf+`)("chart-loss") > 20`)
	poll(t, b, "the accuracy chart's point", `+document.getElementById("chart-acc").dataset.points >= 2`)

	// The wrong predictions are marked, and only they.
	poll(t, b, "the predictions", `document.querySelectorAll("#grid .tile.right, #grid .tile.wrong").length === 40`)
	marked := eval[[]string](t, b, `[...document.querySelectorAll("#grid .tile.wrong")].map(e => e.title)`)
	if len(marked) != len(wrong) {
		t.Errorf("%d tiles marked wrong, want %d", len(marked), len(wrong))
	}
	for _, i := range wrong {
		found := false
		for _, m := range marked {
			found = found || strings.HasPrefix(m, fmt.Sprintf("test image %d:", i))
		}
		if !found {
			t.Errorf("test image %d is predicted wrong but not marked; marked: %q", i, marked)
		}
	}
	style := eval[[]string](t, b, `(() => { const e = document.querySelector("#grid .tile.wrong"); const s = getComputedStyle(e); return [s.borderTopColor, e.querySelector(".mark").textContent]; })()`)
	if style[0] != "rgb(214, 39, 40)" || style[1] != "✗" {
		t.Errorf("a wrong prediction shows border %s and mark %q, want red and ✗", style[0], style[1])
	}

	// A click on an off-diagonal cell shows its examples.
	i, j := r.labels[wrong[0]], (r.labels[wrong[0]]+1)%10
	cell := fmt.Sprintf(`#confusion td[data-true="%d"][data-pred="%d"]`, i, j)
	if err := chromedp.Do(b.Ctx, chromedp.Click(cell, chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "examples of the clicked cell", `document.querySelectorAll("#examples .tile.wrong").length > 0`)
	if title := eval[string](t, b, `document.getElementById("examples-title").textContent`); !strings.Contains(title, "True "+cifar10.ClassNames()[i]) {
		t.Errorf("examples title %q does not name the true class %s", title, cifar10.ClassNames()[i])
	}
	poll(t, b, "the filters", `document.getElementById("filters").width > 0`)

	// The counter goes on as the run does.
	r.epoch(1, 1.9)
	poll(t, b, "epoch 3 of 3", `document.getElementById("epoch").textContent === "3 / 3"`)
	r.epoch(2, 1.5)
	if err := r.hub.Close(); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "the run finished", `document.getElementById("status").textContent === "finished"`)
	poll(t, b, "three epochs of accuracy", `+document.getElementById("chart-acc").dataset.points === 6`)

	b.Screenshot("dashboard-live.png")
	b.CheckOrigin(srv.URL)
	b.CheckErrors()
}

// TestBrowserCompare: vkcnn serve's page shows two runs' curves on one chart.
func TestBrowserCompare(t *testing.T) {
	b := dashboardtest.New(t, 60*time.Second)
	runs := t.TempDir()
	for k, name := range []string{"alpha", "beta"} {
		dir := filepath.Join(runs, name)
		if err := mkdir(dir); err != nil {
			t.Fatal(err)
		}
		r := newTestRun(t, dir, name, 2)
		r.epoch(0, 2.3-0.3*float64(k))
		r.epoch(1, 2.0-0.3*float64(k))
		if err := r.hub.Close(); err != nil {
			t.Fatal(err)
		}
	}
	srv := serveDir(t, runs, nil)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"#runs=alpha,beta")); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "two runs to pick from", `document.querySelectorAll("#run-list input").length === 2`)
	poll(t, b, "both runs' accuracy", `+document.getElementById("chart-acc").dataset.points === 8`)
	legend := eval[string](t, b, `document.querySelector("#chart-loss .u-legend").innerText`)
	if !strings.Contains(legend, "alpha") || !strings.Contains(legend, "beta") {
		t.Errorf("the loss chart's legend %q does not name both runs", legend)
	}
	// Unticking one leaves the other.
	if err := chromedp.Do(b.Ctx, chromedp.Click(`#run-list input[data-run="beta"]`, chromedp.NodeVisible)); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "alpha alone", `+document.getElementById("chart-acc").dataset.points === 4 && location.hash === "#runs=alpha"`)
	b.Screenshot("dashboard-compare.png")
	b.CheckOrigin(srv.URL)
	b.CheckErrors()
}

// serveDir serves the runs under runs as vkcnn serve does, through wrap
// where it is not nil, until the test ends.
func serveDir(t *testing.T, runs string, wrap func(http.Handler) http.Handler) *dashboard.Server {
	t.Helper()
	d, err := dashboard.OpenDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	h := d.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv, err := dashboard.Listen("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

// TestBrowserFirstLoad: the page of a finished 10-epoch run of the real
// data set's size (100 samples an epoch, as 50,000 images give) loads in
// under 300 KB, everything counted as it crosses the network: page,
// scripts, styles, the 40 test images and the replay of the run's events.
func TestBrowserFirstLoad(t *testing.T) {
	b := dashboardtest.New(t, 60*time.Second)
	runs := t.TempDir()
	dir := filepath.Join(runs, "full")
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	test := cifar10.Synthetic(0, 1000, 1).Test
	h, err := dashboard.NewHub(dir, dashboard.Settings{Run: "full", Arch: "seed", Classes: cifar10.ClassNames(), Epochs: 10, TrainImages: 50000, TestImages: 1000}, test.Records)
	if err != nil {
		t.Fatal(err)
	}
	pred := make([]uint32, test.N)
	f := &dashboard.Filters{Name: "conv1.weight", Shape: []int{32, 3, 3, 3}, Data: make([]float32, 32*27)}
	for i := range f.Data {
		f.Data[i] = float32(i%13-6) / 7.3
	}
	for e := range 10 {
		for i := 500; i <= 50000; i += 500 {
			h.Progress(dashboard.Progress{Epoch: e, Images: i, Total: 50000, Loss: 2.3 - 0.1*float64(e) - float64(i)/1e6, LR: 0.001})
		}
		h.Epoch(dashboard.Epoch{Epoch: e, TrainLoss: 2, TestLoss: 2, TestAccuracy: 40, Predictions: pred, Filters: f})
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	var events countBytes
	srv := serveDir(t, runs, func(h http.Handler) http.Handler { return events.of("/api/events", h) })
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	poll(t, b, "the whole run", `+document.getElementById("chart-loss").dataset.points === 1000 && document.getElementById("status").textContent === "finished"`)
	poll(t, b, "every image loaded", `document.querySelectorAll("#grid img").length === 40 && [...document.images].every(i => i.complete && i.naturalWidth === 32)`)
	// The event stream stays open, so its bytes are counted as the server
	// sends them (gzipped, as the browser asks), headers aside.
	loaded, streamed := b.Loaded(), int(events.n.Load())
	t.Logf("first load: %d bytes (%d of files, %d of events) in %d requests", loaded+streamed, loaded, streamed, len(b.Requests()))
	if loaded+streamed > 300_000 {
		t.Errorf("the first load took %d bytes, want under 300 KB", loaded+streamed)
	}
	b.CheckOrigin(srv.URL)
	b.CheckErrors()
}

// countBytes counts the body bytes a handler sends for one path.
type countBytes struct{ n atomic.Int64 }

func (c *countBytes) of(path string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w = &countingWriter{ResponseWriter: w, c: c}
		}
		h.ServeHTTP(w, r)
	})
}

type countingWriter struct {
	http.ResponseWriter
	c *countBytes
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.c.n.Add(int64(n))
	return n, err
}

// Unwrap lets http.ResponseController reach the flusher beneath.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestBrowserGalleryShapes: vkcnn serve's page shows the test images of
// runs on data of other shapes than CIFAR's, 1x28x28 and 3x24x40, at their
// own size in the same box, and says the shape in the settings.
func TestBrowserGalleryShapes(t *testing.T) {
	b := dashboardtest.New(t, 60*time.Second)
	runs := t.TempDir()
	shapes := map[string]dashboard.Shape{"digits": {Channels: 1, Height: 28, Width: 28}, "wide": {Channels: 3, Height: 24, Width: 40}}
	for name, s := range shapes {
		dir := filepath.Join(runs, name)
		if err := mkdir(dir); err != nil {
			t.Fatal(err)
		}
		size := 1 + s.Channels*s.Height*s.Width
		test := make([]byte, 60*size)
		for i := range test {
			test[i] = byte(i * 7)
		}
		for i := range 60 {
			test[i*size] = byte(i % 10)
		}
		h, err := dashboard.NewHub(dir, dashboard.Settings{Run: name, Arch: "seed", Classes: cifar10.ClassNames(), Epochs: 1, TestImages: 60, Image: s}, test)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	srv := serveDir(t, runs, nil)
	for _, name := range []string{"digits", "wide"} {
		s := shapes[name]
		// The query (which the server ignores) makes each a page load of
		// its own rather than a change of the hash.
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"?"+name+"#runs="+name)); err != nil {
			t.Fatal(err)
		}
		poll(t, b, name+"'s shape in the settings", fmt.Sprintf(`document.getElementById("settings").innerText.includes("60 test images of %dx%dx%d")`, s.Channels, s.Height, s.Width))
		poll(t, b, name+"'s images loaded at their size, shown in 64x64 boxes", fmt.Sprintf(
			`(() => { const im = [...document.querySelectorAll("#grid img")]; return im.length === 40 && im.every(i => i.complete && i.naturalWidth === %d && i.naturalHeight === %d && i.clientWidth === 64 && i.clientHeight === 64); })()`,
			s.Width, s.Height))
		b.Screenshot("dashboard-" + name + ".png")
	}
	b.CheckOrigin(srv.URL)
	b.CheckErrors()
}
