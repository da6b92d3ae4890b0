package dashboard

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vkcnn/vkcnn/cifar10"
)

// Settings describe a run: what is trained, on what data and device, and
// with which flags. The train command reports them once at its start (and
// again when it resumes the run).
type Settings struct {
	Run         string            `json:"run"`                 // the run's name: its directory's base name
	Command     string            `json:"command,omitempty"`   // the command line that started it
	Arch        string            `json:"arch"`                // the network's name
	ArchText    string            `json:"arch_text,omitempty"` // its model description
	Params      int               `json:"params"`              // trainable parameters
	Device      string            `json:"device"`              // what computes the steps
	Data        string            `json:"data"`                // where the data came from
	TrainImages int               `json:"train_images"`        // images per epoch
	TestImages  int               `json:"test_images"`         // images evaluated after each epoch
	Classes     []string          `json:"classes"`             // class names by label
	Epochs      float64           `json:"epochs"`              // epochs the run will have when it ends (may be fractional)
	FirstEpoch  int               `json:"first_epoch"`         // 0, or the epoch a resumed run goes on from
	BatchSize   int               `json:"batch_size"`          // images per step
	Flags       map[string]string `json:"flags,omitempty"`     // every flag of the command, given or default

	// Image is the shape of the test images, whose records NewHub is
	// given. The zero Shape means CIFAR-10's 3x32x32, the only shape runs
	// recorded before this field had.
	Image Shape `json:"image"`

	// Gallery is set by the Hub: the labels of the first test images, the
	// ones the page shows with their predictions.
	Gallery []int `json:"gallery_labels,omitempty"`
}

// Shape is the shape of a run's images: Channels planes (3: red, green,
// blue; 1: grey) of Height rows of Width pixels, one byte each.
type Shape struct {
	Channels int `json:"channels"`
	Height   int `json:"height"`
	Width    int `json:"width"`
}

// cifarShape is CIFAR-10's image shape, the shape of every run recorded
// before the settings said.
var cifarShape = Shape{Channels: 3, Height: cifar10.ImageSide, Width: cifar10.ImageSide}

// maxSide bounds each of a shape's sizes, far above any real image's, so
// that a shape read from a file cannot overflow a record's size.
const maxSide = 1 << 16

// String is the shape as people write it: channels x height x width, as
// in 1x28x28.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.Channels, s.Height, s.Width) }

// orCIFAR is s, or CIFAR-10's shape for the zero Shape (not recorded).
func (s Shape) orCIFAR() Shape {
	if s == (Shape{}) {
		return cifarShape
	}
	return s
}

// check refuses a shape with a size out of 1 to maxSide.
func (s Shape) check() error {
	for _, n := range []int{s.Channels, s.Height, s.Width} {
		if n < 1 || n > maxSide {
			return fmt.Errorf("image shape %v: want sizes of 1 to %d", s, maxSide)
		}
	}
	return nil
}

// recordSize is the bytes of one record of an image of this shape: the
// label byte, then the planes.
func (s Shape) recordSize() int { return 1 + s.Channels*s.Height*s.Width }

// Progress is what the trainer reports during an epoch.
type Progress struct {
	Epoch  int     // the epoch, from 0
	Images int     // images trained so far this epoch
	Total  int     // images in the epoch
	Loss   float64 // mean training loss over the epoch's images so far
	LR     float64 // the learning rate in use now
}

// Epoch is what the train command knows after an epoch and its evaluation.
type Epoch struct {
	Epoch           int     // the epoch, from 0
	TrainLoss       float64 // mean training loss over the epoch
	TrainAccuracy   float64 // percent of training images classified right
	TestLoss        float64 // mean loss over the test set
	TestAccuracy    float64 // percent of test images classified right
	Seconds         float64 // the epoch's training time
	ImagesPerSecond float64 // training throughput over the epoch

	// Predictions is each test image's predicted class, in test set order;
	// the Hub turns it into the confusion matrix and the gallery's
	// predictions, so it must cover the whole test set the Hub was given.
	Predictions []uint32
	// Filters are the first layer's weights (nil: none to show).
	Filters *Filters
}

// Filters are a convolution's weights, shown as small images.
type Filters struct {
	Name  string    `json:"name"`  // the parameter, e.g. "conv1.weight"
	Shape []int     `json:"shape"` // [out channels, in channels, height, width]
	Data  []float32 `json:"data"`  // row-major, Shape's product long
}

// Event types, the "type" of each line of dashboard.jsonl.
const (
	typeSettings = "settings"
	typeSample   = "sample"
	typeEpoch    = "epoch"
	typeEnd      = "end"
)

// The wire form of events: one flat JSON object per event with its type and
// time, the same on disk and to the page, so the server forwards lines
// without decoding them.

type settingsEvent struct {
	Type string  `json:"type"`
	T    unixSec `json:"t"`
	Settings
}

type sampleEvent struct {
	Type   string  `json:"type"`
	T      unixSec `json:"t"`
	Epoch  int     `json:"epoch"`
	Images int     `json:"images"`
	Total  int     `json:"total"`
	Loss   num     `json:"loss"` // over the images since the previous sample
	IPS    num     `json:"ips"`  // images per second since the previous sample
	LR     num     `json:"lr"`
}

type epochEvent struct {
	Type            string  `json:"type"`
	T               unixSec `json:"t"`
	Epoch           int     `json:"epoch"`
	TrainLoss       num     `json:"train_loss"`
	TrainAccuracy   num     `json:"train_accuracy"`
	TestLoss        num     `json:"test_loss"`
	TestAccuracy    num     `json:"test_accuracy"`
	Seconds         num     `json:"seconds"`
	ImagesPerSecond num     `json:"images_per_second"`
	// The details: kept for the latest epoch only when a page connects.
	Confusion [][]int  `json:"confusion,omitempty"`
	Gallery   []int    `json:"gallery_predictions,omitempty"` // the gallery's predicted classes
	Filters   *Filters `json:"filters,omitempty"`
}

// detailKeys are epochEvent's heavy fields, dropped from all but the last
// epoch when a page connects.
var detailKeys = []string{"confusion", "gallery_predictions", "filters"}

type endEvent struct {
	Type   string  `json:"type"`
	T      unixSec `json:"t"`
	Status string  `json:"status"` // "finished" or "stopped"
	Epochs int     `json:"epochs"` // epochs done when it ended
}

// num is a float64 that writes NaN and ±Inf as null, because JSON has no
// such numbers and a diverging run must still be shown.
type num float64

func (f num) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, x, 'g', 6, 64), nil
}

// unixSec is a time as seconds since 1970 with millisecond resolution,
// what JavaScript's Date wants after a multiplication.
type unixSec time.Time

func (t unixSec) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() { // not recorded (runs shown from metrics.jsonl)
		return []byte("0"), nil
	}
	return strconv.AppendFloat(nil, float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64), nil
}

// entry is one event of a run's log, encoded once and sent as is.
type entry struct {
	kind  string
	epoch int    // sample and epoch: the epoch; settings: the first epoch
	full  []byte // the JSON object
	light []byte // epoch events: without the details (nil for others)
}

// newEntry encodes an event. Encoding our own types cannot fail but for a
// bug, so it panics then.
func newEntry(kind string, epoch int, v any) entry {
	b, err := json.Marshal(v)
	if err != nil {
		panic("dashboard: encoding a " + kind + " event: " + err.Error())
	}
	return entry{kind: kind, epoch: epoch, full: b}
}

// parseEntry reads one line of dashboard.jsonl. Lines it cannot read are
// skipped by the caller: a dashboard shows what it can.
func parseEntry(line []byte) (entry, bool) {
	var head struct {
		Type       string `json:"type"`
		Epoch      int    `json:"epoch"`
		FirstEpoch int    `json:"first_epoch"`
	}
	if json.Unmarshal(line, &head) != nil || head.Type == "" {
		return entry{}, false
	}
	e := entry{kind: head.Type, epoch: head.Epoch, full: line}
	if head.Type == typeSettings {
		e.epoch = head.FirstEpoch
	}
	if head.Type == typeEpoch {
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) == nil {
			for _, k := range detailKeys {
				delete(m, k)
			}
			e.light, _ = json.Marshal(m)
		}
	}
	return e, true
}
