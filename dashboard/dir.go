package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vkcnn/vkcnn/metrics"
)

// metricsFile is what every vkcnn train run writes; a run recorded before
// the dashboard existed has only this, and is shown from it.
const metricsFile = "metrics.jsonl"

// silentAfter is how long a run without an end event may go without news
// before it is shown as stopped rather than running (a killed process
// writes no end).
const silentAfter = 2 * time.Minute

// Dir serves the runs of a directory: the directory itself if it is a run's
// --out directory, and each of its subdirectories that is one. Finished runs
// are read once; running ones are followed as their files grow.
//
// Every file is opened through an os.Root of the directory, by names that
// come from listing it, so no request can reach outside it, whether by ..,
// an absolute path, an encoded slash or a symbolic link.
type Dir struct {
	path string
	name string // the directory's base name: its own run's name
	root *os.Root
	poll time.Duration

	mu        sync.Mutex
	tails     map[string]*tail   // by path in the root
	galleries map[string]gallery // by path in the root
	stop      chan struct{}
	wg        sync.WaitGroup
}

// OpenDir opens a directory of runs. Close it to stop following them.
func OpenDir(dir string) (*Dir, error) {
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return nil, fmt.Errorf("runs directory %s: %v: pass the --out directory of a vkcnn train run, or a directory of them (such as ./runs)", dir, errors.Unwrap(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("runs directory %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Dir{
		path: dir, name: filepath.Base(abs), root: root, poll: time.Second,
		tails: map[string]*tail{}, galleries: map[string]gallery{}, stop: make(chan struct{}),
	}, nil
}

// Close stops following the runs.
func (d *Dir) Close() error {
	d.mu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.mu.Unlock()
	d.wg.Wait()
	return d.root.Close()
}

// Handler serves the dashboard of the directory's runs.
func (d *Dir) Handler() http.Handler { return newServer(dirSource{d}) }

// Runs lists the names of the runs in the directory, the most recently
// changed first.
func (d *Dir) Runs() []string {
	var names []string
	for _, r := range d.list() {
		names = append(names, r.info.Name)
	}
	return names
}

// listed is a run found in the directory.
type listed struct {
	info runInfo
	rel  string // its directory within the root: "." or a subdirectory's name
	file string // EventsFile, or metricsFile for runs without one
}

// list finds the runs: the root if it is one, and its subdirectories that
// are. Symbolic links are not followed.
func (d *Dir) list() []listed {
	var runs []listed
	if r, ok := d.probe(".", d.name, true); ok {
		runs = append(runs, r)
	}
	rootIsRun := len(runs) > 0 // and its name is taken
	entries, _ := fs.ReadDir(d.root.FS(), ".")
	for _, e := range entries {
		if !e.IsDir() || rootIsRun && e.Name() == d.name {
			continue
		}
		if r, ok := d.probe(e.Name(), e.Name(), true); ok {
			runs = append(runs, r)
		}
	}
	slices.SortStableFunc(runs, func(a, b listed) int {
		return time.Time(b.info.Modified).Compare(time.Time(a.info.Modified))
	})
	return runs
}

// probe tells whether rel is a run's directory and, with status, how it
// stands.
func (d *Dir) probe(rel, name string, status bool) (listed, bool) {
	for _, file := range []string{EventsFile, metricsFile} {
		fi, err := d.root.Stat(path.Join(rel, file))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		r := listed{info: runInfo{Name: name, Modified: unixSec(fi.ModTime())}, rel: rel, file: file}
		if status && file == EventsFile {
			r.info.Status = d.status(path.Join(rel, file), fi)
		}
		return r, true
	}
	return listed{}, false
}

// status reads how a run stands from its last event: its end's status, or
// running if it has had news lately.
func (d *Dir) status(file string, fi fs.FileInfo) string {
	f, err := d.root.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tailBytes = 4096
	off := max(fi.Size()-tailBytes, 0)
	buf := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(buf, off)
	buf = bytes.TrimRight(buf[:n], "\n")
	last := buf[bytes.LastIndexByte(buf, '\n')+1:]
	var end struct{ Type, Status string }
	if json.Unmarshal(last, &end) == nil && end.Type == typeEnd {
		return end.Status
	}
	if time.Since(fi.ModTime()) < silentAfter {
		return "running"
	}
	return "stopped"
}

// find looks a run up by name as list would list it, without listing the
// whole directory (a page asks for dozens of images at once): the root's own
// name, or the name of a subdirectory, never a path.
func (d *Dir) find(name string) (listed, bool) {
	if name == d.name {
		if r, ok := d.probe(".", name, false); ok {
			return r, true
		}
	}
	if name == "." || strings.ContainsAny(name, `/\`) || !fs.ValidPath(name) {
		return listed{}, false
	}
	fi, err := d.root.Lstat(name)
	if err != nil || !fi.IsDir() {
		return listed{}, false
	}
	return d.probe(name, name, false)
}

// tail follows one run's events file.
type tail struct {
	log     *runLog
	file    string // path within the root
	metrics bool   // the file is metrics.jsonl
	off     int64  // bytes consumed
	partial []byte // a last line still being written
}

// follow returns the run's log, reading its file and following it from
// then on.
func (d *Dir) follow(r listed) *runLog {
	d.mu.Lock()
	defer d.mu.Unlock()
	file := path.Join(r.rel, r.file)
	if t, ok := d.tails[file]; ok {
		return t.log
	}
	t := &tail{log: newRunLog(), file: file, metrics: r.file == metricsFile}
	d.tails[file] = t
	t.read(d.root)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tick := time.NewTicker(d.poll)
		defer tick.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-tick.C:
				t.read(d.root)
			}
		}
	}()
	return t.log
}

// read appends what the file gained since the last read. A file that
// shrank was replaced (a run started again in the same directory): its
// events start over, after what was read of the old one.
func (t *tail) read(root *os.Root) {
	f, err := root.Open(t.file)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == t.off {
		return
	}
	if fi.Size() < t.off {
		t.off, t.partial = 0, nil
	}
	buf, err := io.ReadAll(io.NewSectionReader(f, t.off, fi.Size()-t.off))
	if err != nil {
		return
	}
	t.off += int64(len(buf))
	buf = append(t.partial, buf...)
	var es []entry
	used := 0
	if t.metrics {
		es, used = parseMetrics(buf)
	} else {
		es, used = parseLines(buf)
	}
	t.partial = bytes.Clone(buf[used:])
	t.log.append(es...)
}

// parseMetrics turns the complete lines of a metrics.jsonl into epoch
// events.
func parseMetrics(buf []byte) (es []entry, used int) {
	used = completeLines(buf, func(line []byte) {
		var m metrics.Epoch
		if json.Unmarshal(line, &m) != nil {
			return
		}
		es = append(es, newEntry(typeEpoch, m.Epoch, epochEvent{
			Type: typeEpoch, Epoch: m.Epoch,
			TrainLoss: num(m.TrainLoss), TrainAccuracy: num(m.TrainAccuracy),
			TestLoss: num(math.NaN()), TestAccuracy: num(m.TestAccuracy),
			Seconds: num(m.Seconds), ImagesPerSecond: num(m.ImagesPerSecond),
		}))
	})
	return es, used
}

// dirSource serves a Dir's runs.
type dirSource struct{ d *Dir }

func (s dirSource) runs() []runInfo {
	var out []runInfo
	for _, r := range s.d.list() {
		out = append(out, r.info)
	}
	return out
}

func (s dirSource) open(name string) (*runLog, bool) {
	r, ok := s.d.find(name)
	if !ok {
		return nil, false
	}
	return s.d.follow(r), true
}

// gallery reads the images' shape from the run's settings event, as the
// run recorded it; until that event is there the gallery is not shown,
// since its records cannot be told apart.
func (s dirSource) gallery(name string) ([]byte, Shape) {
	r, ok := s.d.find(name)
	if !ok || r.file != EventsFile {
		return nil, Shape{}
	}
	shape, ok := s.d.follow(r).shape()
	if !ok {
		return nil, Shape{}
	}
	return s.d.gallery(path.Join(r.rel, GalleryFile)), shape
}

// gallery is a run's gallery file as last read, kept while it is unchanged:
// a page asks for dozens of its images at once.
type gallery struct {
	size    int64
	modTime time.Time
	records []byte
}

func (d *Dir) gallery(file string) []byte {
	fi, err := d.root.Stat(file)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if g, ok := d.galleries[file]; ok && g.size == fi.Size() && g.modTime.Equal(fi.ModTime()) {
		return g.records
	}
	buf, err := d.root.ReadFile(file)
	if err != nil {
		return nil
	}
	d.galleries[file] = gallery{size: fi.Size(), modTime: fi.ModTime(), records: buf}
	return buf
}
