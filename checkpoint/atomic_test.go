package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
)

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
			dirtest.Only(t, dir, tc.entries...)
		})
	}
}
