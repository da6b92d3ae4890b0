package dashboard

import (
	"encoding/json"
	"sync"
)

// runLog is one run's events in order. Writers append and return at once;
// readers (each page's connection, the file writer) keep their own position
// and are woken through a channel of capacity one, so a reader that is
// behind finds one wake-up waiting however many events came, and reads them
// all in one batch. No writer ever waits on a reader.
type runLog struct {
	mu      sync.Mutex
	entries []entry
	subs    map[chan struct{}]struct{}
}

func newRunLog() *runLog {
	return &runLog{subs: map[chan struct{}]struct{}{}}
}

// append adds events and wakes every reader.
func (l *runLog) append(es ...entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, es...)
	for ch := range l.subs {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already waiting
		}
	}
}

// since returns the events from position n on. The slice shares the log's
// backing array, which append never rewrites, so the caller reads it without
// the lock.
func (l *runLog) since(n int) []entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entries[min(n, len(l.entries)):len(l.entries):len(l.entries)]
}

// len is the number of events so far.
func (l *runLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// status is how the run stands: "running" until an end event, then the
// end's status ("finished" or "stopped").
func (l *runLog) status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.entries) - 1; i >= 0; i-- {
		switch e := l.entries[i]; e.kind {
		case typeSettings:
			return "running"
		case typeEnd:
			var end struct{ Status string }
			if json.Unmarshal(e.full, &end) == nil && end.Status != "" {
				return end.Status
			}
			return "stopped"
		}
	}
	return ""
}

// shape is the image shape of the run's gallery, from its last settings
// event (a run started again in its directory may have changed it); false
// before any settings event, or when it holds a shape that is not one.
func (l *runLog) shape() (Shape, bool) {
	es := l.since(0)
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].kind != typeSettings {
			continue
		}
		var s struct {
			Image Shape `json:"image"`
		}
		if json.Unmarshal(es[i].full, &s) != nil {
			return Shape{}, false
		}
		sh := s.Image.orCIFAR()
		return sh, sh.check() == nil
	}
	return Shape{}, false
}

// subscribe makes append wake ch; several logs may share one channel.
func (l *runLog) subscribe(ch chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs[ch] = struct{}{}
}

func (l *runLog) unsubscribe(ch chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, ch)
}

// maxReplaySamples bounds the progress samples a page gets when it
// connects, so a long run's first load stays small; the chart of thousands
// of samples looks the same with every k-th of them.
const maxReplaySamples = 2000

// replay is what a page needs to draw a run so far: the events in order,
// with the details (confusion matrix, predictions, filters) of the last
// epoch only, the samples thinned to maxReplaySamples, and, where the run
// was resumed, the samples and epochs the resumed run redoes left out.
func replay(es []entry) [][]byte {
	kept := make([]entry, 0, len(es))
	for _, e := range es {
		if e.kind == typeSettings && e.epoch > 0 {
			// A resume from epoch F redoes epochs F and later: what the
			// interrupted run recorded of them is superseded.
			kept = dropFrom(kept, e.epoch)
		}
		kept = append(kept, e)
	}
	samples, lastEpoch := 0, -1
	for i, e := range kept {
		switch e.kind {
		case typeSample:
			samples++
		case typeEpoch:
			lastEpoch = i
		}
	}
	stride := (samples + maxReplaySamples - 1) / maxReplaySamples
	out := make([][]byte, 0, len(kept))
	s := 0
	for i, e := range kept {
		switch {
		case e.kind == typeSample:
			s++
			// Keep every stride-th sample and the last one.
			if stride > 1 && s%stride != 0 && s != samples {
				continue
			}
		case e.kind == typeEpoch && i != lastEpoch && e.light != nil:
			out = append(out, e.light)
			continue
		}
		out = append(out, e.full)
	}
	return out
}

// dropFrom removes the samples and epochs of epoch first and later.
func dropFrom(es []entry, first int) []entry {
	out := es[:0]
	for _, e := range es {
		if (e.kind == typeSample || e.kind == typeEpoch) && e.epoch >= first {
			continue
		}
		out = append(out, e)
	}
	return out
}
