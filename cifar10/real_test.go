package cifar10

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// realArchive is the offline copy of the real data set (see its README.md).
const realArchive = "/work/shared/data/cifar10/cifar-10-binary.tar.gz"

// TestLoadReal loads the real archive, times it and checks the values its
// README lists.
func TestLoadReal(t *testing.T) {
	if _, err := os.Stat(realArchive); err != nil {
		t.Skipf("real CIFAR-10 archive not available (%v); skipping", err)
	}
	if testing.Short() {
		t.Skip("-short: skipping the 170 MB real archive (slow under -race)")
	}
	var warnings []string
	start := time.Now()
	d, err := Load(Options{Source: realArchive, Warn: func(s string) { warnings = append(warnings, s) }})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Timing is reported, not asserted: the load time is a benchmark figure.
	t.Logf("Load(%s) took %v", realArchive, took)
	if len(warnings) != 1 || !strings.Contains(warnings[0], "not the official") {
		t.Errorf("warnings = %q, want one about the non-official checksum", warnings)
	}
	if d.Train.N != TrainRecords || d.Test.N != TestRecords {
		t.Fatalf("got %d train, %d test records, want %d, %d", d.Train.N, d.Test.N, TrainRecords, TestRecords)
	}
	if got, want := strings.Join(d.Classes, ","), strings.Join(ClassNames(), ","); got != want {
		t.Errorf("classes %s, want %s", got, want)
	}
	if l := d.Train.Label(0); l != 6 {
		t.Errorf("first training label %d, want 6 (frog)", l)
	}
	checkPrefix(t, "first training red plane", d.Train.Image(0), []byte{59, 43, 50})
	if l := d.Test.Label(0); l != 3 {
		t.Errorf("first test label %d, want 3 (cat)", l)
	}
	checkPrefix(t, "first test red plane", d.Test.Image(0), []byte{158, 159, 165, 166, 160, 156, 162, 159, 158})

	var counts [NumClasses]int
	var sum, sq [3]float64
	const plane = ImageSide * ImageSide
	for i := range d.Train.N {
		counts[d.Train.Label(i)]++
		img := d.Train.Image(i)
		for c := range 3 {
			var s, q uint64
			for _, v := range img[c*plane : (c+1)*plane] {
				s += uint64(v)
				q += uint64(v) * uint64(v)
			}
			sum[c] += float64(s)
			sq[c] += float64(q)
		}
	}
	for c, n := range counts {
		if n != 5000 {
			t.Errorf("class %d has %d training records, want 5000", c, n)
		}
	}
	n := float64(d.Train.N * plane)
	wantMean := [3]float64{0.4914, 0.4822, 0.4465}
	wantStd := [3]float64{0.2470, 0.2435, 0.2616}
	for c := range 3 {
		mean := sum[c] / n / 255
		std := math.Sqrt(sq[c]/n/255/255 - mean*mean)
		if math.Abs(mean-wantMean[c]) > 0.00006 || math.Abs(std-wantStd[c]) > 0.00006 {
			t.Errorf("channel %d mean %.5f std %.5f, want %.4f, %.4f", c, mean, std, wantMean[c], wantStd[c])
		}
	}
}

func checkPrefix(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(got) < len(want) || string(got[:len(want)]) != string(want) {
		t.Errorf("%s starts %v, want %v", what, got[:min(len(got), len(want))], want)
	}
}
