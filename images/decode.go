package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registered so image.Decode reads JPEG
	_ "image/png"  // registered so image.Decode reads PNG
	"io/fs"
	"os"

	"golang.org/x/image/draw"
)

// Side is the width and height of a CIFAR-10 image, the network's input size.
const Side = 32

// maxPixels bounds the image Decode will expand in memory, so a small file
// that claims a huge size (a decompression bomb) fails instead of exhausting
// memory; 50 megapixels covers any camera photo.
const maxPixels = 50_000_000

// Decode reads a PNG or JPEG file and returns it as the network's input: 3
// planes (R, G, B) of 32x32 float32 values in [0,1] (value/255, as
// torchvision's ToTensor), row-major. Any color model is converted to RGB;
// an alpha channel is dropped, as PIL's convert("RGB") does. An image of
// another size is resized to 32x32 with a Catmull-Rom filter, ignoring the
// aspect ratio, as torchvision's Resize((32, 32)) does.
func Decode(path string) ([]float32, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &hintError{msg: fmt.Sprintf("no such image file %s: check the path", path), err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", path, err)
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("%s is empty: pass a PNG or JPEG image", path)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(buf))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("%s is not a PNG or JPEG image: convert it to PNG or JPEG", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is a damaged image (%v): re-export it as PNG or JPEG", path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("%s is %dx%d pixels, beyond the %d-megapixel limit: shrink it first", path, cfg.Width, cfg.Height, maxPixels/1_000_000)
	}
	img, _, err := image.Decode(bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("%s is a damaged image (%v): re-export it as PNG or JPEG", path, err)
	}
	if img.Bounds().Empty() {
		return nil, fmt.Errorf("%s has no pixels: pass a non-empty image", path)
	}
	return planes(resize(opaqueRGBA(img))), nil
}

// resize scales img to Side x Side unless it already is that size, because
// even an identity Catmull-Rom pass would blur nothing but still cost time.
func resize(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	if b.Dx() == Side && b.Dy() == Side {
		return img
	}
	dst := image.NewRGBA(image.Rect(0, 0, Side, Side))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// planes splits the interleaved RGBA pixels into the CHW float layout the
// network takes.
func planes(img *image.RGBA) []float32 {
	const plane = Side * Side
	out := make([]float32, 3*plane)
	for y := range Side {
		row := img.Pix[y*img.Stride:]
		for x := range Side {
			p := row[4*x:]
			i := y*Side + x
			out[i] = float32(p[0]) / 255
			out[plane+i] = float32(p[1]) / 255
			out[2*plane+i] = float32(p[2]) / 255
		}
	}
	return out
}
