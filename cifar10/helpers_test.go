package cifar10

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// member is one file of a hand-made archive.
type member struct {
	name string
	data []byte
	typ  byte // tar type flag; 0 means a regular file
}

// batchFiles returns the official files of d, by base name, in the layout
// WriteArchive uses.
func batchFiles(d *Dataset) map[string][]byte {
	m := map[string][]byte{}
	n := d.Train.N
	for k, name := range TrainFiles() {
		lo, hi := k*n/5, (k+1)*n/5
		m[name] = bytes.Clone(d.Train.Records[lo*RecordSize : hi*RecordSize])
	}
	m[TestFile] = bytes.Clone(d.Test.Records)
	m[MetaFile] = []byte(strings.Join(d.Classes, "\n") + "\n")
	return m
}

// goodMembers returns the members of d's archive under cifar-10-batches-bin/,
// in the official order, with fn applied to each file's data (nil: as is).
func goodMembers(d *Dataset) []member {
	files := batchFiles(d)
	var ms []member
	for _, name := range append(TrainFiles(), TestFile, MetaFile) {
		ms = append(ms, member{name: DirName + "/" + name, data: files[name]})
	}
	return ms
}

func makeTarGz(t testing.TB, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range ms {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: typ}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if typ == tar.TypeSymlink {
			hdr.Linkname = "/etc/passwd"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(m.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func archiveBytes(t testing.TB, d *Dataset) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteArchive(&buf, d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
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

// sameDataset reports how got differs from want ("" if it does not).
func sameDataset(got, want *Dataset) string {
	switch {
	case got == nil:
		return "nil dataset"
	case got.Train.N != want.Train.N || got.Test.N != want.Test.N:
		return "record counts differ"
	case !bytes.Equal(got.Train.Records, want.Train.Records):
		return "training records differ"
	case !bytes.Equal(got.Test.Records, want.Test.Records):
		return "test records differ"
	case strings.Join(got.Classes, ",") != strings.Join(want.Classes, ","):
		return "classes differ"
	}
	return ""
}

// collect returns a Warn func and the warnings it gathers.
func collect() (func(string), *[]string) {
	var w []string
	return func(s string) { w = append(w, s) }, &w
}
