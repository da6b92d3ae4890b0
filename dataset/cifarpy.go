package dataset

import (
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/cifar10"
)

// cifarImageSize is the pixel bytes of a CIFAR image: 3 planes of 32x32.
const cifarImageSize = 3 * 32 * 32

// parseCIFARPickle reads one batch of CIFAR's Python layout: a pickled dict
// with a uint8 numpy array "data" of shape [N, 3072] (or [N, 3, 32, 32]) and,
// under each of labelKeys, a list of N labels each below the matching
// classes bound. It returns the N images back to back and the labels, one
// slice per key. name is the file, for messages. data may be modified.
func parseCIFARPickle(name string, data []byte, labelKeys []string, classes []int) (images []byte, labels [][]byte, err error) {
	v, err := unpickle(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	notBatch := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s: not a CIFAR batch", name, fmt.Sprintf(format, args...))
	}
	raw, ok := pyGet(v, "data")
	if !ok {
		if keys := pyKeys(v); keys != nil {
			return nil, nil, notBatch("a dict without \"data\" (keys: %s)", strings.Join(keys, ", "))
		}
		return nil, nil, notBatch("holds %s, want a dict", pyType(v))
	}
	arr, ok := raw.(*ndarray)
	if !ok {
		return nil, nil, notBatch("\"data\" is %s, want a numpy array", pyType(raw))
	}
	if arr.dtype.kind != 'u' || arr.dtype.size != 1 {
		return nil, nil, notBatch("\"data\" has type %s, want uint8", arr.dtype)
	}
	shapeOK := (len(arr.shape) == 2 && arr.shape[1] == cifarImageSize) ||
		(len(arr.shape) == 4 && arr.shape[1] == 3 && arr.shape[2] == 32 && arr.shape[3] == 32)
	if !shapeOK {
		return nil, nil, notBatch("\"data\" has shape %v, want [N, 3072]", arr.shape)
	}
	n := arr.shape[0]
	images = arr.cOrder()
	for k, key := range labelKeys {
		lv, ok := pyGet(v, key)
		if !ok {
			return nil, nil, notBatch("no %q (keys: %s)", key, strings.Join(pyKeys(v), ", "))
		}
		ls, err := pyInts(lv)
		if err != nil {
			return nil, nil, notBatch("%q %v", key, err)
		}
		if len(ls) != n {
			return nil, nil, notBatch("%d %q for %d images", len(ls), key, n)
		}
		out := make([]byte, n)
		for i, l := range ls {
			if l < 0 || l >= int64(classes[k]) {
				return nil, nil, fmt.Errorf("%s: image %d has %s %d, want 0-%d (corrupt, or not a CIFAR batch)", name, i, key, l, classes[k]-1)
			}
			out[i] = byte(l)
		}
		labels = append(labels, out)
	}
	return images, labels, nil
}

// parseCIFARMeta reads the class names under key from a pickled meta file
// (batches.meta's "label_names", CIFAR-100 meta's "fine_label_names" or
// "coarse_label_names"); there must be want of them.
func parseCIFARMeta(name string, data []byte, key string, want int) ([]string, error) {
	v, err := unpickle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lv, ok := pyGet(v, key)
	if !ok {
		return nil, fmt.Errorf("%s: no %q (keys: %s): not a CIFAR meta file", name, key, strings.Join(pyKeys(v), ", "))
	}
	names, err := pyStrings(lv)
	if err != nil {
		return nil, fmt.Errorf("%s: %q %v: not a CIFAR meta file", name, key, err)
	}
	return checkClassNames(name, names, want)
}

// checkClassNames trims names and checks there are want non-empty ones.
func checkClassNames(name string, names []string, want int) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, s := range names {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) != want {
		return nil, fmt.Errorf("%s: lists %d class names, want %d", name, len(out), want)
	}
	return out, nil
}

// appendRecords appends to dst, for each image, its label and pixels.
func appendRecords(dst, images, labels []byte, imageSize int) []byte {
	for i, l := range labels {
		dst = append(dst, l)
		dst = append(dst, images[i*imageSize:(i+1)*imageSize]...)
	}
	return dst
}

// cifar10PyFiles are the files of cifar-10-batches-py, training batches
// first.
var cifar10PyFiles = []string{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta"}

// cifarPyFiles holds the files of a CIFAR Python layout by base name.
type cifarPyFiles map[string][]byte

// cifar10Py assembles CIFAR-10 from the pickles of cifar-10-batches-py.
// batches.meta is optional (the official class names are used without it).
// prefix goes before file names in messages.
func cifar10Py(files cifarPyFiles, prefix string) (*Dataset, error) {
	var missing []string
	for _, f := range cifar10PyFiles[:6] {
		if _, ok := files[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s", strings.Join(missing, ", "))
	}
	d := &Dataset{Name: CIFAR10, Channels: 3, Height: 32, Width: 32, Classes: cifar10.ClassNames()}
	rs := d.RecordSize()
	for k, f := range cifar10PyFiles[:6] {
		images, labels, err := parseCIFARPickle(prefix+f, files[f], []string{"labels"}, []int{10})
		delete(files, f) // let the pickle's bytes go as soon as they are read
		if err != nil {
			return nil, err
		}
		sp := &d.Train
		if k == 5 {
			sp = &d.Test
		}
		if sp.Records == nil {
			n := len(labels[0])
			if k < 5 {
				n *= 5 // room for all five batches of an official size
			}
			sp.Records = make([]byte, 0, n*rs)
		}
		sp.Records = appendRecords(sp.Records, images, labels[0], cifarImageSize)
		sp.N += len(labels[0])
	}
	d.Train.RecordSize, d.Test.RecordSize = rs, rs
	if meta, ok := files["batches.meta"]; ok {
		names, err := parseCIFARMeta(prefix+"batches.meta", meta, "label_names", 10)
		if err != nil {
			return nil, err
		}
		d.Classes = names
	}
	return d, nil
}

// cifar100PyFiles are the files of cifar-100-python.
var cifar100PyFiles = []string{"train", "test", "meta"}

// cifar100Py assembles CIFAR-100 from the pickles of cifar-100-python, with
// the fine or the coarse labels. meta is required: it names the classes.
func cifar100Py(files cifarPyFiles, prefix string, coarse bool) (*Dataset, error) {
	var missing []string
	for _, f := range cifar100PyFiles {
		if _, ok := files[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no %s", strings.Join(missing, ", "))
	}
	nameKey, classes := "fine_label_names", 100
	if coarse {
		nameKey, classes = "coarse_label_names", 20
	}
	d := &Dataset{Name: CIFAR100, Channels: 3, Height: 32, Width: 32}
	var err error
	if d.Classes, err = parseCIFARMeta(prefix+"meta", files["meta"], nameKey, classes); err != nil {
		return nil, err
	}
	for _, f := range cifar100PyFiles[:2] {
		// Both label lists are checked, so a file whose coarse labels are
		// broken is refused whichever labels are asked for.
		images, labels, err := parseCIFARPickle(prefix+f, files[f], []string{"fine_labels", "coarse_labels"}, []int{100, 20})
		delete(files, f)
		if err != nil {
			return nil, err
		}
		ls := labels[0]
		if coarse {
			ls = labels[1]
		}
		sp := &d.Train
		if f == "test" {
			sp = &d.Test
		}
		*sp = Split{Records: appendRecords(make([]byte, 0, len(ls)*d.RecordSize()), images, ls, cifarImageSize), N: len(ls), RecordSize: d.RecordSize()}
	}
	return d, nil
}
