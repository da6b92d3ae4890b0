package cifar10

import (
	"archive/tar"
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/errtest"
)

func TestSplit(t *testing.T) {
	d := Synthetic(30, 0, 7)
	s := d.Train
	for _, tc := range []struct {
		name string
		n    int
		want int
	}{
		{"first 10", 10, 10},
		{"zero", 0, 0},
		{"all", 30, 30},
		{"more than all", 99, 30},
		{"negative means all", -1, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := s.Limit(tc.n)
			if l.N != tc.want || len(l.Records) != tc.want*RecordSize {
				t.Fatalf("Limit(%d): N %d, %d bytes; want %d records", tc.n, l.N, len(l.Records), tc.want)
			}
			if tc.want > 0 && !bytes.Equal(l.Record(tc.want-1), s.Record(tc.want-1)) {
				t.Errorf("Limit(%d) changed record %d", tc.n, tc.want-1)
			}
		})
	}
	for i := range s.N {
		r := s.Records[i*RecordSize : (i+1)*RecordSize]
		if s.Label(i) != int(r[0]) || !bytes.Equal(s.Image(i), r[1:]) || len(s.Image(i)) != ImageSize || !bytes.Equal(s.Record(i), r) {
			t.Fatalf("record %d: Label/Image/Record disagree with Records", i)
		}
	}
	if c := cap(s.Image(0)); c != ImageSize {
		t.Errorf("cap(Image(0)) = %d, want %d (appending must not reach the next record)", c, ImageSize)
	}
	defer func() {
		if recover() == nil {
			t.Error("Label(N) did not panic")
		}
	}()
	s.Label(s.N)
}

func TestParseBatch(t *testing.T) {
	good := Synthetic(4, 0, 1).Train.Records
	badLabel := bytes.Clone(good)
	badLabel[2*RecordSize] = 10
	for _, tc := range []struct {
		name  string
		data  []byte
		wantN int
		err   []string
	}{
		{"four records", good, 4, nil},
		{"empty", nil, 0, nil},
		{"truncated by one byte", good[:len(good)-1], 0, []string{"x.bin", "size 12291 bytes", "not a multiple of the 3073-byte"}},
		{"one byte", good[:1], 0, []string{"x.bin", "size 1 bytes"}},
		{"label 10 in record 2", badLabel, 0, []string{"x.bin", "record 2 has label 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseBatch("x.bin", tc.data)
			if tc.err != nil {
				errtest.Want(t, err, tc.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.N != tc.wantN {
				t.Errorf("N = %d, want %d", s.N, tc.wantN)
			}
		})
	}
}

// TestLoadArchiveFile loads hand-made archives from local paths.
func TestLoadArchiveFile(t *testing.T) {
	d := Synthetic(50, 20, 3) // five equal batches
	uneven := Synthetic(53, 7, 4)
	withMembers := func(fn func([]member) []member) []byte {
		return makeTarGz(t, fn(goodMembers(d)))
	}
	drop := func(names ...string) []byte {
		return withMembers(func(ms []member) []member {
			return slices.DeleteFunc(ms, func(m member) bool { return slices.Contains(names, filepath.Base(m.name)) })
		})
	}
	edit := func(name string, fn func([]byte) []byte) []byte {
		return withMembers(func(ms []member) []member {
			for i := range ms {
				if filepath.Base(ms[i].name) == name {
					ms[i].data = fn(bytes.Clone(ms[i].data))
				}
			}
			return ms
		})
	}
	good := archiveBytes(t, d)
	corrupt := bytes.Clone(good)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5A
	}
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 1 // the gzip trailer's CRC-32

	for _, tc := range []struct {
		name  string
		file  []byte
		md5   string
		want  *Dataset
		warn  string // a warning must contain this ("" = no warning)
		err   []string
		pname string // file name (default x.tar.gz)
	}{
		{name: "WriteArchive output", file: good, want: d, warn: "not the official"},
		{name: "uneven batches", file: archiveBytes(t, uneven), want: uneven, warn: "not the official"},
		{name: "expected MD5 given", file: good, md5: strings.ToUpper(md5Hex(good)), want: d},
		{name: "wrong MD5 given", file: good, md5: "00000000000000000000000000000000", err: []string{"x.tar.gz has MD5 " + md5Hex(good), "not the expected 0000"}},
		{name: "other prefix, other order, extra members", want: d, warn: "not the official", file: withMembers(func(ms []member) []member {
			slices.Reverse(ms)
			for i := range ms {
				ms[i].name = "some/where/" + filepath.Base(ms[i].name)
			}
			return append([]member{{name: "some/", typ: tar.TypeDir}, {name: "readme.html", data: []byte("<html>")}}, ms...)
		})},
		{name: "no meta file: official names", file: drop(MetaFile), want: d, warn: "not the official"},
		{name: "dot-dot member", file: withMembers(func(ms []member) []member {
			return append(ms, member{name: "cifar-10-batches-bin/../../evil", data: []byte("x")})
		}), err: []string{"x.tar.gz", `"cifar-10-batches-bin/../../evil"`, `".."`, "re-download"}},
		{name: "dot-dot batch member", file: withMembers(func(ms []member) []member {
			ms[0].name = "../data_batch_1.bin"
			return ms
		}), err: []string{`"../data_batch_1.bin"`}},
		{name: "absolute member", file: withMembers(func(ms []member) []member {
			ms[5].name = "/tmp/test_batch.bin"
			return ms
		}), err: []string{`"/tmp/test_batch.bin"`, "absolute"}},
		{name: "symlink batch", file: withMembers(func(ms []member) []member {
			ms[2] = member{name: ms[2].name, typ: tar.TypeSymlink}
			return ms
		}), err: []string{"data_batch_3.bin is not a regular file"}},
		{name: "missing members", file: drop("data_batch_3.bin", TestFile), err: []string{"x.tar.gz", "no data_batch_3.bin, test_batch.bin"}},
		{name: "duplicate member", file: withMembers(func(ms []member) []member { return append(ms, ms[1]) }), err: []string{"data_batch_2.bin appears twice"}},
		{name: "batch size not a multiple", file: edit("data_batch_2.bin", func(b []byte) []byte { return b[:len(b)-1] }),
			err: []string{"data_batch_2.bin", "size 30729 bytes", "not a multiple"}},
		{name: "label out of range", file: edit(TestFile, func(b []byte) []byte { b[3*RecordSize] = 200; return b }),
			err: []string{"test_batch.bin", "record 3 has label 200"}},
		{name: "bad meta", file: edit(MetaFile, func([]byte) []byte { return []byte("a\nb\n") }), err: []string{"batches.meta.txt", "lists 2 class names"}},
		{name: "empty test batch", file: edit(TestFile, func([]byte) []byte { return nil }), err: []string{"no test records"}},
		{name: "truncated gzip", file: good[:len(good)/2], err: []string{"x.tar.gz", "truncated", "unexpected EOF", "re-download"}},
		{name: "truncated gzip trailer", file: good[:len(good)-4], err: []string{"x.tar.gz", "truncated"}},
		{name: "corrupt gzip", file: corrupt, err: []string{"x.tar.gz", "corrupt"}},
		{name: "gzip checksum", file: badCRC, err: []string{"x.tar.gz", "checksum"}},
		{name: "not gzip", file: []byte("hello, this is not an archive"), err: []string{"x.tar.gz", "not a gzip file"}},
		{name: "empty file", file: nil, err: []string{"x.tar.gz", "not a gzip file"}},
		{name: "gzip of no tar", file: makeTarGz(t, nil), err: []string{"no data_batch_1.bin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(t.TempDir(), "x.tar.gz"), tc.file)
			warn, warnings := collect()
			got, err := Load(Options{Source: p, MD5: tc.md5, Warn: warn})
			if tc.err != nil {
				errtest.Want(t, err, tc.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameDataset(got, tc.want); diff != "" {
				t.Error(diff)
			}
			switch {
			case tc.warn == "" && len(*warnings) > 0:
				t.Errorf("unexpected warnings %q", *warnings)
			case tc.warn != "" && (len(*warnings) != 1 || !strings.Contains((*warnings)[0], tc.warn)):
				t.Errorf("warnings %q, want one containing %q", *warnings, tc.warn)
			}
		})
	}
}

// TestLoadLocalPaths loads extracted directories and checks path errors.
func TestLoadLocalPaths(t *testing.T) {
	d := Synthetic(40, 10, 5)
	extract := func(t *testing.T, root string, fn func(name string, data []byte) []byte) string {
		for name, data := range batchFiles(d) {
			if fn != nil {
				data = fn(name, data)
			}
			if data != nil {
				writeFile(t, filepath.Join(root, DirName, name), data)
			}
		}
		return root
	}
	for _, tc := range []struct {
		name   string
		source func(t *testing.T, tmp string) string
		err    []string
	}{
		{"batches directory", func(t *testing.T, tmp string) string { return filepath.Join(extract(t, tmp, nil), DirName) }, nil},
		{"its parent", func(t *testing.T, tmp string) string { return extract(t, tmp, nil) }, nil},
		{"directory holding the archive", func(t *testing.T, tmp string) string {
			writeFile(t, filepath.Join(tmp, ArchiveName), archiveBytes(t, d))
			return tmp
		}, nil},
		{"missing path", func(t *testing.T, tmp string) string { return filepath.Join(tmp, "nope") },
			[]string{"nope", "no such file or directory", "point --data at"}},
		{"empty directory", func(t *testing.T, tmp string) string { return tmp },
			[]string{"holds neither", "point --data at"}},
		{"directory without the batch files", func(t *testing.T, tmp string) string {
			writeFile(t, filepath.Join(tmp, DirName, "readme.html"), []byte("x"))
			return tmp
		}, []string{"holds neither"}},
		{"missing test batch", func(t *testing.T, tmp string) string {
			return extract(t, tmp, func(name string, data []byte) []byte {
				if name == TestFile || name == "data_batch_4.bin" {
					return nil
				}
				return data
			})
		}, []string{DirName + " has no data_batch_4.bin, test_batch.bin", "re-extract"}},
		{"truncated bin", func(t *testing.T, tmp string) string {
			return extract(t, tmp, func(name string, data []byte) []byte {
				if name == "data_batch_3.bin" {
					return data[:len(data)-100]
				}
				return data
			})
		}, []string{filepath.Join(DirName, "data_batch_3.bin"), "size 24484 bytes", "not a multiple of the 3073-byte record size"}},
		{"label out of range", func(t *testing.T, tmp string) string {
			return extract(t, tmp, func(name string, data []byte) []byte {
				if name == "data_batch_5.bin" {
					data[7*RecordSize] = 10
				}
				return data
			})
		}, []string{filepath.Join(DirName, "data_batch_5.bin"), "record 7 has label 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.source(t, t.TempDir())
			warn, warnings := collect()
			got, err := Load(Options{Source: src, Warn: warn})
			if tc.err != nil {
				errtest.Want(t, err, tc.err...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameDataset(got, d); diff != "" {
				t.Error(diff)
			}
			if strings.HasSuffix(src, DirName) && len(*warnings) != 0 {
				t.Errorf("warnings for a directory: %q", *warnings)
			}
		})
	}
}

func TestWriteArchive(t *testing.T) {
	d := Synthetic(12, 3, 9)
	a, b := archiveBytes(t, d), archiveBytes(t, Synthetic(12, 3, 9))
	if !bytes.Equal(a, b) {
		t.Error("WriteArchive output differs for the same data")
	}
	got, err := ReadArchive(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameDataset(got, d); diff != "" {
		t.Error(diff)
	}
	for _, tc := range []struct {
		name string
		d    *Dataset
		err  string
	}{
		{"records shorter than N", &Dataset{Train: Split{Records: d.Train.Records[:10], N: 1}, Test: d.Test}, "train split has 10 bytes for 1 records"},
		{"nine classes", &Dataset{Train: d.Train, Test: d.Test, Classes: ClassNames()[:9]}, "9 class names"},
		{"class with newline", &Dataset{Train: d.Train, Test: d.Test, Classes: append(ClassNames()[:9], "a\nb")}, "class name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errtest.Want(t, WriteArchive(&bytes.Buffer{}, tc.d), tc.err)
		})
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, &Dataset{Train: d.Train, Test: d.Test}); err != nil {
		t.Fatalf("nil Classes: %v", err)
	}
}
