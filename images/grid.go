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

// Grid layout, in output pixels. A 3x zoom makes a 32x32 image large enough
// to recognise, and 96 px fits a 13-character label in basicfont's 7 px
// glyphs, more than CIFAR-10's longest class name ("automobile").
const (
	zoom    = 3
	tile    = Side * zoom
	pad     = 6  // between tiles and around the grid
	labelH  = 16 // basicfont's 13 px line and a little air
	cellW   = tile + pad
	cellH   = tile + labelH + pad
	glyphW  = 7 // basicfont.Face7x13 advance
	maxChar = tile / glyphW
)

// Grid draws CIFAR-10 images (each RecordSize bytes, planar R, G, B) on a
// white background, cols per row, each zoomed 3x with its label centred
// under it, like a labelled training batch. labels may be shorter than imgs;
// images without a label get none, and labels too long for a tile are cut.
// cols below 1 puts every image in one row. Grid panics if an image is not
// RecordSize bytes, because that is a bug in the caller, not bad input.
func Grid(imgs [][]byte, labels []string, cols int) *image.RGBA {
	if cols < 1 || cols > len(imgs) {
		cols = max(len(imgs), 1)
	}
	rows := (len(imgs) + cols - 1) / cols
	dst := image.NewRGBA(image.Rect(0, 0, pad+cols*cellW, pad+rows*cellH))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)

	face := basicfont.Face7x13
	for i, rec := range imgs {
		if len(rec) != RecordSize {
			panic(fmt.Sprintf("images.Grid: image %d has %d bytes, want %d (3x32x32 planar RGB)", i, len(rec), RecordSize))
		}
		x0 := pad + (i%cols)*cellW
		y0 := pad + (i/cols)*cellH
		drawZoomed(dst, rec, x0, y0)
		if i >= len(labels) {
			continue
		}
		label := labels[i]
		if r := []rune(label); len(r) > maxChar {
			label = string(r[:maxChar])
		}
		d := font.Drawer{Dst: dst, Src: image.Black, Face: face}
		w := d.MeasureString(label).Round()
		d.Dot = fixed.P(x0+(tile-w)/2, y0+tile+face.Ascent+2)
		d.DrawString(label)
	}
	return dst
}

// drawZoomed paints one planar record as zoom x zoom blocks with its top-left
// corner at (x0, y0); nearest-neighbour keeps the pixels crisp, which is the
// point of looking at 32x32 data.
func drawZoomed(dst *image.RGBA, rec []byte, x0, y0 int) {
	const plane = Side * Side
	for y := range Side {
		for x := range Side {
			i := y*Side + x
			c := color.RGBA{R: rec[i], G: rec[plane+i], B: rec[2*plane+i], A: 0xff}
			block := image.Rect(x0+x*zoom, y0+y*zoom, x0+(x+1)*zoom, y0+(y+1)*zoom)
			draw.Draw(dst, block, &image.Uniform{C: c}, image.Point{}, draw.Src)
		}
	}
}
