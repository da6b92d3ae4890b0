package metrics

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
)

func TestPlotWritesPNG(t *testing.T) {
	diverged := append(sampleEpochs(), Epoch{Epoch: 4, TrainLoss: math.NaN(), TrainAccuracy: 10, TestAccuracy: 10})
	var many []Epoch
	for i := 1; i <= 60; i++ {
		many = append(many, Epoch{Epoch: i, TrainLoss: 2 / float64(i), TrainAccuracy: 90 - 50/float64(i), TestAccuracy: 80 - 40/float64(i)})
	}
	tests := []struct {
		name   string
		epochs []Epoch
	}{
		{"one epoch", sampleEpochs()[:1]},
		{"three epochs", sampleEpochs()},
		{"NaN loss", diverged},
		{"all losses NaN", []Epoch{{Epoch: 1, TrainLoss: math.NaN(), TrainAccuracy: 9, TestAccuracy: 10}}},
		{"sixty epochs", many},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "metrics.png")
			if err := Plot(tc.epochs, path); err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, path)
			if b := img.Bounds(); b.Dx() != PlotWidth || b.Dy() != PlotHeight {
				t.Errorf("plot is %dx%d, want %dx%d", b.Dx(), b.Dy(), PlotWidth, PlotHeight)
			}
			// Both halves must hold a drawing, not just background.
			for _, half := range []image.Rectangle{
				image.Rect(0, 0, PlotWidth/2, PlotHeight),
				image.Rect(PlotWidth/2, 0, PlotWidth, PlotHeight),
			} {
				if n := darkPixels(img, half); n < 500 {
					t.Errorf("panel %v has %d dark pixels, want a plot", half, n)
				}
			}
			dirtest.Only(t, dir, "metrics.png")
		})
	}
}

func TestPlotErrors(t *testing.T) {
	tests := []struct {
		name    string
		epochs  []Epoch
		path    func(dir string) string
		wantErr string
	}{
		{"no epochs", nil, func(dir string) string { return filepath.Join(dir, "m.png") }, "no epochs to plot"},
		{"missing directory", sampleEpochs(), func(dir string) string { return filepath.Join(dir, "no", "m.png") }, "create a temporary file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Plot(tc.epochs, tc.path(dir))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Plot error = %v, want one containing %q", err, tc.wantErr)
			}
			dirtest.Only(t, dir)
		})
	}
}

func TestIntegerTicks(t *testing.T) {
	tests := []struct{ lo, hi float64 }{{0, 2}, {1, 3}, {0.5, 4.5}, {1, 60}, {1, 1000}}
	for _, tc := range tests {
		labelled := 0
		for _, tk := range (integerTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label == "" {
				continue
			}
			labelled++
			if tk.Value != math.Trunc(tk.Value) {
				t.Errorf("range [%v,%v]: labelled tick at %v, want whole epochs only", tc.lo, tc.hi, tk.Value)
			}
		}
		if labelled < 2 {
			t.Errorf("range [%v,%v]: %d labelled ticks, want at least 2", tc.lo, tc.hi, labelled)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a valid PNG: %v", path, err)
	}
	return img
}

func darkPixels(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c, _, _, _ := img.At(x, y).RGBA(); c < 0x8000 {
				n++
			}
		}
	}
	return n
}
