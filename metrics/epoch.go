// Package metrics records what each training epoch achieved as JSON lines
// (metrics.jsonl, one object per epoch, easy to read from pandas or jq) and
// draws the learning curves from them.
package metrics

import (
	"encoding/json"
	"math"
)

// Epoch is one line of metrics.jsonl. Accuracies are percentages (0 to 100),
// the unit the PyTorch CIFAR-10 tutorial prints, so the numbers compare
// directly.
type Epoch struct {
	Epoch           int     `json:"epoch"`             // 1 for the first epoch
	TrainLoss       float64 `json:"train_loss"`        // mean cross-entropy over the epoch's batches
	TrainAccuracy   float64 `json:"train_accuracy"`    // percent of training images classified right
	TestAccuracy    float64 `json:"test_accuracy"`     // percent of the 10000 test images classified right
	Seconds         float64 `json:"seconds"`           // wall time of the epoch
	ImagesPerSecond float64 `json:"images_per_second"` // training throughput
	LR              float64 `json:"lr"`                // learning rate at the epoch's end (base parameter group)
}

// wireEpoch is Epoch on disk. Its floats write NaN and ±Inf as null, because
// JSON has no such numbers and a diverged run (loss NaN) must still be
// recorded rather than fail to log.
type wireEpoch struct {
	Epoch           int       `json:"epoch"`
	TrainLoss       jsonFloat `json:"train_loss"`
	TrainAccuracy   jsonFloat `json:"train_accuracy"`
	TestAccuracy    jsonFloat `json:"test_accuracy"`
	Seconds         jsonFloat `json:"seconds"`
	ImagesPerSecond jsonFloat `json:"images_per_second"`
	LR              jsonFloat `json:"lr"`
}

// MarshalJSON writes e with non-finite values as null.
func (e Epoch) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireEpoch{
		Epoch:           e.Epoch,
		TrainLoss:       jsonFloat(e.TrainLoss),
		TrainAccuracy:   jsonFloat(e.TrainAccuracy),
		TestAccuracy:    jsonFloat(e.TestAccuracy),
		Seconds:         jsonFloat(e.Seconds),
		ImagesPerSecond: jsonFloat(e.ImagesPerSecond),
		LR:              jsonFloat(e.LR),
	})
}

// UnmarshalJSON reads e, taking null as NaN (a value that was not finite).
func (e *Epoch) UnmarshalJSON(data []byte) error {
	var w wireEpoch
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*e = Epoch{
		Epoch:           w.Epoch,
		TrainLoss:       float64(w.TrainLoss),
		TrainAccuracy:   float64(w.TrainAccuracy),
		TestAccuracy:    float64(w.TestAccuracy),
		Seconds:         float64(w.Seconds),
		ImagesPerSecond: float64(w.ImagesPerSecond),
		LR:              float64(w.LR),
	}
	return nil
}

// jsonFloat is a float64 that survives JSON when it is not finite.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *jsonFloat) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(data, (*float64)(f))
}
