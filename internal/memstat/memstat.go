// Package memstat measures the process's memory for leak tests.
package memstat

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// LiveHeap is the size in bytes of the Go heap's live objects once
// collections have run the finalizers that vulkan-go attaches to its C
// copies. (HeapInuse counts whole spans and wanders by a MiB with
// fragmentation, so it makes a poor leak signal.) It collects until two
// readings in a row agree, since on a loaded machine the finalizer goroutine
// may not run within any fixed wait, and its garbage would then be counted.
func LiveHeap() int64 {
	var m runtime.MemStats
	last := int64(-1)
	for range 50 {
		runtime.GC()
		time.Sleep(time.Millisecond) // the finalizer goroutine runs
		runtime.ReadMemStats(&m)
		if int64(m.HeapAlloc) == last {
			break
		}
		last = int64(m.HeapAlloc)
	}
	return int64(m.HeapAlloc)
}

// Resident is the process's resident memory in bytes (Linux), or 0 where
// /proc/self/statm cannot be read.
func Resident() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
