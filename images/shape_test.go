package images

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

// stripes is a w x h image of three vertical stripes: red, green, blue.
func stripes(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= 2*w/3:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/3:
				c = color.RGBA{0, 255, 0, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// at is pixel (x, y) of channel c of a CHW image w pixels wide, h high.
func at(img []float32, c, x, y, w, h int) float32 { return img[(c*h+y)*w+x] }

// TestDecodeAsFits checks both fits: Stretch keeps all three stripes,
// CenterCrop keeps the centre of the image at the target's aspect ratio.
func TestDecodeAsFits(t *testing.T) {
	path := writeImage(t, t.TempDir(), "s.png", stripes(90, 30))
	for _, c := range []struct {
		name        string
		w, h        int
		fit         Fit
		left, right int // channel expected at the left and right edges
	}{
		{"stretch 24x24", 24, 24, Stretch, 0, 2},
		{"centre crop 24x24", 24, 24, CenterCrop, 1, 1},            // the middle 30x30: green
		{"centre crop 30x10", 30, 10, CenterCrop, 0, 2},            // the image's own aspect: everything
		{"centre crop 12x24", 12, 24, CenterCrop, 1, 1},            // a 15x30 window of the green stripe
		{"stretch 7x5 odd sizes", 7, 5, Stretch, 0, 2},             // a downscale to odd sides
		{"centre crop 32x32 from 90x30", 32, 32, CenterCrop, 1, 1}, // an upscale of the crop
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeAs(path, 3, c.h, c.w, c.fit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3*c.w*c.h {
				t.Fatalf("%d values, want %d", len(got), 3*c.w*c.h)
			}
			for y := range c.h {
				for _, e := range []struct{ x, ch int }{{0, c.left}, {c.w - 1, c.right}} {
					for ch := range 3 {
						want := float32(0)
						if ch == e.ch {
							want = 1
						}
						if v := at(got, ch, e.x, y, c.w, c.h); math.Abs(float64(v-want)) > 0.02 {
							t.Fatalf("pixel (%d,%d) channel %d = %v, want %v", e.x, y, ch, v, want)
						}
					}
				}
			}
		})
	}
}

// TestDecodeAsGrey checks the grey conversion is Go's (and PIL's "L") luma
// of the RGB pixels.
func TestDecodeAsGrey(t *testing.T) {
	path := writeImage(t, t.TempDir(), "s.png", stripes(30, 30))
	got, err := DecodeAs(path, 1, 30, 30, Stretch)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x   int
		rgb color.RGBA
	}{{0, color.RGBA{255, 0, 0, 255}}, {15, color.RGBA{0, 255, 0, 255}}, {29, color.RGBA{0, 0, 255, 255}}} {
		want := float32(color.GrayModel.Convert(c.rgb).(color.Gray).Y) / 255
		if v := at(got, 0, c.x, 3, 30, 30); v != want {
			t.Errorf("grey at x=%d: %v, want %v (luma of %v)", c.x, v, want, c.rgb)
		}
	}
}

// TestDecodeAsRefuses: channel counts other than 1 and 3 are refused
// before the file is read.
func TestDecodeAsRefuses(t *testing.T) {
	if _, err := DecodeAs("no-such.png", 4, 8, 8, Stretch); err == nil || !strings.Contains(err.Error(), "4-channel") {
		t.Errorf("4 channels: error %v", err)
	}
	if _, err := DecodeAs("no-such.png", 3, 0, 8, Stretch); err == nil {
		t.Error("a zero height: no error")
	}
}

// TestGridOfShapes checks the zoom and colours for grey 28x28 images and a
// large RGB image, and that labels are cut to the tile.
func TestGridOfShapes(t *testing.T) {
	grey := make([]byte, 28*28)
	grey[0] = 200
	g := GridOf([][]byte{grey, grey}, 1, 28, 28, []string{"0", "1"}, 2)
	if w, h := g.Bounds().Dx(), g.Bounds().Dy(); w != pad+2*(3*28+pad) || h != pad+3*28+labelH+pad {
		t.Errorf("two grey 28x28 tiles: %dx%d", w, h)
	}
	if c := g.RGBAAt(pad+2, pad+2); c != (color.RGBA{200, 200, 200, 255}) {
		t.Errorf("grey pixel 0 zoomed 3x: %v, want grey 200", c)
	}
	big := make([]byte, 3*100*50)
	big[2*100*50] = 255 // blue at (0,0)
	g = GridOf([][]byte{big}, 3, 50, 100, []string{"a label far longer than the tile is wide"}, 1)
	if w := g.Bounds().Dx(); w != pad+100+pad {
		t.Errorf("a 100-pixel-wide image is drawn %d wide, want it at 1x", w)
	}
	if c := g.RGBAAt(pad, pad); c != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("pixel (0,0): %v, want blue", c)
	}
	defer func() {
		if recover() == nil {
			t.Error("an image of the wrong size did not panic")
		}
	}()
	GridOf([][]byte{grey[:10]}, 1, 28, 28, nil, 1)
}
