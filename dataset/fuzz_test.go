package dataset

import (
	"bytes"
	"testing"
)

// FuzzPickle checks that the pickle reader never panics, never allocates
// more than its input warrants, and that what it accepts as a CIFAR batch
// is well formed.
func FuzzPickle(f *testing.F) {
	// Small seeds keep the fuzzer fast (it minimizes what it finds
	// interesting, which costs in proportion to the input): batches of no
	// image, and one of one image.
	images := make([]byte, cifarImageSize)
	for i := range images {
		images[i] = byte(i)
	}
	for _, s := range pickleStyles {
		good := batchPickle(s, nil, map[string][]byte{"labels": {}})
		f.Add(good)
		f.Add(good[:len(good)/2])
		f.Add(metaPickle(s, "label_names", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}))
	}
	f.Add(batchPickle(pickleStyles[3], images, map[string][]byte{"labels": {1}, "coarse_labels": {2}}))
	f.Add([]byte{0x80, 2, ']', '(', 0x8a, 0, 0x8a, 1, 5, 'e', '.'})
	f.Add([]byte{0x80, 4, 0x95, 1, 0, 0, 0, 0, 0, 0, 0, '.'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		imgs, labels, err := parseCIFARPickle("fuzz", bytes.Clone(data), []string{"labels"}, []int{10})
		if err == nil {
			if len(labels) != 1 || len(imgs) != len(labels[0])*cifarImageSize {
				t.Fatalf("%d image bytes for %d labels", len(imgs), len(labels[0]))
			}
			for i, l := range labels[0] {
				if l >= 10 {
					t.Fatalf("label %d of image %d accepted", l, i)
				}
			}
		}
		if names, err := parseCIFARMeta("fuzz", bytes.Clone(data), "label_names", 10); err == nil && len(names) != 10 {
			t.Fatalf("%d names accepted", len(names))
		}
	})
}

// FuzzIDX checks that the IDX reader never panics or allocates more than
// its (decompressed) input, and that what it accepts holds exactly what its
// header announces.
func FuzzIDX(f *testing.F) {
	src := makeMNIST(3, 2, 4, 5)
	for name, b := range src.files(f, false) {
		f.Add(b)
		f.Add(b[:len(b)-1])
		if name == mnistFiles[0] {
			f.Add(gzipBytes(f, b))
			f.Add(gzipBytes(f, b)[:20])
		}
	}
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 8, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := readIDX("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.dims {
			n *= d
		}
		if n != len(x.data) {
			t.Fatalf("dims %v accepted with %d bytes", x.dims, len(x.data))
		}
		if len(x.dims) != 3 {
			return
		}
		// Pair the images with labels and check the records.
		lbl := &idx{dims: []int{x.dims[0]}, data: make([]byte, x.dims[0])}
		for i := range lbl.data {
			lbl.data[i] = byte(i % 10)
		}
		s, h, w, err := idxSplit("img", x, "lbl", lbl, 10)
		if err != nil {
			return
		}
		if s.N != x.dims[0] || s.RecordSize != 1+h*w || len(s.Records) != s.N*s.RecordSize {
			t.Fatalf("split of %d records of %d bytes in %d bytes", s.N, s.RecordSize, len(s.Records))
		}
	})
}
