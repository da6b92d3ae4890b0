package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registered so image.Decode reads JPEG
	_ "image/png"  // registered so image.Decode reads PNG
	"io/fs"
	"os"

	"golang.org/x/image/draw"
)

// Side is the width and height of a CIFAR-10 image, Decode's output size.
const Side = 32

// maxPixels bounds the image Decode will expand in memory, so a small file
// that claims a huge size (a decompression bomb) fails instead of exhausting
// memory; 50 megapixels covers any camera photo.
const maxPixels = 50_000_000

// Fit says how an image of another shape is fitted to the network's.
type Fit int

const (
	// Stretch resizes to the network's height and width, ignoring the
	// aspect ratio, as torchvision's Resize((H, W)) does.
	Stretch Fit = iota
	// CenterCrop scales the image until it covers the network's shape and
	// keeps the centre, as Resize(S) and CenterCrop(S) do: the way vkcnn
	// converts an image folder's training images.
	CenterCrop
)

// Decode reads a PNG or JPEG file and returns it as the input of a network
// on CIFAR-10-sized images: 3 planes (R, G, B) of 32x32 float32 values in
// [0,1] (value/255, as torchvision's ToTensor), row-major. Any color model
// is converted to RGB; an alpha channel is dropped, as PIL's
// convert("RGB") does. An image of another size is resized to 32x32 with a
// Catmull-Rom filter, ignoring the aspect ratio, as torchvision's
// Resize((32, 32)) does.
func Decode(path string) ([]float32, error) {
	return DecodeAs(path, 3, Side, Side, Stretch)
}

// DecodeAs is Decode for a network that takes c x h x w images: c is 3 for
// RGB or 1 for grey (ITU-R 601 luma, what PIL's convert("L") and Go's
// color.GrayModel compute), and the image is fitted to h x w as fit says.
// Pixels are quantized to bytes first, as the training data is.
func DecodeAs(path string, c, h, w int, fit Fit) ([]float32, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("the model takes %d-channel images; images are read as 1 channel (grey) or 3 (RGB)", c)
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("image size %dx%d: want positive sides", w, h)
	}
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
	return planes(resize(opaqueRGBA(img), h, w, fit), c), nil
}

// resize scales img to w x h as fit says, unless it already is that size,
// because even an identity Catmull-Rom pass would blur nothing but still
// cost time.
func resize(img *image.RGBA, h, w int, fit Fit) *image.RGBA {
	b := img.Bounds()
	if fit == CenterCrop {
		// The largest centred rectangle of the target's aspect ratio; for a
		// square target, the centre square (what the image-folder reader
		// crops).
		cw, ch := b.Dx(), b.Dy()
		if cw*h >= ch*w {
			cw = max(1, (ch*w+h/2)/h)
		} else {
			ch = max(1, (cw*h+w/2)/w)
		}
		x0, y0 := b.Min.X+(b.Dx()-cw)/2, b.Min.Y+(b.Dy()-ch)/2
		b = image.Rect(x0, y0, x0+cw, y0+ch)
	}
	if b.Dx() == w && b.Dy() == h {
		if b == img.Bounds() {
			return img
		}
		return img.SubImage(b).(*image.RGBA)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// planes splits the interleaved RGBA pixels into the CHW float layout the
// network takes: R, G and B planes, or one plane of luma.
func planes(img *image.RGBA, c int) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	out := make([]float32, c*plane)
	for y := range h {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := range w {
			p := row[4*x:]
			i := y*w + x
			if c == 1 {
				grey := color.GrayModel.Convert(color.RGBA{R: p[0], G: p[1], B: p[2], A: 0xff}).(color.Gray)
				out[i] = float32(grey.Y) / 255
				continue
			}
			out[i] = float32(p[0]) / 255
			out[plane+i] = float32(p[1]) / 255
			out[2*plane+i] = float32(p[2]) / 255
		}
	}
	return out
}
