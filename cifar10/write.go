package cifar10

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"time"
)

// archiveTime is the modification time WriteArchive gives its members, so
// that its output depends only on the data.
var archiveTime = time.Date(2009, 6, 4, 0, 0, 0, 0, time.UTC)

// WriteArchive writes d to w as a gzip-compressed tar in the official layout:
// cifar-10-batches-bin/ holding data_batch_1.bin ... data_batch_5.bin (the
// training split cut into five nearly equal parts, in order), test_batch.bin
// and batches.meta.txt (d.Classes, or the official names when d.Classes is
// empty). The output is the same for the same d.
func WriteArchive(w io.Writer, d *Dataset) error {
	for _, s := range []struct {
		name string
		sp   Split
	}{{"train", d.Train}, {"test", d.Test}} {
		if s.sp.N < 0 || len(s.sp.Records) != s.sp.N*RecordSize {
			return fmt.Errorf("cifar10: write archive: %s split has %d bytes for %d records of %d bytes", s.name, len(s.sp.Records), s.sp.N, RecordSize)
		}
	}
	classes := d.Classes
	if len(classes) == 0 {
		classes = ClassNames()
	}
	if len(classes) != NumClasses {
		return fmt.Errorf("cifar10: write archive: %d class names, want %d", len(classes), NumClasses)
	}
	for _, c := range classes {
		if strings.TrimSpace(c) != c || c == "" || strings.ContainsAny(c, "\r\n") {
			return fmt.Errorf("cifar10: write archive: class name %q is empty or has surrounding space", c)
		}
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	put := func(name string, data []byte) error {
		hdr := &tar.Header{
			Name: DirName + "/" + name, Mode: 0o644, Size: int64(len(data)),
			ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err := tw.WriteHeader(&tar.Header{Name: DirName + "/", Mode: 0o755, ModTime: archiveTime, Typeflag: tar.TypeDir, Format: tar.FormatUSTAR})
	n := d.Train.N
	for k, name := range TrainFiles() {
		if err != nil {
			break
		}
		lo, hi := k*n/5, (k+1)*n/5
		err = put(name, d.Train.Records[lo*RecordSize:hi*RecordSize])
	}
	if err == nil {
		err = put(TestFile, d.Test.Records)
	}
	if err == nil {
		err = put(MetaFile, []byte(strings.Join(classes, "\n")+"\n"))
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return fmt.Errorf("cifar10: write archive: %w", err)
	}
	return nil
}
