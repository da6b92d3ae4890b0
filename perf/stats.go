package perf

import (
	"math"
	"slices"
)

// Stats summarizes repeated timings, in seconds.
type Stats struct {
	Runs             int
	Median, Min, Max float64
	// Q1 and Q3 are the first and third quartiles: Q3-Q1 is the
	// interquartile range, a spread that one outlier does not move.
	Q1, Q3 float64
}

// Summarize returns the statistics of samples (any order; at least one).
// Quartiles interpolate linearly between order statistics, as numpy's
// default percentile does.
func Summarize(samples []float64) Stats {
	if len(samples) == 0 {
		return Stats{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Stats{
		Runs:   len(s),
		Median: quantile(s, 0.5),
		Min:    s[0],
		Max:    s[len(s)-1],
		Q1:     quantile(s, 0.25),
		Q3:     quantile(s, 0.75),
	}
}

// quantile of sorted s, interpolating between the two nearest ranks.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Rate is work per second at the median time: GFLOP/s from FLOPs, GB/s from
// bytes (both with 1e9 units). It is 0 when there is no time to divide by.
func (s Stats) Rate(work float64) float64 {
	if !(s.Median > 0) {
		return 0
	}
	return work / s.Median / 1e9
}
