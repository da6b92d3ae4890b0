package cifar10

import (
	"archive/tar"
	"bytes"
	"testing"
)

// FuzzParseBatch checks that ParseBatch never panics and that what it
// accepts is well formed.
func FuzzParseBatch(f *testing.F) {
	good := Synthetic(2, 0, 1).Train.Records
	f.Add(good)
	f.Add(good[:RecordSize])
	f.Add(good[:RecordSize-1])
	f.Add([]byte{})
	f.Add(append([]byte{10}, make([]byte, ImageSize)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseBatch("fuzz.bin", data)
		if err != nil {
			return
		}
		if s.N*RecordSize != len(data) || len(s.Records) != len(data) {
			t.Fatalf("N %d for %d bytes", s.N, len(data))
		}
		for i := range s.N {
			if l := s.Label(i); l < 0 || l >= NumClasses {
				t.Fatalf("record %d: label %d accepted", i, l)
			}
			if len(s.Image(i)) != ImageSize {
				t.Fatalf("record %d: image of %d bytes", i, len(s.Image(i)))
			}
		}
	})
}

// tinyDataset has nTrain+nTest records whose images are one grey level.
func tinyDataset(nTrain, nTest int) *Dataset {
	d := &Dataset{Classes: ClassNames()}
	for _, sp := range []struct {
		s *Split
		n int
	}{{&d.Train, nTrain}, {&d.Test, nTest}} {
		sp.s.N, sp.s.Records = sp.n, make([]byte, sp.n*RecordSize)
		for i := range sp.n {
			rec := sp.s.Records[i*RecordSize : (i+1)*RecordSize]
			rec[0] = byte(i % NumClasses)
			for j := range ImageSize {
				rec[1+j] = byte(16 * i)
			}
		}
	}
	return d
}

// FuzzReadArchive checks that ReadArchive never panics on any input and
// that what it accepts is well formed.
func FuzzReadArchive(f *testing.F) {
	// Small seeds keep the fuzzer fast: plain images compress to little.
	d := tinyDataset(5, 1)
	good := archiveBytes(f, d)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:10])
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b})
	ms := goodMembers(d)
	f.Add(makeTarGz(f, append(ms, member{name: "../x", data: []byte("x")})))
	f.Add(makeTarGz(f, append(ms, ms[0])))
	f.Add(makeTarGz(f, append(ms[1:], member{name: "data_batch_1.bin", typ: tar.TypeSymlink})))
	f.Add(makeTarGz(f, ms[:3]))
	f.Add(archiveBytes(f, tinyDataset(1, 1))) // empty training batches
	f.Add(archiveBytes(f, tinyDataset(10, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadArchive(bytes.NewReader(data))
		if err != nil {
			if got != nil {
				t.Fatal("dataset and error")
			}
			return
		}
		for _, s := range []Split{got.Train, got.Test} {
			if s.N <= 0 || len(s.Records) != s.N*RecordSize {
				t.Fatalf("N %d for %d bytes", s.N, len(s.Records))
			}
			for i := range s.N {
				if l := s.Label(i); l < 0 || l >= NumClasses {
					t.Fatalf("label %d accepted", l)
				}
			}
		}
		if len(got.Classes) != NumClasses {
			t.Fatalf("%d classes", len(got.Classes))
		}
		// What was read writes back and reads again the same.
		var buf bytes.Buffer
		if err := WriteArchive(&buf, got); err != nil {
			t.Fatalf("WriteArchive of an accepted archive: %v", err)
		}
		again, err := ReadArchive(&buf)
		if err != nil {
			t.Fatalf("re-reading: %v", err)
		}
		if diff := sameDataset(again, got); diff != "" {
			t.Fatal(diff)
		}
	})
}
