package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

// TestCIFAR10Python reads CIFAR-10 in torchvision's Python layout, written in
// every pickle style, from the extracted directory, from a data root holding
// it, from a file inside it, and from the archive; each gives the records of
// the source data set.
func TestCIFAR10Python(t *testing.T) {
	src := cifar10.Synthetic(53, 17, 3) // 53: batches of unequal sizes
	src.Classes = []string{"a0", "b1", "c2", "d3", "e4", "f5", "g6", "h7", "i8", "j9"}
	for _, s := range pickleStyles {
		t.Run(s.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "cifar-10-batches-py")
			writeCIFAR10Py(t, dir, src, s)
			archive := filepath.Join(t.TempDir(), "cifar-10-python.tar.gz")
			tarGzDir(t, dir, "cifar-10-batches-py", archive)
			for _, tc := range []struct {
				name, source string
				warn         string
			}{
				{"directory", dir, ""},
				{"data root", root, ""},
				{"a batch file", filepath.Join(dir, "data_batch_3"), ""},
				{"archive", archive, "not the official cifar-10-python.tar.gz's"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					warn, warnings := collect()
					d, err := Load(Options{Source: tc.source, Warn: warn})
					if err != nil {
						t.Fatal(err)
					}
					checkCIFAR10(t, d, src)
					if tc.warn == "" && len(*warnings) > 0 || tc.warn != "" && (len(*warnings) != 1 || !strings.Contains((*warnings)[0], tc.warn)) {
						t.Errorf("warnings %q, want %q", *warnings, tc.warn)
					}
				})
			}
		})
	}
}

func checkCIFAR10(t *testing.T, d *Dataset, src *cifar10.Dataset) {
	t.Helper()
	if d.Name != CIFAR10 || d.Channels != 3 || d.Height != 32 || d.Width != 32 || d.RecordSize() != cifar10.RecordSize {
		t.Errorf("name %s, shape %dx%dx%d", d.Name, d.Channels, d.Height, d.Width)
	}
	if diff := sameSplit(d.Train, src.Train.Records, cifar10.RecordSize); diff != "" {
		t.Errorf("train: %s", diff)
	}
	if diff := sameSplit(d.Test, src.Test.Records, cifar10.RecordSize); diff != "" {
		t.Errorf("test: %s", diff)
	}
	if !slices.Equal(d.Classes, src.Classes) {
		t.Errorf("classes %q, want %q", d.Classes, src.Classes)
	}
	if !slices.Equal(d.Mean, cifar10Mean) || !slices.Equal(d.Std, cifar10Std) {
		t.Errorf("mean %v std %v, want CIFAR-10's", d.Mean, d.Std)
	}
}

// TestCIFAR10Binary reads the binary layout through package cifar10, from
// an archive, its directory and a data root holding the archive, and
// prefers an extracted directory to an archive in a data root.
func TestCIFAR10Binary(t *testing.T) {
	src := cifar10.Synthetic(40, 10, 4)
	var buf bytes.Buffer
	if err := cifar10.WriteArchive(&buf, src); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	archive := writeFile(t, filepath.Join(root, cifar10.ArchiveName), buf.Bytes())
	for _, tc := range []struct{ name, source string }{{"archive", archive}, {"root with the archive", root}} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Load(Options{Source: tc.source})
			if err != nil {
				t.Fatal(err)
			}
			checkCIFAR10(t, d, src)
		})
	}
	// With the Python layout extracted beside the binary archive, the
	// extracted directory wins (it is faster to read).
	other := cifar10.Synthetic(20, 10, 5)
	writeCIFAR10Py(t, filepath.Join(root, "cifar-10-batches-py"), other, pickleStyles[0])
	d, err := Load(Options{Source: root})
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != filepath.Join(root, "cifar-10-batches-py") {
		t.Errorf("read %s, want the extracted directory", d.Source)
	}
	checkCIFAR10(t, d, other)
}

// TestCIFAR100 reads CIFAR-100 in both layouts, extracted and archived,
// with fine and coarse labels.
func TestCIFAR100(t *testing.T) {
	src := makeCIFAR100(31, 12, 5)
	for _, layout := range []string{"binary", "python2", "protocol4"} {
		root := t.TempDir()
		var dir, top string
		switch layout {
		case "binary":
			top = "cifar-100-binary"
			dir = filepath.Join(root, top)
			writeCIFAR100Bin(t, dir, src)
		default:
			top = "cifar-100-python"
			dir = filepath.Join(root, top)
			s := pickleStyles[0]
			if layout == "protocol4" {
				s = pickleStyles[3]
			}
			writeCIFAR100Py(t, dir, src, s)
		}
		archive := filepath.Join(t.TempDir(), top+".tar.gz")
		tarGzDir(t, dir, top, archive)
		for _, source := range []string{dir, root, archive} {
			for _, labels := range []string{"", "fine", "coarse"} {
				name := layout + "/" + filepath.Base(source) + "/" + labels
				t.Run(name, func(t *testing.T) {
					warn, warnings := collect()
					d, err := Load(Options{Source: source, Labels: labels, Warn: warn})
					if err != nil {
						t.Fatal(err)
					}
					coarse := labels == "coarse"
					if diff := sameSplit(d.Train, src.records(true, coarse), 1+cifarImageSize); diff != "" {
						t.Errorf("train: %s", diff)
					}
					if diff := sameSplit(d.Test, src.records(false, coarse), 1+cifarImageSize); diff != "" {
						t.Errorf("test: %s", diff)
					}
					want := src.fineNames
					if coarse {
						want = src.coarseNames
					}
					if d.Name != CIFAR100 || !slices.Equal(d.Classes, want) {
						t.Errorf("name %s, classes %q", d.Name, d.Classes)
					}
					if !slices.Equal(d.Mean, cifar100Mean) || !slices.Equal(d.Std, cifar100Std) {
						t.Errorf("mean %v std %v, want CIFAR-100's", d.Mean, d.Std)
					}
					if source == archive && (len(*warnings) != 1 || !strings.Contains((*warnings)[0], "not the official "+top+".tar.gz")) {
						t.Errorf("warnings %q, want one about the checksum", *warnings)
					}
				})
			}
		}
	}
}

// TestCIFARErrors checks that broken CIFAR files give one-line errors that
// name the file and say what to do.
func TestCIFARErrors(t *testing.T) {
	c10 := cifar10.Synthetic(10, 5, 6)
	c100 := makeCIFAR100(6, 4, 7)
	style := pickleStyles[1]
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the source
		opts  Options
		err   []string
	}{
		{"CIFAR-10 batch that is not a pickle", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, dir, c10, style)
			writeFile(t, filepath.Join(dir, "data_batch_2"), []byte("not a pickle"))
			return dir
		}, Options{}, []string{filepath.Join("data_batch_2"), "not a pickle", "re-extract"}},
		{"CIFAR-10 batch of another data set", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, dir, c10, style)
			writeFile(t, filepath.Join(dir, "test_batch"), metaPickle(style, "label_names", c10.Classes))
			return dir
		}, Options{}, []string{"test_batch", "without \"data\"", "not a CIFAR batch"}},
		{"CIFAR-10 batch missing", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, dir, c10, style)
			os.Remove(filepath.Join(dir, "data_batch_5"))
			return dir
		}, Options{}, []string{"has no data_batch_5", "re-extract"}},
		{"CIFAR-10 meta with 9 names", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, dir, c10, style)
			writeFile(t, filepath.Join(dir, "batches.meta"), metaPickle(style, "label_names", c10.Classes[:9]))
			return dir
		}, Options{}, []string{"batches.meta", "lists 9 class names, want 10"}},
		{"CIFAR-10 truncated archive", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, filepath.Join(dir, "x"), c10, style)
			a := tarGzDir(t, filepath.Join(dir, "x"), "cifar-10-batches-py", "")
			return writeFile(t, filepath.Join(dir, "c.tar.gz"), a[:len(a)*2/3])
		}, Options{}, []string{"c.tar.gz", "corrupt or truncated", "re-download"}},
		{"CIFAR-100 bin of a wrong size", func(t *testing.T, dir string) string {
			writeCIFAR100Bin(t, dir, c100)
			b, _ := os.ReadFile(filepath.Join(dir, "test.bin"))
			writeFile(t, filepath.Join(dir, "test.bin"), b[:len(b)-1])
			return dir
		}, Options{}, []string{"test.bin", "not a multiple of the 3074-byte record size"}},
		{"CIFAR-100 bin fine label 100", func(t *testing.T, dir string) string {
			writeCIFAR100Bin(t, dir, c100)
			b, _ := os.ReadFile(filepath.Join(dir, "train.bin"))
			b[3074*2+1] = 100
			writeFile(t, filepath.Join(dir, "train.bin"), b)
			return dir
		}, Options{}, []string{"train.bin", "record 2 has coarse label", "fine label 100"}},
		{"CIFAR-100 names missing", func(t *testing.T, dir string) string {
			writeCIFAR100Bin(t, dir, c100)
			os.Remove(filepath.Join(dir, "coarse_label_names.txt"))
			return dir
		}, Options{Labels: "coarse"}, []string{"has no coarse_label_names.txt"}},
		{"CIFAR-100 pickle coarse label 20", func(t *testing.T, dir string) string {
			bad := *c100
			bad.trainCoarse = slices.Clone(c100.trainCoarse)
			bad.trainCoarse[4] = 20
			writeCIFAR100Py(t, dir, &bad, style)
			return dir
		}, Options{}, []string{"train: image 4 has coarse_labels 20, want 0-19"}},
		{"CIFAR-100 meta of 99 names", func(t *testing.T, dir string) string {
			writeCIFAR100Py(t, dir, c100, style)
			writeFile(t, filepath.Join(dir, "meta"), metaPickle(style, "fine_label_names", c100.fineNames[:99]))
			return dir
		}, Options{}, []string{"meta", "lists 99 class names, want 100"}},
		{"coarse labels of CIFAR-10", func(t *testing.T, dir string) string {
			writeCIFAR10Py(t, dir, c10, style)
			return dir
		}, Options{Labels: "coarse"}, []string{"coarse labels are CIFAR-100's", "holds cifar10"}},
		{"labels neither fine nor coarse", func(t *testing.T, dir string) string { return dir }, Options{Labels: "medium"}, []string{"labels \"medium\"", "fine or coarse"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Source = tc.setup(t, t.TempDir())
			_, err := Load(o)
			errtest.Want(t, err, tc.err...)
		})
	}
}
