package window

const (
	// historyCap bounds the loss curve's points (and its device buffer).
	historyCap = 1024
	// pointImages is how many images a point of the loss curve averages at
	// least (an epoch's last point may have fewer): single batches' losses
	// are too noisy to read a trend from.
	pointImages = 512
)

// history is the loss curve: each point the mean loss over the images
// trained since the previous one. When full, neighbouring points are
// averaged in pairs, so the curve always spans the whole run in a fixed
// buffer.
type history struct {
	points []float32
	// The epoch's running figures at the last report, and at the last point.
	images, pointImages int
	sum, pointSum       float64
}

// add takes a progress report (images trained so far this epoch of total,
// and their mean loss) and returns whether a point was added, and the
// points to upload from index from on (all of them after halving).
func (h *history) add(images, total int, meanLoss float64) (from int, added bool) {
	if images < h.images { // a new epoch restarts the running figures
		h.images, h.sum, h.pointImages, h.pointSum = 0, 0, 0, 0
	}
	h.images, h.sum = images, meanLoss*float64(images)
	n := h.images - h.pointImages
	if n <= 0 || (n < pointImages && images < total) {
		return 0, false
	}
	v := float32((h.sum - h.pointSum) / float64(n))
	h.pointImages, h.pointSum = h.images, h.sum
	if len(h.points) == historyCap {
		for i := range historyCap / 2 {
			h.points[i] = (h.points[2*i] + h.points[2*i+1]) / 2
		}
		h.points = append(h.points[:historyCap/2], v)
		return 0, true
	}
	h.points = append(h.points, v)
	return len(h.points) - 1, true
}

// top is the value drawn at the top of the curve's panel: a little above
// the highest point.
func (h *history) top() float32 {
	var m float32
	for _, v := range h.points {
		if v > m { // skips NaN, which max would return
			m = v
		}
	}
	if m <= 0 {
		return 1
	}
	return m * 1.1
}
