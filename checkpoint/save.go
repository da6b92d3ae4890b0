package checkpoint

import (
	"github.com/vkcnn/vkcnn/internal/atomicfile"

	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Tensor is a named float32 array in row-major (C) order, the layout of a
// PyTorch state_dict entry, so Name and Shape can be PyTorch's own
// ("conv1.weight", [32 3 3 3]).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
	// Int64 stores Data as int64, PyTorch's dtype for integer buffers such
	// as BatchNorm's num_batches_tracked. The values must be whole numbers;
	// float32 holds every count up to 2^24 exactly.
	Int64 bool
}

// size is the bytes one element of t takes in the file.
func (t Tensor) size() uint64 {
	if t.Int64 {
		return 8
	}
	return 4
}

// metadataKey is the header key safetensors reserves for string metadata.
const metadataKey = "__metadata__"

// defaultMetadata marks the file as PyTorch's, as safetensors.torch.save_file
// does; Hugging Face loaders check it before accepting a file.
var defaultMetadata = map[string]string{"format": "pt"}

// Save writes tensors to path as a safetensors file of F32 tensors, in the
// order given, replacing any file there atomically.
func Save(path string, tensors []Tensor) error {
	return save(path, tensors, defaultMetadata)
}

func save(path string, tensors []Tensor, meta map[string]string) error {
	// Validate before touching the file system so a bad call leaves nothing.
	header, err := encodeHeader(tensors, meta)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return encode(w, header, tensors)
	})
}

// encode writes the whole file: the header length, the header, then each
// tensor's data as little-endian float32, back to back in header order.
func encode(w io.Writer, header []byte, tensors []Tensor) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	// Convert in chunks so a 16 MB fc3 weight does not need a 16 MB copy.
	buf := make([]byte, 0, 64<<10)
	for _, t := range tensors {
		for _, v := range t.Data {
			if t.Int64 {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(v)))
			} else {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// encodeHeader builds the JSON header by hand, because encoding/json sorts
// map keys and the tensors must appear in the caller's order. It is padded
// with spaces to a multiple of 8 bytes so the data that follows is aligned,
// as the reference implementation does.
func encodeHeader(tensors []Tensor, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		b.WriteString(`"` + metadataKey + `":`)
		b.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	var offset uint64
	for i, t := range tensors {
		if err := checkTensor(t, seen); err != nil {
			return nil, err
		}
		if i > 0 || len(meta) > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(t.Name)
		if err != nil {
			return nil, fmt.Errorf("encode tensor name %q: %w", t.Name, err)
		}
		b.Write(name)
		dtype := "F32"
		if t.Int64 {
			dtype = "I64"
		}
		b.WriteString(`:{"dtype":"` + dtype + `","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + t.size()*uint64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// checkTensor rejects what would make a file that PyTorch refuses or that
// loads into the wrong shape.
func checkTensor(t Tensor, seen map[string]bool) error {
	switch {
	case t.Name == "":
		return fmt.Errorf("a tensor has no name: name every tensor (e.g. conv1.weight)")
	case t.Name == metadataKey:
		return fmt.Errorf("tensor name %q is reserved by safetensors: rename the tensor", t.Name)
	case seen[t.Name]:
		return fmt.Errorf("tensor %q appears twice: give each tensor a unique name", t.Name)
	}
	seen[t.Name] = true
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %q has negative dimension in shape %v: fix the shape", t.Name, t.Shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return fmt.Errorf("tensor %q shape %v has too many elements: fix the shape", t.Name, t.Shape)
		}
		n *= d
	}
	if t.Int64 {
		for _, v := range t.Data {
			if v != float32(int64(v)) {
				return fmt.Errorf("tensor %q is int64 but holds %v: store whole numbers", t.Name, v)
			}
		}
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor %q has %d values but shape %v needs %d: fix the shape or the data", t.Name, len(t.Data), t.Shape, n)
	}
	return nil
}
