//go:build window

package main

import (
	"errors"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/internal/xvfb"
)

// windowNet is small enough to train quickly on lavapipe with validation.
const windowNet = "conv1: conv 8 kernel=5 pad=2\nrelu\nmaxpool 4\nflatten\nfc: linear classes\n"

// TestTrainWindow runs `vkcnn train --window` on lavapipe with validation on
// under a virtual X server: the window appears and shows the run (its loss
// panel, the batch tiles), and the run ends as without it. The window's
// pixels are checked against the tensors in package window's tests.
func TestTrainWindow(t *testing.T) {
	x, err := xvfb.Start(1024, 600)
	if err != nil {
		if errors.Is(err, xvfb.ErrNoXvfb) && os.Getenv("VKCNN_NO_WINDOW") == "1" {
			t.Skipf("VKCNN_NO_WINDOW=1 and %v", err)
		}
		t.Fatalf("%v (set VKCNN_NO_WINDOW=1 to skip the window tests)", err)
	}
	defer x.Stop()
	// TestMain's binary is built without the tag.
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no Go toolchain to build vkcnn with -tags window")
	}
	bin := filepath.Join(t.TempDir(), "vkcnn")
	if out, err := exec.Command("go", "build", "-tags", "window", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags window: %v\n%s", err, out)
	}
	net := filepath.Join(t.TempDir(), "small.net")
	if err := os.WriteFile(net, []byte(windowNet), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, "train", "--window", "--data", archiveOf(t, 256), "--device", "0", "--arch", net,
		"--batch-size", "16", "--epochs", "2", "--limit-test", "32", "--out", run)
	cmd.Env = append(os.Environ(), "VKCNN_DATA="+t.TempDir(), "DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+t.TempDir(), "VKCNN_VALIDATE=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// While it trains, the screen shows the loss curve's color and the
	// batch's tiles, which are neither black nor the window's background.
	curve := color.RGBA{255, 170, 40, 255}
	seen := false
	for !seen {
		select {
		case err := <-done:
			t.Fatalf("vkcnn ended (%v) before the window showed a loss curve:\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		img, err := x.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		curvePixels, colorful := 0, 0
		for y := range 600 {
			for x := range 1024 {
				c := img.RGBAAt(x, y)
				if c == curve {
					curvePixels++
				}
				if c.R != c.G || c.G != c.B {
					colorful++
				}
			}
		}
		seen = curvePixels > 10 && colorful > 1000
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("vkcnn train --window: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("vkcnn train --window did not end:\n%s", out.String())
	}
	msg := out.String()
	if !strings.Contains(msg, "Epoch 1: Accuracy:") || strings.Contains(msg, "warning: --window") {
		t.Errorf("output:\n%s", msg)
	}
}
