package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/gpu"
)

// benchJSON runs `vkcnn bench ... --json` and decodes its report.
func benchJSON(t *testing.T, args ...string) benchReport {
	t.Helper()
	out := mustRunStdout(t, append([]string{"bench", "--json"}, args...)...)
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON (%v):\n%s", err, out)
	}
	return r
}

// mustRunStdout runs the command and returns its standard output alone.
func mustRunStdout(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vkcnn %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func checkTiming(t *testing.T, name, where string, tm *benchTiming, timing string, runs int) {
	t.Helper()
	if tm == nil {
		t.Fatalf("%s: no %s timing", name, where)
	}
	if tm.Error != "" || tm.Timing != timing || tm.Runs != runs || !(tm.MedianMS > 0) ||
		tm.MinMS > tm.MedianMS || tm.MedianMS > tm.MaxMS || !(tm.GBs > 0) {
		t.Errorf("%s: %s timing %+v", name, where, *tm)
	}
}

func TestBenchCPU(t *testing.T) {
	r := benchJSON(t, "--device", "cpu", "--filter", `^relu\.[a-z]+$`, "--runs", "3", "--large=false")
	if r.Device != nil || r.Ceilings != nil || r.Runs != 3 || r.Large != "none" || r.CPU.Backend != "cpu" {
		t.Errorf("report: %+v", r)
	}
	var names []string
	for _, k := range r.Kernels {
		names = append(names, k.Name)
		if k.Device != nil || !(k.FLOPs > 0) || !(k.Bytes > 0) {
			t.Errorf("%s: %+v", k.Name, k)
		}
		checkTiming(t, k.Name, "CPU", k.CPU, "wall-clock", 3)
	}
	// Forward and backward at the two default batch sizes.
	if want := []string{"relu.forward", "relu.backward", "relu.forward", "relu.backward"}; !slices.Equal(names, want) {
		t.Errorf("kernels %v, want %v", names, want)
	}

	out := mustRun(t, "bench", "--device", "cpu", "--filter", "^sgd", "--runs", "2", "--batch", "4")
	for _, want := range []string{"CPU ref ms", "sgd.fc3.weight", "512x8192", "GFLOP/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "device ms") {
		t.Errorf("--device cpu printed a device column:\n%s", out)
	}
}

func TestBenchTrainCPU(t *testing.T) {
	out := mustRunStdout(t, "bench", "train", "--device", "cpu", "--batch", "8", "--images", "64", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array (%v):\n%s", err, out)
	}
	if len(rows) != 2 {
		t.Fatalf("%d results, want train and eval:\n%s", len(rows), out)
	}
	keys := []string{"arch", "backend", "batch", "device_type", "images", "images_per_second", "seconds", "what"}
	for i, row := range rows {
		var got []string
		for k := range row {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, keys) {
			t.Errorf("keys %v, want exactly %v", got, keys)
		}
		want := map[string]any{"backend": "cpu", "device_type": "cpu-reference", "what": []string{"train", "eval"}[i], "arch": "seed",
			"batch": 8.0, "images": 64.0}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("result %d: %s = %v, want %v", i, k, row[k], v)
			}
		}
		for _, k := range []string{"images_per_second", "seconds"} {
			if v, ok := row[k].(float64); !ok || !(v > 0) {
				t.Errorf("result %d: %s = %v, want a positive number", i, k, row[k])
			}
		}
	}
}

// TestBenchTrainMemory: --memory-only reports a Vulkan device's peak
// memory for a zoo network, more for a larger batch, without training.
func TestBenchTrainMemory(t *testing.T) {
	if infos, err := gpu.Devices(); err != nil || len(infos) == 0 {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device: %v", err)
	}
	out := mustRunStdout(t, "bench", "train", "--device", "0", "--arch", "airbench-tiny", "--batch", "8,64", "--memory-only", "--json")
	var rows []struct {
		Arch       string `json:"arch"`
		Batch      int    `json:"batch"`
		PeakMemory int64  `json:"peak_memory_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("want two rows of JSON (%v):\n%s", err, out)
	}
	if rows[0].Arch != "airbench-tiny" || rows[0].Batch != 8 || !(rows[0].PeakMemory > 0) || !(rows[1].PeakMemory > rows[0].PeakMemory) {
		t.Errorf("peak memory rows %+v: want airbench-tiny, growing with the batch", rows)
	}
	out, code := vkcnn(t, "bench", "train", "--device", "cpu", "--memory-only")
	if code == 0 || !strings.Contains(lastError(out), "measures a Vulkan device's memory") {
		t.Errorf("--memory-only on the CPU reference: exit %d\n%s", code, out)
	}
}

func TestBenchVulkan(t *testing.T) {
	if infos, err := gpu.Devices(); err != nil || len(infos) == 0 {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device: %v", err)
	}
	// Batch 32 only: lavapipe takes seconds over batch 256's fc3.
	r := benchJSON(t, "--device", "0", "--filter", `^(relu\.[a-z]+|matmul\.[a-z0-9.-]+)$`, "--runs", "3", "--large=false", "--batch", "32")
	if r.Device == nil || r.Ceilings == nil || !(r.Ceilings.FMAGFLOPs > 0) || !(r.Ceilings.CopyGBs > 0) || !(r.Ceilings.RidgeFLOPPerByte > 0) {
		t.Fatalf("report: %+v, ceilings %+v", r, r.Ceilings)
	}
	if len(r.Kernels) != 8 {
		t.Errorf("%d kernels, want relu forward and backward and six matmuls", len(r.Kernels))
	}
	for _, k := range r.Kernels {
		checkTiming(t, k.Name, "device", k.Device, "timestamps", 3)
		checkTiming(t, k.Name, "CPU", k.CPU, "wall-clock", 3)
		if k.Device.PercentOfCeiling == nil || !(*k.Device.PercentOfCeiling > 0) || (k.Bound != "compute" && k.Bound != "memory") {
			t.Errorf("%s: bound %q, percent %v", k.Name, k.Bound, k.Device.PercentOfCeiling)
		}
	}
}

func TestBenchBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--device", "cpu", "--filter", "("}, "--filter"},
		{[]string{"bench", "--device", "cpu", "--filter", "no-such-kernel"}, "no kernel name matches"},
		{[]string{"bench", "--device", "cpu", "--runs", "0"}, "--runs 0"},
		{[]string{"bench", "--device", "cpu", "--batch", "0"}, "--batch 0"},
		{[]string{"bench", "--device", "gpu7"}, "unknown --device"},
		{[]string{"bench", "train", "--device", "cpu", "--batch", "-1"}, "--batch -1"},
		{[]string{"bench", "train", "--device", "cpu", "--images", "-5"}, "--images -5"},
	} {
		out, code := vkcnn(t, tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) || strings.Contains(out, "goroutine") {
			t.Errorf("vkcnn %s: exit %d, output:\n%s", strings.Join(tc.args, " "), code, out)
		}
	}
}
