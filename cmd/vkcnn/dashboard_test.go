package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vkcnn/vkcnn/dashboard"
	"github.com/vkcnn/vkcnn/dashboard/dashboardtest"
)

// watchedNet trains fast enough on the CPU for a browser to watch several
// epochs go by in seconds.
const watchedNet = "conv1: conv 8 kernel=3 pad=1\nrelu\nmaxpool 4\nflatten\nfc: linear classes\n"

// The addresses vkcnn prints for the dashboard: on loopback, and anywhere.
var (
	loopbackURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/`)
	anyURL      = regexp.MustCompile(`http://[^ ]+/`)
)

// startServing runs vkcnn with args and returns it, its output so far, and
// the dashboard address (matching url) that it prints.
func startServing(t *testing.T, url *regexp.Regexp, args ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "VKCNN_DATA="+t.TempDir())
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if u := url.FindString(out.String()); u != "" {
			return cmd, out, u
		}
	}
	t.Fatalf("vkcnn %s printed no dashboard address:\n%s", strings.Join(args, " "), out.String())
	return nil, nil, ""
}

func pagePoll(t *testing.T, b *dashboardtest.Browser, what, expr string) {
	t.Helper()
	_, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		// What the page says of its connection and the run tells a lost
		// event from a page that stopped drawing.
		state, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](
			`document.getElementById("conn").textContent + "; status " + document.getElementById("status").textContent`))
		t.Fatalf("the page never showed %s (%s): %v; the page: %s", what, expr, err, state)
	}
}

func pageValue[T any](t *testing.T, b *dashboardtest.Browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestTrainServe: a browser open on `vkcnn train --serve` sees the epoch
// counter advance and the curves grow while the run trains; the page then
// serves the stopped run from `vkcnn serve`, predictions marked.
func TestTrainServe(t *testing.T) {
	b := dashboardtest.New(t, 3*time.Minute)
	data := archiveOf(t, 2000)
	net := filepath.Join(t.TempDir(), "tiny.net")
	os.WriteFile(net, []byte(watchedNet), 0o644)
	runs := t.TempDir()
	run := filepath.Join(runs, "watched")
	cmd, out, url := startServing(t, loopbackURL, "train", "--data", data, "--device", "cpu", "--arch", net, "--batch-size", "16",
		"--epochs", "1000", "--out", run, "--serve", "127.0.0.1:0")

	if err := chromedp.Do(b.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	pagePoll(t, b, "an epoch done", `+document.getElementById("epoch").dataset.done >= 1`)
	first := pageValue[string](t, b, `document.getElementById("epoch").textContent`)
	done := pageValue[int](t, b, `+document.getElementById("epoch").dataset.done`)
	pagePoll(t, b, "the next epoch", `+document.getElementById("epoch").dataset.done > `+strconv.Itoa(done))
	later := pageValue[string](t, b, `document.getElementById("epoch").textContent`)
	if first == later || !strings.HasSuffix(later, " / 1000") {
		t.Errorf("the epoch counter went from %q to %q", first, later)
	}
	pagePoll(t, b, "points on the loss chart", `+document.getElementById("chart-loss").dataset.points > 0`)
	pagePoll(t, b, "points on the accuracy chart", `+document.getElementById("chart-acc").dataset.points >= 2`)
	pagePoll(t, b, "the test images", `document.querySelectorAll("#grid .tile.right, #grid .tile.wrong").length === 32`)
	pagePoll(t, b, "the run's device and network", `document.getElementById("settings").innerText.includes("tiny.net") && document.getElementById("settings").innerText.includes("cpu")`)
	b.Screenshot("train-serve.png")

	// Ctrl-C: the page learns that the run stopped. It can only if its
	// event stream is open when the run ends (the server ends with it).
	pagePoll(t, b, "its event stream open", `document.getElementById("conn").textContent === "live"`)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("output after Ctrl-C:\n%s", out.String())
	}
	pagePoll(t, b, "the run stopped", `document.getElementById("status").textContent === "stopped"`)
	trainURL := url

	// vkcnn serve shows the stopped run from its files, wrong predictions
	// marked as the run recorded them.
	_, _, url = startServing(t, loopbackURL, "serve", runs, "--addr", "127.0.0.1:0")
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	pagePoll(t, b, "the run's predictions", `document.querySelectorAll("#grid .tile.right, #grid .tile.wrong").length === 32`)
	wrong := pageValue[int](t, b, `document.querySelectorAll("#grid .tile.wrong").length`)
	if want := wrongInLastEpoch(t, run); wrong != want {
		t.Errorf("%d test images marked wrong, the run recorded %d", wrong, want)
	}
	t.Logf("%d of 32 test images marked wrong", wrong)
	b.CheckOrigin(trainURL, url)
	b.CheckErrors()
}

// wrongInLastEpoch counts the gallery images the run's last recorded epoch
// got wrong.
func wrongInLastEpoch(t *testing.T, run string) int {
	t.Helper()
	f, err := os.ReadFile(filepath.Join(run, dashboard.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	var labels, preds []int
	sc := bufio.NewScanner(bytes.NewReader(f))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e struct {
			Type               string `json:"type"`
			GalleryLabels      []int  `json:"gallery_labels"`
			GalleryPredictions []int  `json:"gallery_predictions"`
		}
		json.Unmarshal(sc.Bytes(), &e)
		switch e.Type {
		case "settings":
			labels = e.GalleryLabels
		case "epoch":
			preds = e.GalleryPredictions
		}
	}
	if len(preds) != len(labels) || len(labels) == 0 {
		t.Fatalf("the run recorded %d labels and %d predictions", len(labels), len(preds))
	}
	n := 0
	for i := range labels {
		if labels[i] != preds[i] {
			n++
		}
	}
	return n
}

// TestServeBadInput: serve's mistakes are one line that says what to do.
func TestServeBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "vkcnn serve ./runs"},
		{[]string{"serve", "/no/such/runs"}, "--out directory"},
		{[]string{"serve", t.TempDir(), "--addr", "nonsense:port:x"}, "--addr"},
		{[]string{"train", "--data", archive(t), "--device", "cpu", "--out", t.TempDir(), "--serve", "127.0.0.1:99999"}, "--serve"},
	} {
		out, code := vkcnn(t, tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) || strings.Count(strings.TrimSpace(lastError(out)), "\n") > 0 {
			t.Errorf("vkcnn %s: exit %d, output:\n%s\nwant one error line with %q", strings.Join(tc.args, " "), code, out, tc.want)
		}
	}
}

// TestServeWarns: an address beyond loopback is served with a warning.
func TestServeWarns(t *testing.T) {
	_, out, _ := startServing(t, anyURL, "serve", t.TempDir(), "--addr", "0.0.0.0:0")
	if !strings.Contains(out.String(), "warning:") || !strings.Contains(out.String(), "other machines") {
		t.Errorf("no warning for 0.0.0.0:\n%s", out.String())
	}
}

// TestDashboardMNISTGallery: a run on MNIST-shaped data records its test
// images for the dashboard as 1+784-byte records, the test set's in order,
// with the shape in its settings, and vkcnn serve shows them as 28x28
// grey images.
func TestDashboardMNISTGallery(t *testing.T) {
	root := t.TempDir()
	mnist := filepath.Join(root, "mnist")
	test := patterns(20, 1, 28, 28, 10, 2)
	writeIDX(t, mnist, patterns(40, 1, 28, 28, 10, 1), test, false)
	net := filepath.Join(root, "tiny.net")
	writeTestFile(t, net, []byte(tinyNet))
	run := filepath.Join(root, "digits")
	mustRun(t, "train", "--data", mnist, "--arch", net, "--device", "cpu", "--epochs", "1", "--batch-size", "8", "--out", run)

	const size = 1 + 28*28
	g, err := os.ReadFile(filepath.Join(run, dashboard.GalleryFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 20*size {
		t.Fatalf("gallery of %d bytes, want 20 records of %d", len(g), size)
	}
	for i, k := range test.labels {
		rec := g[i*size : (i+1)*size]
		if int(rec[0]) != k || !bytes.Equal(rec[1:], test.images[i*784:(i+1)*784]) {
			t.Errorf("gallery record %d is not test image %d (label %d, want %d)", i, i, rec[0], k)
		}
	}
	f, err := os.ReadFile(filepath.Join(run, dashboard.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Type  string
		Image dashboard.Shape
	}
	if err := json.Unmarshal(f[:bytes.IndexByte(f, '\n')], &s); err != nil || s.Type != "settings" || s.Image != (dashboard.Shape{Channels: 1, Height: 28, Width: 28}) {
		t.Errorf("first event %+v (%v), want settings with shape 1x28x28:\n%.300s", s, err, f)
	}

	_, _, url := startServing(t, loopbackURL, "serve", run, "--addr", "127.0.0.1:0")
	res, err := http.Get(url + "api/runs/digits/images/5")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	img, err := png.Decode(res.Body)
	if err != nil {
		t.Fatalf("image 5: %s: %v", res.Status, err)
	}
	if img.Bounds() != image.Rect(0, 0, 28, 28) {
		t.Fatalf("image 5 is %v, want 28x28", img.Bounds())
	}
	for i, v := range test.images[5*784 : 6*784] {
		if got := color.GrayModel.Convert(img.At(i%28, i/28)).(color.Gray).Y; got != v {
			t.Fatalf("image 5's pixel (%d,%d) is %d, want %d", i%28, i/28, got, v)
		}
	}
}
