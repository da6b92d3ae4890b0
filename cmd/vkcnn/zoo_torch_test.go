package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/gpu"
	"github.com/vkcnn/vkcnn/recipe"
)

// torchZoo runs tools/torch_zoo.py and decodes its one JSON line into v.
func torchZoo(t *testing.T, v any, args ...string) {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append(append([]string{"../../tools/torch_zoo.py"}, args...), "--threads", "2")...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("torch_zoo.py %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("torch_zoo.py %s printed %q: %v", strings.Join(args, " "), out, err)
	}
}

// needTorch skips where Debian's python3-torch is missing (tools/test.sh
// installs it unless VKCNN_NO_TORCH=1).
func needTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skipf("needs Debian's python3-torch (apt-get install python3-torch; tools/test.sh installs it): %v", err)
	}
}

type torchEval struct {
	Accuracy    float64 `json:"accuracy"`
	N           int     `json:"n"`
	Predictions []int   `json:"predictions"`
}

// predictions reads the prediction column of eval --predictions.
func predictions(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %v (%d rows)", path, err, len(rows))
	}
	var out []int
	for _, r := range rows[1:] {
		p, err := strconv.Atoi(r[2])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestZooPyTorchInterop: for every zoo network, PyTorch's definition in
// bench/zoo.py loads vkcnn's checkpoint with strict=True and predicts as
// vkcnn does, image by image; vkcnn evaluates PyTorch-initialized and
// PyTorch-trained weights (BatchNorm running statistics and int64
// num_batches_tracked included) to PyTorch's predictions.
func TestZooPyTorchInterop(t *testing.T) {
	needTorch(t)
	data := archive(t)
	for _, a := range []string{"seed", "airbench-tiny", "airbench94", "resnet18"} {
		t.Run(a, func(t *testing.T) {
			dir := t.TempDir()
			run := filepath.Join(dir, "run")
			mustRun(t, "train", "--arch", a, "--data", data, "--device", "cpu", "--limit-train", "16", "--batch-size", "16", "--epochs", "1", "--out", run)
			var ignored struct{}
			torchInit, torchTrained := filepath.Join(dir, "init.safetensors"), filepath.Join(dir, "trained.safetensors")
			torchZoo(t, &ignored, "init", "--arch", a, "--seed", "1", "--out", torchInit)
			torchZoo(t, &ignored, "train", "--arch", a, "--archive", data, "--steps", "3", "--batch", "16", "--lr", "0.01", "--seed", "2", "--out", torchTrained)
			for _, w := range []string{filepath.Join(run, "model.safetensors"), torchInit, torchTrained} {
				var te torchEval
				torchZoo(t, &te, "eval", "--arch", a, "--weights", w, "--archive", data)
				out := mustRun(t, "eval", "--arch", a, "--tta", "0", "--data", data, "--device", "cpu", "--model", w)
				want := fmt.Sprintf("%.2f %%", te.Accuracy)
				if !strings.Contains(out, want) {
					t.Errorf("%s: vkcnn eval does not report PyTorch's accuracy %s:\n%s", filepath.Base(w), want, out)
				}
				csvPath := filepath.Join(dir, "pred.csv")
				mustRun(t, "eval", "--arch", a, "--tta", "0", "--data", data, "--device", "cpu", "--model", w, "--predictions", csvPath)
				if got := predictions(t, csvPath); !slices.Equal(got, te.Predictions) {
					t.Errorf("%s: vkcnn predicts %v, PyTorch %v", filepath.Base(w), got, te.Predictions)
				}
			}
		})
	}
}

// TestZooOneStepMatchesPyTorch: one training step of airbench-tiny from the
// same weights on the same batch gives the same loss, and the same updated
// weights and BatchNorm running statistics, in vkcnn (on the CPU reference
// and on a Vulkan device) and in PyTorch: plain SGD, and the airbench
// recipe's optimizer (label smoothing 0.2 on the summed loss, Nesterov
// momentum 0.85, coupled weight decay, BatchNorm biases at 64 times the
// learning rate, the whitening weight frozen) without its augmentation.
func TestZooOneStepMatchesPyTorch(t *testing.T) {
	needTorch(t)
	data := archive(t)
	dir := t.TempDir()
	w0 := filepath.Join(dir, "w0.safetensors")
	var ignored struct{}
	torchZoo(t, &ignored, "init", "--arch", "airbench-tiny", "--seed", "3", "--out", w0)
	lr, wd := recipe.AirbenchSGD(12, recipe.AirbenchMomentum)
	lrs, wds := fmt.Sprint(lr), fmt.Sprint(wd)
	devices := []string{"cpu"}
	if infos, err := gpu.Devices(); err == nil && len(infos) > 0 {
		devices = append(devices, "0")
	} else if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
		t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
	}
	for _, tc := range []struct {
		name        string
		torch, ours []string
		perImage    float64 // PyTorch's loss over vkcnn's mean loss per image
	}{
		{"sgd", []string{"--lr", "0.1"}, []string{"--recipe", "tutorial", "--lr", "0.1", "--momentum", "0"}, 1},
		{"airbench",
			[]string{"--lr", lrs, "--label-smoothing", "0.2", "--loss", "sum", "--momentum", "0.85", "--nesterov",
				"--weight-decay", wds, "--bias-lr-scale", "64", "--freeze", "whiten.weight"},
			// The airbench recipe, but no augmentation (PyTorch's side has
			// none) and no Lookahead (not due in one step anyway).
			[]string{"--crop", "0", "--flip", "none", "--lookahead", "0"}, 12},
	} {
		w1 := filepath.Join(dir, tc.name+".safetensors")
		var step struct{ Loss float64 }
		torchZoo(t, &step, append([]string{"step", "--arch", "airbench-tiny", "--weights", w0, "--archive", data, "--batch", "12", "--out", w1}, tc.torch...)...)
		for _, device := range devices {
			t.Run(tc.name+"/"+device, func(t *testing.T) {
				run := filepath.Join(t.TempDir(), "run")
				// One batch holding the 12 images of the first data batch: the shuffle cannot change a step.
				out := mustRun(t, append([]string{"train", "--arch", "airbench-tiny", "--init", w0, "--data", data, "--device", device,
					"--limit-train", "12", "--batch-size", "12", "--epochs", "1", "--out", run}, tc.ours...)...)
				var loss float64
				if i := strings.Index(out, "train loss "); i < 0 {
					t.Fatalf("no train loss in:\n%s", out)
				} else if _, err := fmt.Sscanf(out[i:], "train loss %g", &loss); err != nil {
					t.Fatal(err)
				}
				if want := step.Loss / tc.perImage; math.Abs(loss-want) > 1e-4*want+5e-5 { // vkcnn prints 4 decimals
					t.Errorf("loss of the step: vkcnn %.4f, PyTorch %.6f", loss, want)
				}
				compareStep(t, w0, w1, filepath.Join(run, "model.safetensors"))
			})
		}
	}
}

// compareStep compares the change one step made to every state_dict entry
// in vkcnn (ours) and in PyTorch (torch), from the weights before.
func compareStep(t *testing.T, before, torch, ours string) {
	t.Helper()
	w0 := before
	b, err := checkpoint.Load(w0, nil)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := checkpoint.Load(torch, nil)
	if err != nil {
		t.Fatal(err)
	}
	ow, err := checkpoint.Load(ours, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for name, want := range tw {
		got := ow[name]
		if len(got) != len(want) {
			t.Errorf("%s: %d values from vkcnn, %d from PyTorch", name, len(got), len(want))
			continue
		}
		// Compare the change the step made, which is what can go wrong.
		var diff, update float64
		for i := range want {
			d := float64(got[i]) - float64(want[i])
			u := float64(want[i]) - float64(b[name][i])
			diff += d * d
			update += u * u
		}
		if update == 0 {
			if diff != 0 {
				t.Errorf("%s: PyTorch leaves it as it was, vkcnn moves it", name)
			}
			continue
		}
		moved++
		if rel := math.Sqrt(diff / update); !(rel < 1e-4) {
			t.Errorf("%s: vkcnn's step differs from PyTorch's by %.3g of the update", name, rel)
		}
	}
	if moved < 20 {
		t.Errorf("only %d tensors moved in the step, want the weights, biases and running statistics", moved)
	}
}
