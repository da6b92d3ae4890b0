package metrics

import (
	"github.com/vkcnn/vkcnn/internal/atomicfile"

	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The PNG's size in pixels: two panels side by side, each about as wide as
// it is tall, readable on a laptop screen without zooming.
const (
	PlotWidth  = 1200
	PlotHeight = 450
	plotDPI    = 96
)

// Plot draws the learning curves of epochs into a PNG at path, written
// atomically: the training loss on the left, train and test accuracy on the
// right, both against the epoch. Non-finite values (a diverged loss) are left
// out of the lines rather than failing the plot.
func Plot(epochs []Epoch, path string) error {
	if len(epochs) == 0 {
		return errors.New("no epochs to plot: train for at least one epoch first")
	}
	loss, err := linePlot("Training loss", "cross-entropy loss", epochs,
		series{"train loss", func(e Epoch) float64 { return e.TrainLoss }})
	if err != nil {
		return fmt.Errorf("plot the loss: %w", err)
	}
	acc, err := linePlot("Accuracy", "accuracy (%)", epochs,
		series{"train", func(e Epoch) float64 { return e.TrainAccuracy }},
		series{"test", func(e Epoch) float64 { return e.TestAccuracy }})
	if err != nil {
		return fmt.Errorf("plot the accuracy: %w", err)
	}
	// Accuracy usually rises, so its top right is where the lines end.
	acc.Legend.Top = false

	w := vg.Length(PlotWidth) * vg.Inch / plotDPI
	h := vg.Length(PlotHeight) * vg.Inch / plotDPI
	canvas := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(plotDPI))
	tiles := draw.Tiles{
		Rows: 1, Cols: 2,
		PadX: 10 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter,
	}
	// Align gives both panels the same data-area height, so the epochs line up.
	plots := [][]*plot.Plot{{loss, acc}}
	cells := plot.Align(plots, tiles, draw.New(canvas))
	loss.Draw(cells[0][0])
	acc.Draw(cells[0][1])

	return atomicfile.Write(path, func(out io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: canvas}.WriteTo(out)
		return err
	})
}

// series is one line of a panel: its legend name and the field it shows.
type series struct {
	name  string
	value func(Epoch) float64
}

// linePlot builds one panel with a line and markers per series; markers
// keep a single epoch visible, where a line alone would draw nothing.
func linePlot(title, yLabel string, epochs []Epoch, ss ...series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = yLabel
	p.X.Tick.Marker = integerTicks{}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, s := range ss {
		xys := make(plotter.XYs, 0, len(epochs))
		for _, e := range epochs {
			if v := s.value(e); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xys = append(xys, plotter.XY{X: float64(e.Epoch), Y: v})
			}
		}
		if len(xys) == 0 {
			continue // nothing finite to draw; an empty line would still get a legend entry
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", s.name, err)
		}
		c := plotutil.Color(i)
		line.Color = c
		line.Width = vg.Points(1.5)
		points.Color = c
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	return p, nil
}

// integerTicks labels only whole epochs: "epoch 2.5" means nothing.
type integerTicks struct{}

// Ticks keeps the default ticks, unlabelling those between whole epochs,
// and falls back to one tick per epoch when fewer than two labels remain (a
// run of one or two epochs).
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	labelled := 0
	for i := range ticks {
		if ticks[i].Label == "" {
			continue
		}
		if ticks[i].Value != math.Trunc(ticks[i].Value) {
			ticks[i].Label = "" // a minor tick keeps the spacing even
			continue
		}
		labelled++
	}
	// The fallback is bounded: wide ranges always get integer default ticks.
	if labelled >= 2 || hi-lo > 20 {
		return ticks
	}
	ticks = ticks[:0]
	for v := math.Ceil(lo); v <= hi; v++ {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	return ticks
}
