package dashboard

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
)

// records generates n records of images of shape s: label i%10, then
// random pixels, so that a pixel taken from the wrong plane or row shows.
func records(n int, s Shape, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	size := s.recordSize()
	recs := make([]byte, n*size)
	for i := range n {
		recs[i*size] = byte(i % 10)
		for j := 1; j < size; j++ {
			recs[i*size+j] = byte(rng.IntN(256))
		}
	}
	return recs
}

// fetchImage gets a gallery image from a dashboard and decodes it.
func fetchImage(t *testing.T, base, run string, i int) image.Image {
	t.Helper()
	res := get(t, fmt.Sprintf("%s/api/runs/%s/images/%d", base, run, i))
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("image %d of %s: %s, %s", i, run, res.Status, res.Header.Get("Content-Type"))
	}
	img, err := png.Decode(res.Body)
	if err != nil {
		t.Fatalf("image %d of %s: %v", i, run, err)
	}
	return img
}

// checkImage compares an image pixel by pixel with a record's pixels (the
// record without its label byte): red, green and blue planes for 3
// channels, else the first plane as grey.
func checkImage(t *testing.T, what string, img image.Image, pix []byte, s Shape) {
	t.Helper()
	if b := img.Bounds(); b != image.Rect(0, 0, s.Width, s.Height) {
		t.Fatalf("%s: bounds %v, want %dx%d", what, b, s.Width, s.Height)
	}
	plane := s.Height * s.Width
	bad := 0
	for y := range s.Height {
		for x := range s.Width {
			i := y*s.Width + x
			var got, want color.Color
			if s.Channels == 3 {
				got, want = color.NRGBAModel.Convert(img.At(x, y)), color.NRGBA{R: pix[i], G: pix[plane+i], B: pix[2*plane+i], A: 0xff}
			} else {
				got, want = color.GrayModel.Convert(img.At(x, y)), color.Gray{Y: pix[i]}
			}
			if got != want {
				if bad++; bad <= 3 {
					t.Errorf("%s: pixel (%d,%d) is %v, want %v", what, x, y, got, want)
				}
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d pixels wrong in all", what, bad)
	}
}

// TestGalleryShapes: the gallery's images of any shape are served as PNGs
// of their own size with the record's pixels exactly, by the live Hub and
// by vkcnn serve's Dir from the run's files.
func TestGalleryShapes(t *testing.T) {
	for _, s := range []Shape{
		{Channels: 1, Height: 28, Width: 28}, // MNIST
		{Channels: 3, Height: 32, Width: 32}, // CIFAR
		{Channels: 3, Height: 24, Width: 40}, // not square
		{Channels: 2, Height: 5, Width: 7},   // the first channel, as grey
	} {
		t.Run(s.String(), func(t *testing.T) {
			const n = 6
			recs := records(n, s, uint64(s.Channels*s.Height*s.Width))
			runs := t.TempDir()
			dir := filepath.Join(runs, "run")
			os.Mkdir(dir, 0o755)
			h, err := NewHub(dir, Settings{Run: "run", Classes: cifar10.ClassNames(), Epochs: 1, Image: s}, recs)
			if err != nil {
				t.Fatal(err)
			}
			live := httptest.NewServer(h.Handler())
			defer live.Close()
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			d, err := OpenDir(runs)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			served := httptest.NewServer(d.Handler())
			defer served.Close()
			for _, srv := range []struct{ name, url string }{{"hub", live.URL}, {"dir", served.URL}} {
				size := s.recordSize()
				for _, i := range []int{0, 3, n - 1} {
					img := fetchImage(t, srv.url, "run", i)
					checkImage(t, fmt.Sprintf("%s: image %d", srv.name, i), img, recs[i*size+1:(i+1)*size], s)
				}
				if res := get(t, fmt.Sprintf("%s/api/runs/run/images/%d", srv.url, n)); res.StatusCode != http.StatusNotFound {
					t.Errorf("%s: image %d of %d: %s", srv.name, n, n, res.Status)
				}
			}
		})
	}
}

// TestGalleryOldRun: a run recorded before the settings had the image shape
// is served as CIFAR-10's 3x32x32.
func TestGalleryOldRun(t *testing.T) {
	runs := t.TempDir()
	dir := filepath.Join(runs, "old")
	os.Mkdir(dir, 0o755)
	recs := testSet(3)
	os.WriteFile(filepath.Join(dir, GalleryFile), recs, 0o644)
	os.WriteFile(filepath.Join(dir, EventsFile), []byte(`{"type":"settings","t":1,"run":"old","gallery_labels":[1,2,3]}`+"\n"), 0o644)
	d, err := OpenDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, _ := dirSource{d}.open("old")
	if s, ok := l.shape(); !ok || s != cifarShape {
		t.Errorf("the old run's shape is %v (%v), want %v", s, ok, cifarShape)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	rec := recs[2*cifar10.RecordSize+1 : 3*cifar10.RecordSize]
	checkImage(t, "image 2", fetchImage(t, srv.URL, "old", 2), rec, cifarShape)
}

// TestRunLogShape: the gallery's shape is the last settings event's, none
// before there is one or when it is not a shape.
func TestRunLogShape(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  Shape
		ok    bool
	}{
		{"no settings", []string{`{"type":"epoch","epoch":0}`}, Shape{}, false},
		{"old settings", []string{`{"type":"settings","run":"r"}`}, cifarShape, true},
		{"recorded", []string{`{"type":"settings","image":{"channels":1,"height":28,"width":28}}`}, Shape{1, 28, 28}, true},
		{"the last one", []string{`{"type":"settings","image":{"channels":1,"height":28,"width":28}}`, `{"type":"epoch","epoch":0}`, `{"type":"settings","image":{"channels":3,"height":24,"width":40}}`}, Shape{3, 24, 40}, true},
		{"not a shape", []string{`{"type":"settings","image":{"channels":0,"height":28,"width":28}}`}, Shape{}, false},
		{"too large", []string{`{"type":"settings","image":{"channels":3,"height":1000000000,"width":1000000000}}`}, Shape{}, false},
		{"not numbers", []string{`{"type":"settings","image":{"channels":"grey"}}`}, Shape{}, false},
	} {
		l := newRunLog()
		es, _ := parseLines([]byte(strings.Join(tc.lines, "\n") + "\n"))
		l.append(es...)
		if got, ok := l.shape(); ok != tc.ok || ok && got != tc.want {
			t.Errorf("%s: shape %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// TestNewHubShapes: NewHub records the shape it was given (CIFAR-10's if
// none) and refuses records that are not whole records of it, or a shape
// that is not one, saying which.
func TestNewHubShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape Shape
		test  []byte
		want  string // in the error; "" for none
	}{
		{"mnist", Shape{1, 28, 28}, records(3, Shape{1, 28, 28}, 1), ""},
		{"cifar by default", Shape{}, testSet(3), ""},
		{"no records", Shape{1, 28, 28}, nil, ""},
		{"cifar records as mnist", Shape{1, 28, 28}, testSet(3), "not whole records of 1x28x28 images (785 bytes each"},
		{"mnist records as cifar", Shape{}, records(3, Shape{1, 28, 28}, 1), "not whole records of 3x32x32 images (3073 bytes each"},
		{"without labels", Shape{3, 24, 40}, make([]byte, 2*3*24*40), "not whole records of 3x24x40 images"},
		{"no channels", Shape{0, 28, 28}, nil, "image shape 0x28x28"},
		{"negative", Shape{1, -28, 28}, nil, "image shape 1x-28x28"},
	} {
		dir := t.TempDir()
		h, err := NewHub(dir, Settings{Run: "r", Epochs: 1, Image: tc.shape}, tc.test)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error %v, want one line with %q", tc.name, err, tc.want)
			}
			if err == nil {
				h.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got, ok := h.log.shape(); !ok || got != tc.shape.orCIFAR() {
			t.Errorf("%s: recorded shape %v, want %v", tc.name, got, tc.shape.orCIFAR())
		}
		h.Close()
	}
}

// TestGalleryLen: the gallery keeps GallerySize images, fewer of large ones
// but never fewer than the page's grid shows.
func TestGalleryLen(t *testing.T) {
	for _, tc := range []struct{ n, size, want int }{
		{10000, cifar10.RecordSize, GallerySize},
		{10000, 1 + 28*28, GallerySize},
		{100, cifar10.RecordSize, 100},
		{0, cifar10.RecordSize, 0},
		{10000, 1 + 3*224*224, maxGalleryBytes / (1 + 3*224*224)},
		{10000, 1 + 3*4096*4096, minGallery},
		{10, 1 + 3*4096*4096, 10},
	} {
		if got := galleryLen(tc.n, tc.size); got != tc.want {
			t.Errorf("galleryLen(%d, %d) = %d, want %d", tc.n, tc.size, got, tc.want)
		}
	}
}
