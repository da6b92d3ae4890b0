package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/gpu"
)

// readmeModel is the model file the README shows, as a user would copy it.
func readmeModel(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- model file: this block is trained by cmd/vkcnn's tests -->\n```\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no marked model file block")
	}
	path := filepath.Join(t.TempDir(), "my.net")
	if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestModels: the zoo lists its networks, and show prints a description
// that is itself a model file, with a summary.
func TestModels(t *testing.T) {
	out := mustRun(t, "models")
	for _, name := range []string{"seed", "airbench94", "airbench-tiny", "resnet18"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("vkcnn models does not list %s:\n%s", name, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"models", "show", "resnet18"}, []string{"layer2.0.shortcut.0", "512x4x4", "(11,173,962 trained)"}},
		{[]string{"models", "show", "airbench94"}, []string{"block3.norm2", "256x1x1", "scale 1/9"}},
		{[]string{"models", "show", "seed", "--input", "1x28x28", "--classes", "100"}, []string{"32x14x14", "6272", "fc4 "}},
	} {
		out := mustRun(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("vkcnn %s lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
		// What show prints builds again: a user copies it into a file.
		copied := filepath.Join(t.TempDir(), "copy.net")
		if err := os.WriteFile(copied, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		again := mustRun(t, append([]string{"models", "show", copied}, tc.args[3:]...)...)
		if !strings.Contains(again, tc.want[0]) {
			t.Errorf("the output of vkcnn %s does not build as a model file:\n%s", strings.Join(tc.args, " "), again)
		}
	}
}

// TestModelFileTrains: the README's hand-written model file trains; its
// checkpoint records it, so eval, predict and resume need no --arch, and
// PyTorch-style names come out.
func TestModelFileTrains(t *testing.T) {
	data := archive(t)
	model := readmeModel(t)
	run := filepath.Join(t.TempDir(), "run")
	out := mustRun(t, "train", "--arch", model, "--data", data, "--device", "cpu", "--batch-size", "16", "--epochs", "1", "--out", run)
	if !strings.Contains(out, "Epoch 0: Accuracy:") {
		t.Errorf("train output:\n%s", out)
	}
	weights := filepath.Join(run, "model.safetensors")
	w, err := checkpoint.Load(weights, []checkpoint.Spec{
		{Name: "block.1.shortcut.0.weight", Shape: []int{32, 16, 1, 1}},
		{Name: "bn.num_batches_tracked", Shape: []int{}, Int64: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := w["bn.num_batches_tracked"][0]; got != 4 { // 64 images in batches of 16
		t.Errorf("bn.num_batches_tracked = %v after one epoch of 4 steps, want 4", got)
	}
	out = mustRun(t, "eval", "--data", data, "--device", "cpu", "--model", weights)
	if !strings.Contains(out, "Accuracy of the network on the 32 test images") {
		t.Errorf("eval of a model-file checkpoint without --arch:\n%s", out)
	}
	img := filepath.Join(t.TempDir(), "red.png")
	writePNG(t, img, 40, 30)
	if out = mustRun(t, "predict", "--device", "cpu", "--model", weights, img); strings.Count(out, "%") != 3 {
		t.Errorf("predict output:\n%s", out)
	}
	// The resumed run trains the recorded network even though the file is gone.
	if err := os.Remove(model); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "train", "--resume", run, "--data", data, "--device", "cpu", "--epochs", "2")
	out, code := vkcnn(t, "train", "--resume", run, "--arch", "seed", "--data", data, "--device", "cpu", "--epochs", "3")
	if code == 0 || !strings.Contains(lastError(out), "differs from the network of the run") {
		t.Errorf("resume with another --arch: exit %d\n%s", code, out)
	}
}

// TestZooTrains: a zoo network with BatchNorm trains and evaluates from the
// command line.
func TestZooTrains(t *testing.T) {
	data := archive(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--arch", "airbench-tiny", "--data", data, "--device", "cpu", "--batch-size", "16", "--epochs", "1", "--out", run)
	out := mustRun(t, "eval", "--data", data, "--device", "cpu", "--model", filepath.Join(run, "model.safetensors"))
	if !strings.Contains(out, "Accuracy of the network") {
		t.Errorf("eval output:\n%s", out)
	}
}

// TestBadArch: a wrong --arch or a broken model file ends in one line
// naming the problem.
func TestBadArch(t *testing.T) {
	data := archive(t)
	broken := filepath.Join(t.TempDir(), "broken.net")
	if err := os.WriteFile(broken, []byte("conv1: conv 8 kernel=3\nrelu\nfc: linear classes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seedRun := filepath.Join(t.TempDir(), "seed")
	mustRun(t, "train", "--data", data, "--device", "cpu", "--batch-size", "16", "--epochs", "1", "--out", seedRun)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--arch", "resnet19", "--data", data, "--device", "cpu"}, "not a zoo network (airbench-tiny, airbench94, resnet18, seed) and no such file"},
		{[]string{"train", "--arch", broken, "--data", data, "--device", "cpu"}, "broken.net:3: linear: needs a flat input"},
		{[]string{"models", "show", broken}, "broken.net:3:"},
		{[]string{"eval", "--arch", "airbench-tiny", "--model", filepath.Join(seedRun, "model.safetensors"), "--data", data, "--device", "cpu"}, `has no tensor "whiten.weight"`},
		{[]string{"models", "show", "seed", "--input", "3x32"}, "--input"},
	} {
		out, code := vkcnn(t, tc.args...)
		if code == 0 || !strings.Contains(lastError(out), tc.want) || strings.Contains(out, "goroutine") {
			t.Errorf("vkcnn %s: exit %d, want an error containing %q:\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
}

// TestZooDevicesAgree: airbench-tiny (BatchNorm, GELU, floor-mode pooling)
// trains to the same loss and evaluates to the same accuracy on a Vulkan
// device as on the CPU reference, from the same initialization.
func TestZooDevicesAgree(t *testing.T) {
	if infos, err := gpu.Devices(); err != nil || len(infos) == 0 {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device: %v", err)
	}
	data := archive(t)
	losses := map[string]float64{}
	for _, device := range []string{"cpu", "0"} {
		out := mustRun(t, "train", "--arch", "airbench-tiny", "--data", data, "--device", device, "--batch-size", "16", "--epochs", "1", "--out", t.TempDir())
		i := strings.Index(out, "train loss ")
		if i < 0 {
			t.Fatalf("no train loss in:\n%s", out)
		}
		var l float64
		if _, err := fmt.Sscanf(out[i:], "train loss %g", &l); err != nil {
			t.Fatal(err)
		}
		losses[device] = l
	}
	if d := math.Abs(losses["0"] - losses["cpu"]); d > 1e-3*losses["cpu"]+5e-5 {
		t.Errorf("mean training loss %.4f on Vulkan, %.4f on the CPU reference", losses["0"], losses["cpu"])
	}
}

// TestRecipeResume: a run of the airbench recipe (schedule, Lookahead,
// alternating flips, a bias frozen after an epoch, fractional epochs)
// interrupted during epoch 1 and resumed without repeating its flags ends
// bit for bit where the uninterrupted run does.
func TestRecipeResume(t *testing.T) {
	data := archiveOf(t, 480)
	args := func(out string) []string {
		return []string{"train", "--arch", "airbench-tiny", "--data", data, "--device", "cpu", "--batch-size", "8",
			"--epochs", "2.5", "--whiten-bias-epochs", "1", "--lookahead", "3", "--out", out}
	}
	straight := filepath.Join(t.TempDir(), "straight")
	out := mustRun(t, args(straight)...)
	if !strings.Contains(out, "Epoch 2:") || strings.Contains(out, "Epoch 3:") {
		t.Errorf("2.5 epochs should end during epoch 2:\n%s", out)
	}
	resumed := filepath.Join(t.TempDir(), "resumed")
	cmd := exec.Command(binary, args(resumed)...)
	cmd.Env = append(os.Environ(), "VKCNN_DATA="+t.TempDir())
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(buf.String(), "Epoch 0:") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err == nil || !strings.Contains(buf.String(), "interrupted during epoch 1") {
		t.Fatalf("the run was not interrupted during epoch 1 (%v):\n%s", err, buf.String())
	}
	out = mustRun(t, "train", "--data", data, "--device", "cpu", "--resume", resumed)
	if !strings.Contains(out, "Epoch 2:") || strings.Contains(out, "Epoch 0:") {
		t.Errorf("resume output:\n%s", out)
	}
	for _, f := range []string{"model.safetensors", "optimizer.safetensors"} {
		a, _ := os.ReadFile(filepath.Join(straight, f))
		b, _ := os.ReadFile(filepath.Join(resumed, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s of the resumed run differs from the uninterrupted run's", f)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(straight, "metrics.jsonl"))
	if !strings.Contains(string(metrics), `"lr":`) {
		t.Errorf("metrics.jsonl lacks the learning rate:\n%s", metrics)
	}
}
