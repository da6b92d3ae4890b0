package dataset

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

func TestSplit(t *testing.T) {
	d := FromCIFAR10(cifar10.Synthetic(30, 0, 7))
	s := d.Train
	for _, tc := range []struct {
		name    string
		n, want int
	}{{"first 10", 10, 10}, {"zero", 0, 0}, {"all", 30, 30}, {"more than all", 99, 30}, {"negative means all", -1, 30}} {
		l := s.Limit(tc.n)
		if l.N != tc.want || len(l.Records) != tc.want*s.RecordSize || l.RecordSize != s.RecordSize {
			t.Errorf("%s: Limit(%d): N %d, %d bytes", tc.name, tc.n, l.N, len(l.Records))
		}
	}
	for i := range s.N {
		r := s.Records[i*s.RecordSize : (i+1)*s.RecordSize]
		if s.Label(i) != int(r[0]) || !bytes.Equal(s.Image(i), r[1:]) || !bytes.Equal(s.Record(i), r) {
			t.Fatalf("record %d: Label/Image/Record disagree with Records", i)
		}
	}
	if c := cap(s.Image(0)); c != s.RecordSize-1 {
		t.Errorf("cap(Image(0)) = %d, want %d", c, s.RecordSize-1)
	}
	defer func() {
		if recover() == nil {
			t.Error("Label(N) did not panic")
		}
	}()
	s.Label(s.N)
}

func TestCheck(t *testing.T) {
	good := func() *Dataset { return FromCIFAR10(cifar10.Synthetic(4, 2, 1)) }
	if err := good().Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(d *Dataset)
		err   string
	}{
		{"zero width", func(d *Dataset) { d.Width = 0 }, "not positive"},
		{"no classes", func(d *Dataset) { d.Classes = nil }, "0 classes"},
		{"label without a class", func(d *Dataset) { d.Classes = d.Classes[:2] }, "but there are 2 classes"},
		{"one mean for three channels", func(d *Dataset) { d.Mean = d.Mean[:1] }, "1 means"},
		{"zero std", func(d *Dataset) { d.Std[1] = 0 }, "channel 1"},
		{"short records", func(d *Dataset) { d.Test.Records = d.Test.Records[:10] }, "test split has 10 bytes"},
		{"record size", func(d *Dataset) { d.Train.RecordSize = 5 }, "5-byte records"},
	} {
		d := good()
		tc.spoil(d)
		if err := d.Check(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.err)) {
			t.Errorf("%s: Check() = %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}

func TestCIFAR10RoundTrip(t *testing.T) {
	src := cifar10.Synthetic(12, 5, 2)
	d := FromCIFAR10(src)
	back, ok := d.CIFAR10()
	if !ok || !bytes.Equal(back.Train.Records, src.Train.Records) || !bytes.Equal(back.Test.Records, src.Test.Records) || !slices.Equal(back.Classes, src.Classes) {
		t.Error("FromCIFAR10 then CIFAR10 changed the data set")
	}
	d.Channels = 1
	if _, ok := d.CIFAR10(); ok {
		t.Error("a grey data set converted to CIFAR-10's layout")
	}
}

func TestChannelStats(t *testing.T) {
	d := FromCIFAR10(cifar10.Synthetic(50, 0, 3))
	mean, std := ChannelStats(d.Train, 3)
	for c := range 3 {
		var s, q float64
		n := 0
		for i := range d.Train.N {
			for _, v := range d.Train.Image(i)[c*1024 : (c+1)*1024] {
				x := float64(v) / 255
				s += x
				q += x * x
				n++
			}
		}
		m := s / float64(n)
		sd := math.Sqrt(q/float64(n) - m*m)
		if math.Abs(m-mean[c]) > 1e-12 || math.Abs(sd-std[c]) > 1e-9 {
			t.Errorf("channel %d: %v %v, want %v %v", c, mean[c], std[c], m, sd)
		}
	}
	if m, s := ChannelStats(Split{RecordSize: 5}, 1); m[0] != 0 || s[0] != 1 {
		t.Errorf("empty split: %v %v", m, s)
	}
}

// TestLoadDispatch checks how Load picks a reader, and its errors for what
// it cannot read.
func TestLoadDispatch(t *testing.T) {
	// A torchvision data root with CIFAR-10 (Python) and MNIST.
	root := t.TempDir()
	c10 := cifar10.Synthetic(10, 5, 8)
	writeCIFAR10Py(t, filepath.Join(root, "cifar-10-batches-py"), c10, pickleStyles[0])
	mn := makeMNIST(5, 5, 28, 28)
	writeFiles(t, filepath.Join(root, "MNIST", "raw"), mn.files(t, true))
	for _, tc := range []struct {
		format, want string
	}{{"cifar10", CIFAR10}, {"CIFAR-10", CIFAR10}, {"mnist", MNIST}, {"fashion-mnist", FashionMNIST}} {
		d, err := Load(Options{Source: root, Format: tc.format})
		if err != nil {
			t.Fatalf("format %s: %v", tc.format, err)
		}
		if d.Name != tc.want {
			t.Errorf("format %s read %s", tc.format, d.Name)
		}
	}
	other := t.TempDir()
	plain := writeFile(t, filepath.Join(other, "notes.txt"), []byte("hello"))
	unrelated := filepath.Join(other, "photos.tar.gz")
	writeFile(t, filepath.Join(other, "src", "a.txt"), []byte("x"))
	tarGzDir(t, filepath.Join(other, "src"), "photos", unrelated)
	for _, tc := range []struct {
		name string
		o    Options
		err  []string
	}{
		{"several data sets", Options{Source: root}, []string{"holds several data sets", "cifar10 (CIFAR-10 Python)", "mnist (MNIST IDX)", "format option"}},
		{"not the format asked for", Options{Source: root, Format: ImageFolder}, []string{"holds no imagefolder data"}},
		{"missing path", Options{Source: filepath.Join(other, "nothing")}, []string{"nothing", "no such file", "cifar10, cifar100, mnist, fashion-mnist"}},
		{"empty directory", Options{Source: t.TempDir()}, []string{"holds no data set"}},
		{"a text file", Options{Source: plain}, []string{plain, "neither a .tar.gz archive"}},
		{"an unrelated archive", Options{Source: unrelated}, []string{unrelated, "holds no CIFAR-10 or CIFAR-100 files"}},
		{"unknown format", Options{Source: root, Format: "imagenet"}, []string{"format \"imagenet\"", "cifar10, cifar100, mnist, fashion-mnist, imagefolder"}},
		{"image size", Options{Source: root, ImageSize: -3}, []string{"image size -3"}},
		{"name and format disagree", Options{Source: "mnist", Format: CIFAR10, CacheDir: t.TempDir()}, []string{"asks for mnist but the format is cifar10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.o)
			errtest.Want(t, err, tc.err...)
		})
	}
}
