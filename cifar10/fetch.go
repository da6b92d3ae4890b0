package cifar10

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultCacheDir is where downloads are kept when no directory is given:
// $VKCNN_DATA when that is set, else os.UserCacheDir()/vkcnn.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("VKCNN_DATA"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for downloads (%w); set VKCNN_DATA to a directory", err)
	}
	return filepath.Join(d, "vkcnn"), nil
}

// Fetch is one file to keep in the download cache. Load downloads the
// CIFAR-10 archive with the same code; Fetch exports it so that readers of
// other data sets (package dataset) share its rules: a temporary file renamed
// into place only once complete and verified, a checksum recorded beside the
// file (Path+".md5", md5sum format) and checked again on every use, progress
// reports, a stall timeout, and one-line errors that say what to do.
type Fetch struct {
	// URLs are tried in order until one serves the file, so mirrors can
	// stand in for an unreachable site. A file that arrives but fails its
	// checksum or Check is not retried from another mirror: it is the file,
	// not the site, that is wrong.
	URLs []string
	// Path is where the file is kept.
	Path string
	// MD5 is the hex MD5 checksum the file must have; "" means unknown.
	MD5 string
	// Name names the file for people, in progress reports and errors (for
	// example "cifar-100-binary.tar.gz").
	Name string
	// Progress receives the download progress as in Options; nil is silent.
	Progress io.Writer
	// Warn receives warnings as in Options; nil drops them.
	Warn func(string)
	// Check, when not nil, reads a freshly downloaded file (at the path it
	// is given, before the rename) and rejects it with an error, so that
	// something that is not the expected file is never cached.
	Check func(path string) error
}

// Get returns f.Path once it holds the file, downloading it if needed.
//
// A file already at Path is used when its MD5 matches the checksum recorded
// beside it and, when set, f.MD5; one that no longer matches is downloaded
// again with a warning. A file put there by hand (no record beside it) is
// used, with a warning when its checksum is not f.MD5. Errors are one line,
// without a package prefix, and end in what to do.
func (f Fetch) Get() (string, error) {
	want := strings.ToLower(f.MD5)
	if isRegular(f.Path) {
		sum, err := md5File(f.Path)
		if err != nil {
			return "", fmt.Errorf("cached %s: %w; delete it to download it again", f.Path, err)
		}
		side := readSidecar(f.Path)
		switch {
		case side != "" && sum != side:
			f.warn("cached %s has MD5 %s, not the %s recorded when it was downloaded (damaged); downloading it again", f.Path, sum, side)
		case side != "" && want != "" && sum != want:
			f.warn("cached %s has MD5 %s, not the expected %s; downloading it again", f.Path, sum, want)
		case side == "" && want != "" && sum != want:
			f.warn("%s: MD5 %s is not the published %s's (%s); using it anyway", f.Path, sum, f.Name, want)
			return f.Path, nil
		default:
			return f.Path, nil
		}
		if err := os.Remove(f.Path); err != nil {
			return "", fmt.Errorf("%w; delete it by hand", err)
		}
		os.Remove(f.Path + ".md5")
	}
	if len(f.URLs) == 0 {
		return "", fmt.Errorf("no address to download %s from; download it yourself and point --data at it", f.Name)
	}
	var err error
	for i, url := range f.URLs {
		var retry bool
		if _, retry, err = fetchURL(url, f.Path, want, f.Name, f.Progress, f.Check); err == nil || !retry {
			break
		}
		if fe := (*fetchError)(nil); i+1 < len(f.URLs) && errors.As(err, &fe) {
			f.warn("%s; trying %s", fe.what, f.URLs[i+1])
		}
	}
	if err != nil {
		return "", err
	}
	return f.Path, nil
}

func (f Fetch) warn(format string, args ...any) {
	if f.Warn != nil {
		f.Warn(fmt.Sprintf(format, args...))
	}
}

// fetchURL downloads url into final through a temporary file in the same
// directory, which is renamed into place only once want (the expected MD5,
// "" if unknown) and check (nil: none) accept it; the checksum goes to
// final+".md5" first. It returns the file's MD5, and with an error whether
// another mirror might do better (the site failed, not the file). name
// names the file in messages and the progress report. Errors have no
// package prefix.
func fetchURL(url, final, want, name string, progressTo io.Writer, check func(string) error) (sum string, retry bool, err error) {
	hint := "try again, or download " + name + " yourself and point --data at it"
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fetchErr(fmt.Sprintf("cache directory: %v", err), "set VKCNN_DATA to a writable directory, or point --data at a local "+name)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(final)+".*.part")
	if err != nil {
		return "", false, fetchErr(fmt.Sprintf("cache directory: %v", err), "set VKCNN_DATA to a writable directory, or point --data at a local "+name)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", true, fetchErr(fmt.Sprintf("download %s: %v", url, err), "check the URL")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", true, fetchErr(fmt.Sprintf("download %s: %v", url, err), "check the network and the URL, or download "+name+" yourself and point --data at it")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", true, fetchErr(fmt.Sprintf("download %s: HTTP status %s", url, resp.Status), "check the URL, or download "+name+" yourself and point --data at it")
	}

	var stalled atomic.Bool
	timer := time.AfterFunc(stallTimeout, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	body := &stallReader{r: resp.Body, t: timer}
	h := md5.New()
	prog := newProgress(progressTo, url, name, resp.ContentLength)
	n, err := io.Copy(io.MultiWriter(tmp, h, prog), body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil && stalled.Load() {
		err = fmt.Errorf("no data for %v", stallTimeout)
	}
	prog.finish(n, err)
	if err != nil {
		return "", true, fetchErr(fmt.Sprintf("download %s cut off after %d bytes: %v", url, n, err), hint)
	}
	if err := tmp.Sync(); err != nil {
		return "", false, fetchErr(fmt.Sprintf("writing %s: %v", tmp.Name(), err), "check the free space in the cache directory")
	}
	if err := tmp.Close(); err != nil {
		return "", false, fetchErr(fmt.Sprintf("writing %s: %v", tmp.Name(), err), "check the free space in the cache directory")
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return sum, false, fetchErr(fmt.Sprintf("download %s has MD5 %s, not the expected %s: it is damaged or not %s", url, sum, want, name), hint)
	}
	if check != nil {
		if err := check(tmp.Name()); err != nil {
			return sum, false, fetchErr(fmt.Sprintf("download %s: %v", url, err), "check that the URL serves "+name+", or "+hint)
		}
	}
	if err := writeSidecar(final, sum); err != nil {
		return sum, false, fetchErr(fmt.Sprintf("cache: %v", err), "set VKCNN_DATA to a writable directory")
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(final + ".md5")
		return sum, false, fetchErr(fmt.Sprintf("cache: %v", err), "set VKCNN_DATA to a writable directory")
	}
	tmp = nil
	return sum, false, nil
}

// fetchError is a download error: what went wrong, and what to do (which a
// warning about trying the next mirror leaves out).
type fetchError struct{ what, hint string }

func fetchErr(what, hint string) error { return &fetchError{what, hint} }

func (e *fetchError) Error() string { return e.what + "; " + e.hint }
