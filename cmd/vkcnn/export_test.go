package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
)

// needONNX checks for what the ONNX tests run: Debian's python3-onnx (its
// checker), node and npm's onnxruntime-node in tools/node_modules, all of
// which tools/test.sh installs. Without them the test fails, saying what is
// missing, unless VKCNN_NO_ONNX=1 turned the install off: then it skips.
func needONNX(t *testing.T) {
	t.Helper()
	var missing []string
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx").Run(); err != nil {
		missing = append(missing, "Debian's python3-onnx (apt-get install python3-onnx)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat("../../tools/node_modules/onnxruntime-node/package.json"); err != nil {
		missing = append(missing, "onnxruntime-node (cd tools && ONNXRUNTIME_NODE_INSTALL=skip npm ci)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "needs " + strings.Join(missing, ", ") + "; tools/test.sh installs them"
	if os.Getenv("VKCNN_NO_ONNX") == "1" {
		t.Skip(msg + " (skipped: VKCNN_NO_ONNX=1)")
	}
	t.Fatal(msg + " (or set VKCNN_NO_ONNX=1 to skip)")
}

// checked is what tools/onnx_check.py reports of a model that passed
// onnx.checker.check_model(full_check=True).
type checked struct {
	IRVersion    int               `json:"ir_version"`
	Opsets       map[string]int    `json:"opsets"`
	Inputs       map[string][]any  `json:"inputs"`
	Outputs      map[string][]any  `json:"outputs"`
	InputTypes   []int             `json:"input_types"`
	Ops          []string          `json:"ops"`
	Initializers []string          `json:"initializers"`
	Metadata     map[string]string `json:"metadata"`
}

// ran is what tools/onnx_run.js reports of an onnxruntime session.
type ran struct {
	Input        string  `json:"input"`
	Output       string  `json:"output"`
	OutputDims   []int   `json:"output_dims"`
	BatchSizes   []int   `json:"batch_sizes"`
	MaxSplitDiff float64 `json:"max_split_diff"`
}

func runTool(t *testing.T, v any, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s %s printed %q: %v", name, strings.Join(args, " "), out, err)
	}
}

// readFloats reads a raw little-endian float32 file.
func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes, not whole float32 values", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return v
}

// testImages writes the archive's test images as the exported model takes
// them (float32 pixels value/255, NCHW) and returns their number.
func testImages(t *testing.T, archive, path string) int {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := cifar10.ReadArchive(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := range d.Test.N {
		for _, p := range d.Test.Image(i) {
			u := math.Float32bits(float32(p) / 255)
			buf = append(buf, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return d.Test.N
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestExportONNX: every zoo network and the README's model file, trained a
// step, exports to a model that Debian's ONNX checker passes with
// full_check, and onnxruntime computes from it vkcnn's own evaluation
// logits for the test images, within 1e-4 relative and with every argmax
// the same, at any batch size.
func TestExportONNX(t *testing.T) {
	needONNX(t)
	data := archive(t)
	images := filepath.Join(t.TempDir(), "images.f32")
	n := testImages(t, data, images)
	classes, _ := json.Marshal(cifar10.ClassNames())
	for _, tc := range []struct {
		arch, init string // init: a state_dict name that must be an initializer
		std        string // the metadata's normalization, "" for none
	}{
		{"seed", "fc3.weight", ""},
		{"airbench-tiny", "block3.norm2.running_var", "0.247,0.2435,0.2616"},
		{"airbench94", "block1.norm1.running_mean", "0.247,0.2435,0.2616"},
		{"resnet18", "layer2.0.shortcut.0.weight", "0.2023,0.1994,0.201"},
		{"README model file", "block.1.shortcut.1.running_var", "0.247,0.2435,0.2616"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			a := tc.arch
			if a == "README model file" {
				a = readmeModel(t)
			}
			dir := t.TempDir()
			run := filepath.Join(dir, "run")
			mustRun(t, "train", "--arch", a, "--data", data, "--device", "cpu", "--limit-train", "16", "--batch-size", "16", "--epochs", "1", "--out", run)
			weights := filepath.Join(run, "model.safetensors")
			model := filepath.Join(dir, "model.onnx")
			// No --arch: the checkpoint records its network.
			out := mustRun(t, "export", "--model", weights, "--out", model)
			if !strings.Contains(out, "wrote "+model) || !strings.Contains(out, "opset 13") {
				t.Errorf("export output:\n%s", out)
			}

			var c checked
			runTool(t, &c, "/usr/bin/python3", "../../tools/onnx_check.py", model)
			if c.Opsets[""] != 13 || len(c.Opsets) != 1 {
				t.Errorf("opsets %v, want the default domain at 13", c.Opsets)
			}
			if got := c.Inputs["input"]; len(c.Inputs) != 1 || !slices.Equal(got, []any{"batch", 3.0, 32.0, 32.0}) || !slices.Equal(c.InputTypes, []int{1}) {
				t.Errorf("inputs %v of types %v, want one float input [batch,3,32,32]", c.Inputs, c.InputTypes)
			}
			if got := c.Outputs["logits"]; len(c.Outputs) != 1 || !slices.Equal(got, []any{"batch", 10.0}) {
				t.Errorf("outputs %v, want logits [batch,10]", c.Outputs)
			}
			if !slices.Contains(c.Initializers, tc.init) {
				t.Errorf("no initializer %s among %v", tc.init, c.Initializers)
			}
			if slices.Contains(c.Ops, "Dropout") {
				t.Errorf("an evaluation graph with Dropout: %v", c.Ops)
			}
			m := c.Metadata
			if m["classes"] != string(classes) || m["input_size"] != "3x32x32" || m["std"] != tc.std || m["arch_source"] == "" {
				t.Errorf("metadata %v", m)
			}

			mine := filepath.Join(dir, "vkcnn.f32")
			mustRun(t, "eval", "--data", data, "--device", "cpu", "--model", weights, "--logits", mine)
			theirs := filepath.Join(dir, "onnxruntime.f32")
			var r ran
			runTool(t, &r, "node", "../../tools/onnx_run.js", model, images, strconv.Itoa(n), theirs)
			if r.Input != "input" || r.Output != "logits" || !slices.Equal(r.OutputDims, []int{n, 10}) {
				t.Errorf("onnxruntime: %+v", r)
			}
			if r.MaxSplitDiff > 1e-5 || !slices.Equal(r.BatchSizes, []int{n, 1, n - 1}) {
				t.Errorf("batches of %v differ from the whole batch by up to %g", r.BatchSizes, r.MaxSplitDiff)
			}
			want, got := readFloats(t, mine), readFloats(t, theirs)
			if len(want) != n*10 || len(got) != n*10 {
				t.Fatalf("%d logits from vkcnn, %d from onnxruntime, want %d", len(want), len(got), n*10)
			}
			// Relative to the logits' scale: airbench's are ~1e-2 (scaled by 1/9).
			var maxDiff, maxAbs float64
			for i := range want {
				maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
				maxAbs = max(maxAbs, math.Abs(float64(want[i])))
			}
			rel := maxDiff / maxAbs
			t.Logf("%s: max |onnxruntime - vkcnn| / max |vkcnn| = %.3g over %d images (logits up to %.3g)", tc.arch, rel, n, maxAbs)
			if !(rel <= 1e-4) || maxAbs == 0 {
				t.Errorf("onnxruntime's logits differ from vkcnn's by %.3g relative (max |logit| %g), want <= 1e-4", rel, maxAbs)
			}
			for i := range n {
				w, g := want[i*10:(i+1)*10], got[i*10:(i+1)*10]
				if argmax(w) != argmax(g) {
					t.Errorf("image %d: vkcnn predicts class %d, onnxruntime %d (logits %v and %v)", i, argmax(w), argmax(g), w, g)
				}
			}
		})
	}
}

// TestExportBadInput: a wrong export command ends in one line, with a
// non-zero exit, and leaves nothing written.
func TestExportBadInput(t *testing.T) {
	data := archive(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--data", data, "--device", "cpu", "--limit-train", "16", "--batch-size", "16", "--epochs", "1", "--out", run)
	weights := filepath.Join(run, "model.safetensors")
	notSafetensors := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(notSafetensors, []byte("hello"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --model", []string{"export", "--out", "x.onnx"}, "--model is required"},
		{"no --out", []string{"export", "--model", weights}, "--out is required"},
		{"missing model", []string{"export", "--model", "/no/such/model.safetensors", "--out", "OUT"}, "/no/such/model.safetensors"},
		{"not safetensors", []string{"export", "--model", notSafetensors, "--out", "OUT"}, "not a safetensors file"},
		{"weights of another network", []string{"export", "--model", weights, "--arch", "airbench-tiny", "--out", "OUT"}, "whiten.weight"},
		{"unknown arch", []string{"export", "--model", weights, "--arch", "nosuchnet", "--out", "OUT"}, "--arch nosuchnet"},
		{"missing --out directory", []string{"export", "--model", weights, "--out", "DIR/no/such/dir/m.onnx"}, "create it first"},
		{"--out a directory", []string{"export", "--model", weights, "--out", "DIR"}, "is a directory"},
		{"--out the model", []string{"export", "--model", weights, "--out", weights}, "is the --model file itself"},
		{"unwritable --out", []string{"export", "--model", weights, "--out", "/proc/vkcnn.onnx"}, "/proc/vkcnn.onnx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, a := range tc.args {
				a = strings.ReplaceAll(a, "OUT", filepath.Join(dir, "m.onnx"))
				tc.args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			before, _ := os.ReadFile(weights)
			out, code := vkcnn(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; output:\n%s", out)
			}
			if strings.Contains(out, "goroutine") || strings.Contains(out, "panic") {
				t.Fatalf("a stack trace:\n%s", out)
			}
			if !strings.Contains(lastError(out), tc.want) {
				t.Errorf("the error does not mention %q:\n%s", tc.want, out)
			}
			if lines := strings.Count(strings.TrimSpace(lastError(out)), "\n"); lines > 0 {
				t.Errorf("error is not one line:\n%s", out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("a failed export left %s behind", entries[0].Name())
			}
			if after, _ := os.ReadFile(weights); !bytes.Equal(before, after) {
				t.Error("a failed export changed the weights")
			}
		})
	}
}
