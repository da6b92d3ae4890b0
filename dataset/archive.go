package dataset

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// layout is a way a data set is stored: which reader reads it.
type layout int

const (
	layoutNone        layout = iota
	layoutCIFAR10Bin         // cifar-10-batches-bin: package cifar10
	layoutCIFAR10Py          // cifar-10-batches-py: pickles
	layoutCIFAR100Bin        // cifar-100-binary
	layoutCIFAR100Py         // cifar-100-python: pickles
	layoutMNIST              // the four IDX files
	layoutImageFolder        // ROOT/train/CLASS/*, ROOT/test/CLASS/*
)

// dataset returns the name of the data set a layout holds ("" for MNIST's,
// which holds MNIST or Fashion-MNIST).
func (l layout) dataset() string {
	switch l {
	case layoutCIFAR10Bin, layoutCIFAR10Py:
		return CIFAR10
	case layoutCIFAR100Bin, layoutCIFAR100Py:
		return CIFAR100
	case layoutImageFolder:
		return ImageFolder
	}
	return ""
}

func (l layout) String() string {
	return [...]string{"nothing", "CIFAR-10 binary", "CIFAR-10 Python", "CIFAR-100 binary", "CIFAR-100 Python", "MNIST IDX", "image folder"}[l]
}

// memberLayout says which layout an archive member of base name base
// belongs to.
func memberLayout(base string) layout {
	switch base {
	case "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin", "batches.meta.txt":
		return layoutCIFAR10Bin
	case "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch", "batches.meta":
		return layoutCIFAR10Py
	case "train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt":
		return layoutCIFAR100Bin
	case "train", "test", "meta":
		return layoutCIFAR100Py
	}
	return layoutNone
}

// Official archives: their names and published MD5 checksums, so that a
// local copy that differs gets a warning (as package cifar10 does).
var officialArchives = map[layout]struct{ name, md5 string }{
	layoutCIFAR10Py:   {"cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"},
	layoutCIFAR100Bin: {"cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"},
	layoutCIFAR100Py:  {"cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"},
}

// unsafeName reports whether an archive member name is absolute or climbs
// out with "..", with / or \ separators: such an archive is refused whole,
// as package cifar10 refuses it.
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

// openTarGz opens a gzip-compressed tar file.
func openTarGz(p string) (*os.File, *gzip.Reader, *tar.Reader, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, nil, err
	}
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%s: not a gzip file (%w)", p, err)
	}
	return f, gz, tar.NewReader(gz), nil
}

// isGzip reports whether the file at p starts with gzip's magic bytes.
func isGzip(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && b[0] == 0x1f && b[1] == 0x8b
}

// sniffTarGz returns the layout of the first member of a .tar.gz that
// belongs to one. Only headers are read up to that member, which comes first
// or nearly first in every official archive.
func sniffTarGz(p string) (layout, error) {
	f, gz, tr, err := openTarGz(p)
	if err != nil {
		return layoutNone, err
	}
	defer f.Close()
	defer gz.Close()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return layoutNone, nil
		}
		if err != nil {
			return layoutNone, fmt.Errorf("%s: corrupt or truncated archive (%w)", p, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if l := memberLayout(path.Base(strings.ReplaceAll(hdr.Name, `\`, "/"))); l != layoutNone {
			return l, nil
		}
	}
}

// readTarGz reads into memory the regular members of a .tar.gz whose base
// names are in want, by base name; nothing is written to disk. A member
// larger than limit, an unsafe or duplicate name, or a damaged archive is an
// error. With hash it also returns the file's MD5, computed in the same
// pass. The archive is read to its end, so gzip's checksum is verified.
func readTarGz(p string, want []string, limit int64, hash bool) (cifarPyFiles, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	var r io.Reader = f
	h := md5.New()
	if hash {
		r = io.TeeReader(f, h)
	}
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("not a gzip file (%w)", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	files := cifarPyFiles{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("corrupt or truncated archive (%w)", err)
		}
		if unsafeName(hdr.Name) {
			return nil, "", fmt.Errorf("member %q has an absolute or \"..\" path; refusing the archive", hdr.Name)
		}
		base := path.Base(strings.ReplaceAll(hdr.Name, `\`, "/"))
		if !contains(want, base) || hdr.Typeflag == tar.TypeDir {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, "", fmt.Errorf("member %s is not a regular file (type %q)", hdr.Name, hdr.Typeflag)
		}
		if hdr.Size > limit {
			return nil, "", fmt.Errorf("member %s: size %d bytes is larger than the %d this reader takes", hdr.Name, hdr.Size, limit)
		}
		if _, dup := files[base]; dup {
			return nil, "", fmt.Errorf("member %s appears twice", base)
		}
		// ReadAll grows its buffer as data arrives, so a size claimed by a
		// header alone allocates nothing; the one allocation up front is
		// for the sizes of the official files.
		buf := make([]byte, 0, min(hdr.Size, 200<<20)+1)
		w := &appendWriter{buf: buf}
		if _, err := io.Copy(w, tr); err != nil {
			return nil, "", fmt.Errorf("member %s: corrupt or truncated archive (%w)", hdr.Name, err)
		}
		files[base] = w.buf
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, "", fmt.Errorf("corrupt or truncated archive (%w)", err)
	}
	sum := ""
	if hash {
		// Count what gzip left unread (padding after its end).
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, "", err
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	return files, sum, nil
}

// appendWriter collects what is written to it.
type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
