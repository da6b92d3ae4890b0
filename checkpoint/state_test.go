package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
)

func sampleState() State {
	return State{
		Epoch:       3,
		Step:        1<<63 + 5, // beyond float64 precision, to catch a lossy JSON round trip
		Seed:        ^uint64(0),
		LR:          0.01,
		Momentum:    0.9,
		WeightDecay: 5e-4,
		BatchSize:   64,
		Augment:     true,
		Momenta: []Tensor{
			{Name: "conv1.weight.momentum", Shape: []int{32, 3, 3, 3}, Data: make([]float32, 32*3*3*3)},
			{Name: "conv1.bias.momentum", Shape: []int{32}, Data: make([]float32, 32)},
			{Name: "fc4.bias.momentum", Shape: []int{10}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, -10}},
		},
		Weights: []Tensor{
			{Name: "fc4.bias", Shape: []int{10}, Data: []float32{-1, 2, -3, 4, -5, 6, -7, 8, -9, 10}},
			{Name: "bn1.num_batches_tracked", Shape: []int{}, Data: []float32{1 << 20}, Int64: true},
		},
		Meta: map[string]string{"vkcnn.arch": "seed", "vkcnn.arch_source": "conv1: conv 3 kernel=1\n"},
	}
}

func TestStateRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		state State
	}{
		{"full", sampleState()},
		{"zero", State{Momenta: []Tensor{}, Weights: []Tensor{}, Meta: map[string]string{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := SaveState(dir, tc.state); err != nil {
				t.Fatal(err)
			}
			got, err := LoadState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.state) {
				t.Errorf("LoadState = %+v\nwant %+v", got, tc.state)
			}
			dirtest.Only(t, dir, ModelFile, OptimizerFile, StateFile)
		})
	}
}

func TestLoadStateErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{
			name:    "empty directory",
			setup:   func(t *testing.T, dir string) {},
			wantErr: "holds no training state (state.json): pass a --out directory of an earlier vkcnn train run",
		},
		{
			name: "no optimizer file",
			setup: func(t *testing.T, dir string) {
				saveOrFail(t, dir, sampleState())
				mustRemove(t, filepath.Join(dir, OptimizerFile))
			},
			wantErr: "has state.json but no optimizer.safetensors",
		},
		{
			name: "damaged state.json",
			setup: func(t *testing.T, dir string) {
				saveOrFail(t, dir, sampleState())
				mustWrite(t, filepath.Join(dir, StateFile), `{"epoch":`)
			},
			wantErr: "state.json is damaged",
		},
		{
			name: "newer format",
			setup: func(t *testing.T, dir string) {
				saveOrFail(t, dir, sampleState())
				mustWrite(t, filepath.Join(dir, StateFile), `{"version":2}`)
			},
			wantErr: "has format version 2, this vkcnn reads version 1",
		},
		{
			// As after a crash between SaveState's two renames.
			name: "optimizer from another step",
			setup: func(t *testing.T, dir string) {
				s := sampleState()
				saveOrFail(t, dir, s)
				s.Step++
				if err := save(filepath.Join(dir, OptimizerFile), s.Momenta, map[string]string{stepKey: "9"}); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: `is from step "9"`,
		},
		{
			// As after a crash between writing the model and the state.
			name: "model from another step",
			setup: func(t *testing.T, dir string) {
				s := sampleState()
				saveOrFail(t, dir, s)
				if err := save(filepath.Join(dir, ModelFile), s.Weights, map[string]string{stepKey: "12"}); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: `model.safetensors is from step "12"`,
		},
		{
			name: "model missing",
			setup: func(t *testing.T, dir string) {
				saveOrFail(t, dir, sampleState())
				mustRemove(t, filepath.Join(dir, ModelFile))
			},
			wantErr: "model",
		},
		{
			name: "optimizer not safetensors",
			setup: func(t *testing.T, dir string) {
				saveOrFail(t, dir, sampleState())
				mustWrite(t, filepath.Join(dir, OptimizerFile), "junk")
			},
			wantErr: "optimizer.safetensors is not a safetensors file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, err := LoadState(dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadState error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadStateMissingUnwraps(t *testing.T) {
	_, err := LoadState(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true so callers can start afresh", err)
	}
}

func TestSaveStateIntoMissingDirectory(t *testing.T) {
	parent := t.TempDir()
	err := SaveState(filepath.Join(parent, "missing"), sampleState())
	if err == nil {
		t.Fatal("SaveState into a missing directory succeeded, want an error")
	}
	dirtest.Only(t, parent)
}

func saveOrFail(t *testing.T, dir string, s State) {
	t.Helper()
	if err := SaveState(dir, s); err != nil {
		t.Fatal(err)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
