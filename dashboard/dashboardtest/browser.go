// Package dashboardtest runs a real browser for the dashboard's tests:
// Debian's Chromium, headless, driven through chromedp, with a record of
// every request the page makes and every script error it hits.
package dashboardtest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium with one tab.
type Browser struct {
	// Ctx runs chromedp actions in the tab.
	Ctx context.Context
	t   testing.TB

	mu        sync.Mutex
	requests  []string  // every URL requested
	loaded    float64   // bytes of finished responses, headers included
	errors    []string  // uncaught script errors and the browser's error messages
	firstSeen time.Time // the first request
}

// chromium finds the browser: $VKCNN_CHROMIUM, else chromium on PATH.
func chromium() string {
	if p := os.Getenv("VKCNN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a browser for the test, which ends it. Without Chromium the
// test is skipped with what to install, or fails if $VKCNN_REQUIRE_BROWSER
// is 1 (as tools/test.sh sets it).
func New(t testing.TB, timeout time.Duration) *Browser {
	t.Helper()
	path := chromium()
	if path == "" {
		msg := "chromium is not installed: apt-get install chromium (tools/test.sh installs it), or set VKCNN_CHROMIUM to a Chrome binary"
		if os.Getenv("VKCNN_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// As root Chromium needs --no-sandbox; the background-networking flags
	// keep it from calling Google's hosts, which a closed network refuses.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1600),
	)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	b := &Browser{Ctx: bctx, t: t}
	if err := chromedp.Listen(bctx, b.event); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// event records requests, bytes and errors; it runs in chromedp's reading
// loop, so it only takes notes.
func (b *Browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if b.firstSeen.IsZero() {
			b.firstSeen = time.Now()
		}
		b.requests = append(b.requests, ev.Request.URL)
	case *network.EventLoadingFinished:
		b.loaded += ev.EncodedDataLength
	case *cdplog.EventEntryAdded:
		// The browser's own complaints: a policy violation, a missing file.
		if ev.Entry.Level == cdplog.EntryLevelError {
			b.errors = append(b.errors, ev.Entry.Text+" "+ev.Entry.URL)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		b.errors = append(b.errors, msg)
	}
}

// Requests lists the URLs the page requested so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Loaded is how many bytes the page's finished responses took on the
// network, headers included. An event stream that is still open is not
// among them: count it at the server.
func (b *Browser) Loaded() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.loaded)
}

// CheckOrigin fails the test for any request to a host other than those
// of bases (data: URLs aside): the page must work offline.
func (b *Browser) CheckOrigin(bases ...string) {
	b.t.Helper()
	hosts := map[string]bool{}
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil {
			b.t.Fatal(err)
		}
		hosts[u.Host] = true
	}
	for _, r := range b.Requests() {
		if strings.HasPrefix(r, "data:") {
			continue
		}
		if ru, err := url.Parse(r); err != nil || !hosts[ru.Host] {
			b.t.Errorf("the page requested %s, not on its own server %v", r, bases)
		}
	}
}

// CheckErrors fails the test for each uncaught script error and each error
// the browser logged (a Content-Security-Policy violation, a failed load).
func (b *Browser) CheckErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("error in the page: %s", e)
	}
}

// Screenshot saves the whole page as name (a .png) among the test's
// artefacts and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(ArtefactDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// ArtefactDir is where tests keep files for people to look at:
// $VKCNN_ARTEFACTS, else vkcnn-artefacts in the temporary directory, kept
// after the test (and overwritten by the next run).
func ArtefactDir(t testing.TB) string {
	dir := os.Getenv("VKCNN_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vkcnn-artefacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
