package dataset

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/internal/errtest"
)

// TestMNIST reads the four IDX files, gzip-compressed and not, as MNIST or
// Fashion-MNIST by the directory's name or the format option, from the
// directory, torchvision's data root, or one of the files.
func TestMNIST(t *testing.T) {
	src := makeMNIST(23, 9, 28, 28)
	for _, tc := range []struct {
		name   string
		sub    string // where the files go below the root
		gz     bool
		source string // below the root; "" the files' directory
		format string
		want   string
	}{
		{"raw files", "digits", false, "", "", MNIST},
		{"gzip files", "digits", true, "", "", MNIST},
		{"torchvision root", "MNIST/raw", true, ".", "", MNIST},
		{"torchvision Fashion-MNIST root", "FashionMNIST/raw", false, ".", "", FashionMNIST},
		{"fashion in the name", "fashion-mnist", true, "", "", FashionMNIST},
		{"format says fashion", "data", true, "", FashionMNIST, FashionMNIST},
		{"format says mnist", "fashion", true, "", MNIST, MNIST},
		{"one of the files", "digits", true, "digits/t10k-labels-idx1-ubyte.gz", "", MNIST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, filepath.FromSlash(tc.sub))
			writeFiles(t, dir, src.files(t, tc.gz))
			source := dir
			if tc.source != "" {
				source = filepath.Join(root, filepath.FromSlash(tc.source))
			}
			d, err := Load(Options{Source: source, Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != tc.want || d.Channels != 1 || d.Height != 28 || d.Width != 28 {
				t.Errorf("name %s, shape %dx%dx%d", d.Name, d.Channels, d.Height, d.Width)
			}
			if diff := sameSplit(d.Train, src.expectedTrain, 1+28*28); diff != "" {
				t.Errorf("train: %s", diff)
			}
			if diff := sameSplit(d.Test, src.expectedTest, 1+28*28); diff != "" {
				t.Errorf("test: %s", diff)
			}
			wantClasses, mean, std := mnistClasses, mnistMean, mnistStd
			if tc.want == FashionMNIST {
				wantClasses, mean, std = fashionMNISTClasses, fashionMNISTMean, fashionMNISTStd
			}
			if !slices.Equal(d.Classes, wantClasses) || !slices.Equal(d.Mean, mean) || !slices.Equal(d.Std, std) {
				t.Errorf("classes %q, mean %v, std %v", d.Classes, d.Mean, d.Std)
			}
		})
	}
	// Another image size reads as it is (EMNIST-like 20x12 images).
	small := makeMNIST(5, 3, 20, 12)
	dir := t.TempDir()
	writeFiles(t, dir, small.files(t, false))
	d, err := Load(Options{Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Height != 20 || d.Width != 12 || sameSplit(d.Train, small.expectedTrain, 1+20*12) != "" {
		t.Errorf("20x12 images read as %dx%d", d.Height, d.Width)
	}
}

// TestMNISTErrors checks bad IDX files: each error names the file.
func TestMNISTErrors(t *testing.T) {
	src := makeMNIST(6, 4, 28, 28)
	for _, tc := range []struct {
		name   string
		file   string // which file to replace
		data   func(good []byte) []byte
		remove bool
		err    []string
	}{
		{"wrong magic", mnistFiles[0], func(g []byte) []byte { g[0] = 0x1f; g[1] = 0x9d; return g }, false, []string{mnistFiles[0], "magic 1f9d0803 is not an IDX file's"}},
		{"element type int", mnistFiles[1], func(g []byte) []byte { g[2] = 0x0c; return g }, false, []string{mnistFiles[1], "element type 0x0c"}},
		{"truncated images", mnistFiles[0], func(g []byte) []byte { return g[:len(g)-5] }, false, []string{mnistFiles[0], "size does not match its header", "6 x 28 x 28", "truncated"}},
		{"longer images", mnistFiles[2], func(g []byte) []byte { return append(g, 0) }, false, []string{mnistFiles[2], "size does not match its header", "longer"}},
		{"header cut", mnistFiles[3], func(g []byte) []byte { return g[:6] }, false, []string{mnistFiles[3], "truncated IDX header"}},
		{"empty", mnistFiles[3], func(g []byte) []byte { return nil }, false, []string{mnistFiles[3], "too short for an IDX file"}},
		{"labels for other images", mnistFiles[1], func([]byte) []byte { return idxFile([]int{5}, make([]byte, 5)) }, false, []string{mnistFiles[1], "has 5 labels for the 6 images"}},
		{"label 10", mnistFiles[3], func(g []byte) []byte { g[len(g)-1] = 10; return g }, false, []string{mnistFiles[3], "label 10 of image 3"}},
		{"images of labels' shape", mnistFiles[0], func([]byte) []byte { return idxFile([]int{6}, make([]byte, 6)) }, false, []string{mnistFiles[0], "of 1 dimensions, want 3"}},
		{"test images of another size", mnistFiles[2], func([]byte) []byte { return idxFile([]int{4, 14, 14}, make([]byte, 4*14*14)) }, false, []string{"14x14 images", "28x28"}},
		{"huge header", mnistFiles[0], func([]byte) []byte { return idxFile([]int{1 << 30, 1 << 30, 28}, nil) }, false, []string{"more than the"}},
		{"missing", mnistFiles[3], nil, true, []string{"has no " + mnistFiles[3]}},
	} {
		for _, gz := range []bool{false, true} {
			name := tc.name
			if gz {
				name += " gz"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				files := src.files(t, false)
				if tc.remove {
					delete(files, tc.file)
				} else {
					files[tc.file] = tc.data(files[tc.file])
				}
				for n, b := range files {
					if gz {
						n, b = n+".gz", gzipBytes(t, b)
					}
					writeFile(t, filepath.Join(dir, n), b)
				}
				_, err := Load(Options{Source: dir})
				errtest.Want(t, err, append(tc.err, dir)...)
			})
		}
	}
}
