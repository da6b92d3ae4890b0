package checkpoint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// assertOnlyFiles fails if dir holds anything but the named entries, which
// is how a leftover temporary file shows.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestSaveFailureLeavesNoFile(t *testing.T) {
	tensors := []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}
	tests := []struct {
		name    string
		setup   func(dir string) string // returns the path to save to
		entries []string
		wantErr string
	}{
		{
			name:    "parent does not exist",
			setup:   func(dir string) string { return filepath.Join(dir, "missing", "model.safetensors") },
			wantErr: "create a temporary file beside",
		},
		{
			// The temporary file is written in full before the rename fails,
			// so this checks the cleanup after a late error.
			name: "target is a directory",
			setup: func(dir string) string {
				p := filepath.Join(dir, "model.safetensors")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return p
			},
			entries: []string{"model.safetensors"},
			wantErr: "replace",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Save(tc.setup(dir), tensors)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Save error = %v, want one containing %q", err, tc.wantErr)
			}
			assertOnlyFiles(t, dir, tc.entries...)
		})
	}
}
