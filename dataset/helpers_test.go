package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
)

// pickler writes Python pickles the way Python does, for tests: numpy
// arrays through _reconstruct (protocols 2-4) or _frombuffer (5), bytes as
// Python 2 str (py2), through _codecs.encode (Python 3 at protocol 2) or as
// BINBYTES (3+), and protocol 4+ in frames with large bytes outside them.
// TestPickleWriterMatchesPython checks the result with Python itself.
type pickler struct {
	proto int
	py2   bool
	out   bytes.Buffer // committed bytes
	cur   bytes.Buffer // the current frame (protocol 4+), or out's tail
	memo  int
}

// pickleStyle is a way of writing a pickle.
type pickleStyle struct {
	name  string
	proto int
	py2   bool
}

// pickleStyles are the pickle flavours the readers must take: the official
// CIFAR files are Python 2's protocol 2; Python 3 writes 2-5.
var pickleStyles = []pickleStyle{
	{"python2", 2, true},
	{"python3-protocol2", 2, false},
	{"protocol3", 3, false},
	{"protocol4", 4, false},
	{"protocol5", 5, false},
}

func newPickler(s pickleStyle) *pickler {
	p := &pickler{proto: s.proto, py2: s.py2}
	p.out.Write([]byte{0x80, byte(s.proto)})
	return p
}

func (p *pickler) op(b ...byte) { p.cur.Write(b) }

// flush ends the current frame (protocol 4+).
func (p *pickler) flush() {
	if p.cur.Len() == 0 {
		return
	}
	if p.proto >= 4 {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(p.cur.Len()))
		p.out.WriteByte(0x95)
		p.out.Write(n[:])
	}
	p.out.Write(p.cur.Bytes())
	p.cur.Reset()
}

// large writes an opcode with a big argument outside any frame, as Python's
// framer does.
func (p *pickler) large(op []byte, data []byte) {
	if p.proto >= 4 && len(data) >= 64<<10 {
		p.flush()
		p.out.Write(op)
		p.out.Write(data)
		return
	}
	p.cur.Write(op)
	p.cur.Write(data)
}

func (p *pickler) put() {
	switch {
	case p.proto >= 4:
		p.op(0x94)
	case p.memo < 256:
		p.op('q', byte(p.memo))
	default:
		p.op('r')
		p.u32(uint32(p.memo))
	}
	p.memo++
}

func (p *pickler) u32(v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	p.cur.Write(b[:])
}

func (p *pickler) global(module, name string) {
	if p.proto >= 4 {
		p.str(module)
		p.str(name)
		p.op(0x93)
	} else {
		p.cur.WriteString("c" + module + "\n" + name + "\n")
	}
	p.put()
}

// str writes a Python str (Python 2: a byte string).
func (p *pickler) str(s string) {
	switch {
	case p.py2 && len(s) < 256:
		p.op('U', byte(len(s)))
		p.cur.WriteString(s)
	case p.py2:
		p.op('T')
		p.u32(uint32(len(s)))
		p.cur.WriteString(s)
	case p.proto >= 4 && len(s) < 256:
		p.op(0x8c, byte(len(s)))
		p.cur.WriteString(s)
	default:
		p.op('X')
		p.u32(uint32(len(s)))
		p.cur.WriteString(s)
	}
	p.put()
}

// bytes writes Python bytes (Python 2: a str).
func (p *pickler) bytes(b []byte) {
	switch {
	case p.py2 && len(b) < 256:
		p.op('U', byte(len(b)))
		p.cur.Write(b)
	case p.py2:
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(b)))
		p.large(append([]byte{'T'}, n[:]...), b)
	case p.proto == 2:
		// Python 3 at protocol 2: _codecs.encode(b.decode('latin1'), 'latin1').
		p.global("_codecs", "encode")
		var u strings.Builder
		for _, c := range b {
			u.WriteRune(rune(c))
		}
		p.str(u.String())
		p.str("latin1")
		p.op(0x86, 'R')
		p.put()
		return
	case len(b) < 256:
		p.op('C', byte(len(b)))
		p.cur.Write(b)
	default:
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(b)))
		p.large(append([]byte{'B'}, n[:]...), b)
	}
	p.put()
}

func (p *pickler) int(v int) {
	switch {
	case v >= 0 && v < 256:
		p.op('K', byte(v))
	case v >= 0 && v < 65536:
		p.op('M', byte(v), byte(v>>8))
	default:
		p.op('J')
		p.u32(uint32(int32(v)))
	}
}

func (p *pickler) bool(v bool) {
	switch {
	case v:
		p.op(0x88)
	default:
		p.op(0x89)
	}
}

// tuple writes the values the functions write as a tuple.
func (p *pickler) tuple(items ...func()) {
	if len(items) > 3 || len(items) == 0 {
		p.op('(')
	}
	for _, f := range items {
		f()
	}
	switch len(items) {
	case 0:
		p.op('t')
	case 1:
		p.op(0x85)
	case 2:
		p.op(0x86)
	case 3:
		p.op(0x87)
	default:
		p.op('t')
	}
}

// list writes a list, appending in batches of 1000 as Python does.
func (p *pickler) list(n int, item func(i int)) {
	p.op(']')
	p.put()
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		if hi-lo == 1 {
			item(lo)
			p.op('a')
			continue
		}
		p.op('(')
		for i := lo; i < hi; i++ {
			item(i)
		}
		p.op('e')
	}
}

func (p *pickler) dtype(name, order string) {
	p.global("numpy", "dtype")
	if p.py2 {
		// Python 2's numpy wrote the dtype's align and copy flags as ints.
		p.tuple(func() { p.str(name) }, func() { p.int(0) }, func() { p.int(1) })
	} else {
		p.tuple(func() { p.str(name) }, func() { p.bool(false) }, func() { p.bool(true) })
	}
	p.op('R')
	p.put()
	p.tuple(func() { p.int(3) }, func() { p.str(order) }, func() { p.op('N') }, func() { p.op('N') }, func() { p.op('N') },
		func() { p.int(-1) }, func() { p.int(-1) }, func() { p.int(0) })
	p.op('b')
}

// ndarray writes a numpy array of the given shape, dtype and byte order
// ("|" for bytes) whose raw data (in its memory order) is data.
func (p *pickler) ndarray(shape []int, dt, order string, fortran bool, data []byte) {
	shapeTuple := func() {
		var fs []func()
		for _, d := range shape {
			fs = append(fs, func() { p.int(d) })
		}
		p.tuple(fs...)
	}
	if p.proto >= 5 {
		p.global("numpy.core.numeric", "_frombuffer")
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(data)))
		p.op('(')
		p.large(append([]byte{0x96}, n[:]...), data)
		p.put()
		p.dtype(dt, order)
		shapeTuple()
		p.str(map[bool]string{false: "C", true: "F"}[fortran])
		p.op('t', 'R')
		p.put()
		return
	}
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray")
	p.tuple(func() { p.int(0) })
	p.bytes([]byte("b"))
	p.op(0x87, 'R')
	p.put()
	p.tuple(func() { p.int(1) }, shapeTuple, func() { p.dtype(dt, order) }, func() { p.bool(fortran) }, func() { p.bytes(data) })
	p.op('b')
}

// dict writes a dict of the given keys (in order), each value written by
// its function.
func (p *pickler) dict(keys []string, values map[string]func()) {
	p.op('}')
	p.put()
	p.op('(')
	for _, k := range keys {
		p.str(k)
		values[k]()
	}
	p.op('u')
}

func (p *pickler) finish() []byte {
	p.op('.')
	p.flush()
	return p.out.Bytes()
}

// batchPickle writes a CIFAR batch: "batch_label", "labels" (or the given
// label keys), "data" and "filenames", as the official files hold them.
func batchPickle(s pickleStyle, images []byte, labels map[string][]byte) []byte {
	n := len(images) / cifarImageSize
	p := newPickler(s)
	keys := []string{"batch_label"}
	values := map[string]func(){
		"batch_label": func() { p.str("testing batch 1 of 1") },
		"data":        func() { p.ndarray([]int{n, cifarImageSize}, "u1", "|", false, images) },
		"filenames":   func() { p.list(n, func(i int) { p.str("image_" + string(rune('a'+i%26)) + ".png") }) },
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range labels {
			if !yield(k) {
				return
			}
		}
	}) {
		ls := labels[k]
		keys = append(keys, k)
		values[k] = func() { p.list(len(ls), func(i int) { p.int(int(ls[i])) }) }
	}
	keys = append(keys, "data", "filenames")
	p.dict(keys, values)
	return p.finish()
}

// metaPickle writes a meta file: names under key.
func metaPickle(s pickleStyle, key string, names []string) []byte {
	p := newPickler(s)
	p.dict([]string{key}, map[string]func(){key: func() { p.list(len(names), func(i int) { p.str(names[i]) }) }})
	return p.finish()
}

// splitRecords cuts 1+3072-byte records into images and labels.
func splitRecords(recs []byte) (images, labels []byte) {
	const rs = 1 + cifarImageSize
	for i := 0; i < len(recs)/rs; i++ {
		labels = append(labels, recs[i*rs])
		images = append(images, recs[i*rs+1:(i+1)*rs]...)
	}
	return images, labels
}

// writeCIFAR10Py writes d in torchvision's cifar-10-batches-py layout into
// dir (the training split in five nearly equal batches).
func writeCIFAR10Py(t testing.TB, dir string, d *cifar10.Dataset, s pickleStyle) {
	t.Helper()
	n := d.Train.N
	for k := range 5 {
		lo, hi := k*n/5, (k+1)*n/5
		images, labels := splitRecords(d.Train.Records[lo*cifar10.RecordSize : hi*cifar10.RecordSize])
		writeFile(t, filepath.Join(dir, cifar10PyFiles[k]), batchPickle(s, images, map[string][]byte{"labels": labels}))
	}
	images, labels := splitRecords(d.Test.Records)
	writeFile(t, filepath.Join(dir, "test_batch"), batchPickle(s, images, map[string][]byte{"labels": labels}))
	writeFile(t, filepath.Join(dir, "batches.meta"), metaPickle(s, "label_names", d.Classes))
}

// cifar100Data is a small generated CIFAR-100 set: images with fine and
// coarse labels.
type cifar100Data struct {
	trainImages, testImages []byte
	trainFine, trainCoarse  []byte
	testFine, testCoarse    []byte
	fineNames, coarseNames  []string
}

func makeCIFAR100(nTrain, nTest int, seed uint64) *cifar100Data {
	d := &cifar100Data{}
	src := cifar10.Synthetic(nTrain, nTest, seed)
	d.trainImages, _ = splitRecords(src.Train.Records)
	d.testImages, _ = splitRecords(src.Test.Records)
	for i := range nTrain {
		d.trainFine = append(d.trainFine, byte((i*37+int(seed))%100))
		d.trainCoarse = append(d.trainCoarse, byte((i*7+int(seed))%20))
	}
	for i := range nTest {
		d.testFine = append(d.testFine, byte((i*53+3)%100))
		d.testCoarse = append(d.testCoarse, byte((i*11+1)%20))
	}
	for i := range 100 {
		d.fineNames = append(d.fineNames, "fine_"+string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	for i := range 20 {
		d.coarseNames = append(d.coarseNames, "coarse "+string(rune('a'+i)))
	}
	return d
}

// records returns the expected records with the fine or coarse labels.
func (d *cifar100Data) records(train, coarse bool) []byte {
	images, labels := d.testImages, d.testFine
	switch {
	case train && coarse:
		images, labels = d.trainImages, d.trainCoarse
	case train:
		images, labels = d.trainImages, d.trainFine
	case coarse:
		labels = d.testCoarse
	}
	return appendRecords(nil, images, labels, cifarImageSize)
}

// binFile writes a CIFAR-100 .bin file: coarse, fine, pixels.
func cifar100BinFile(images, fine, coarse []byte) []byte {
	var b []byte
	for i := range fine {
		b = append(b, coarse[i], fine[i])
		b = append(b, images[i*cifarImageSize:(i+1)*cifarImageSize]...)
	}
	return b
}

func writeCIFAR100Bin(t testing.TB, dir string, d *cifar100Data) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "train.bin"), cifar100BinFile(d.trainImages, d.trainFine, d.trainCoarse))
	writeFile(t, filepath.Join(dir, "test.bin"), cifar100BinFile(d.testImages, d.testFine, d.testCoarse))
	writeFile(t, filepath.Join(dir, "fine_label_names.txt"), []byte(strings.Join(d.fineNames, "\n")+"\n"))
	writeFile(t, filepath.Join(dir, "coarse_label_names.txt"), []byte(strings.Join(d.coarseNames, "\n")+"\n"))
}

func writeCIFAR100Py(t testing.TB, dir string, d *cifar100Data, s pickleStyle) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "train"), batchPickle(s, d.trainImages, map[string][]byte{"fine_labels": d.trainFine, "coarse_labels": d.trainCoarse}))
	writeFile(t, filepath.Join(dir, "test"), batchPickle(s, d.testImages, map[string][]byte{"fine_labels": d.testFine, "coarse_labels": d.testCoarse}))
	p := newPickler(s)
	p.dict([]string{"fine_label_names", "coarse_label_names"}, map[string]func(){
		"fine_label_names":   func() { p.list(100, func(i int) { p.str(d.fineNames[i]) }) },
		"coarse_label_names": func() { p.list(20, func(i int) { p.str(d.coarseNames[i]) }) },
	})
	writeFile(t, filepath.Join(dir, "meta"), p.finish())
}

// idxFile returns an IDX file of unsigned bytes.
func idxFile(dims []int, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if _, err := gz.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mnistData is a small generated MNIST-like set.
type mnistData struct {
	h, w                        int
	trainImages, testImages     []byte
	trainLabels, testLabels     []byte
	nTrain, nTest               int
	expectedTrain, expectedTest []byte
}

func makeMNIST(nTrain, nTest, h, w int) *mnistData {
	d := &mnistData{h: h, w: w, nTrain: nTrain, nTest: nTest}
	for i := range nTrain {
		d.trainLabels = append(d.trainLabels, byte(i%10))
		for j := range h * w {
			d.trainImages = append(d.trainImages, byte(i*7+j*3))
		}
	}
	for i := range nTest {
		d.testLabels = append(d.testLabels, byte((i+3)%10))
		for j := range h * w {
			d.testImages = append(d.testImages, byte(i*5+j))
		}
	}
	d.expectedTrain = appendRecords(nil, d.trainImages, d.trainLabels, h*w)
	d.expectedTest = appendRecords(nil, d.testImages, d.testLabels, h*w)
	return d
}

// files returns the four IDX files by name (".gz" added when gz).
func (d *mnistData) files(t testing.TB, gz bool) map[string][]byte {
	m := map[string][]byte{
		mnistFiles[0]: idxFile([]int{d.nTrain, d.h, d.w}, d.trainImages),
		mnistFiles[1]: idxFile([]int{d.nTrain}, d.trainLabels),
		mnistFiles[2]: idxFile([]int{d.nTest, d.h, d.w}, d.testImages),
		mnistFiles[3]: idxFile([]int{d.nTest}, d.testLabels),
	}
	if !gz {
		return m
	}
	out := map[string][]byte{}
	for k, v := range m {
		out[k+".gz"] = gzipBytes(t, v)
	}
	return out
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
}

func writeFile(t testing.TB, p string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tarGzDir writes the files below dir into a .tar.gz at dst, under the
// directory name top, in sorted order.
func tarGzDir(t testing.TB, dir, top, dst string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: top + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if dst != "" {
		writeFile(t, dst, buf.Bytes())
	}
	return buf.Bytes()
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// collect returns a Warn func and the warnings it gathers.
func collect() (func(string), *[]string) {
	var w []string
	return func(s string) { w = append(w, s) }, &w
}

// sameSplit reports how got differs from the want records ("" if not).
func sameSplit(got Split, want []byte, rs int) string {
	switch {
	case got.RecordSize != rs:
		return fmt.Sprintf("record size %d, want %d", got.RecordSize, rs)
	case got.N*rs != len(want) || len(got.Records) != len(want):
		return fmt.Sprintf("N %d (%d bytes), want %d", got.N, len(got.Records), len(want)/rs)
	case !bytes.Equal(got.Records, want):
		for i := range got.N {
			if !bytes.Equal(got.Record(i), want[i*rs:(i+1)*rs]) {
				return fmt.Sprintf("record %d differs", i)
			}
		}
	}
	return ""
}
