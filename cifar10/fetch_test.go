package cifar10

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/dirtest"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

// TestFetch checks the download rules Fetch shares with Load: mirrors tried
// in order, Check rejecting a file before it is cached, a file put there by
// hand used with a warning, a damaged cached file downloaded again.
func TestFetch(t *testing.T) {
	body := []byte("the file's contents")
	sum := md5Hex(body)
	s := newServer(t, body, -1, 0)
	missing := s.URL + "/missing.bin"
	for _, tc := range []struct {
		name    string
		urls    []string
		md5     string
		check   func(string) error
		before  []byte // a file already there, without a checksum record
		err     []string
		warn    []string // substrings, one per warning
		fetches int32
	}{
		{name: "first mirror", urls: []string{s.url()}, md5: sum, fetches: 1},
		{name: "second mirror", urls: []string{missing, s.url()}, md5: sum, warn: []string{"404 Not Found; trying " + s.url()}, fetches: 2},
		{name: "no mirror works", urls: []string{missing, missing}, md5: sum, warn: []string{"trying"}, err: []string{"HTTP status 404"}, fetches: 2},
		{name: "check refuses", urls: []string{s.url()}, check: func(string) error { return errors.New("not a data file") },
			err: []string{"not a data file", "check that the URL serves f.bin"}, fetches: 1},
		{name: "wrong checksum is not retried", urls: []string{s.url(), s.url()}, md5: md5Hex([]byte("other")), err: []string{"not the expected"}, fetches: 1},
		{name: "put there by hand", urls: []string{s.url()}, md5: sum, before: []byte("my own copy"), warn: []string{"not the published f.bin's"}},
		{name: "no URLs", err: []string{"no address to download f.bin from"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "sub", "f.bin")
			if tc.before != nil {
				writeFile(t, p, tc.before)
			}
			hits := s.hits.Load()
			warn, warnings := collect()
			got, err := Fetch{URLs: tc.urls, Path: p, MD5: tc.md5, Name: "f.bin", Warn: warn, Check: tc.check}.Get()
			if n := s.hits.Load() - hits; n != tc.fetches {
				t.Errorf("%d requests, want %d", n, tc.fetches)
			}
			if len(*warnings) != len(tc.warn) {
				t.Errorf("warnings %q, want %d", *warnings, len(tc.warn))
			}
			for i, w := range tc.warn {
				if i < len(*warnings) && !strings.Contains((*warnings)[i], w) {
					t.Errorf("warning %q does not contain %q", (*warnings)[i], w)
				}
			}
			if tc.err != nil {
				errtest.Want(t, err, tc.err...)
				dirtest.Only(t, filepath.Join(dir, "sub"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != p {
				t.Errorf("path %s, want %s", got, p)
			}
			if tc.before == nil {
				dirtest.Only(t, filepath.Join(dir, "sub"), "f.bin", "f.bin.md5")
			}
		})
	}

	// A cached file damaged since its download is fetched again.
	dir := t.TempDir()
	p := filepath.Join(dir, "f.bin")
	f := Fetch{URLs: []string{s.url()}, Path: p, MD5: sum, Name: "f.bin"}
	if _, err := f.Get(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	hits := s.hits.Load()
	warn, warnings := collect()
	f.Warn = warn
	if _, err := f.Get(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != string(body) || s.hits.Load() != hits+1 {
		t.Error("damaged cached file not downloaded again")
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "damaged") {
		t.Errorf("warnings %q", *warnings)
	}
	// And a good one is used without a request.
	if _, err := f.Get(); err != nil || s.hits.Load() != hits+1 {
		t.Errorf("good cached file: %v, %d requests", err, s.hits.Load()-hits-1)
	}
}
