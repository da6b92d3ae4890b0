package window

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
)

// The picture's geometry, in pixels; shaders/window.glsl has the same.
const (
	gap    = 2 // between tiles
	inset  = 4 // the loss curve's margin inside its panel
	margin = 8 // around and between the panels
)

// Colors of the picture, as the shader has them.
var (
	background = [3]float32{24.0 / 255, 24.0 / 255, 28.0 / 255}
	panel      = [3]float32{40.0 / 255, 40.0 / 255, 48.0 / 255}
	curve      = [3]float32{255.0 / 255, 170.0 / 255, 40.0 / 255}
)

// Grid places Count square tiles of Side·Scale pixels, Cols to a row, gap
// pixels apart, from (X, Y).
type Grid struct {
	X, Y  int
	Cols  int
	Count int // tiles shown (a large batch shows only what fits)
	Scale int // pixels per source pixel
	Side  int // a tile's side in source pixels
}

// tile finds pixel (px, py) in g: the tile's index and the source pixel.
func (g Grid) tile(px, py int) (i, ax, ay int, ok bool) {
	if px < g.X || py < g.Y || g.Cols == 0 || g.Scale == 0 {
		return 0, 0, 0, false
	}
	pitch := g.Side*g.Scale + gap
	rx, ry := px-g.X, py-g.Y
	col, row := rx/pitch, ry/pitch
	tx, ty := rx%pitch, ry%pitch
	i = row*g.Cols + col
	return i, tx / g.Scale, ty / g.Scale, col < g.Cols && tx < g.Side*g.Scale && ty < g.Side*g.Scale && i < g.Count
}

// fit is the grid of up to count tiles of side source pixels that fits a
// w x h area at the largest scale up to maxScale; at scale 1 it shows as
// many as fit.
func fit(x, y, w, h, count, side, maxScale int) Grid {
	g := Grid{X: x, Y: y, Side: side, Scale: 1}
	if count <= 0 || side <= 0 {
		return g
	}
	for s := maxScale; s >= 1; s-- {
		pitch := side*s + gap
		cols, rows := (w+gap)/pitch, (h+gap)/pitch
		if cols*rows >= count || s == 1 {
			g.Scale, g.Cols = s, min(cols, count)
			g.Count = min(count, cols*rows)
			return g
		}
	}
	return g
}

// Layout is where the picture's three panels go.
type Layout struct {
	Width, Height int
	Batch         Grid // the current batch, left
	Filters       Grid // the first convolution's filters, top right
	Loss          image.Rectangle
}

// NewLayout lays out a width x height picture of images tiles of imageSide
// pixels and filters tiles of filterSide weights.
func NewLayout(width, height, images, imageSide, filters, filterSide int) Layout {
	l := Layout{Width: width, Height: height}
	left := (width - 3*margin) * 3 / 5
	right := width - 3*margin - left
	half := (height - 3*margin) / 2
	l.Batch = fit(margin, margin, left, height-2*margin, images, imageSide, 4)
	l.Filters = fit(2*margin+left, margin, right, half, filters, filterSide, max(1, 48/max(filterSide, 1)))
	l.Loss = image.Rect(2*margin+left, 2*margin+half, width-margin, height-margin)
	return l
}

// Picture is one frame's drawing: the layout and what the tensors hold
// besides their values.
type Picture struct {
	Layout
	// The batch [N,C,H,W] and the gather's normalization, which the
	// picture undoes (Std[0] == 0: none).
	C, H, W   int
	Mean, Std [3]float32
	// The filters [K,FC,FK,FK].
	FC, FK int
	// LossCount points of the loss history are drawn, LossMax at the top.
	LossCount int
	LossMax   float32
}

// Push is the shader's push-constant block for p; swap asks it to write
// blue in red's place.
func (p Picture) Push(swap bool) []byte {
	u := func(v int) uint32 { return uint32(max(v, 0)) }
	words := []uint32{
		u(p.Width), u(p.Height),
		u(p.Batch.X), u(p.Batch.Y), u(p.Batch.Cols), u(p.Batch.Count), u(p.Batch.Scale), u(p.C), u(p.H), u(p.W),
		u(p.Filters.X), u(p.Filters.Y), u(p.Filters.Cols), u(p.Filters.Count), u(p.Filters.Scale), u(p.FC), u(p.FK),
		u(p.Loss.Min.X), u(p.Loss.Min.Y), u(p.Loss.Dx()), u(p.Loss.Dy()), u(p.LossCount), math.Float32bits(p.LossMax),
		math.Float32bits(p.Mean[0]), math.Float32bits(p.Mean[1]), math.Float32bits(p.Mean[2]),
		math.Float32bits(p.Std[0]), math.Float32bits(p.Std[1]), math.Float32bits(p.Std[2]),
		0,
	}
	if swap {
		words[len(words)-1] = 1
	}
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// pushSize is the size of Push's block.
const pushSize = 30 * 4

// Render draws p from the tensors' values on the host, as the shader draws
// it on the device: the reference the window is tested against.
func (p Picture) Render(batch, filters, loss []float32) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, p.Width, p.Height))
	for py := range p.Height {
		for px := range p.Width {
			c := p.color(px, py, batch, filters, loss)
			img.SetRGBA(px, py, color.RGBA{unorm8(c[0]), unorm8(c[1]), unorm8(c[2]), 255})
		}
	}
	return img
}

// unorm8 converts as a GPU stores a float in an 8-bit UNORM texel.
func unorm8(v float32) uint8 {
	return uint8(math.Floor(float64(min(max(v, 0), 1)*255) + 0.5))
}

func (p Picture) color(px, py int, batch, filters, loss []float32) [3]float32 {
	batchGrid := p.Batch
	batchGrid.Side = max(p.H, p.W)
	if i, ax, ay, ok := batchGrid.tile(px, py); ok {
		if ax < p.W && ay < p.H {
			return p.image(batch, i, ax, ay)
		}
		return background
	}
	if j, ax, ay, ok := p.Filters.tile(px, py); ok {
		return p.filter(filters, j, ax, ay)
	}
	if image.Pt(px, py).In(p.Loss) {
		return p.lossPanel(loss, px, py)
	}
	return background
}

func (p Picture) image(x []float32, i, ax, ay int) [3]float32 {
	plane := p.H * p.W
	base := i*p.C*plane + ay*p.W + ax
	var v, mean, std [3]float32
	if p.C >= 3 {
		v = [3]float32{x[base], x[base+plane], x[base+2*plane]}
		mean, std = p.Mean, p.Std
	} else {
		v = [3]float32{x[base], x[base], x[base]}
		mean, std = [3]float32{p.Mean[0], p.Mean[0], p.Mean[0]}, [3]float32{p.Std[0], p.Std[0], p.Std[0]}
	}
	for c := range v {
		if std[0] != 0 {
			v[c] = v[c]*std[c] + mean[c]
		}
		v[c] = min(max(v[c], 0), 1)
	}
	return v
}

func (p Picture) filter(w []float32, j, ax, ay int) [3]float32 {
	size := p.FC * p.FK * p.FK
	base := j * size
	var m float32
	for e := range size {
		m = max(m, float32(math.Abs(float64(w[base+e]))))
	}
	plane := p.FK * p.FK
	off := base + ay*p.FK + ax
	var v [3]float32
	if p.FC == 3 {
		v = [3]float32{w[off], w[off+plane], w[off+2*plane]}
	} else {
		var s float32
		for c := range p.FC {
			s += w[off+c*plane]
		}
		s /= float32(p.FC)
		v = [3]float32{s, s, s}
	}
	if m == 0 {
		return [3]float32{0.5, 0.5, 0.5}
	}
	for c := range v {
		v[c] = min(max(0.5+0.5*v[c]/m, 0), 1)
	}
	return v
}

// lossY is the plot row of the curve at column c.
func (p Picture) lossY(loss []float32, c, plotW, plotH float32) float32 {
	t := min(max(c, 0), plotW-1) / max(plotW-1, 1) * float32(p.LossCount-1)
	a := int(t)
	b := min(a+1, p.LossCount-1)
	f := t - float32(a)
	v := loss[a]*(1-f) + loss[b]*f
	return (plotH - 1) * (1 - min(max(v/p.LossMax, 0), 1))
}

func (p Picture) lossPanel(loss []float32, px, py int) [3]float32 {
	r := p.Loss
	if p.LossCount == 0 || p.LossMax <= 0 || px < r.Min.X+inset || py < r.Min.Y+inset || px >= r.Max.X-inset || py >= r.Max.Y-inset {
		return panel
	}
	plotW, plotH := float32(r.Dx()-2*inset), float32(r.Dy()-2*inset)
	c, row := float32(px-r.Min.X-inset), float32(py-r.Min.Y-inset)
	a, b := p.lossY(loss, c-0.5, plotW, plotH), p.lossY(loss, c+0.5, plotW, plotH)
	if row >= min(a, b)-1 && row <= max(a, b)+1 {
		return curve
	}
	return panel
}
