package images

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeImage encodes img into dir as a PNG or JPEG and returns the path.
func writeImage(t *testing.T, dir, name string, img image.Image) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(name, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// fill paints every pixel of img with c through its own color model.
func fill[T interface {
	image.Image
	Set(x, y int, c color.Color)
}](img T, c color.Color) T {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

// assertPlanes checks every value of each plane is within tol of want.
func assertPlanes(t *testing.T, got []float32, want [3]float32, tol float32) {
	t.Helper()
	if len(got) != 3*Side*Side {
		t.Fatalf("got %d values, want %d", len(got), 3*Side*Side)
	}
	for c, name := range []string{"R", "G", "B"} {
		for i, v := range got[c*Side*Side : (c+1)*Side*Side] {
			if v < 0 || v > 1 {
				t.Fatalf("%s[%d] = %v, outside [0,1]", name, i, v)
			}
			if float32(math.Abs(float64(v-want[c]))) > tol {
				t.Fatalf("%s[%d] = %v, want %v ± %v", name, i, v, want[c], tol)
			}
		}
	}
}

func TestDecodeSolidColors(t *testing.T) {
	red := color.NRGBA{R: 255, A: 255}
	pal := color.Palette{color.Black, color.NRGBA{R: 255, A: 255}, color.NRGBA{G: 255, A: 255}}
	tests := []struct {
		name string
		file string
		img  image.Image
		want [3]float32
		tol  float32
	}{
		{"RGBA red, already 32x32", "a.png", fill(image.NewRGBA(image.Rect(0, 0, 32, 32)), red), [3]float32{1, 0, 0}, 0},
		{"NRGBA red, downscaled", "a.png", fill(image.NewNRGBA(image.Rect(0, 0, 64, 48)), red), [3]float32{1, 0, 0}, 0},
		{"RGBA red, upscaled from 5x7", "a.png", fill(image.NewRGBA(image.Rect(0, 0, 5, 7)), red), [3]float32{1, 0, 0}, 0},
		{"one pixel", "a.png", fill(image.NewRGBA(image.Rect(0, 0, 1, 1)), color.RGBA{0, 0, 255, 255}), [3]float32{0, 0, 1}, 0},
		{"offset bounds", "a.png", fill(image.NewRGBA(image.Rect(10, 20, 42, 52)), red), [3]float32{1, 0, 0}, 0},
		{"gray", "a.png", fill(image.NewGray(image.Rect(0, 0, 40, 40)), color.Gray{Y: 51}), [3]float32{0.2, 0.2, 0.2}, 1e-6},
		{"gray 16-bit", "a.png", fill(image.NewGray16(image.Rect(0, 0, 32, 32)), color.Gray16{Y: 0xffff}), [3]float32{1, 1, 1}, 0},
		{"RGBA 16-bit", "a.png", fill(image.NewRGBA64(image.Rect(0, 0, 33, 31)), color.RGBA64{R: 0xffff, A: 0xffff}), [3]float32{1, 0, 0}, 0},
		{"paletted green", "a.png", fill(image.NewPaletted(image.Rect(0, 0, 50, 50), pal), pal[2]), [3]float32{0, 1, 0}, 0},
		{"JPEG red", "a.jpg", fill(image.NewRGBA(image.Rect(0, 0, 48, 48)), red), [3]float32{1, 0, 0}, 0.03},
		{"JPEG gray", "a.jpg", fill(image.NewGray(image.Rect(0, 0, 32, 32)), color.Gray{Y: 128}), [3]float32{128.0 / 255, 128.0 / 255, 128.0 / 255}, 0.01},
		// PIL's convert("RGB") keeps the color under a transparent pixel.
		{"transparent NRGBA keeps color", "a.png", fill(image.NewNRGBA(image.Rect(0, 0, 32, 32)), color.NRGBA{R: 255, G: 0, B: 255, A: 0}), [3]float32{1, 0, 1}, 0},
		{"half-transparent 16-bit", "a.png", fill(image.NewNRGBA64(image.Rect(0, 0, 32, 32)), color.NRGBA64{G: 0xffff, A: 0x8000}), [3]float32{0, 1, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeImage(t, t.TempDir(), tc.file, tc.img)
			got, err := Decode(path)
			if err != nil {
				t.Fatal(err)
			}
			assertPlanes(t, got, tc.want, tc.tol)
		})
	}
}

// TestDecodeLayout checks plane order and row-major pixel order with an image
// whose every pixel and channel differ.
func TestDecodeLayout(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, Side, Side))
	for y := range Side {
		for x := range Side {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 8), G: uint8(y * 8), B: uint8(255 - x - y), A: 255})
		}
	}
	got, err := Decode(writeImage(t, t.TempDir(), "g.png", img))
	if err != nil {
		t.Fatal(err)
	}
	for y := range Side {
		for x := range Side {
			i := y*Side + x
			want := [3]float32{float32(x*8) / 255, float32(y*8) / 255, float32(255-x-y) / 255}
			for c := range 3 {
				if v := got[c*Side*Side+i]; v != want[c] {
					t.Fatalf("plane %d at (%d,%d) = %v, want %v", c, x, y, v, want[c])
				}
			}
		}
	}
}

// TestDecodeResizeKeepsLayout checks a downscale keeps left and right apart:
// a black left half and a white right half stay so at the edges.
func TestDecodeResizeKeepsLayout(t *testing.T) {
	for _, size := range []image.Point{{64, 64}, {100, 30}, {16, 16}} {
		img := image.NewGray(image.Rect(0, 0, size.X, size.Y))
		for y := range size.Y {
			for x := size.X / 2; x < size.X; x++ {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
		got, err := Decode(writeImage(t, t.TempDir(), "h.png", img))
		if err != nil {
			t.Fatal(err)
		}
		for y := range Side {
			if l, r := got[y*Side], got[y*Side+Side-1]; l != 0 || r != 1 {
				t.Errorf("%v: row %d edges = %v, %v, want 0, 1", size, y, l, r)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeImage(t, dir, "good.png", image.NewRGBA(image.Rect(0, 0, 8, 8)))
	pngBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte // nil: no file
		dir     bool
		wantErr string
	}{
		{name: "missing", wantErr: "no such image file"},
		{name: "empty", content: []byte{}, wantErr: "is empty: pass a PNG or JPEG image"},
		{name: "text", content: []byte("just some text"), wantErr: "is not a PNG or JPEG image"},
		{name: "GIF", content: []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), wantErr: "is not a PNG or JPEG image"},
		{name: "truncated PNG", content: pngBytes[:len(pngBytes)/2], wantErr: "is a damaged image"},
		{name: "directory", dir: true, wantErr: "read image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.png")
			switch {
			case tc.dir:
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			case tc.content != nil:
				if err := os.WriteFile(path, tc.content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Decode(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q should be one line naming %s", err, path)
			}
		})
	}
}

func TestDecodeMissingUnwraps(t *testing.T) {
	_, err := Decode(filepath.Join(t.TempDir(), "none.png"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false, want true", err)
	}
}

// TestDecodeRefusesHugeImage checks the header's size is checked before the
// pixels are allocated.
func TestDecodeRefusesHugeImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	path := writeImage(t, t.TempDir(), "big.png", img)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite IHDR's width and height (bytes 16..23) to 100000x100000 and
	// its CRC (over type and data, bytes 12..28), as a crafted file would.
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Decode(path)
	if err == nil || !strings.Contains(err.Error(), "megapixel limit") {
		t.Errorf("Decode error = %v, want the megapixel limit", err)
	}
}
