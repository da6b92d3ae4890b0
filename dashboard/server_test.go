package dashboard

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/metrics"
)

// testSet is a small generated test set as records.
func testSet(n int) []byte { return cifar10.Synthetic(0, n, 1).Test.Records }

func newHub(t *testing.T, dir, name string, first int) *Hub {
	t.Helper()
	h, err := NewHub(dir, Settings{Run: name, Arch: "seed", Classes: cifar10.ClassNames(), Epochs: 2, FirstEpoch: first}, testSet(20))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// epoch reports a whole epoch of 1000 images in four samples, then its
// results.
func epoch(h *Hub, e int) {
	for _, i := range []int{300, 600, 900, 1000} { // a sample each
		h.Progress(Progress{Epoch: e, Images: i, Total: 1000, Loss: 2, LR: 0.1})
	}
	h.Epoch(Epoch{Epoch: e, TestAccuracy: 50, Predictions: make([]uint32, 20), Filters: &Filters{Name: "w", Shape: []int{1, 1, 1, 1}, Data: []float32{1}}})
}

// sseMessage is is one server-sent event as the page reads it.
type sseMessage struct {
	Run    string           `json:"run"`
	Replay bool             `json:"replay"`
	Events []map[string]any `json:"events"`
}

// stream reads a response's server-sent events as they come.
func stream(t *testing.T, body io.Reader) <-chan sseMessage {
	ch := make(chan sseMessage, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m sseMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("a sseMessage that is not JSON: %v: %.200s", err, line)
				return
			}
			ch <- m
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sseMessage) sseMessage {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no sseMessage for 10 s")
	}
	return sseMessage{}
}

func types(m sseMessage) []string {
	var out []string
	for _, e := range m.Events {
		out = append(out, e["type"].(string))
	}
	return out
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestEventStream: a page gets the run so far, then each event as it
// comes; a page that connects later gets the details of the last epoch only.
func TestEventStream(t *testing.T) {
	h := newHub(t, t.TempDir(), "run1", 0)
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close) // after the streams' bodies are closed
	res := get(t, srv.URL+"/api/events")
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	ch := stream(t, res.Body)
	m := next(t, ch)
	if m.Run != "run1" || !m.Replay || fmt.Sprint(types(m)) != "[settings]" {
		t.Fatalf("first sseMessage: %+v", m)
	}
	if got := m.Events[0]["gallery_labels"].([]any); len(got) != 20 {
		t.Errorf("settings carry %d gallery labels, want 20", len(got))
	}
	h.Progress(Progress{Epoch: 0, Images: 300, Total: 1000, Loss: 2.5, LR: 0.01})
	m = next(t, ch)
	if m.Replay || fmt.Sprint(types(m)) != "[sample]" || m.Events[0]["loss"] != 2.5 || m.Events[0]["lr"] != 0.01 {
		t.Fatalf("after Progress: %+v", m)
	}
	epoch(h, 0)
	epoch(h, 1)
	seen := map[string]int{}
	for seen["epoch"] < 2 {
		for _, e := range next(t, ch).Events {
			seen[e["type"].(string)]++
			if e["type"] == "epoch" && e["confusion"] == nil {
				t.Errorf("a live epoch event without its confusion matrix: %v", e)
			}
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if m := next(t, ch); fmt.Sprint(types(m)) != "[end]" || m.Events[0]["status"] != "finished" {
		t.Errorf("after Close: %+v", m)
	}

	// A late page: both epochs, the details of the last only.
	m = next(t, stream(t, get(t, srv.URL+"/api/events?run=run1").Body))
	var details []bool
	for _, e := range m.Events {
		if e["type"] == "epoch" {
			details = append(details, e["confusion"] != nil && e["filters"] != nil && e["gallery_predictions"] != nil)
		}
	}
	if fmt.Sprint(details) != "[false true]" {
		t.Errorf("replayed epochs carry details %v, want [false true]", details)
	}
}

// TestReplay: a resumed run's replay leaves out what the resume redoes, and
// a long run's samples are thinned.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	h := newHub(t, dir, "r", 0)
	epoch(h, 0)
	h.Progress(Progress{Epoch: 1, Images: 500, Total: 1000, Loss: 9, LR: 0.1}) // interrupted
	h.Close()
	h = newHub(t, dir, "r", 1)
	epoch(h, 1)
	h.Close()
	var loss []float64
	for _, b := range replay(h.log.since(0)) {
		var e struct {
			Type  string
			Epoch int
			Loss  float64
		}
		json.Unmarshal(b, &e)
		if e.Type == "sample" {
			loss = append(loss, e.Loss)
		}
	}
	if fmt.Sprint(loss) != "[2 2 2 2 2 2 2 2]" {
		t.Errorf("replayed losses %v: the interrupted epoch's sample (9) should be gone", loss)
	}

	l := newRunLog()
	for i := range 3 * maxReplaySamples {
		l.append(newEntry(typeSample, 0, sampleEvent{Type: typeSample, Images: i + 1}))
	}
	r := replay(l.since(0))
	if len(r) > maxReplaySamples || len(r) < maxReplaySamples/2 {
		t.Errorf("replay of %d samples has %d, want at most %d", 3*maxReplaySamples, len(r), maxReplaySamples)
	}
	if !bytes.Contains(r[len(r)-1], []byte(fmt.Sprintf(`"images":%d`, 3*maxReplaySamples))) {
		t.Errorf("the thinned replay lacks the last sample: %s", r[len(r)-1])
	}
}

// TestNotFinite: a diverging run's NaN loss is recorded as null, not an
// encoding failure.
func TestNotFinite(t *testing.T) {
	h := newHub(t, t.TempDir(), "nan", 0)
	h.Progress(Progress{Epoch: 0, Images: 1000, Total: 1000, Loss: math.NaN(), LR: math.Inf(1)})
	h.Close()
	es := h.log.since(0)
	if s := string(es[1].full); !strings.Contains(s, `"loss":null`) || !strings.Contains(s, `"lr":null`) {
		t.Errorf("sample %s", s)
	}
}

// TestHistoryOnDisk: the events file holds every event, whole lines, and a
// Dir reads it back as the Hub had it.
func TestHistoryOnDisk(t *testing.T) {
	runs := t.TempDir()
	dir := filepath.Join(runs, "disk")
	os.Mkdir(dir, 0o755)
	h := newHub(t, dir, "", 0)
	epoch(h, 0)
	epoch(h, 1)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	buf, err := os.ReadFile(filepath.Join(dir, EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
	if len(lines) != h.log.len() {
		t.Errorf("%d lines on disk, %d events", len(lines), h.log.len())
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not a JSON line: %.100s", l)
		}
	}
	if g, _ := os.ReadFile(filepath.Join(dir, GalleryFile)); len(g) != 20*cifar10.RecordSize {
		t.Errorf("gallery file of %d bytes", len(g))
	}
	d, err := OpenDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if names := d.Runs(); fmt.Sprint(names) != "[disk]" {
		t.Fatalf("runs %v", names)
	}
	l, ok := dirSource{d}.open("disk")
	if !ok || l.len() != h.log.len() || l.status() != "finished" {
		t.Errorf("the Dir has %d events (status %q), the Hub had %d", l.len(), l.status(), h.log.len())
	}
}

// TestTail: vkcnn serve follows a run that is still training, line by
// line, never taking half a line; and shows a run that has only
// metrics.jsonl.
func TestTail(t *testing.T) {
	runs := t.TempDir()
	os.Mkdir(filepath.Join(runs, "live"), 0o755)
	os.Mkdir(filepath.Join(runs, "old"), 0o755)
	if err := metrics.Append(filepath.Join(runs, "old", metricsFile), metrics.Epoch{Epoch: 0, TestAccuracy: 41}); err != nil {
		t.Fatal(err)
	}
	h := newHub(t, filepath.Join(runs, "live"), "live", 0)
	defer h.Close()
	d, err := OpenDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.poll = 20 * time.Millisecond
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close) // after the streams' bodies are closed

	ch := stream(t, get(t, srv.URL+"/api/events?run=live&run=old").Body)
	first, second := next(t, ch), next(t, ch)
	if first.Run != "live" || fmt.Sprint(types(first)) != "[settings]" {
		t.Errorf("live run's replay: %+v", first)
	}
	if second.Run != "old" || fmt.Sprint(types(second)) != "[epoch]" || second.Events[0]["test_accuracy"] != 41.0 {
		t.Errorf("metrics-only run's replay: %+v", second)
	}
	epoch(h, 0)
	got := 0
	for got < 5 { // four samples and the epoch
		m := next(t, ch)
		if m.Run != "live" || m.Replay {
			t.Fatalf("unexpected %+v", m)
		}
		got += len(m.Events)
	}

	// Half a line stays unread until its newline comes.
	f, _ := os.OpenFile(filepath.Join(runs, "old", metricsFile), os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	f.WriteString(`{"epoch":1,"test_accur`)
	time.Sleep(100 * time.Millisecond)
	f.WriteString(`acy":57}` + "\n")
	m := next(t, ch)
	if m.Run != "old" || len(m.Events) != 1 || m.Events[0]["test_accuracy"] != 57.0 {
		t.Errorf("after the line was finished: %+v", m)
	}
}

// TestPathSafety: nothing outside the runs directory can be read, whatever
// the path: .., encoded dots and slashes, absolute paths, NUL, symbolic
// links out of the directory.
func TestPathSafety(t *testing.T) {
	top := t.TempDir()
	runs := filepath.Join(top, "runs")
	secret := filepath.Join(top, "secret.txt")
	os.WriteFile(secret, []byte("TOPSECRET\n"), 0o644)
	os.MkdirAll(filepath.Join(runs, "a"), 0o755)
	h := newHub(t, filepath.Join(runs, "a"), "a", 0)
	h.Close()
	// A run whose files are links out of the directory, and a linked run.
	os.MkdirAll(filepath.Join(runs, "c"), 0o755)
	os.Symlink(secret, filepath.Join(runs, "c", EventsFile))
	os.Symlink(secret, filepath.Join(runs, "c", GalleryFile))
	outside := filepath.Join(top, "outside")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, EventsFile), []byte(`{"type":"settings","run":"TOPSECRET"}`+"\n"), 0o644)
	os.Symlink(outside, filepath.Join(runs, "linked"))

	d, err := OpenDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if names := d.Runs(); fmt.Sprint(names) != "[a]" {
		t.Errorf("runs listed: %v, want [a] (links out are not runs)", names)
	}
	srv, err := Listen("127.0.0.1:0", d.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	host := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/")

	for _, target := range []string{
		"/../secret.txt",
		"/../../../../etc/passwd",
		"/assets/../../secret.txt",
		"/assets/..%2f..%2fsecret.txt",
		"/assets/%2e%2e/%2e%2e/secret.txt",
		"/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/assets/%2fetc%2fpasswd",
		"/assets/" + url(secret),
		"/assets/..%5c..%5csecret.txt",
		"//etc/passwd",
		"/etc/passwd",
		secret,
		"/api/runs/..%2f..%2fsecret.txt/images/0",
		"/api/runs/%2e%2e/images/0",
		"/api/runs/a%2f..%2f..%2f/images/0",
		"/api/runs/c/images/0",
		"/api/runs/linked/images/0",
		"/api/runs/a/images/-1",
		"/api/runs/a/images/..%2f..%2fsecret.txt",
		"/api/runs/a/images/99999",
		"/api/events?run=../secret.txt",
		"/api/events?run=..%2fsecret.txt",
		"/api/events?run=%2e%2e%2fsecret.txt",
		"/api/events?run=" + url(secret),
		"/api/events?run=/etc/passwd",
		"/api/events?run=c",
		"/api/events?run=linked",
		"/api/events?run=a%00",
		"/api/events?run=a%2f..%2f..%2fsecret.txt",
	} {
		status, body := rawGet(t, host, target)
		if status < 300 || status >= 500 {
			t.Errorf("GET %s: status %d, want a refusal", target, status)
		}
		if strings.Contains(body, "TOPSECRET") || strings.Contains(body, "root:") {
			t.Errorf("GET %s leaked a file outside the runs directory:\n%s", target, body)
		}
	}
	// The run itself is there.
	if status, _ := rawGet(t, host, "/api/runs/a/images/0"); status != 200 {
		t.Errorf("the run's own image: status %d", status)
	}
}

func url(p string) string { return strings.ReplaceAll(p, "/", "%2f") }

// rawGet sends target as is, without a client cleaning it first, and
// returns the status and the start of the body.
func rawGet(t *testing.T, host, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, string(body)
}

// TestReadOnly: the server answers only GET and HEAD.
func TestReadOnly(t *testing.T) {
	h := newHub(t, t.TempDir(), "ro", 0)
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close) // after the streams' bodies are closed
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, path := range []string{"/", "/api/runs", "/api/events", "/assets/app.js", "/api/runs/ro/images/0"} {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("x"))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, path, res.StatusCode)
			}
		}
	}
	res := get(t, srv.URL+"/")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

// TestStalledClient: a page that stops reading holds up neither the
// training nor another page, and is given up after the write timeout.
func TestStalledClient(t *testing.T) {
	h := newHub(t, t.TempDir(), "stall", 0)
	defer h.Close()
	s := h.Handler().(*server)
	// A report that waited on the stalled page would take this long.
	s.writeTimeout = 5 * time.Second
	srv, err := Listen("127.0.0.1:0", s)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	host := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/")
	stalled, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stalled, "GET /api/events HTTP/1.1\r\nHost: %s\r\n\r\n", host) // and never read
	// The healthy page takes the stream uncompressed and counts epochs
	// without decoding them, so it keeps up even under the race detector.
	epochsSeen := make(chan int, 1000)
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(must(http.NewRequest("GET", srv.URL+"api/events", nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the healthy page: %s", res.Status)
	}
	body := res.Body
	go func() {
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			epochsSeen <- bytes.Count(sc.Bytes(), []byte(`{"type":"epoch"`))
		}
		close(epochsSeen)
	}()

	// 40 epochs of 400 KB each: far more than the socket buffers hold.
	big := &Filters{Name: "w", Shape: []int{1, 1, 1, 40000}, Data: make([]float32, 40000)}
	for i := range big.Data {
		big.Data[i] = float32(i) / 3
	}
	var slowest time.Duration
	start := time.Now()
	for e := range 40 {
		for i := 1; i <= 100; i++ {
			t0 := time.Now()
			h.Progress(Progress{Epoch: e, Images: i * 300, Total: 30000, Loss: 1, LR: 0.1})
			slowest = max(slowest, time.Since(t0))
		}
		t0 := time.Now()
		h.Epoch(Epoch{Epoch: e, Predictions: make([]uint32, 20), Filters: big})
		slowest = max(slowest, time.Since(t0))
	}
	t.Logf("4040 events in %v, the slowest %v", time.Since(start), slowest)
	if slowest > s.writeTimeout/2 {
		t.Errorf("a report took %v with a stalled page", slowest)
	}
	// The healthy page gets everything meanwhile.
	epochs := 0
	for epochs < 40 {
		select {
		case n, ok := <-epochsSeen:
			if !ok {
				t.Fatalf("the healthy page's stream ended after %d epochs", epochs)
			}
			epochs += n
		case <-time.After(20 * time.Second):
			t.Fatalf("the healthy page got %d epochs of 40", epochs)
		}
	}
	// The stalled page is dropped; the healthy one stays.
	deadline := time.Now().Add(10 * time.Second)
	for s.active.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open, want the healthy one only", s.active.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAddr: where each form of address listens.
func TestAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", DefaultAddr, ""},
		{"8080", "127.0.0.1:8080", ""},
		{":8080", "127.0.0.1:8080", ""},
		{"127.0.0.1:0", "127.0.0.1:0", ""},
		{"0.0.0.0:80", "0.0.0.0:80", ""},
		{"localhost", "localhost:8526", ""},
		{"0.0.0.0", "0.0.0.0:8526", ""},
		{"::1", "[::1]:8526", ""},
		{"[::1]:0", "[::1]:0", ""},
		{"example.com:9000", "example.com:9000", ""},
		{"127.0.0.1:99999", "", "port"},
		{"127.0.0.1:http", "", "port"},
		{"a:b:c", "", "HOST:PORT"},
	} {
		got, err := resolveAddr(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("resolveAddr(%q) = %q, %v; want %q, error with %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestListen: loopback by default and silent; another address warns; the
// default port, when taken, gives way to a free one; a named port that is
// taken is an error that says what to do.
func TestListen(t *testing.T) {
	h := http.NotFoundHandler()
	s, err := Listen("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	if s.Warning != "" || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("loopback: URL %s, warning %q", s.URL, s.Warning)
	}
	taken := strings.TrimSuffix(strings.TrimPrefix(s.URL, "http://"), "/")
	_, err = Listen(taken, h)
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "port 0") {
		t.Errorf("a taken port: %v", err)
	}
	s.Close()

	all, err := Listen("0.0.0.0:0", h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all.Warning, "other machines") {
		t.Errorf("0.0.0.0: warning %q", all.Warning)
	}
	all.Close()

	// The default address, taken (by us, if no one else has it).
	if ln, err := net.Listen("tcp", DefaultAddr); err == nil {
		defer ln.Close()
	}
	def, err := Listen("", h)
	if err != nil {
		t.Fatalf("the default address, taken: %v", err)
	}
	if def.URL == "http://"+DefaultAddr+"/" || !strings.HasPrefix(def.URL, "http://127.0.0.1:") {
		t.Errorf("default when taken: %s", def.URL)
	}
	def.Close()
}

// TestLoopbackHost: on loopback the server answers only to loopback names,
// so another site cannot read it by having its name resolve to 127.0.0.1.
func TestLoopbackHost(t *testing.T) {
	h := newHub(t, t.TempDir(), "host", 0)
	defer h.Close()
	srv, err := Listen("127.0.0.1:0", h.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/")
	_, port, _ := net.SplitHostPort(addr)
	for host, want := range map[string]int{
		addr: 200, "localhost:" + port: 200, "LOCALHOST": 200, "[::1]:" + port: 200,
		"evil.example:" + port: 403, "evil.example": 403, "10.0.0.1:" + port: 403, "127.0.0.1.evil.example": 403,
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /api/runs HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		c.Close()
		if res.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, res.StatusCode, want)
		}
	}
}

// TestOpenDirErrors: a runs directory that is not one says what to pass.
func TestOpenDirErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	for _, p := range []string{"/no/such/dir", file} {
		_, err := OpenDir(p)
		if err == nil || !strings.Contains(err.Error(), "--out directory") || strings.Contains(err.Error(), "\n") {
			t.Errorf("OpenDir(%s): %v", p, err)
		}
	}
	if _, err := NewHub(t.TempDir(), Settings{}, make([]byte, 5)); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewHub of broken records: %v", err)
	}
}

// BenchmarkProgress is what one progress report costs the training loop
// with four pages following the run: the trainer reports every quarter of
// a second or so, so anything in microseconds is free.
func BenchmarkProgress(b *testing.B) {
	h, err := NewHub(b.TempDir(), Settings{Run: "bench", Classes: cifar10.ClassNames(), Epochs: 1}, testSet(20))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for range 4 {
		res, err := http.Get(srv.URL + "/api/events")
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		go io.Copy(io.Discard, res.Body)
	}
	b.ResetTimer()
	for i := range b.N {
		// A new sample each time: every report is kept and sent.
		h.Progress(Progress{Epoch: i / 100, Images: (i%100 + 1) * 300, Total: 30000, Loss: 1, LR: 0.1})
	}
}

// TestGzip: text goes gzipped to clients that take it, as is to others;
// the event stream too, message by message.
func TestGzip(t *testing.T) {
	h := newHub(t, t.TempDir(), "gz", 0)
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	want, _ := assetFS.ReadFile("assets/uPlot.iife.min.js")
	for _, enc := range []string{"gzip", ""} {
		req, _ := http.NewRequest("GET", srv.URL+"/assets/uPlot.iife.min.js", nil)
		req.Header.Set("Accept-Encoding", enc)
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := res.Header.Get("Content-Encoding"); got != enc {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", enc, got)
		}
		if enc == "gzip" {
			if len(body) > len(want)/2 {
				t.Errorf("gzipped uPlot is %d bytes of %d", len(body), len(want))
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("Accept-Encoding %q: the script differs from the embedded one", enc)
		}
	}
	// The stream: the client asks for gzip and reads each message as it
	// comes (stream would wait forever on a message stuck in the
	// compressor).
	req, _ := http.NewRequest("GET", srv.URL+"/api/events", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the stream is not gzipped")
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	ch := stream(t, zr)
	next(t, ch)
	h.Progress(Progress{Epoch: 0, Images: 1000, Total: 1000, Loss: 1, LR: 0.1})
	if m := next(t, ch); fmt.Sprint(types(m)) != "[sample]" {
		t.Errorf("after Progress: %+v", m)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
