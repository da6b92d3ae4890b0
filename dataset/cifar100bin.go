package dataset

import (
	"fmt"
	"strings"
)

// CIFAR-100's binary layout (cifar-100-binary.tar.gz): train.bin and
// test.bin hold records of a coarse label byte (0-19), a fine label byte
// (0-99) and the 3072 pixel bytes; fine_label_names.txt and
// coarse_label_names.txt name the classes, one a line.
const (
	cifar100BinRecord = 2 + cifarImageSize
	// cifar100MaxRecords bounds a .bin file (the official train.bin has
	// 50,000 records), so a broken size cannot make the reader allocate
	// without limit.
	cifar100MaxRecords = 500000
)

// cifar100BinFiles are the files of cifar-100-binary by base name.
var cifar100BinFiles = []string{"train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"}

// cifar100Bin assembles CIFAR-100 from the files of cifar-100-binary, with
// the fine or the coarse labels. It converts the .bin data in place, so the
// 155 MB training file is never copied. The label-name file of the chosen
// labels is required.
func cifar100Bin(files cifarPyFiles, prefix string, coarse bool) (*Dataset, error) {
	namesFile, classes := "fine_label_names.txt", 100
	if coarse {
		namesFile, classes = "coarse_label_names.txt", 20
	}
	var missing []string
	for _, f := range []string{"train.bin", "test.bin", namesFile} {
		if _, ok := files[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s", strings.Join(missing, ", "))
	}
	d := &Dataset{Name: CIFAR100, Channels: 3, Height: 32, Width: 32}
	var err error
	if d.Classes, err = checkClassNames(prefix+namesFile, strings.Split(string(files[namesFile]), "\n"), classes); err != nil {
		return nil, err
	}
	for _, f := range []string{"train.bin", "test.bin"} {
		sp, err := parseCIFAR100Bin(prefix+f, files[f], coarse)
		if err != nil {
			return nil, err
		}
		if f == "train.bin" {
			d.Train = sp
		} else {
			d.Test = sp
		}
	}
	return d, nil
}

// parseCIFAR100Bin checks a CIFAR-100 .bin file and rewrites it in place
// into records of one label byte (coarse or fine) and the pixels.
func parseCIFAR100Bin(name string, data []byte, coarse bool) (Split, error) {
	if len(data)%cifar100BinRecord != 0 {
		return Split{}, fmt.Errorf("%s: size %d bytes is not a multiple of the %d-byte record size (truncated, or not a CIFAR-100 binary file)",
			name, len(data), cifar100BinRecord)
	}
	n := len(data) / cifar100BinRecord
	if n > cifar100MaxRecords {
		return Split{}, fmt.Errorf("%s: %d records, more than the %d a CIFAR-100 file may hold", name, n, cifar100MaxRecords)
	}
	for i := range n {
		c, f := data[i*cifar100BinRecord], data[i*cifar100BinRecord+1]
		if c >= 20 || f >= 100 {
			return Split{}, fmt.Errorf("%s: record %d has coarse label %d and fine label %d, want 0-19 and 0-99 (corrupt, or not a CIFAR-100 binary file)", name, i, c, f)
		}
	}
	const rs = 1 + cifarImageSize
	// Record i moves from i*3074 to i*3073: never forward of its source, so
	// copying in increasing order never overwrites a record not yet moved.
	for i := range n {
		src := i * cifar100BinRecord
		l := data[src+1]
		if coarse {
			l = data[src]
		}
		dst := i * rs
		data[dst] = l
		copy(data[dst+1:dst+rs], data[src+2:src+cifar100BinRecord])
	}
	return Split{Records: data[: n*rs : n*rs], N: n, RecordSize: rs}, nil
}
