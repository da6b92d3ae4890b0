package window

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestLayoutFits(t *testing.T) {
	for _, c := range []struct {
		w, h, images, side, filters, k int
		minScale                       int
	}{
		{800, 450, 32, 32, 32, 3, 2},
		{560, 320, 16, 32, 6, 3, 2},
		{800, 450, 1024, 32, 64, 3, 1}, // airbench's batch: only what fits
		{320, 200, 8, 28, 24, 2, 1},
		{1920, 1080, 128, 32, 64, 5, 2},
	} {
		l := NewLayout(c.w, c.h, c.images, c.side, c.filters, c.k)
		frame := image.Rect(0, 0, c.w, c.h)
		batch, filters := l.Batch.bounds(), l.Filters.bounds()
		for name, r := range map[string]image.Rectangle{"batch": batch, "filters": filters, "loss": l.Loss} {
			if !r.In(frame) || r.Empty() {
				t.Errorf("%+v: %s panel %v is empty or outside %v", c, name, r, frame)
			}
		}
		if batch.Overlaps(filters) || batch.Overlaps(l.Loss) || filters.Overlaps(l.Loss) {
			t.Errorf("%+v: panels overlap: %v %v %v", c, batch, filters, l.Loss)
		}
		if l.Batch.Count == 0 || l.Batch.Count > c.images || l.Batch.Scale < c.minScale {
			t.Errorf("%+v: batch shows %d of %d images at scale %d", c, l.Batch.Count, c.images, l.Batch.Scale)
		}
		if l.Batch.Count < c.images && l.Batch.Scale != 1 {
			t.Errorf("%+v: %d of %d images shown at scale %d: a smaller scale fits more", c, l.Batch.Count, c.images, l.Batch.Scale)
		}
		if l.Filters.Count != min(c.filters, l.Filters.Count) || l.Filters.Count == 0 {
			t.Errorf("%+v: %d filters shown", c, l.Filters.Count)
		}
	}
}

// bounds is the rectangle the grid's tiles cover.
func (g Grid) bounds() image.Rectangle {
	if g.Count == 0 {
		return image.Rectangle{}
	}
	pitch := g.Side*g.Scale + gap
	rows := (g.Count + g.Cols - 1) / g.Cols
	return image.Rect(g.X, g.Y, g.X+g.Cols*pitch-gap, g.Y+rows*pitch-gap)
}

func TestPushMatchesShader(t *testing.T) {
	p := Picture{Layout: NewLayout(100, 80, 4, 32, 2, 3), LossMax: 2.5, Mean: [3]float32{0.5, 0.5, 0.5}}
	b := p.Push(true)
	if len(b) != pushSize || pushSize > 128 {
		t.Fatalf("push block of %d bytes, want %d (at most the 128 every device allows)", len(b), pushSize)
	}
	word := func(i int) uint32 {
		return uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
	}
	// The order of shaders/window.glsl's block.
	if word(0) != 100 || word(1) != 80 || math.Float32frombits(word(22)) != 2.5 || math.Float32frombits(word(23)) != 0.5 || word(29) != 1 {
		t.Errorf("push block %v does not follow the shader's layout", b)
	}
}

// TestRenderShowsTensors checks the reference drawing itself: the batch
// tile is the image with the normalization undone, filters show their
// weights' signs about grey, and the loss curve falls as the loss does.
func TestRenderShowsTensors(t *testing.T) {
	const n, side, k = 2, 4, 3
	p := Picture{
		Layout: NewLayout(240, 135, n, side, 2, k),
		C:      3, H: side, W: side, FC: 3, FK: k,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25},
	}
	batch := make([]float32, n*3*side*side)
	for i := range side * side {
		batch[i] = 2                // image 0, red: 0.5+2*0.25 = 1
		batch[side*side+i] = -2     // green: 0
		batch[2*side*side+i] = 0    // blue: 0.5
		batch[3*side*side+i] = -0.5 // image 1: all 0.375
		batch[4*side*side+i] = -0.5
		batch[5*side*side+i] = -0.5
	}
	filters := make([]float32, 2*3*k*k)
	filters[0] = 1    // filter 0, red, top left: bright
	filters[k*k] = -1 // green, top left: dark
	filters[1] = 0.5  // red at (1, 0): between
	loss := []float32{2, 1.5, 1, 0.5}
	p.LossCount, p.LossMax = len(loss), 2.2
	img := p.Render(batch, filters, loss)

	at := func(g Grid, tile, x, y int) color.RGBA {
		pitch := g.Side*g.Scale + gap
		col, row := tile%g.Cols, tile/g.Cols
		return img.RGBAAt(g.X+col*pitch+x*g.Scale, g.Y+row*pitch+y*g.Scale)
	}
	if c := at(p.Batch, 0, 1, 1); c != (color.RGBA{255, 0, 128, 255}) {
		t.Errorf("batch image 0 is %v, want red 255, green 0, blue 128", c)
	}
	if c := at(p.Batch, 1, 3, 3); c != (color.RGBA{96, 96, 96, 255}) {
		t.Errorf("batch image 1 is %v, want grey 96", c)
	}
	if c := at(p.Filters, 0, 0, 0); c != (color.RGBA{255, 0, 128, 255}) {
		t.Errorf("filter 0 at (0,0) is %v, want 255, 0, 128", c)
	}
	if c := at(p.Filters, 0, 1, 0); c != (color.RGBA{191, 128, 128, 255}) {
		t.Errorf("filter 0 at (1,0) is %v, want 191, 128, 128", c)
	}
	if c := at(p.Filters, 1, 2, 2); c != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("the zero filter is %v, want grey", c)
	}
	// The curve is higher (a smaller row) on the left than on the right.
	rowOf := func(x int) int {
		for y := p.Loss.Min.Y; y < p.Loss.Max.Y; y++ {
			if img.RGBAAt(x, y) == (color.RGBA{255, 170, 40, 255}) {
				return y
			}
		}
		return -1
	}
	left, right := rowOf(p.Loss.Min.X+inset+1), rowOf(p.Loss.Max.X-inset-2)
	if left < 0 || right < 0 || left >= right {
		t.Errorf("loss curve at rows %d (left) and %d (right): want a falling curve", left, right)
	}
}

func TestHistory(t *testing.T) {
	var h history
	const total = 10 * pointImages
	// Epoch 0: a point after pointImages images at mean 2, then none until
	// pointImages more, which bring the mean to 1.5.
	if _, ok := h.add(pointImages/2, total, 2); ok {
		t.Fatal("a point from fewer than pointImages images")
	}
	if from, ok := h.add(pointImages, total, 2); !ok || from != 0 {
		t.Fatalf("a point after pointImages images: from %d, added %v", from, ok)
	}
	h.add(2*pointImages, total, 1.5)
	h.add(2*pointImages, total, 1.5)               // a repeated count: nothing new
	h.add(2*pointImages+10, 2*pointImages+10, 1.5) // the epoch's end: a short point
	h.add(pointImages, total, 0.5)                 // epoch 1 starts again from zero
	if want := []float32{2, 1, 1.5, 0.5}; len(h.points) != 4 || h.points[0] != want[0] || h.points[1] != want[1] || h.points[2] != want[2] || h.points[3] != want[3] {
		t.Fatalf("points %v, want %v", h.points, want)
	}
	for i := 2; len(h.points) < historyCap; i++ {
		h.add(i*pointImages, historyCap*pointImages, 0.5)
	}
	from, _ := h.add(historyCap*pointImages, historyCap*pointImages, 0.5)
	if from != 0 || len(h.points) != historyCap/2+1 || h.points[0] != 1.5 || h.points[1] != 1 {
		t.Fatalf("a full history halves: from %d, %d points, first %v", from, len(h.points), h.points[0])
	}
	if top := h.top(); math.Abs(float64(top)-1.65) > 1e-6 {
		t.Errorf("top %v, want %v", top, 1.5*1.1)
	}
}
