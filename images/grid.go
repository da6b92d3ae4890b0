package images

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// RecordSize is the size of one CIFAR-10 image as stored in the binary
// batches: a 32x32 R plane, then G, then B.
const RecordSize = 3 * Side * Side

// Grid layout, in output pixels. Images are zoomed to about 96 px (3x for
// CIFAR's 32, MNIST's 28) so they are large enough to recognise, and 96 px
// fits a 13-character label in basicfont's 7 px glyphs, more than
// CIFAR-10's longest class name ("automobile").
const (
	target = 96
	pad    = 6  // between tiles and around the grid
	labelH = 16 // basicfont's 13 px line and a little air
	glyphW = 7  // basicfont.Face7x13 advance
)

// Grid draws CIFAR-10 images (each RecordSize bytes, planar R, G, B) on a
// white background, cols per row, each zoomed 3x with its label centred
// under it, like a labelled training batch. labels may be shorter than imgs;
// images without a label get none, and labels too long for a tile are cut.
// cols below 1 puts every image in one row. Grid panics if an image is not
// RecordSize bytes, because that is a bug in the caller, not bad input.
func Grid(imgs [][]byte, labels []string, cols int) *image.RGBA {
	return GridOf(imgs, 3, Side, Side, labels, cols)
}

// GridOf is Grid for images of c planes of h x w bytes: grey for one
// channel, RGB from the first three of more; two channels show the first
// as grey. Each is zoomed by a whole factor to about 96 px on its longer
// side (at least 1x). It panics if an image is not c*h*w bytes.
func GridOf(imgs [][]byte, c, h, w int, labels []string, cols int) *image.RGBA {
	if c < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("images.GridOf: image shape %dx%dx%d", c, h, w))
	}
	if cols < 1 || cols > len(imgs) {
		cols = max(len(imgs), 1)
	}
	zoom := max(1, target/max(h, w))
	tileW, tileH := w*zoom, h*zoom
	cellW, cellH := tileW+pad, tileH+labelH+pad
	maxChar := max(1, tileW/glyphW)
	rows := (len(imgs) + cols - 1) / cols
	dst := image.NewRGBA(image.Rect(0, 0, pad+cols*cellW, pad+rows*cellH))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)

	face := basicfont.Face7x13
	for i, rec := range imgs {
		if len(rec) != c*h*w {
			panic(fmt.Sprintf("images.Grid: image %d has %d bytes, want %d (%dx%dx%d planar)", i, len(rec), c*h*w, c, h, w))
		}
		x0 := pad + (i%cols)*cellW
		y0 := pad + (i/cols)*cellH
		drawZoomed(dst, rec, c, h, w, zoom, x0, y0)
		if i >= len(labels) {
			continue
		}
		label := labels[i]
		if r := []rune(label); len(r) > maxChar {
			label = string(r[:maxChar])
		}
		d := font.Drawer{Dst: dst, Src: image.Black, Face: face}
		lw := d.MeasureString(label).Round()
		d.Dot = fixed.P(x0+(tileW-lw)/2, y0+tileH+face.Ascent+2)
		d.DrawString(label)
	}
	return dst
}

// drawZoomed paints one planar image as zoom x zoom blocks with its top-left
// corner at (x0, y0); nearest-neighbour keeps the pixels crisp, which is the
// point of looking at small images.
func drawZoomed(dst *image.RGBA, rec []byte, c, h, w, zoom, x0, y0 int) {
	plane := h * w
	for y := range h {
		for x := range w {
			i := y*w + x
			col := color.RGBA{R: rec[i], G: rec[i], B: rec[i], A: 0xff}
			if c >= 3 {
				col.G, col.B = rec[plane+i], rec[2*plane+i]
			}
			block := image.Rect(x0+x*zoom, y0+y*zoom, x0+(x+1)*zoom, y0+(y+1)*zoom)
			draw.Draw(dst, block, &image.Uniform{C: col}, image.Point{}, draw.Src)
		}
	}
}
