package cifar10

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxFileRecords bounds the records one .bin file may hold (ten times an
// official batch), so a hostile or broken archive cannot make Load allocate
// without limit.
const maxFileRecords = 10 * BatchRecords

// maxMetaSize bounds the size of batches.meta.txt.
const maxMetaSize = 64 << 10

// ParseBatch checks that data is a whole number of CIFAR-10 records with
// labels 0..9 and returns them as a Split that shares data. name says which
// file data came from, for the error message.
func ParseBatch(name string, data []byte) (Split, error) {
	if len(data)%RecordSize != 0 {
		return Split{}, fmt.Errorf("%s: size %d bytes is not a multiple of the %d-byte record size (truncated, or not a CIFAR-10 binary batch)",
			name, len(data), RecordSize)
	}
	n := len(data) / RecordSize
	if n > maxFileRecords {
		return Split{}, fmt.Errorf("%s: %d records, more than the %d a CIFAR-10 batch file may hold", name, n, maxFileRecords)
	}
	for i := range n {
		if l := data[i*RecordSize]; l >= NumClasses {
			return Split{}, fmt.Errorf("%s: record %d has label %d, want 0-%d (corrupt, or not a CIFAR-10 binary batch)",
				name, i, l, NumClasses-1)
		}
	}
	return Split{Records: data, N: n}, nil
}

// parseMeta reads the class names of batches.meta.txt: one a line, blank
// lines ignored; there must be NumClasses of them.
func parseMeta(name string, data []byte) ([]string, error) {
	var classes []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if c := strings.TrimSpace(line); c != "" {
			classes = append(classes, c)
		}
	}
	if len(classes) != NumClasses {
		return nil, fmt.Errorf("%s: lists %d class names, want %d", name, len(classes), NumClasses)
	}
	return classes, nil
}

// batchSet collects the files of a data set as they are found, in any order.
type batchSet struct {
	train [5][]byte
	found [5]bool
	// shared holds the five training batches back to back when they all
	// have the same size (as in the official archive), so the training
	// split needs no final copy; placed says which ones are in it.
	shared []byte
	placed [5]bool
	test   []byte
	gotTe  bool
	meta   []byte
	gotMe  bool
}

// slot says where a file of base name base goes: 0..4 a training batch, 5
// the test batch, 6 the class names, -1 not a data set file.
func slot(base string) int {
	switch base {
	case "data_batch_1.bin":
		return 0
	case "data_batch_2.bin":
		return 1
	case "data_batch_3.bin":
		return 2
	case "data_batch_4.bin":
		return 3
	case "data_batch_5.bin":
		return 4
	case TestFile:
		return 5
	case MetaFile:
		return 6
	}
	return -1
}

// put stores data for slot k; it reports false when the slot is taken.
func (b *batchSet) put(k int, data []byte) bool {
	switch {
	case k < 5:
		if b.found[k] {
			return false
		}
		b.train[k], b.found[k] = data, true
	case k == 5:
		if b.gotTe {
			return false
		}
		b.test, b.gotTe = data, true
	default:
		if b.gotMe {
			return false
		}
		b.meta, b.gotMe = data, true
	}
	return true
}

// dataset checks the collected files and assembles a Dataset. prefix is
// joined to the file names in messages. batches.meta.txt is optional (the
// official names are used without it); the six .bin files are not.
func (b *batchSet) dataset(prefix string) (*Dataset, error) {
	if m := b.missing(); m != "" {
		return nil, fmt.Errorf("no %s", m)
	}
	d := &Dataset{Classes: ClassNames()}
	total := 0
	for k, name := range TrainFiles() {
		s, err := ParseBatch(prefix+name, b.train[k])
		if err != nil {
			return nil, err
		}
		total += s.N
	}
	if b.placed == [5]bool{true, true, true, true, true} {
		d.Train.Records = b.shared
	} else {
		// One buffer for the whole training split, in batch order.
		d.Train.Records = make([]byte, 0, total*RecordSize)
		for k := range b.train {
			d.Train.Records = append(d.Train.Records, b.train[k]...)
			b.train[k] = nil
		}
	}
	d.Train.N = total
	var err error
	if d.Test, err = ParseBatch(prefix+TestFile, b.test); err != nil {
		return nil, err
	}
	if b.gotMe {
		if d.Classes, err = parseMeta(prefix+MetaFile, b.meta); err != nil {
			return nil, err
		}
	}
	if d.Train.N == 0 {
		return nil, errors.New("no training records (the data_batch_*.bin files are empty)")
	}
	if d.Test.N == 0 {
		return nil, fmt.Errorf("no test records (%s is empty)", TestFile)
	}
	return d, nil
}

// sharedSlot returns where training batch k of the given size goes in the
// shared buffer, or nil when it is to be read on its own. The shared buffer
// is made when a second batch of the size of the first arrives, so that a
// size claimed by a header alone never allocates five times as much.
func (b *batchSet) sharedSlot(k int, size int64) []byte {
	if k < 0 || k >= 5 || size == 0 || b.found[k] {
		return nil
	}
	if b.shared == nil {
		first := -1
		for j := range b.found {
			if b.found[j] {
				if first >= 0 {
					return nil
				}
				first = j
			}
		}
		if first < 0 || int64(len(b.train[first])) != size {
			return nil
		}
		b.shared = make([]byte, 5*size)
		dst := b.shared[int64(first)*size : int64(first+1)*size]
		copy(dst, b.train[first])
		b.train[first], b.placed[first] = dst, true
	}
	if int64(len(b.shared)) != 5*size {
		return nil
	}
	b.placed[k] = true
	return b.shared[int64(k)*size : int64(k+1)*size]
}

// missing lists the required files not found, "" if none.
func (b *batchSet) missing() string {
	var m []string
	for k, name := range TrainFiles() {
		if !b.found[k] {
			m = append(m, name)
		}
	}
	if !b.gotTe {
		m = append(m, TestFile)
	}
	return strings.Join(m, ", ")
}

// unsafeName reports whether an archive member name is absolute or climbs
// out with "..", either with / or \ separators.
func unsafeName(name string) bool {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return true
	}
	for el := range strings.SplitSeq(n, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

// ReadArchive reads a data set from a gzip-compressed tar stream in the
// official layout. Members are matched by base name (data_batch_1.bin ...
// data_batch_5.bin, test_batch.bin, batches.meta.txt) under any directory;
// other members are skipped. A member with an absolute path or a ".."
// element is an error. Nothing is written to disk. The stream is read to its
// end, so the gzip checksum is verified.
func ReadArchive(r io.Reader) (*Dataset, error) {
	if _, ok := r.(io.ByteReader); !ok {
		r = bufio.NewReaderSize(r, 1<<20)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file (%w)", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var b batchSet
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("corrupt or truncated archive (%w)", err)
		}
		if unsafeName(hdr.Name) {
			return nil, fmt.Errorf("member %q has an absolute or \"..\" path; refusing the archive", hdr.Name)
		}
		k := slot(path.Base(strings.ReplaceAll(hdr.Name, `\`, "/")))
		if k < 0 {
			continue
		}
		if hdr.Typeflag != tar.TypeReg { // the reader reports old-style TypeRegA as TypeReg
			if hdr.Typeflag == tar.TypeDir {
				continue
			}
			return nil, fmt.Errorf("member %s is not a regular file (type %q)", hdr.Name, hdr.Typeflag)
		}
		limit := int64(maxFileRecords * RecordSize)
		if k == 6 {
			limit = maxMetaSize
		}
		if hdr.Size > limit {
			return nil, fmt.Errorf("member %s: size %d bytes is larger than the %d a CIFAR-10 file may have", hdr.Name, hdr.Size, limit)
		}
		if k < 6 && hdr.Size%RecordSize != 0 {
			return nil, fmt.Errorf("member %s: size %d bytes is not a multiple of the %d-byte record size (not a CIFAR-10 binary batch)",
				hdr.Name, hdr.Size, RecordSize)
		}
		var data []byte
		if dst := b.sharedSlot(k, hdr.Size); dst != nil {
			_, err = io.ReadFull(tr, dst)
			data = dst
		} else {
			data, err = readN(tr, hdr.Size)
		}
		if err != nil {
			return nil, fmt.Errorf("member %s: corrupt or truncated archive (%w)", hdr.Name, err)
		}
		if !b.put(k, data) {
			return nil, fmt.Errorf("member %s appears twice", path.Base(hdr.Name))
		}
	}
	// Drain what follows the tar end so that gzip checks its CRC and length.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("corrupt or truncated archive (%w)", err)
	}
	if m := b.missing(); m != "" {
		return nil, fmt.Errorf("the archive has no %s", m)
	}
	return b.dataset("")
}

// readN reads exactly n bytes from r. Up to the size of an official batch
// it allocates n bytes at once; beyond, it allocates as the data arrives, so
// a header that claims more than the stream holds costs no more memory than
// the stream.
func readN(r io.Reader, n int64) ([]byte, error) {
	const step = 8 << 20
	buf := make([]byte, 0, min(n, max(step, BatchRecords*RecordSize)))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			nc := min(n, max(int64(cap(buf))*2, step))
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Read(buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			if int64(len(buf)) < n {
				return nil, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// hasBatches reports whether dir holds data_batch_1.bin.
func hasBatches(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, TrainFiles()[0]))
	return err == nil && fi.Mode().IsRegular()
}

// ReadDir reads a data set from an extracted cifar-10-batches-bin directory
// (data_batch_1.bin ... data_batch_5.bin, test_batch.bin and, optionally,
// batches.meta.txt), or from a directory that holds one.
func ReadDir(dir string) (*Dataset, error) {
	if !hasBatches(dir) && hasBatches(filepath.Join(dir, DirName)) {
		dir = filepath.Join(dir, DirName)
	}
	var b batchSet
	names := append(TrainFiles(), TestFile, MetaFile)
	for k, name := range names {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", p)
		}
		limit := int64(maxFileRecords * RecordSize)
		if k == 6 {
			limit = maxMetaSize
		}
		if fi.Size() > limit {
			return nil, fmt.Errorf("%s: size %d bytes is larger than the %d a CIFAR-10 file may have", p, fi.Size(), limit)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		b.put(k, data)
	}
	if m := b.missing(); m != "" {
		return nil, fmt.Errorf("%s has no %s", dir, m)
	}
	return b.dataset(dir + string(filepath.Separator))
}
