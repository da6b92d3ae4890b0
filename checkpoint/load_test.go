package checkpoint

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile frames a header and data the way safetensors does, without any of
// Save's checks, so tests can build broken files.
func rawFile(header string, data []byte) []byte {
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	buf = append(buf, header...)
	return append(buf, data...)
}

func TestLoadErrors(t *testing.T) {
	eight := make([]byte, 8)
	ab := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	tests := []struct {
		name    string
		content []byte // nil: no file at all
		want    []Spec
		wantErr []string
	}{
		{
			name:    "missing file",
			want:    []Spec{{Name: "a", Shape: []int{2}}},
			wantErr: []string{"no such model file", "pass a file written by vkcnn train (model.safetensors)"},
		},
		{
			name:    "empty file",
			content: []byte{},
			wantErr: []string{"is not a safetensors file", "0 bytes"},
		},
		{
			name:    "shorter than the length prefix",
			content: []byte{1, 2, 3},
			wantErr: []string{"is not a safetensors file", "3 bytes"},
		},
		{
			name:    "header length beyond file size",
			content: append(binary.LittleEndian.AppendUint64(nil, 1<<62), "{}"...),
			wantErr: []string{"is not a safetensors file", "header length 4611686018427387904 is beyond the file size 10"},
		},
		{
			name:    "header length near uint64 max",
			content: binary.LittleEndian.AppendUint64(nil, ^uint64(0)),
			wantErr: []string{"is not a safetensors file", "beyond the file size"},
		},
		{
			name:    "text file",
			content: []byte("hello, this is not a model at all\n"),
			wantErr: []string{"is not a safetensors file"},
		},
		{
			name:    "bad JSON",
			content: rawFile(`{"a":`, nil),
			wantErr: []string{"is not a safetensors file", "not valid JSON"},
		},
		{
			name:    "header not an object",
			content: rawFile(`[1,2]`, nil),
			wantErr: []string{"is not a safetensors file", "not a JSON object"},
		},
		{
			name:    "tensor entry not an object",
			content: rawFile(`{"a":5}`, nil),
			wantErr: []string{"is not a safetensors file", `"a"`},
		},
		{
			name:    "overlapping offsets",
			content: rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
			wantErr: []string{"is not a safetensors file", "offset"},
		},
		{
			name:    "offsets beyond the data",
			content: rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight),
			wantErr: []string{"is not a safetensors file"},
		},
		{
			name:    "offsets disagree with shape",
			content: rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight),
			wantErr: []string{"is not a safetensors file"},
		},
		{
			name:    "trailing bytes after the data",
			content: rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 9)),
			wantErr: []string{"is not a safetensors file"},
		},
		{
			name:    "missing tensor",
			content: rawFile(ab, make([]byte, 12)),
			want:    []Spec{{Name: "a", Shape: []int{2}}, {Name: "fc3.weight", Shape: []int{512, 8192}}},
			wantErr: []string{`has no tensor "fc3.weight"`, "it holds a, b"},
		},
		{
			name:    "wrong shape",
			content: rawFile(ab, make([]byte, 12)),
			want:    []Spec{{Name: "a", Shape: []int{1, 2}}},
			wantErr: []string{`tensor "a" has shape [2], want [1 2]`},
		},
		{
			name:    "F16 tensor",
			content: rawFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want:    []Spec{{Name: "a", Shape: []int{2}}},
			wantErr: []string{`tensor "a" has dtype F16, but only F32 is supported`},
		},
		{
			name:    "F64 tensor when loading everything",
			content: rawFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, eight),
			wantErr: []string{`tensor "a" has dtype F64, but only F32 is supported`},
		},
		{
			name:    "dtype the library does not know",
			content: rawFile(`{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}`, eight),
			want:    []Spec{{Name: "a", Shape: []int{8}}},
			wantErr: []string{`tensor "a" has dtype F8_E4M3, but only F32 is supported`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if tc.content != nil {
				if err := os.WriteFile(path, tc.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Load(path, tc.want)
			if err == nil {
				t.Fatalf("Load succeeded with %d tensors, want an error", len(got))
			}
			msg := err.Error()
			for _, w := range tc.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines, want one", msg)
			}
			if tc.content != nil && !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
		})
	}
}

func TestLoadMissingFileUnwraps(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.safetensors"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "read model file "+dir) {
		t.Errorf("Load(directory) error = %v, want a read error naming it", err)
	}
}

// TestLoadIgnoresUnwantedTensors checks a file may hold more than a caller
// asks for, e.g. another dtype in a tensor the model does not use.
func TestLoadIgnoresUnwantedTensors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	header := `{"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	data := append(make([]byte, 8), 0, 0, 0x80, 0x3f)
	if err := os.WriteFile(path, rawFile(header, data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, []Spec{{Name: "w", Shape: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["w"]) != 1 || got["w"][0] != 1 {
		t.Errorf("Load = %v, want map[w:[1]]", got)
	}
}
