package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/gpu"
)

const gpuLoaderEnv = gpu.LoaderEnv

// The tests run the built command as a user would, on a small generated
// archive, with the CPU reference.

var binary string

// TestMain builds the command, or where there is no Go toolchain (a GPU
// machine that runs prebuilt test binaries) takes $VKCNN_BINARY or the
// .gpu/vkcnn that ../shared/gpu/prepare.sh builds.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkcnn-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vkcnn")
	if prebuilt := os.Getenv("VKCNN_BINARY"); prebuilt != "" {
		binary = prebuilt
	} else if _, err := exec.LookPath("go"); err != nil {
		binary, _ = filepath.Abs("../../.gpu/vkcnn")
	} else if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
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

// archiveOf writes a generated data set of n training images.
func archiveOf(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := cifar10.WriteArchive(&buf, cifar10.Synthetic(n, 32, 2)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFaults: a diverging loss and an interrupt stop the run with advice,
// keep the last good checkpoint, and the run resumes.
func TestFaults(t *testing.T) {
	t.Run("diverging loss", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "run")
		msg, code := vkcnn(t, "train", "--data", archive(t), "--device", "cpu", "--lr", "1e6", "--batch-size", "8", "--out", out)
		if code == 0 || !strings.Contains(msg, "diverged at epoch 0") || !strings.Contains(msg, "lower the learning rate") {
			t.Fatalf("exit %d:\n%s", code, msg)
		}
		if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
			t.Error("a diverged epoch left a checkpoint")
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		data := archiveOf(t, 800)
		out := filepath.Join(t.TempDir(), "run")
		cmd := exec.Command(binary, "train", "--data", data, "--device", "cpu", "--batch-size", "8", "--epochs", "3", "--out", out)
		cmd.Env = append(os.Environ(), "VKCNN_DATA="+t.TempDir())
		var buf syncBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(buf.String(), "Epoch 0:") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // into epoch 1
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		msg := buf.String()
		if err == nil || !strings.Contains(msg, "interrupted during epoch 1") || !strings.Contains(msg, "--resume "+out) {
			t.Fatalf("err %v:\n%s", err, msg)
		}
		state, err := os.ReadFile(filepath.Join(out, "state.json"))
		if err != nil || !strings.Contains(string(state), `"epoch": 1`) && !strings.Contains(string(state), `"epoch":1`) {
			t.Fatalf("state after the interrupt: %s (%v)", state, err)
		}
		msg = mustRun(t, "train", "--data", data, "--device", "cpu", "--resume", out, "--epochs", "2")
		if !strings.Contains(msg, "Epoch 1:") || strings.Contains(msg, "Epoch 0:") {
			t.Errorf("resume after the interrupt:\n%s", msg)
		}
		// Bit for bit what an uninterrupted run of two epochs ends with.
		straight := filepath.Join(t.TempDir(), "straight")
		mustRun(t, "train", "--data", data, "--device", "cpu", "--batch-size", "8", "--epochs", "2", "--out", straight)
		a, _ := os.ReadFile(filepath.Join(straight, "model.safetensors"))
		b, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Error("weights after interrupt and resume differ from the uninterrupted run's")
		}
	})
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMoreBadInput covers models, images, devices and limits.
func TestMoreBadInput(t *testing.T) {
	data := archive(t)
	dir := t.TempDir()
	wrongShape := filepath.Join(dir, "wrong.safetensors")
	if err := checkpoint.Save(wrongShape, []checkpoint.Tensor{{Name: "conv1.weight", Shape: []int{2, 2}, Data: make([]float32, 4)}}); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.png")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image at all"), 0o644)
	model := filepath.Join(dir, "run")
	mustRun(t, "train", "--data", data, "--device", "cpu", "--epochs", "1", "--batch-size", "16", "--out", model)
	weights := filepath.Join(model, "model.safetensors")
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"--init of wrong shapes", []string{"train", "--data", data, "--device", "cpu", "--init", wrongShape, "--out", t.TempDir()}, "", "conv1.weight"},
		{"empty image", []string{"predict", "--device", "cpu", "--model", weights, empty}, "", "empty"},
		{"not an image", []string{"predict", "--device", "cpu", "--model", weights, text}, "", "not a PNG or JPEG"},
		{"device index that does not exist", []string{"train", "--data", data, "--device", "99", "--out", t.TempDir()}, "", "--device 99"},
		{"no Vulkan loader, explicit device", []string{"train", "--data", data, "--device", "0", "--out", t.TempDir()}, gpuLoaderEnv + "=/nonexistent/libvulkan.so.1", "install"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(strings.Split(tc.env, "=")[0], strings.Split(tc.env, "=")[1])
			}
			out, code := vkcnn(t, tc.args...)
			if code == 0 || strings.Contains(out, "goroutine") || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want an error mentioning %q:\n%s", code, tc.want, out)
			}
		})
	}
	t.Run("no Vulkan loader, auto", func(t *testing.T) {
		t.Setenv(gpuLoaderEnv, "/nonexistent/libvulkan.so.1")
		out := mustRun(t, "train", "--data", data, "--device", "auto", "--epochs", "1", "--batch-size", "16", "--out", t.TempDir())
		if !strings.Contains(out, "using the CPU reference") {
			t.Errorf("auto without a loader does not say it falls back:\n%s", out)
		}
	})
	t.Run("--limit-train beyond the data", func(t *testing.T) {
		out := mustRun(t, "train", "--data", data, "--device", "cpu", "--epochs", "1", "--batch-size", "16", "--limit-train", "100000", "--out", t.TempDir())
		if !strings.Contains(out, "warning: --limit-train 100000 is more than the 64 images") {
			t.Errorf("no clamp warning:\n%s", out)
		}
	})
}

// TestHugeBatchOnDevice: a batch too large for the Vulkan device is an
// error naming the batch size.
func TestHugeBatchOnDevice(t *testing.T) {
	infos, err := gpu.Devices()
	if err != nil {
		t.Skipf("no Vulkan device: %v", err)
	}
	// Enough images that one batch's activations exceed the device's
	// largest buffer (conv1's output is 128 KiB an image).
	batch := int(infos[0].MaxStorageBufferRange/(32*32*32*4)) + 1
	if batch > 40000 {
		t.Skipf("device 0 allows %d-byte buffers: a batch too large for it takes too long to generate here", infos[0].MaxStorageBufferRange)
	}
	data := archiveOf(t, batch)
	out, code := vkcnn(t, "train", "--data", data, "--device", "0", "--batch-size", strconv.Itoa(batch), "--epochs", "1", "--out", t.TempDir())
	if code == 0 || !strings.Contains(out, "batch size "+strconv.Itoa(batch)) || strings.Contains(out, "goroutine") {
		t.Errorf("exit %d, want an error naming the batch size:\n%s", code, out)
	}
}

// TestPyTorchInterop: PyTorch's load_state_dict(strict=True) takes the
// weights vkcnn trains, and its evaluation of them agrees with vkcnn's; the
// state_dict PyTorch writes back is what vkcnn evaluates and starts from.
func TestPyTorchInterop(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skipf("needs Debian's python3-torch (apt-get install python3-torch): %v", err)
	}
	data := archive(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--data", data, "--device", "cpu", "--epochs", "2", "--batch-size", "8", "--out", run)
	fromTorch := filepath.Join(t.TempDir(), "torch.safetensors")
	out, err := exec.Command(python, "../../tools/torch_interop.py", filepath.Join(run, "model.safetensors"), data, fromTorch).CombinedOutput()
	if err != nil {
		t.Fatalf("tools/torch_interop.py: %v\n%s", err, out)
	}
	var torchEval struct{ Images, Correct int }
	if err := json.Unmarshal(out, &torchEval); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, model := range []string{filepath.Join(run, "model.safetensors"), fromTorch} {
		msg := mustRun(t, "eval", "--data", data, "--device", "cpu", "--model", model)
		want := fmt.Sprintf("%.2f %%", 100*float64(torchEval.Correct)/float64(torchEval.Images))
		if !strings.Contains(msg, want) {
			t.Errorf("vkcnn eval of %s does not report PyTorch's accuracy %s:\n%s", filepath.Base(model), want, msg)
		}
	}
	mustRun(t, "train", "--data", data, "--device", "cpu", "--epochs", "1", "--init", fromTorch, "--out", t.TempDir())
}

// TestDeviceLost: a Vulkan call failing mid-run ends with an error naming
// the call, the epoch and step, and the last epoch's checkpoint intact.
func TestDeviceLost(t *testing.T) {
	if _, err := gpu.Devices(); err != nil {
		t.Skipf("no Vulkan device: %v", err)
	}
	data := archive(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--data", data, "--device", "0", "--batch-size", "16", "--epochs", "3", "--out", out}
	// About 60 submits make an epoch here (uploads, steps, evaluation,
	// the checkpoint's downloads), so this fails in the second.
	t.Setenv(gpu.LoseDeviceEnv, "70")
	msg, code := vkcnn(t, args...)
	if code == 0 || !strings.Contains(msg, "vkQueueSubmit: VK_ERROR_DEVICE_LOST") {
		t.Fatalf("exit %d, want an error naming the failed call:\n%s", code, msg)
	}
	if strings.Contains(msg, "Epoch 0:") {
		if !strings.Contains(msg, "is intact") || !strings.Contains(msg, "epoch 1, step") {
			t.Errorf("the error does not say the checkpoint is kept:\n%s", msg)
		}
		if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
			t.Errorf("no checkpoint of epoch 0 after the failure: %v", err)
		}
	}
	if strings.Contains(msg, "goroutine") {
		t.Errorf("a stack trace:\n%s", msg)
	}
}
