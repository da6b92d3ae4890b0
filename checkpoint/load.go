package checkpoint

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

// Spec names a tensor a caller needs and the exact shape it must have.
type Spec struct {
	Name  string
	Shape []int
	// Int64 wants the tensor stored as I64 (PyTorch's integer buffers);
	// its values come back as float32.
	Int64 bool
}

// Load reads the safetensors file at path and returns the data of each wanted
// tensor by name, after checking that it is present, F32 and of exactly the
// wanted shape. Tensors the file holds beyond those wanted are ignored. With
// no specs, Load returns every tensor in the file (all must be F32).
func Load(path string, want []Spec) (map[string][]float32, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hintError{
			msg: fmt.Sprintf("no such model file %s: pass a file written by vkcnn train (model.safetensors)", path),
			err: err,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read model file %s: %w", path, err)
	}
	return decode(path, buf, want)
}

// decode is Load without the file system, so the fuzz test can drive it.
func decode(name string, buf []byte, want []Spec) (map[string][]float32, error) {
	f, err := parse(name, buf)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]float32, max(len(want), len(f.tensors)))
	if len(want) == 0 {
		for _, t := range f.tensors {
			if err := t.checkDType(name, t.dtype == "I64"); err != nil {
				return nil, err
			}
			out[t.name] = t.float32s()
		}
		return out, nil
	}
	for _, w := range want {
		t, ok := f.byName[w.Name]
		if !ok {
			return nil, fmt.Errorf("%s has no tensor %q (it holds %s): pass a file written by vkcnn train for this model",
				name, w.Name, f.names())
		}
		if err := t.checkDType(name, w.Int64); err != nil {
			return nil, err
		}
		if !sameShape(t.shape, w.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, want %v: the file is for a different model; pass one written by vkcnn train",
				name, w.Name, t.shape, w.Shape)
		}
		out[w.Name] = t.float32s()
	}
	return out, nil
}

// file is a parsed safetensors file; its tensors alias the file's bytes.
type file struct {
	meta    map[string]string
	tensors []*rawTensor // in data order, which is the order they were saved in
	byName  map[string]*rawTensor
}

// rawTensor is one tensor as stored, before any dtype check.
type rawTensor struct {
	name   string
	offset uint64 // start of data within the data section
	dtype  string
	shape  []uint64
	data   []byte
}

// parse checks the framing itself before handing the buffer to the
// safetensors library, to give errors that say what is wrong with the file
// rather than the library's terse ones, and to name a tensor whose dtype the
// library does not know (the F8 variants) rather than call the file broken.
func parse(name string, buf []byte) (*file, error) {
	notST := func(format string, args ...any) error {
		return fmt.Errorf("%s is not a safetensors file: %s: pass a file written by vkcnn train", name, fmt.Sprintf(format, args...))
	}
	if len(buf) < 8 {
		return nil, notST("it is %d bytes, shorter than the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > uint64(len(buf)-8) {
		return nil, notST("its header length %d is beyond the file size %d", n, len(buf))
	}
	header := buf[8 : 8+n]
	if len(header) == 0 || header[0] != '{' {
		return nil, notST("its header is not a JSON object")
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		return nil, notST("its header is not valid JSON (%v)", err)
	}
	for key, raw := range entries {
		if key == metadataKey {
			continue
		}
		var e struct {
			DType string `json:"dtype"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, notST("header entry %q is not a tensor description (%v)", key, err)
		}
		// The library refuses a whole file over one dtype it does not know;
		// name the tensor instead of reporting a broken file.
		if _, err := safetensors.ParseDType(e.DType); err != nil {
			return nil, unsupportedDType(name, key, e.DType)
		}
	}

	hn, meta, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return nil, notST("%v", err)
	}
	data := buf[8+hn:]
	f := &file{meta: meta.Metadata(), byName: make(map[string]*rawTensor)}
	for tname, info := range meta.Tensors() {
		t := &rawTensor{
			name:   tname,
			offset: info.DataOffsets[0],
			dtype:  info.DType.String(),
			shape:  info.Shape,
			data:   data[info.DataOffsets[0]:info.DataOffsets[1]],
		}
		f.tensors = append(f.tensors, t)
		f.byName[tname] = t
	}
	// ReadMetadata has checked the offsets tile the data without overlap,
	// so sorting by start offset restores the order the tensors were saved in.
	slices.SortFunc(f.tensors, func(a, b *rawTensor) int {
		return cmp.Compare(a.offset, b.offset)
	})
	return f, nil
}

func unsupportedDType(name, tensor, dtype string) error {
	return fmt.Errorf("%s: tensor %q has dtype %s, but only F32 is supported: convert the model to float32 (model.float()) before saving it",
		name, tensor, dtype)
}

// checkDType refuses other dtypes than the one wanted (F32, or I64 for an
// integer buffer) rather than convert them, because vkcnn computes in
// float32 and a silent conversion would hide a wrong file.
func (t *rawTensor) checkDType(name string, int64 bool) error {
	switch {
	case int64 && t.dtype != "I64":
		return fmt.Errorf("%s: tensor %q has dtype %s, want I64 (an integer buffer such as num_batches_tracked)", name, t.name, t.dtype)
	case !int64 && t.dtype != "F32":
		return unsupportedDType(name, t.name, t.dtype)
	}
	return nil
}

// float32s copies the little-endian data (F32, or I64 converted) into a new
// slice so the caller does not keep the whole file alive.
func (t *rawTensor) float32s() []float32 {
	if t.dtype == "I64" {
		out := make([]float32, len(t.data)/8)
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(t.data[8*i:])))
		}
		return out
	}
	out := make([]float32, len(t.data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
	}
	return out
}

// Metadata reads the string metadata of the safetensors file at path
// (vkcnn records the architecture there).
func Metadata(path string) (map[string]string, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hintError{
			msg: fmt.Sprintf("no such model file %s: pass a file written by vkcnn train (model.safetensors)", path),
			err: err,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read model file %s: %w", path, err)
	}
	f, err := parse(path, buf)
	if err != nil {
		return nil, err
	}
	return f.meta, nil
}

// names lists the file's tensors for an error message, short enough for one line.
func (f *file) names() string {
	const show = 12
	if len(f.tensors) == 0 {
		return "no tensors"
	}
	var b strings.Builder
	for i, t := range f.tensors {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(f.tensors)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.name)
	}
	return b.String()
}

// sameShape compares a stored shape with a wanted one without converting the
// stored dimensions to int, which could overflow for a crafted file.
func sameShape(got []uint64, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i, d := range want {
		if d < 0 || got[i] != uint64(d) {
			return false
		}
	}
	return true
}

// intShape converts the stored shape for a Tensor, refusing dimensions that
// do not fit an int (possible only in a crafted file with a zero dimension).
func (t *rawTensor) intShape(name string) ([]int, error) {
	shape := make([]int, len(t.shape))
	for i, d := range t.shape {
		if d > math.MaxInt {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, too large a dimension: pass a file written by vkcnn train", name, t.name, t.shape)
		}
		shape[i] = int(d)
	}
	return shape, nil
}
