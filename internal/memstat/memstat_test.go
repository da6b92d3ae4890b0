package memstat

import "testing"

var sink [][]byte

// TestLiveHeapSeesWhatIsKept: 8 MiB kept alive shows in LiveHeap, and
// dropping it takes it away again.
func TestLiveHeapSeesWhatIsKept(t *testing.T) {
	before := LiveHeap()
	for range 8 {
		sink = append(sink, make([]byte, 1<<20))
	}
	kept := LiveHeap()
	sink = nil
	after := LiveHeap()
	if kept-before < 8<<20 {
		t.Errorf("8 MiB kept, live heap %d -> %d", before, kept)
	}
	if kept-after < 8<<20 {
		t.Errorf("8 MiB dropped, live heap %d -> %d", kept, after)
	}
}

func TestResident(t *testing.T) {
	if r := Resident(); r <= 0 {
		t.Skipf("no /proc/self/statm here (Resident = %d)", r)
	}
}
