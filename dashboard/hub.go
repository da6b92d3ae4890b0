package dashboard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Files the Hub writes into the run directory.
const (
	// EventsFile is the run's history: one JSON object per line (settings,
	// progress samples, epochs, the end), appended as training goes.
	EventsFile = "dashboard.jsonl"
	// GalleryFile holds the test images the page shows, as records of the
	// shape the settings event gives (label byte, then the channels'
	// planes), as in CIFAR-10's binary format.
	GalleryFile = "dashboard-test.bin"
)

// GallerySize is how many test images (the first ones of the test set) the
// Hub keeps for the page: it shows some of them with their predictions, and
// takes the examples of a confusion-matrix cell from all of them. 500 images
// are 1.5 MB in the run directory for CIFAR-10 and hold a few examples of
// the common confusions of a half-trained network.
const GallerySize = 500

// maxGalleryBytes bounds the gallery of large images, which keeps fewer
// than GallerySize (but never fewer than the page's grid shows) so that a
// run directory does not grow by tens of megabytes: 500 images of 3x224x224
// would be 75 MB.
const maxGalleryBytes = 16 << 20

// minGallery is the fewest images the gallery keeps, as many as the page's
// grid shows (GRID_IMAGES in app.js), if the test set has them.
const minGallery = 40

// minSampleImages is the fewest images between two progress samples; an
// epoch has at most about 100 samples beyond that, enough for a smooth curve
// and few enough for a small page.
const minSampleImages = 256

// Hub records a training run for the dashboard: the train command reports
// to it, it keeps the run's events for the pages that connect, and writes
// them to the run directory. Progress and Epoch return at once, waiting on
// neither a browser nor the disk; only Close waits, for the disk. Report
// from one goroutine (the training loop); Handler may serve any number of
// pages meanwhile.
type Hub struct {
	dir, name string
	log       *runLog
	gallery   []byte  // the gallery's records
	shape     Shape   // the shape of their images
	labels    []uint8 // every test image's label
	classes   int
	planned   float64 // epochs the run ends with

	mu      sync.Mutex
	closed  bool
	done    int       // epochs reported
	epoch   int       // the epoch of the last sample
	images  int       // images trained by the last sample
	lossSum float64   // the epoch's loss sum at the last sample
	last    time.Time // the time of the last sample or epoch

	closing chan struct{} // closed by Close after the end event
	written chan struct{} // closed when the writer has finished
	werr    error         // the writer's error, read after written
}

// NewHub starts recording a run into dir (which must exist): it writes the
// gallery of test images, keeps any earlier history of the run (a resumed
// run goes on where it left off), and records s. test is the test set as
// records of s.Image's shape (a label byte, then the image's channels, each
// a row-major plane: package dataset's layout), in the order of the
// predictions Epoch will be given.
func NewHub(dir string, s Settings, test []byte) (*Hub, error) {
	s.Image = s.Image.orCIFAR()
	if err := s.Image.check(); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	size := s.Image.recordSize()
	if len(test)%size != 0 {
		return nil, fmt.Errorf("dashboard: %d bytes of test records are not whole records of %v images (%d bytes each: a label byte and the pixels)", len(test), s.Image, size)
	}
	n := len(test) / size
	h := &Hub{
		dir: dir, name: s.Run, log: newRunLog(), shape: s.Image,
		labels: make([]uint8, n), classes: max(len(s.Classes), 1), planned: s.Epochs,
		last: time.Now(), closing: make(chan struct{}), written: make(chan struct{}),
	}
	if h.name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		h.name = filepath.Base(abs)
	}
	s.Run = h.name
	for i := range n {
		h.labels[i] = test[i*size]
	}
	g := galleryLen(n, size)
	h.gallery = test[:g*size]
	s.Gallery = make([]int, g)
	for i := range g {
		s.Gallery[i] = int(h.labels[i])
	}
	err := atomicfile.Write(filepath.Join(dir, GalleryFile), func(w io.Writer) error {
		_, err := w.Write(h.gallery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	old, err := readEvents(filepath.Join(dir, EventsFile))
	if err != nil {
		return nil, err
	}
	h.log.append(old...)
	h.log.append(newEntry(typeSettings, s.FirstEpoch, settingsEvent{Type: typeSettings, T: unixSec(h.last), Settings: s}))
	h.epoch = s.FirstEpoch
	go h.write(len(old))
	return h, nil
}

// galleryLen is how many of n test records of size bytes the gallery keeps.
func galleryLen(n, size int) int {
	return min(n, GallerySize, max(maxGalleryBytes/size, minGallery))
}

// readEvents reads a run's earlier history; a missing file is an empty one.
func readEvents(path string) ([]entry, error) {
	buf, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard: reading the run's history: %w", err)
	}
	es, _ := parseLines(buf)
	return es, nil
}

// parseLines reads the complete lines of buf as events and returns how
// many bytes they took (see completeLines).
func parseLines(buf []byte) (es []entry, used int) {
	used = completeLines(buf, func(line []byte) {
		if e, ok := parseEntry(bytes.Clone(line)); ok {
			es = append(es, e)
		}
	})
	return es, used
}

// completeLines calls f with each complete line of buf, without its
// newline, and returns how many bytes they took; a last line without its
// newline is still being written, so it is left for later.
func completeLines(buf []byte, f func(line []byte)) (used int) {
	for {
		i := bytes.IndexByte(buf[used:], '\n')
		if i < 0 {
			return used
		}
		f(buf[used : used+i])
		used += i + 1
	}
}

// Progress records the trainer's progress. It keeps a sample every few
// hundred images and at the end of each epoch, with the mean loss and the
// images per second since the previous one.
func (h *Hub) Progress(p Progress) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || p.Images <= 0 {
		return
	}
	if p.Epoch != h.epoch || p.Images < h.images {
		h.epoch, h.images, h.lossSum = p.Epoch, 0, 0
	}
	n := p.Images - h.images
	if n <= 0 || n < max(minSampleImages, p.Total/100) && p.Images < p.Total {
		return
	}
	now := time.Now()
	sum := p.Loss * float64(p.Images)
	ips := 0.0
	if dt := now.Sub(h.last).Seconds(); dt > 0 {
		ips = float64(n) / dt
	}
	h.log.append(newEntry(typeSample, p.Epoch, sampleEvent{
		Type: typeSample, T: unixSec(now), Epoch: p.Epoch, Images: p.Images, Total: p.Total,
		Loss: num((sum - h.lossSum) / float64(n)), IPS: num(ips), LR: num(p.LR),
	}))
	h.images, h.lossSum, h.last = p.Images, sum, now
}

// Epoch records an epoch's results: the figures, the confusion matrix and
// the gallery's predictions (from e.Predictions), and the first layer's
// filters.
func (h *Hub) Epoch(e Epoch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := time.Now()
	ev := epochEvent{
		Type: typeEpoch, T: unixSec(now), Epoch: e.Epoch,
		TrainLoss: num(e.TrainLoss), TrainAccuracy: num(e.TrainAccuracy),
		TestLoss: num(e.TestLoss), TestAccuracy: num(e.TestAccuracy),
		Seconds: num(e.Seconds), ImagesPerSecond: num(e.ImagesPerSecond),
	}
	light := newEntry(typeEpoch, e.Epoch, ev)
	if len(e.Predictions) == len(h.labels) {
		ev.Confusion = make([][]int, h.classes)
		for i := range ev.Confusion {
			ev.Confusion[i] = make([]int, h.classes)
		}
		for i, p := range e.Predictions {
			if int(p) < h.classes && int(h.labels[i]) < h.classes {
				ev.Confusion[h.labels[i]][p]++
			}
		}
		ev.Gallery = make([]int, len(h.gallery)/h.shape.recordSize())
		for i := range ev.Gallery {
			ev.Gallery[i] = int(e.Predictions[i])
		}
	}
	ev.Filters = e.Filters
	full := newEntry(typeEpoch, e.Epoch, ev)
	full.light = light.full
	h.log.append(full)
	h.done = e.Epoch + 1
	// The next epoch's first sample measures from here, not from before
	// the evaluation.
	h.epoch, h.images, h.lossSum, h.last = e.Epoch+1, 0, 0, now
}

// Close records the end of the run (finished if it reached its planned
// epochs, else stopped) and waits until the history is on disk. It returns
// what went wrong writing it; the run itself is not affected.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.written
		return h.werr
	}
	h.closed = true
	status := "stopped"
	if float64(h.done) >= h.planned {
		status = "finished"
	}
	h.log.append(newEntry(typeEnd, h.done, endEvent{Type: typeEnd, T: unixSec(time.Now()), Status: status, Epochs: h.done}))
	h.mu.Unlock()
	close(h.closing)
	<-h.written
	return h.werr
}

// write appends the log's events from position pos to the events file as
// they come, each batch in one write of whole lines, so a reader never sees
// half an event but for the last line of a crash, which it skips.
func (h *Hub) write(pos int) {
	defer close(h.written)
	path := filepath.Join(h.dir, EventsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		h.werr = fmt.Errorf("dashboard: %w", err)
		return
	}
	wake := make(chan struct{}, 1)
	h.log.subscribe(wake)
	defer h.log.unsubscribe(wake)
	w := bufio.NewWriter(f)
	for {
		// Read closing before the log: after Close closes it the log gets
		// nothing more, so this batch is the last.
		closing := false
		select {
		case <-h.closing:
			closing = true
		default:
		}
		es := h.log.since(pos)
		for _, e := range es {
			w.Write(e.full)
			w.WriteByte('\n')
		}
		pos += len(es)
		if err := w.Flush(); err != nil {
			f.Close()
			h.werr = fmt.Errorf("dashboard: writing %s: %w", path, err)
			return
		}
		if closing {
			if err := f.Close(); err != nil {
				h.werr = fmt.Errorf("dashboard: writing %s: %w", path, err)
			}
			return
		}
		select {
		case <-wake:
		case <-h.closing:
		}
	}
}

// Handler serves this run's dashboard.
func (h *Hub) Handler() http.Handler { return newServer(hubSource{h}) }

// hubSource serves the one live run from memory.
type hubSource struct{ h *Hub }

func (s hubSource) runs() []runInfo {
	return []runInfo{{Name: s.h.name, Status: s.h.log.status(), Modified: unixSec(time.Now())}}
}

func (s hubSource) open(name string) (*runLog, bool) {
	return s.h.log, name == s.h.name
}

func (s hubSource) gallery(name string) ([]byte, Shape) {
	if name != s.h.name {
		return nil, Shape{}
	}
	return s.h.gallery, s.h.shape
}
