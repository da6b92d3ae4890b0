package layers

import (
	"math"
	"testing"
)

// TestAirbenchSchedule checks the learning-rate factor at the steps that
// define it for airbench94's 476 steps: 0.2 at step 0, 1 at the end of the
// warm-up (int(0.23·476) = 109), 0.07 at the run's end, linear between.
func TestAirbenchSchedule(t *testing.T) {
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0.2}, {109, 1}, {476, 0.07},
		{54, 0.2 + 0.8*54.0/109}, {292, 1 - 0.93*183.0/367},
	} {
		if got := AirbenchSchedule(tc.step, 476); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("step %d: factor %v, want %v", tc.step, got, tc.want)
		}
	}
}

// TestAirbenchDecay: 0.95⁵·(step/total)³.
func TestAirbenchDecay(t *testing.T) {
	for _, tc := range []struct {
		step, total int
		want        float64
	}{{0, 476, 0}, {476, 476, 0.7737809375}, {238, 476, 0.7737809375 / 8}} {
		if got := AirbenchDecay(tc.step, tc.total); math.Abs(got-tc.want) > 1e-10 {
			t.Errorf("decay(%d, %d) = %v, want %v", tc.step, tc.total, got, tc.want)
		}
	}
}

// TestTotalSteps: fractional epochs round up to a whole step, and dropping
// the last batch changes the steps per epoch.
func TestTotalSteps(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		n    int
		want int
	}{
		{Config{BatchSize: 1024, DropLast: true, Epochs: 9.9}, 50000, 476},
		{Config{BatchSize: 1024, Epochs: 9.9}, 50000, 486},
		{Config{BatchSize: 32, Epochs: 10}, 50000, 15630},
		{Config{BatchSize: 10, Epochs: 0.5}, 100, 5},
	} {
		if got := tc.c.TotalSteps(tc.n); got != tc.want {
			t.Errorf("%+v on %d images: %d steps, want %d", tc.c, tc.n, got, tc.want)
		}
	}
}
