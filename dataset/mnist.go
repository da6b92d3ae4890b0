package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MNIST and Fashion-MNIST come as four IDX files: a big-endian header (two
// zero bytes, the element type, 0x08 for unsigned bytes, and the number of
// dimensions; then each dimension as a uint32) followed by the elements.
// Images are [N, rows, cols], labels [N].

// mnistFiles are the four files' names without ".gz": training images and
// labels, test images and labels.
var mnistFiles = [4]string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}

// Class names in label order.
var (
	mnistClasses        = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	fashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// maxIDXSize bounds the data of one IDX file (MNIST's training images are
// 47 MB), so that a header cannot make the reader allocate without limit.
const maxIDXSize = 1 << 30

// idx is a parsed IDX file.
type idx struct {
	dims []int
	data []byte
}

// readIDX reads an IDX file of unsigned bytes, gzip-compressed or not (told
// by its first bytes, not its name), and checks that it holds exactly the
// bytes its header announces. name is for messages.
func readIDX(name string, r io.Reader) (*idx, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt gzip file (%w)", name, err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("%s: too short for an IDX file (%v)", name, readErr(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%s: magic %02x%02x%02x%02x is not an IDX file's (it starts 0000)", name, head[0], head[1], head[2], head[3])
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("%s: IDX element type 0x%02x, want 0x08 (unsigned bytes)", name, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%s: IDX file of %d dimensions, want 1-4", name, nd)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, dimBytes); err != nil {
		return nil, fmt.Errorf("%s: truncated IDX header (%v)", name, readErr(err))
	}
	x := &idx{dims: make([]int, nd)}
	size := 1
	for k := range x.dims {
		x.dims[k] = int(binary.BigEndian.Uint32(dimBytes[4*k:]))
		if x.dims[k] != 0 && size > maxIDXSize/x.dims[k] {
			return nil, fmt.Errorf("%s: IDX header announces %s bytes, more than the %d this reader takes", name, dimString(x.dims[:k+1]), maxIDXSize)
		}
		size *= x.dims[k]
	}
	// Read one byte more than announced to tell a longer file; grow the
	// buffer as data arrives, so a header that claims more than the file
	// holds costs no more memory than the file.
	data, err := io.ReadAll(io.LimitReader(r, int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, readErr(err))
	}
	if len(data) != size {
		what := "truncated"
		if len(data) > size {
			what = "longer than that"
		}
		return nil, fmt.Errorf("%s: size does not match its header: %s = %d data bytes announced, file is %s", name, dimString(x.dims), size, what)
	}
	x.data = data
	return x, nil
}

// readErr describes a read error for people: io.EOF at a boundary means the
// file ended.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file ends early")
	}
	return err
}

func dimString(d []int) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, " x ")
}

// idxSplit combines an image file [N, rows, cols] and a label file [N]
// into records; labels must be below classes.
func idxSplit(imgName string, img *idx, lblName string, lbl *idx, classes int) (Split, int, int, error) {
	if len(img.dims) != 3 {
		return Split{}, 0, 0, fmt.Errorf("%s: IDX images of %d dimensions, want 3 (count, rows, columns)", imgName, len(img.dims))
	}
	if len(lbl.dims) != 1 {
		return Split{}, 0, 0, fmt.Errorf("%s: IDX labels of %d dimensions, want 1", lblName, len(lbl.dims))
	}
	n, h, w := img.dims[0], img.dims[1], img.dims[2]
	if h == 0 || w == 0 {
		return Split{}, 0, 0, fmt.Errorf("%s: images of %dx%d pixels", imgName, h, w)
	}
	if lbl.dims[0] != n {
		return Split{}, 0, 0, fmt.Errorf("%s has %d labels for the %d images of %s", lblName, lbl.dims[0], n, imgName)
	}
	for i, l := range lbl.data {
		if int(l) >= classes {
			return Split{}, 0, 0, fmt.Errorf("%s: label %d of image %d, want 0-%d (corrupt, or not MNIST labels)", lblName, l, i, classes-1)
		}
	}
	rs := 1 + h*w
	recs := make([]byte, n*rs)
	for i := range n {
		recs[i*rs] = lbl.data[i]
		copy(recs[i*rs+1:(i+1)*rs], img.data[i*h*w:(i+1)*h*w])
	}
	return Split{Records: recs, N: n, RecordSize: rs}, h, w, nil
}

// findMNISTFile returns the path of an MNIST file in dir: its name, with
// ".gz", or in the dotted form some copies use (train-images.idx3-ubyte).
// "" when none is there.
func findMNISTFile(dir, base string) string {
	dotted := strings.Replace(base, "-idx", ".idx", 1)
	for _, n := range []string{base, base + ".gz", dotted, dotted + ".gz"} {
		if p := filepath.Join(dir, n); isRegular(p) {
			return p
		}
	}
	return ""
}

// hasMNIST reports whether dir holds MNIST's training images.
func hasMNIST(dir string) bool { return findMNISTFile(dir, mnistFiles[0]) != "" }

// loadMNIST reads the four IDX files in dir as MNIST or Fashion-MNIST
// (name), whose class names it gives.
func loadMNIST(dir, name string) (*Dataset, error) {
	var parsed [4]*idx
	var paths [4]string
	for k, base := range mnistFiles {
		p := findMNISTFile(dir, base)
		if p == "" {
			return nil, fmt.Errorf("%s has no %s (or %s.gz); it needs all four IDX files: %s", dir, base, base, strings.Join(mnistFiles[:], ", "))
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		parsed[k], err = readIDX(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		paths[k] = p
	}
	classes := mnistClasses
	if name == FashionMNIST {
		classes = fashionMNISTClasses
	}
	d := &Dataset{Name: name, Channels: 1, Classes: append([]string(nil), classes...)}
	var err error
	var h, w int
	if d.Train, d.Height, d.Width, err = idxSplit(paths[0], parsed[0], paths[1], parsed[1], len(classes)); err != nil {
		return nil, err
	}
	if d.Test, h, w, err = idxSplit(paths[2], parsed[2], paths[3], parsed[3], len(classes)); err != nil {
		return nil, err
	}
	if h != d.Height || w != d.Width {
		return nil, fmt.Errorf("%s has %dx%d images but %s has %dx%d; both splits must have one size", paths[2], h, w, paths[0], d.Height, d.Width)
	}
	return d, nil
}

// isFashion reports whether a directory's path names Fashion-MNIST, as
// torchvision's FashionMNIST/raw or a fashion-mnist directory do. Only its
// last three elements count, so that a home directory that happens to say
// "fashion" does not.
func isFashion(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	for range 3 {
		if strings.Contains(strings.ToLower(filepath.Base(abs)), "fashion") {
			return true
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			break
		}
		abs = parent
	}
	return false
}
