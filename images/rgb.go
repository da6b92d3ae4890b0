package images

import (
	"image"
	"image/color"
	"image/draw"
)

// opaqueRGBA converts img to an opaque RGBA image with its origin at (0,0).
//
// Opaque images take image/draw's fast paths (YCbCr, Gray, Paletted, ...).
// Images with transparency are converted pixel by pixel so the color under
// the alpha is kept, as PIL's convert("RGB") keeps it: drawing them with
// image/draw would premultiply, turning transparent pixels black.
func opaqueRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := straightRGB(img.At(x, y))
			i := dst.PixOffset(x-b.Min.X, y-b.Min.Y)
			dst.Pix[i+0], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = r, g, bl, 0xff
		}
	}
	return dst
}

// straightRGB returns c's color without its alpha: as stored for the
// non-premultiplied colors PNG decodes to, else un-premultiplied.
func straightRGB(c color.Color) (r, g, b uint8) {
	switch c := c.(type) {
	case color.NRGBA:
		return c.R, c.G, c.B
	case color.NRGBA64:
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	}
	r32, g32, b32, a32 := c.RGBA()
	if a32 == 0 {
		return 0, 0, 0
	}
	return unpremul(r32, a32), unpremul(g32, a32), unpremul(b32, a32)
}

// unpremul divides one 16-bit premultiplied channel by alpha, clamping
// because a hand-made image.RGBA may hold a channel above its alpha.
func unpremul(v, a uint32) uint8 {
	return uint8(min(v*0xffff/a, 0xffff) >> 8)
}
