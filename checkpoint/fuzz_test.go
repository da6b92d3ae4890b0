package checkpoint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the reader: whatever the file holds,
// Load must return an error or consistent tensors, never panic or allocate
// beyond what the file justifies.
func FuzzLoad(f *testing.F) {
	tensors := []Tensor{
		{Name: "conv1.bias", Shape: []int{4}, Data: []float32{1, 2, 3, 4}},
		{Name: "fc4.weight", Shape: []int{2, 1}, Data: []float32{-1, 0.5}},
	}
	header, err := encodeHeader(tensors, defaultMetadata)
	if err != nil {
		f.Fatal(err)
	}
	var valid bytes.Buffer
	if err := encode(&valid, header, tensors); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, ^uint64(0)))
	f.Add(rawFile(`{}`, nil))
	f.Add(rawFile(`{"__metadata__":{"k":"v"}}`, nil))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, nil))
	f.Add(rawFile(`{"a":{"dtype":"X","shape":[],"data_offsets":[0,0]}}`, nil))

	want := []Spec{{Name: "conv1.bias", Shape: []int{4}}, {Name: "fc4.weight", Shape: []int{2, 1}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, w := range [][]Spec{want, nil} {
			got, err := decode("fuzz.safetensors", data, w)
			if err != nil {
				continue
			}
			for _, s := range w {
				n := 1
				for _, d := range s.Shape {
					n *= d
				}
				if len(got[s.Name]) != n {
					t.Fatalf("tensor %q has %d values, want %d", s.Name, len(got[s.Name]), n)
				}
			}
		}
		if f, err := parse("fuzz.safetensors", data); err == nil {
			for _, rt := range f.tensors {
				_, _ = rt.intShape("fuzz.safetensors")
			}
		}
	})
}
