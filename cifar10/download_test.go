package cifar10

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

// server serves body at /cifar.tar.gz with a Content-Length of size (-1:
// len(body)), and status (0: 200), counting requests.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

func newServer(t *testing.T, body []byte, size, status int) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.URL.Path != "/cifar.tar.gz" {
			http.NotFound(w, r)
			return
		}
		if size < 0 {
			size = len(body)
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		if status != 0 {
			w.WriteHeader(status)
		}
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) url() string { return s.URL + "/cifar.tar.gz" }

func TestDownload(t *testing.T) {
	d := Synthetic(30, 10, 11)
	good := archiveBytes(t, d)
	sum := md5Hex(good)
	other := archiveBytes(t, Synthetic(30, 10, 12))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 0xFF

	for _, tc := range []struct {
		name       string
		body       []byte
		size       int // Content-Length; -1: len(body)
		status     int
		path       string // "" means /cifar.tar.gz
		md5        string
		err        []string
		warn       string // a warning of the first Load must contain it ("": none)
		terminal   bool
		progress   []string // the Progress output must contain these
		noProgress bool
	}{
		{name: "verified", body: good, size: -1, md5: sum, progress: []string{"downloading http://", "downloaded"}},
		{name: "verified, upper-case MD5", body: good, size: -1, md5: strings.ToUpper(sum), noProgress: true},
		{name: "progress bar on a terminal", body: good, size: -1, md5: sum, terminal: true, progress: []string{"downloading http://", ArchiveName, "100%"}},
		{name: "checksum unknown: kept with a warning", body: good, size: -1, warn: "no checksum is known"},
		{name: "wrong archive", body: other, size: -1, md5: sum, err: []string{"has MD5 " + md5Hex(other), "not the expected " + sum}},
		{name: "corrupt archive", body: corrupt, size: -1, md5: sum, err: []string{"MD5", "damaged"}},
		{name: "corrupt archive, checksum unknown", body: corrupt, size: -1, err: []string{"corrupt", "check that the URL"}},
		{name: "not an archive, checksum unknown", body: []byte("<html>hello</html>"), size: -1, err: []string{"not a gzip file"}},
		{name: "cut off half-way", body: good[:len(good)/2], size: len(good), md5: sum,
			err: []string{"cut off after", "try again"}, progress: []string{"download failed"}},
		{name: "cut off, checksum unknown", body: good[:len(good)/2], size: len(good), err: []string{"cut off"}},
		{name: "cut off on a terminal", body: good[:len(good)/2], size: len(good), md5: sum, terminal: true, err: []string{"cut off"}, progress: []string{"download failed"}},
		{name: "404", path: "/missing.tar.gz", err: []string{"/missing.tar.gz", "HTTP status 404 Not Found", "check the URL"}},
		{name: "500", body: good, size: -1, status: http.StatusInternalServerError, err: []string{"HTTP status 500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.terminal {
				old := isTerminal
				isTerminal = func(io.Writer) bool { return true }
				defer func() { isTerminal = old }()
			}
			s := newServer(t, tc.body, tc.size, tc.status)
			url := s.url()
			if tc.path != "" {
				url = s.URL + tc.path
			}
			cache := filepath.Join(t.TempDir(), "cache")
			var prog bytes.Buffer
			warn, warnings := collect()
			o := Options{Source: url, CacheDir: cache, Progress: &prog, Warn: warn, MD5: tc.md5}
			if tc.noProgress {
				o.Progress = nil
			}
			got, err := Load(o)
			t.Logf("progress output: %q", prog.String())
			for _, p := range tc.progress {
				if !strings.Contains(prog.String(), p) {
					t.Errorf("progress output %q does not contain %q", prog.String(), p)
				}
			}
			if tc.noProgress && prog.Len() > 0 {
				t.Errorf("progress output with nil Progress: %q", prog.String())
			}
			if tc.err != nil {
				errtest.Want(t, err, tc.err...)
				if files := dirtest.Names(t, cache); len(files) > 0 {
					t.Errorf("failed download left files in the cache: %q", files)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameDataset(got, d); diff != "" {
				t.Fatal(diff)
			}
			switch {
			case tc.warn == "" && len(*warnings) > 0:
				t.Errorf("unexpected warnings %q", *warnings)
			case tc.warn != "" && (len(*warnings) != 1 || !strings.Contains((*warnings)[0], tc.warn)):
				t.Errorf("warnings %q, want one containing %q", *warnings, tc.warn)
			}
			name := cacheName(url)
			if files := dirtest.Names(t, cache); !slices.Equal(files, []string{name, name + ".md5"}) {
				t.Errorf("cache holds %q, want the archive and its .md5", files)
			}
			if cached, err := os.ReadFile(filepath.Join(cache, name)); err != nil || !bytes.Equal(cached, good) {
				t.Errorf("cached file differs from the served one (%v)", err)
			}

			// The second Load uses the cache.
			prog.Reset()
			got, err = Load(o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameDataset(got, d); diff != "" {
				t.Fatal(diff)
			}
			if n := s.hits.Load(); n != 1 {
				t.Errorf("server hit %d times, want 1 (cache not reused)", n)
			}
			if prog.Len() != 0 {
				t.Errorf("progress output on a cache hit: %q", prog.String())
			}
		})
	}
}

// TestDownloadCacheDamaged checks that a cached archive that no longer
// matches its recorded checksum is downloaded again.
func TestDownloadCacheDamaged(t *testing.T) {
	d := Synthetic(20, 10, 13)
	good := archiveBytes(t, d)
	for _, tc := range []struct {
		name   string
		damage func(p string) error
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 100) }},
		{"replaced", func(p string) error { return os.WriteFile(p, archiveBytes(t, Synthetic(20, 10, 14)), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, good, -1, 0)
			cache := t.TempDir()
			warn, warnings := collect()
			o := Options{Source: s.url(), CacheDir: cache, Warn: warn, MD5: md5Hex(good)}
			if _, err := Load(o); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(filepath.Join(cache, cacheName(s.url()))); err != nil {
				t.Fatal(err)
			}
			got, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := sameDataset(got, d); diff != "" {
				t.Error(diff)
			}
			if n := s.hits.Load(); n != 2 {
				t.Errorf("server hit %d times, want 2 (damaged cache not replaced)", n)
			}
			if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "downloading it again") {
				t.Errorf("warnings %q, want one about downloading again", *warnings)
			}
		})
	}
}

// TestCacheDir checks VKCNN_DATA and an archive put into the cache by hand
// for the official URL (which this test never contacts).
func TestCacheDir(t *testing.T) {
	d := Synthetic(20, 10, 15)
	good := archiveBytes(t, d)
	env := t.TempDir()
	t.Setenv("VKCNN_DATA", env)
	s := newServer(t, good, -1, 0)
	if _, err := Load(Options{Source: s.url(), MD5: md5Hex(good)}); err != nil {
		t.Fatal(err)
	}
	if !isRegular(filepath.Join(env, cacheName(s.url()))) {
		t.Errorf("download not in $VKCNN_DATA (holds %q)", dirtest.Names(t, env))
	}

	// The official archive name in the cache is used without downloading.
	writeFile(t, filepath.Join(env, ArchiveName), good)
	warn, warnings := collect()
	got, err := Load(Options{Warn: warn})
	if err != nil {
		t.Fatal(err)
	}
	if diff := sameDataset(got, d); diff != "" {
		t.Error(diff)
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "not the official") {
		t.Errorf("warnings %q, want one about the checksum", *warnings)
	}
	// An explicit CacheDir wins over VKCNN_DATA.
	dir := t.TempDir()
	if _, err := Load(Options{Source: s.url(), CacheDir: dir, MD5: md5Hex(good)}); err != nil {
		t.Fatal(err)
	}
	if !isRegular(filepath.Join(dir, cacheName(s.url()))) {
		t.Errorf("download not in CacheDir (holds %q)", dirtest.Names(t, dir))
	}
}
