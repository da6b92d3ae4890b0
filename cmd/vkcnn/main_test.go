package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
)

// The tests run the built command as a user would, on a small generated
// archive, with the CPU reference.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkcnn-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vkcnn")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		println("building vkcnn:", string(out))
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// archive writes a generated data set in the official layout.
func archive(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := cifar10.WriteArchive(&buf, cifar10.Synthetic(64, 32, 1)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// vkcnn runs the command and returns its combined output and exit code.
func vkcnn(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "VKCNN_DATA="+t.TempDir())
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, code := vkcnn(t, args...)
	if code != 0 {
		t.Fatalf("vkcnn %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func trainArgs(data, out string, epochs string) []string {
	return []string{"train", "--data", data, "--device", "cpu", "--batch-size", "16", "--epochs", epochs, "--out", out, "--augment", "--seed", "3"}
}

func TestTrainEvalPredictShowPlot(t *testing.T) {
	data := archive(t)
	run := filepath.Join(t.TempDir(), "run")
	out := mustRun(t, trainArgs(data, run, "2")...)
	for _, want := range []string{"Epoch 0: Accuracy:", "Epoch 1: Accuracy:", "images/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"model.safetensors", "state.json", "optimizer.safetensors", "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("train left no %s: %v", f, err)
		}
	}
	model := filepath.Join(run, "model.safetensors")

	out = mustRun(t, "eval", "--data", data, "--device", "cpu", "--model", model)
	if !strings.Contains(out, "Accuracy of the network on the 32 test images") || !strings.Contains(out, "airplane") {
		t.Errorf("eval output:\n%s", out)
	}

	img := filepath.Join(t.TempDir(), "red.png")
	writePNG(t, img, 40, 30)
	out = mustRun(t, "predict", "--device", "cpu", "--model", model, img)
	if !strings.Contains(out, "red.png:") || strings.Count(out, "%") != 3 {
		t.Errorf("predict output:\n%s", out)
	}

	grid := filepath.Join(t.TempDir(), "batch.png")
	mustRun(t, "show", "--data", data, "--out", grid)
	curves := filepath.Join(t.TempDir(), "curves.png")
	mustRun(t, "plot", filepath.Join(run, "metrics.jsonl"), "--out", curves)
	for _, f := range []string{grid, curves} {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Errorf("%s is not a PNG: %v", f, err)
		}
		fh.Close()
	}
}

// TestResume: one epoch, then --resume to two, ends with the same weights
// as two epochs straight.
func TestResume(t *testing.T) {
	data := archive(t)
	straight := filepath.Join(t.TempDir(), "straight")
	mustRun(t, trainArgs(data, straight, "2")...)
	resumed := filepath.Join(t.TempDir(), "resumed")
	mustRun(t, trainArgs(data, resumed, "1")...)
	out := mustRun(t, "train", "--data", data, "--device", "cpu", "--resume", resumed, "--epochs", "2")
	if !strings.Contains(out, "Epoch 1:") || strings.Contains(out, "Epoch 0:") {
		t.Errorf("resume output:\n%s", out)
	}
	a, _ := os.ReadFile(filepath.Join(straight, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(resumed, "model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("resumed weights differ from the uninterrupted run's")
	}
}

// TestBadInput: each user mistake gets a one-line error and a non-zero exit,
// never a Go stack trace.
func TestBadInput(t *testing.T) {
	data := archive(t)
	notSafetensors := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(notSafetensors, []byte("hello"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"batch 0", []string{"train", "--data", data, "--batch-size", "0"}, "--batch-size 0"},
		{"negative epochs", []string{"train", "--data", data, "--epochs", "-1"}, "--epochs -1"},
		{"NaN learning rate", []string{"train", "--data", data, "--lr", "NaN"}, "--lr NaN"},
		{"momentum 1", []string{"train", "--data", data, "--momentum", "1"}, "--momentum 1"},
		{"unknown device", []string{"train", "--data", data, "--device", "gpu7", "--out", t.TempDir()}, "unknown --device"},
		{"missing data", []string{"train", "--data", "/no/such/file.tar.gz", "--out", t.TempDir()}, "/no/such/file.tar.gz"},
		{"missing model", []string{"eval", "--data", data, "--device", "cpu", "--model", "/no/such/model.safetensors"}, "model.safetensors"},
		{"not safetensors", []string{"eval", "--data", data, "--device", "cpu", "--model", notSafetensors}, "not a safetensors file"},
		{"resume without state", []string{"train", "--data", data, "--device", "cpu", "--resume", t.TempDir()}, "state.json"},
		{"predict without model", []string{"predict", "x.png"}, "--model is required"},
		{"unwritable --out", []string{"train", "--data", data, "--device", "cpu", "--out", "/proc/vkcnn-run"}, "output directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := vkcnn(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; output:\n%s", out)
			}
			if strings.Contains(out, "goroutine") || strings.Contains(out, "panic") {
				t.Fatalf("a stack trace:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, out)
			}
			if lines := strings.Count(strings.TrimSpace(lastError(out)), "\n"); lines > 0 {
				t.Errorf("error is not one line:\n%s", out)
			}
		})
	}
}

// lastError is the "vkcnn: ..." line and what follows it.
func lastError(out string) string {
	if i := strings.LastIndex(out, "vkcnn: "); i >= 0 {
		return out[i:]
	}
	return out
}

func writePNG(t *testing.T, path string, w, h int) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{200, 30, 30, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
