// Package dataset reads image-classification data sets in the formats people
// already have, into one layout that the trainer uploads as is.
//
// Load takes what --data points at (a file, a directory, a URL, or the name
// of a data set to download) and returns a Dataset whose splits hold
// records of RecordSize bytes: one label byte, then the image's
// Channels*Height*Width pixel bytes, channel-major (each channel a row-major
// plane), as in CIFAR-10's binary format, so CIFAR-10 records are unchanged.
// One reader per format, each in its own file:
//
//   - CIFAR-10, binary (cifar-10-binary.tar.gz, cifar-10-batches-bin/): read by
//     package cifar10;
//   - CIFAR-10, Python (cifar-10-python.tar.gz, cifar-10-batches-py/, as
//     torchvision keeps it): pickles read without Python (pickle.go);
//   - CIFAR-100, binary and Python, with fine (100) or coarse (20) labels;
//   - MNIST and Fashion-MNIST: the four IDX files, gzip-compressed or not;
//   - an image folder in torchvision's ImageFolder layout
//     (ROOT/train/CLASS/*.png, ROOT/test/CLASS/*), converted once to
//     ImageSize x ImageSize RGB and cached.
//
// The names cifar10, cifar100, mnist and fashion-mnist download the official
// files into the cache (see Options) with package cifar10's download code:
// checksums, progress, atomic renames.
package dataset

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/cifar10"
)

// Names of the data sets Load knows: Dataset.Name, Options.Format, and the
// names Options.Source downloads.
const (
	// CIFAR10 is CIFAR-10: 3x32x32, 10 classes.
	CIFAR10 = "cifar10"
	// CIFAR100 is CIFAR-100: 3x32x32, 100 fine or 20 coarse classes.
	CIFAR100 = "cifar100"
	// MNIST is MNIST's handwritten digits: 1x28x28, 10 classes.
	MNIST = "mnist"
	// FashionMNIST is Zalando's Fashion-MNIST: 1x28x28, 10 classes.
	FashionMNIST = "fashion-mnist"
	// ImageFolder is a folder of images in torchvision's ImageFolder layout.
	ImageFolder = "imagefolder"
)

// Formats returns the data set names Options.Format accepts, in the order
// of the package documentation (a fresh slice each call).
func Formats() []string {
	return []string{CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageFolder}
}

// MaxClasses is the most classes a data set may have: a label is one byte.
const MaxClasses = 256

// Dataset is a data set in memory: two splits of records, the class names and
// the image shape.
type Dataset struct {
	// Name says which data set this is: one of the constants above.
	Name string
	// Source is the file or directory the data was read from (after any
	// download).
	Source string
	// Train is the training split.
	Train Split
	// Test is the test split.
	Test Split
	// Classes names the labels: Classes[label].
	Classes []string
	// Channels, Height and Width are the shape of every image (Channels is
	// 3 for RGB, 1 for grey).
	Channels, Height, Width int
	// Mean and Std are the per-channel mean and standard deviation of the
	// training pixels scaled to [0,1], for input normalization: the
	// published figures for the known data sets, computed from the training
	// images for an image folder.
	Mean, Std []float64
}

// RecordSize returns the size in bytes of one record: the label byte, then
// ImageSize pixel bytes.
func (d *Dataset) RecordSize() int { return 1 + d.ImageSize() }

// ImageSize returns the number of pixel bytes of one image.
func (d *Dataset) ImageSize() int { return d.Channels * d.Height * d.Width }

// Check reports the first way d is not well formed: a shape that is not
// positive, a split whose size is not N records of RecordSize bytes, a
// label without a class name, no or more than MaxClasses classes, or
// normalization figures that are not one per channel. Every Dataset that
// Load returns passes it.
func (d *Dataset) Check() error {
	if d.Channels <= 0 || d.Height <= 0 || d.Width <= 0 {
		return fmt.Errorf("image shape %dx%dx%d is not positive", d.Channels, d.Height, d.Width)
	}
	if len(d.Classes) == 0 || len(d.Classes) > MaxClasses {
		return fmt.Errorf("%d classes, want 1-%d", len(d.Classes), MaxClasses)
	}
	if len(d.Mean) != d.Channels || len(d.Std) != d.Channels {
		return fmt.Errorf("%d means and %d standard deviations for %d channels", len(d.Mean), len(d.Std), d.Channels)
	}
	for c := range d.Channels {
		if !(d.Std[c] > 0) || math.IsInf(d.Std[c], 0) || math.IsNaN(d.Mean[c]) || math.IsInf(d.Mean[c], 0) {
			return fmt.Errorf("channel %d: mean %v, standard deviation %v", c, d.Mean[c], d.Std[c])
		}
	}
	for _, s := range []struct {
		name string
		sp   Split
	}{{"training", d.Train}, {"test", d.Test}} {
		if s.sp.RecordSize != d.RecordSize() {
			return fmt.Errorf("%s split has %d-byte records, want %d", s.name, s.sp.RecordSize, d.RecordSize())
		}
		if s.sp.N < 0 || len(s.sp.Records) != s.sp.N*s.sp.RecordSize {
			return fmt.Errorf("%s split has %d bytes for %d records of %d bytes", s.name, len(s.sp.Records), s.sp.N, s.sp.RecordSize)
		}
		for i := range s.sp.N {
			if l := s.sp.Label(i); l >= len(d.Classes) {
				return fmt.Errorf("%s record %d has label %d, but there are %d classes", s.name, i, l, len(d.Classes))
			}
		}
	}
	return nil
}

// Split is a list of records stored back to back.
type Split struct {
	// Records holds N records of RecordSize bytes, each the label byte
	// followed by the image's channel planes.
	Records []byte
	// N is the number of records.
	N int
	// RecordSize is the size of one record in bytes (1 + C*H*W).
	RecordSize int
}

// Label returns the label of record i.
func (s Split) Label(i int) int {
	s.check(i)
	return int(s.Records[i*s.RecordSize])
}

// Image returns the pixel bytes of record i (its channel planes). It
// aliases Records.
func (s Split) Image(i int) []byte {
	s.check(i)
	o := i*s.RecordSize + 1
	e := (i + 1) * s.RecordSize
	return s.Records[o:e:e]
}

// Record returns the RecordSize bytes of record i, label first. It aliases
// Records.
func (s Split) Record(i int) []byte {
	s.check(i)
	o, e := i*s.RecordSize, (i+1)*s.RecordSize
	return s.Records[o:e:e]
}

// Limit returns the split of the first n records (sharing s.Records). A
// negative n, or one at least s.N, returns s unchanged.
func (s Split) Limit(n int) Split {
	if n < 0 || n >= s.N {
		return s
	}
	return Split{Records: s.Records[: n*s.RecordSize : n*s.RecordSize], N: n, RecordSize: s.RecordSize}
}

func (s Split) check(i int) {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("dataset: record %d out of range [0, %d)", i, s.N))
	}
}

// Published per-channel means and standard deviations (pixels in [0,1],
// training split), as the PyTorch examples of each data set use them.
var (
	cifar10Mean      = []float64{0.4914, 0.4822, 0.4465}
	cifar10Std       = []float64{0.2470, 0.2435, 0.2616}
	cifar100Mean     = []float64{0.5071, 0.4865, 0.4409}
	cifar100Std      = []float64{0.2673, 0.2564, 0.2762}
	mnistMean        = []float64{0.1307}
	mnistStd         = []float64{0.3081}
	fashionMNISTMean = []float64{0.2860}
	fashionMNISTStd  = []float64{0.3530}
)

// defaultStats returns fresh copies of the published figures of a known data
// set; ok is false for an image folder, whose figures are computed.
func defaultStats(name string) (mean, std []float64, ok bool) {
	var m, s []float64
	switch name {
	case CIFAR10:
		m, s = cifar10Mean, cifar10Std
	case CIFAR100:
		m, s = cifar100Mean, cifar100Std
	case MNIST:
		m, s = mnistMean, mnistStd
	case FashionMNIST:
		m, s = fashionMNISTMean, fashionMNISTStd
	default:
		return nil, nil, false
	}
	return append([]float64(nil), m...), append([]float64(nil), s...), true
}

// ChannelStats computes the per-channel mean and (population) standard
// deviation of the pixels of s scaled to [0,1], for images of the given
// number of channels. Sums are exact integers, so the result does not depend
// on the order of the records. An empty split gives mean 0, std 1.
func ChannelStats(s Split, channels int) (mean, std []float64) {
	mean, std = make([]float64, channels), make([]float64, channels)
	if s.N == 0 || channels <= 0 {
		for c := range std {
			std[c] = 1
		}
		return mean, std
	}
	plane := (s.RecordSize - 1) / channels
	sum, sq := make([]uint64, channels), make([]uint64, channels)
	var hist [256]uint64
	for c := range channels {
		hist = [256]uint64{}
		for i := range s.N {
			o := i*s.RecordSize + 1 + c*plane
			for _, v := range s.Records[o : o+plane] {
				hist[v]++
			}
		}
		for v, n := range hist {
			sum[c] += n * uint64(v)
			sq[c] += n * uint64(v) * uint64(v)
		}
	}
	n := float64(s.N) * float64(plane)
	for c := range channels {
		m := float64(sum[c]) / n / 255
		v := float64(sq[c])/n/(255*255) - m*m
		mean[c], std[c] = m, math.Sqrt(max(v, 0))
		if std[c] == 0 {
			// A constant channel: 1 keeps normalization finite.
			std[c] = 1
		}
	}
	return mean, std
}

// FromCIFAR10 returns the data set of package cifar10's d, sharing its
// records, with CIFAR-10's shape and published normalization figures.
func FromCIFAR10(d *cifar10.Dataset) *Dataset {
	mean, std, _ := defaultStats(CIFAR10)
	sp := func(s cifar10.Split) Split {
		return Split{Records: s.Records, N: s.N, RecordSize: cifar10.RecordSize}
	}
	classes := d.Classes
	if len(classes) == 0 {
		classes = cifar10.ClassNames()
	}
	return &Dataset{
		Name: CIFAR10, Train: sp(d.Train), Test: sp(d.Test), Classes: append([]string(nil), classes...),
		Channels: 3, Height: cifar10.ImageSide, Width: cifar10.ImageSide, Mean: mean, Std: std,
	}
}

// CIFAR10 returns d as package cifar10's Dataset (sharing its records) when d
// has CIFAR-10's layout: 3x32x32 images and at most 10 classes. ok is false
// otherwise.
func (d *Dataset) CIFAR10() (c *cifar10.Dataset, ok bool) {
	if d.Channels != 3 || d.Height != cifar10.ImageSide || d.Width != cifar10.ImageSide || len(d.Classes) > cifar10.NumClasses {
		return nil, false
	}
	return &cifar10.Dataset{
		Train:   cifar10.Split{Records: d.Train.Records, N: d.Train.N},
		Test:    cifar10.Split{Records: d.Test.Records, N: d.Test.N},
		Classes: append([]string(nil), d.Classes...),
	}, true
}
