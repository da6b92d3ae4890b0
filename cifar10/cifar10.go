// Package cifar10 gets, verifies and parses the CIFAR-10 data set in its
// official binary layout ("CIFAR-10 binary version", cifar-10-binary.tar.gz).
//
// Load reads the data from a local archive, an extracted cifar-10-batches-bin
// directory, or a URL (downloaded once into a cache directory, checksum
// verified). The archive is read into memory only: nothing is extracted to
// disk. Synthetic makes a small, learnable, generated data set for tests, and
// WriteArchive writes any Dataset in the official .tar.gz layout.
//
// A record is RecordSize bytes: one label byte (0-9), then the 1024 red, 1024
// green and 1024 blue bytes of a 32x32 image, each plane row-major.
package cifar10

import (
	"fmt"
)

// Record layout of CIFAR-10's binary format (the same values as package
// backend's constants of the same names).
const (
	// ImageSide is the width and height of an image in pixels.
	ImageSide = 32
	// ImageSize is the number of bytes of one image: three planes (red,
	// green, blue) of ImageSide*ImageSide bytes.
	ImageSize = 3 * ImageSide * ImageSide
	// RecordSize is the number of bytes of one record: the label byte, then
	// the image.
	RecordSize = 1 + ImageSize
	// NumClasses is the number of classes; labels are 0..NumClasses-1.
	NumClasses = 10
)

// Sizes of the official data set.
const (
	// TrainRecords is the number of training records of the official set
	// (five batches of BatchRecords).
	TrainRecords = 50000
	// TestRecords is the number of test records of the official set.
	TestRecords = 10000
	// BatchRecords is the number of records in each official .bin file.
	BatchRecords = 10000
)

// Where the official archive lives and what it holds.
const (
	// OfficialURL is the address of the official archive, which Load
	// downloads when Options.Source is empty.
	OfficialURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	// OfficialMD5 is the hex MD5 checksum of the official archive.
	OfficialMD5 = "c32a1d4ab5d03f1284b67883e8d87530"
	// OfficialSize is the size in bytes of the official archive.
	OfficialSize = 170052171
	// ArchiveName is the file name of the official archive.
	ArchiveName = "cifar-10-binary.tar.gz"
	// DirName is the directory inside the archive that holds the batches.
	DirName = "cifar-10-batches-bin"
	// MetaFile is the name of the file listing the class names, one a line.
	MetaFile = "batches.meta.txt"
	// TestFile is the name of the test batch.
	TestFile = "test_batch.bin"
)

// TrainFiles are the names of the five training batches, in order.
func TrainFiles() []string {
	return []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
}

// ClassNames returns the ten class names of CIFAR-10 in label order
// (a fresh slice each call).
func ClassNames() []string {
	return []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
}

// Dataset is CIFAR-10 (or a data set of the same layout) in memory.
type Dataset struct {
	// Train is the training split (50,000 records for the real data set).
	Train Split
	// Test is the test split (10,000 records for the real data set).
	Test Split
	// Classes names the labels: Classes[label].
	Classes []string
}

// Split is a list of records stored back to back.
type Split struct {
	// Records holds N records of RecordSize bytes, each the label byte
	// followed by the red, green and blue planes.
	Records []byte
	// N is the number of records.
	N int
}

// Label returns the label (0..NumClasses-1) of record i.
func (s Split) Label(i int) int {
	s.check(i)
	return int(s.Records[i*RecordSize])
}

// Image returns the ImageSize bytes of record i's image (red, green, blue
// planes, each row-major 32x32). It aliases Records.
func (s Split) Image(i int) []byte {
	s.check(i)
	o := i*RecordSize + 1
	return s.Records[o : o+ImageSize : o+ImageSize]
}

// Record returns the RecordSize bytes of record i, label first. It aliases
// Records.
func (s Split) Record(i int) []byte {
	s.check(i)
	o := i * RecordSize
	return s.Records[o : o+RecordSize : o+RecordSize]
}

// Limit returns the split of the first n records (sharing s.Records). A
// negative n, or one at least s.N, returns s unchanged.
func (s Split) Limit(n int) Split {
	if n < 0 || n >= s.N {
		return s
	}
	return Split{Records: s.Records[: n*RecordSize : n*RecordSize], N: n}
}

func (s Split) check(i int) {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("cifar10: record %d out of range [0, %d)", i, s.N))
	}
}
