package images

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
)

// record builds a CIFAR-style planar record of one color with a marker
// pixel, so a test can find where a given source pixel landed.
// The layout of Grid's CIFAR-10-sized tiles: 3x zoom.
const (
	zoom  = 3
	tile  = Side * zoom
	cellW = tile + pad
	cellH = tile + labelH + pad
)

func record(base, marker color.RGBA, mx, my int) []byte {
	rec := make([]byte, RecordSize)
	const plane = Side * Side
	for i := range plane {
		rec[i], rec[plane+i], rec[2*plane+i] = base.R, base.G, base.B
	}
	i := my*Side + mx
	rec[i], rec[plane+i], rec[2*plane+i] = marker.R, marker.G, marker.B
	return rec
}

func TestGridSize(t *testing.T) {
	tests := []struct {
		n, cols    int
		wantCols   int
		wantRows   int
		wantWidth  int
		wantHeight int
	}{
		{n: 10, cols: 5, wantCols: 5, wantRows: 2},
		{n: 11, cols: 5, wantCols: 5, wantRows: 3},
		{n: 1, cols: 8, wantCols: 1, wantRows: 1},
		{n: 4, cols: 0, wantCols: 4, wantRows: 1},
		{n: 0, cols: 3, wantCols: 1, wantRows: 0},
	}
	for _, tc := range tests {
		imgs := make([][]byte, tc.n)
		for i := range imgs {
			imgs[i] = make([]byte, RecordSize)
		}
		b := Grid(imgs, nil, tc.cols).Bounds()
		w, h := 6+tc.wantCols*(96+6), 6+tc.wantRows*(96+16+6)
		if b.Dx() != w || b.Dy() != h || b.Min != (image.Point{}) {
			t.Errorf("Grid(%d images, cols %d) bounds %v, want %dx%d at the origin", tc.n, tc.cols, b, w, h)
		}
	}
}

// TestGridPlacement checks each image lands, zoomed 3x, in its cell in
// reading order, with planes read as R, G, B.
func TestGridPlacement(t *testing.T) {
	blue := color.RGBA{B: 200, A: 255}
	mark := color.RGBA{R: 10, G: 20, B: 30, A: 255}
	imgs := [][]byte{
		record(blue, mark, 0, 0),
		record(blue, mark, 31, 31),
		record(blue, mark, 5, 7),
	}
	g := Grid(imgs, []string{"cat", "dog", "ship"}, 2)
	tests := []struct {
		name string
		x, y int // top-left of the 3x3 block the marker must fill
	}{
		{"first image, pixel (0,0)", pad, pad},
		{"second image, pixel (31,31)", pad + cellW + 31*zoom, pad + 31*zoom},
		{"third image (second row), pixel (5,7)", pad + 5*zoom, pad + cellH + 7*zoom},
	}
	for _, tc := range tests {
		for dy := range zoom {
			for dx := range zoom {
				if got := g.RGBAAt(tc.x+dx, tc.y+dy); got != mark {
					t.Errorf("%s: pixel (%d,%d) = %v, want %v", tc.name, tc.x+dx, tc.y+dy, got, mark)
				}
			}
		}
		if got := g.RGBAAt(tc.x+zoom, tc.y+zoom); got == mark {
			t.Errorf("%s: the marker spills past its %dx%d block", tc.name, zoom, zoom)
		}
	}
	if got := g.RGBAAt(pad+tile+1, pad); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("gap between tiles is %v, want white", got)
	}
}

// TestGridLabels checks a label is drawn under its image and nothing is
// drawn under an image without one.
func TestGridLabels(t *testing.T) {
	imgs := [][]byte{make([]byte, RecordSize), make([]byte, RecordSize)}
	g := Grid(imgs, []string{"automobile"}, 2)
	dark := func(x0 int) int {
		n := 0
		for y := pad + tile; y < pad+tile+labelH; y++ {
			for x := x0; x < x0+tile; x++ {
				if g.RGBAAt(x, y).R < 128 {
					n++
				}
			}
		}
		return n
	}
	if n := dark(pad); n < 20 {
		t.Errorf("label area under image 0 has %d dark pixels, want the text", n)
	}
	if n := dark(pad + cellW); n != 0 {
		t.Errorf("label area under unlabelled image 1 has %d dark pixels, want none", n)
	}
}

func TestGridPanicsOnBadRecord(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "image 1 has 10 bytes, want 3072") {
			t.Errorf("panic = %v, want one naming image 1 and its size", r)
		}
	}()
	Grid([][]byte{make([]byte, RecordSize), make([]byte, 10)}, nil, 2)
}

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "batch.png")
	src := Grid([][]byte{record(color.RGBA{R: 255, A: 255}, color.RGBA{A: 255}, 0, 0)}, []string{"x"}, 1)
	if err := SavePNG(path, src); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, format, err := image.Decode(f)
	if err != nil || format != "png" {
		t.Fatalf("decode saved file: format %q, error %v", format, err)
	}
	if got.Bounds() != src.Bounds() {
		t.Errorf("saved image bounds %v, want %v", got.Bounds(), src.Bounds())
	}
	if r, _, _, _ := got.At(pad+zoom, pad).RGBA(); r != 0xffff {
		t.Errorf("saved pixel red = %#x, want 0xffff", r)
	}
}

func TestSavePNGFailureLeavesNoFile(t *testing.T) {
	small := image.NewRGBA(image.Rect(0, 0, 2, 2))
	inDir := func(t *testing.T, dir string) string { return filepath.Join(dir, "x.png") }
	tests := []struct {
		name    string
		img     image.Image
		target  func(t *testing.T, dir string) string
		keep    []string
		wantErr string
	}{
		{"parent missing", small, func(t *testing.T, dir string) string { return filepath.Join(dir, "no", "x.png") }, nil, "create a temporary file"},
		{"target is a directory", small, func(t *testing.T, dir string) string {
			p := inDir(t, dir)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"x.png"}, "replace"},
		// png.Encode refuses an empty image after the temporary file exists.
		{"empty image", image.NewRGBA(image.Rectangle{}), inDir, nil, "encode PNG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := SavePNG(tc.target(t, dir), tc.img)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("SavePNG error = %v, want one containing %q", err, tc.wantErr)
			}
			dirtest.Only(t, dir, tc.keep...)
		})
	}
}
