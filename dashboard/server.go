package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed assets
var assetFS embed.FS

// runInfo is one line of the run list.
type runInfo struct {
	Name     string  `json:"name"`
	Status   string  `json:"status,omitempty"` // running, finished, stopped; "" when unknown
	Modified unixSec `json:"modified"`
}

// source is what a server shows: a live Hub's run, or a directory's runs.
// Runs are looked up by name in what runs lists; a name is never a path.
type source interface {
	runs() []runInfo
	open(name string) (*runLog, bool)
	gallery(name string) ([]byte, Shape) // the gallery's records (nil if none) and their images' shape
}

// maxRunsPerStream bounds the runs one page compares, and so the work one
// connection can ask for.
const maxRunsPerStream = 8

// server answers the page's requests. Only GET and HEAD are routed.
type server struct {
	src    source
	mux    *http.ServeMux
	assets map[string]asset

	// writeTimeout is how long one write to a page may take before the
	// page is given up as stalled (it reconnects if it is alive).
	writeTimeout time.Duration
	// keepAlive is how often an idle stream gets a comment, so a dead
	// connection is noticed.
	keepAlive time.Duration

	stopOnce sync.Once
	stopping chan struct{} // closed when the server shuts down
	active   atomic.Int32  // event streams open now
	streamed atomic.Bool   // set when the first stream opens

	endOnce sync.Once
	endSent chan struct{} // closed once a stream has sent a page a run's end
}

type asset struct {
	body  []byte
	gz    []byte // body gzipped, for text; nil for what does not shrink
	ctype string
	etag  string
}

// acceptsGzip reports whether the client takes gzip, as every browser does:
// it shrinks the scripts and the events to a quarter.
func acceptsGzip(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
}

func newServer(src source) *server {
	s := &server{
		src: src, mux: http.NewServeMux(), assets: map[string]asset{},
		writeTimeout: 30 * time.Second, keepAlive: 15 * time.Second,
		stopping: make(chan struct{}), endSent: make(chan struct{}),
	}
	files, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	for _, f := range files {
		b, err := assetFS.ReadFile("assets/" + f.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(f.Name()))
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		a := asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if !strings.HasPrefix(ctype, "image/") {
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(b)
			zw.Close()
			a.gz = z.Bytes()
		}
		s.assets[f.Name()] = a
	}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { s.asset(w, r, "index.html") })
	s.mux.HandleFunc("GET /assets/{name}", func(w http.ResponseWriter, r *http.Request) { s.asset(w, r, r.PathValue("name")) })
	s.mux.HandleFunc("GET /api/runs", s.runList)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /api/runs/{run}/images/{i}", s.image)
	return s
}

// ServeHTTP adds the headers every answer carries: the page may load only
// its own scripts, styles and images and talk only to this server (no
// third-party request can happen, even through an injected name), and is
// never framed or sniffed.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// stop makes the event streams send what they have and end, so a graceful
// shutdown does not wait for pages that would stay connected forever.
func (s *server) stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

// asset serves an embedded file by its exact name; nothing else is there
// to find.
func (s *server) asset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := s.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache") // revalidate: a new build may change it
	h.Set("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gz != nil && acceptsGzip(r) {
		body, etag = a.gz, a.etag[:len(a.etag)-1]+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (s *server) runList(w http.ResponseWriter, r *http.Request) {
	runs := s.src.runs()
	if runs == nil {
		runs = []runInfo{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"runs": runs})
}

// image serves gallery image i of a run as a PNG of its own size.
func (s *server) image(w http.ResponseWriter, r *http.Request) {
	recs, shape := s.src.gallery(r.PathValue("run"))
	i, err := strconv.Atoi(r.PathValue("i"))
	if recs == nil || err != nil || i < 0 || i >= len(recs)/shape.recordSize() {
		http.NotFound(w, r)
		return
	}
	size := shape.recordSize()
	rec := recs[i*size+1 : (i+1)*size]
	var buf bytes.Buffer
	if err := png.Encode(&buf, recordImage(rec, shape)); err != nil {
		http.Error(w, "encoding the image failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	// A run's test images do not change; a few minutes spares the
	// requests of each epoch's refresh.
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(buf.Bytes())
}

// recordImage is a record's image (its pixels without the label byte, one
// plane per channel) as an image: 3 channels as red, green and blue, any
// other number as grey. Of 2 or 4 and more channels, which no data set
// vkcnn reads has, only the first is shown: there is no one right colour
// for them, and the first channel still shows what the image is.
func recordImage(pix []byte, s Shape) image.Image {
	plane := s.Height * s.Width
	r := image.Rect(0, 0, s.Width, s.Height)
	if s.Channels != 3 {
		// Gray's pixels are a row-major plane, as the record's are.
		return &image.Gray{Pix: pix[:plane:plane], Stride: s.Width, Rect: r}
	}
	img := image.NewNRGBA(r)
	for i := range plane {
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = pix[i], pix[plane+i], pix[2*plane+i], 0xff
	}
	return img
}

// events streams runs' events as server-sent events. Each message is one
// JSON object {"run", "replay", "events"}: first, for each run, a replay of
// its history (replay true: the page starts the run afresh), then whatever
// the runs append, in batches as large as the page is slow.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["run"]
	if len(names) == 0 {
		if runs := s.src.runs(); len(runs) == 1 {
			names = []string{runs[0].Name}
		}
	}
	if len(names) == 0 || len(names) > maxRunsPerStream {
		http.Error(w, fmt.Sprintf("name 1 to %d runs: /api/events?run=NAME&run=NAME", maxRunsPerStream), http.StatusBadRequest)
		return
	}
	type follow struct {
		name string
		log  *runLog
		pos  int
	}
	var runs []*follow
	for _, n := range names {
		l, ok := s.src.open(n)
		if !ok {
			http.Error(w, "no such run: see /api/runs for the runs there are", http.StatusNotFound)
			return
		}
		runs = append(runs, &follow{name: n, log: l})
	}
	s.active.Add(1)
	defer s.active.Add(-1)
	s.streamed.Store(true)
	wake := make(chan struct{}, 1)
	for _, f := range runs {
		f.log.subscribe(wake)
		defer f.log.unsubscribe(wake)
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	var out io.Writer = w
	flush := func() error { return nil }
	if acceptsGzip(r) {
		// Each message is flushed through gzip on its own, so the page
		// reads it at once; the replay of a long run shrinks to a quarter.
		h.Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer zw.Close()
		out, flush = zw, zw.Flush
	}
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		if _, err := out.Write(b); err != nil {
			return false
		}
		return flush() == nil && rc.Flush() == nil
	}
	if !send([]byte("retry: 2000\n\n")) {
		return
	}
	for _, f := range runs {
		es := f.log.since(0)
		f.pos = len(es)
		if !send(message(f.name, true, replay(es))) {
			return
		}
		s.noteEnd(es)
	}
	tick := time.NewTicker(s.keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !send([]byte(":\n\n")) {
				return
			}
			continue
		case <-wake:
		case <-s.stopping:
		}
		for _, f := range runs {
			es := f.log.since(f.pos)
			if len(es) == 0 {
				continue
			}
			f.pos += len(es)
			raw := make([][]byte, len(es))
			for i, e := range es {
				raw[i] = e.full
			}
			if !send(message(f.name, false, raw)) {
				return
			}
			s.noteEnd(es)
		}
		select {
		case <-s.stopping:
			return
		default:
		}
	}
}

// noteEnd records that a page has been sent es, if a run's end is among
// them (see Server.WaitEnd).
func (s *server) noteEnd(es []entry) {
	for _, e := range es {
		if e.kind == typeEnd {
			s.endOnce.Do(func() { close(s.endSent) })
			return
		}
	}
}

// message is one server-sent event: the run's name and a batch of its
// events, which are JSON objects already (and JSON holds no raw newline).
func message(run string, replay bool, events [][]byte) []byte {
	name, _ := json.Marshal(run)
	b := make([]byte, 0, 64+len(name)+16*len(events))
	b = append(b, `data: {"run":`...)
	b = append(b, name...)
	b = append(b, `,"replay":`...)
	b = strconv.AppendBool(b, replay)
	b = append(b, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, "]}\n\n"...)
}
