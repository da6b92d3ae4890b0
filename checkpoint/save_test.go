package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
)

// TestSaveLayout pins the exact bytes against a file built by hand from the
// safetensors specification, since PyTorch is not available to load it here.
func TestSaveLayout(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}`
	var want []byte
	want = append(want, 144, 0, 0, 0, 0, 0, 0, 0) // 138-byte header padded to 144
	want = append(want, header...)
	want = append(want, "      "...)
	want = append(want, 0x00, 0x00, 0x80, 0x3f) // 1.0
	want = append(want, 0x00, 0x00, 0x00, 0xc0) // -2.0
	want = append(want, 0x00, 0x00, 0x00, 0x3f) // 0.5

	path := filepath.Join(t.TempDir(), "model.safetensors")
	err := Save(path, []Tensor{
		{Name: "a", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "b", Shape: []int{}, Data: []float32{0.5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("file bytes differ\ngot  %q\nwant %q", got, want)
	}
}

// TestSaveHeaderAlignment checks the padding for every remainder mod 8, and
// that the header keeps the caller's order rather than sorting names.
func TestSaveHeaderAlignment(t *testing.T) {
	for n := 1; n <= 9; n++ {
		name := strings.Repeat("z", n)
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := Save(path, []Tensor{{Name: name, Shape: []int{1}, Data: []float32{3}}, {Name: "a", Shape: []int{1}, Data: []float32{4}}}); err != nil {
			t.Fatal(err)
		}
		buf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		hlen := binary.LittleEndian.Uint64(buf)
		if hlen%8 != 0 {
			t.Errorf("name length %d: header length %d is not a multiple of 8", n, hlen)
		}
		header := string(buf[8 : 8+hlen])
		if !json.Valid([]byte(header)) || !strings.HasSuffix(strings.TrimRight(header, " "), "}") {
			t.Errorf("name length %d: header %q is not JSON padded with spaces", n, header)
		}
		if strings.Index(header, `"`+name+`"`) > strings.Index(header, `"a"`) {
			t.Errorf("name length %d: header %q does not keep the given order", n, header)
		}
		if got := uint64(len(buf)) - 8 - hlen; got != 8 {
			t.Errorf("name length %d: %d data bytes, want 8", n, got)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ramp := func(n int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(i)*0.001 - 1
		}
		return d
	}
	tests := []struct {
		name    string
		tensors []Tensor
	}{
		{"tutorial model", []Tensor{
			{Name: "conv1.weight", Shape: []int{32, 3, 3, 3}, Data: ramp(32 * 3 * 3 * 3)},
			{Name: "conv1.bias", Shape: []int{32}, Data: ramp(32)},
			{Name: "conv2.weight", Shape: []int{32, 32, 3, 3}, Data: ramp(32 * 32 * 3 * 3)},
			{Name: "conv2.bias", Shape: []int{32}, Data: ramp(32)},
			{Name: "fc3.weight", Shape: []int{512, 8192}, Data: ramp(512 * 8192)},
			{Name: "fc3.bias", Shape: []int{512}, Data: ramp(512)},
			{Name: "fc4.weight", Shape: []int{10, 512}, Data: ramp(10 * 512)},
			{Name: "fc4.bias", Shape: []int{10}, Data: ramp(10)},
		}},
		{"special values", []Tensor{
			{Name: "s", Shape: []int{6}, Data: []float32{
				float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
				float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32,
			}},
		}},
		{"scalar and empty", []Tensor{
			{Name: "scalar", Shape: []int{}, Data: []float32{7}},
			{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		}},
		{"no tensors", nil},
		{"unicode and quotes in names", []Tensor{{Name: `ünï "q"\x`, Shape: []int{1}, Data: []float32{1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := Save(path, tc.tensors); err != nil {
				t.Fatal(err)
			}
			specs := make([]Spec, len(tc.tensors))
			for i, x := range tc.tensors {
				specs[i] = Spec{Name: x.Name, Shape: x.Shape}
			}
			for _, want := range [][]Spec{specs, nil} {
				got, err := Load(path, want)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.tensors) {
					t.Errorf("Load returned %d tensors, want %d", len(got), len(tc.tensors))
				}
				for _, x := range tc.tensors {
					assertSameBits(t, x.Name, got[x.Name], x.Data)
				}
			}
		})
	}
}

// assertSameBits compares bit patterns so NaN and -0 count as round-tripped.
func assertSameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s[%d] = %v, want %v", name, i, got[i], want[i])
			return
		}
	}
}

func TestSaveRejectsBadTensors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		wantErr string
	}{
		{"no name", []Tensor{{Shape: []int{1}, Data: []float32{1}}}, "has no name"},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "reserved"},
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "appears twice"},
		{"negative dimension", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, "negative dimension"},
		{"too few values", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}, "has 3 values but shape [2 2] needs 4"},
		{"overflowing shape", []Tensor{{Name: "a", Shape: []int{math.MaxInt, 4}, Data: nil}}, "too many elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Save(path, tc.tensors)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Save error = %v, want one containing %q", err, tc.wantErr)
			}
			dirtest.Only(t, dir, "model.safetensors")
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Errorf("a failed Save changed the existing file to %q", b)
			}
		})
	}
}
