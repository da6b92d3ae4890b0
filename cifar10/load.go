package cifar10

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options says where Load gets the data set and how it reports.
type Options struct {
	// Source is where the data comes from: "" for OfficialURL; a local
	// cifar-10-binary.tar.gz (any name); an extracted cifar-10-batches-bin
	// directory, or a directory holding one or holding cifar-10-binary.tar.gz;
	// or an http(s) URL of an archive in the official layout, downloaded once
	// into CacheDir.
	Source string
	// CacheDir is where downloads are kept. "" means $VKCNN_DATA when that is
	// set, else os.UserCacheDir()/vkcnn. An archive named
	// cifar-10-binary.tar.gz that is already there (for example a copy put
	// there by hand) is used instead of downloading the official URL.
	CacheDir string
	// Progress receives the download progress: a progress bar when it is a
	// terminal, else a plain line every few seconds. nil means silent.
	Progress io.Writer
	// Warn receives warnings, such as an archive whose checksum is not the
	// official one. nil means they are dropped.
	Warn func(string)
	// MD5 is the hex MD5 checksum the archive must have, for mirrors and
	// tests; a mismatch is then an error. "" means OfficialMD5 when
	// downloading OfficialURL, and otherwise that the checksum is unknown: an
	// archive whose checksum is not OfficialMD5 is then used with a warning.
	// It does not apply to an extracted directory.
	MD5 string
}

// Hints appended to errors: what to do next.
const (
	hintArchive = "re-download it (--data " + OfficialURL + ") or point --data at a good copy of " +
		ArchiveName + " or an extracted " + DirName + " directory"
	hintDir    = "re-extract " + ArchiveName + " there, or point --data at the .tar.gz"
	hintSource = "point --data at " + ArchiveName + ", an extracted " + DirName + " directory, or an http(s) URL of the archive"
)

// stallTimeout is how long a download may receive nothing before it is
// abandoned.
var stallTimeout = 2 * time.Minute

// httpClient fetches downloads: no overall deadline (the archive is 170 MB),
// but a limit on waiting for the response headers; stalls are caught by
// stallTimeout.
var httpClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
}()

// Load reads the data set that o.Source names, downloading it first when it
// is a URL that is not cached yet. See Options for the sources, the cache
// and the checksum rules. Errors are one line and say what to do.
//
// A download goes to a temporary file in the cache directory while its MD5 is
// computed, and is renamed into place only once its checksum (when known) has
// passed and it has parsed; a failed or cut-off download leaves no file. Next
// to the archive Load writes <archive>.md5 (md5sum format) with the checksum
// it verified. A later Load re-hashes the cached archive while reading it (on
// a second goroutine, so it costs little time) and downloads again when it no
// longer matches.
func Load(o Options) (*Dataset, error) {
	src := o.Source
	if src == "" {
		src = OfficialURL
	}
	if isURL(src) {
		return o.loadURL(src)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("cifar10: data source: %w; %s", err, hintSource)
	}
	if !fi.IsDir() {
		return o.loadFile(src)
	}
	if hasBatches(src) || hasBatches(filepath.Join(src, DirName)) {
		d, err := ReadDir(src)
		if err != nil {
			return nil, fmt.Errorf("cifar10: %w; %s", err, hintDir)
		}
		return d, nil
	}
	if a := filepath.Join(src, ArchiveName); isRegular(a) {
		return o.loadFile(a)
	}
	return nil, fmt.Errorf("cifar10: directory %s holds neither the CIFAR-10 batch files (data_batch_1.bin ... test_batch.bin), nor a %s directory, nor %s; %s",
		src, DirName, ArchiveName, hintSource)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func (o Options) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// loadFile reads a local archive and applies the checksum rules.
func (o Options) loadFile(p string) (*Dataset, error) {
	d, sum, err := readArchiveFile(p, true)
	if err != nil {
		return nil, fmt.Errorf("cifar10: %s: %w; %s", p, err, hintArchive)
	}
	if err := o.judge(p, sum); err != nil {
		return nil, err
	}
	return d, nil
}

// judge applies the checksum rules to an archive that Load did not download
// itself: Options.MD5 must match when set; otherwise a checksum other than
// the official one is a warning.
func (o Options) judge(p, sum string) error {
	switch {
	case o.MD5 != "":
		if !strings.EqualFold(sum, o.MD5) {
			return fmt.Errorf("cifar10: %s has MD5 %s, not the expected %s; %s", p, sum, strings.ToLower(o.MD5), hintArchive)
		}
	case sum != OfficialMD5:
		o.warn("%s: MD5 %s is not the official CIFAR-10 archive's (%s); using it anyway", p, sum, OfficialMD5)
	}
	return nil
}

// readArchiveFile reads an archive file; with hash it also computes the
// file's MD5, on another goroutine from a second handle.
func readArchiveFile(p string, hash bool) (d *Dataset, sum string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	type result struct {
		sum string
		err error
	}
	var ch chan result
	if hash {
		ch = make(chan result, 1)
		go func() {
			s, err := md5File(p)
			ch <- result{s, err}
		}()
	}
	d, err = ReadArchive(f)
	if hash {
		r := <-ch
		if err == nil && r.err != nil {
			err = r.err
		}
		sum = r.sum
	}
	if err != nil {
		return nil, sum, err
	}
	return d, sum, nil
}

func md5File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cacheDir is where downloads go: Options.CacheDir, $VKCNN_DATA, or
// os.UserCacheDir()/vkcnn.
func (o Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	d, err := DefaultCacheDir()
	if err != nil {
		return "", fmt.Errorf("cifar10: %w, or point --data at a local %s", err, ArchiveName)
	}
	return d, nil
}

// cacheName is the file name a download from url is kept under: the
// official name for the official URL, a name derived from the URL otherwise
// (so two mirrors never share a file).
func cacheName(url string) string {
	if url == OfficialURL {
		return ArchiveName
	}
	h := sha256.Sum256([]byte(url))
	return "cifar-10-binary-" + hex.EncodeToString(h[:6]) + ".tar.gz"
}

// readSidecar returns the checksum recorded next to an archive, "" if none.
func readSidecar(archive string) string {
	b, err := os.ReadFile(archive + ".md5")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f[0]) != 32 {
		return ""
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return ""
	}
	return strings.ToLower(f[0])
}

// writeSidecar records sum next to archive (write to a temporary file, then
// rename).
func writeSidecar(archive, sum string) error {
	tmp, err := os.CreateTemp(filepath.Dir(archive), filepath.Base(archive)+".md5.*.part")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(tmp, "%s  %s\n", sum, filepath.Base(archive))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), archive+".md5")
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// loadURL uses the cached copy of url when there is a good one, and
// downloads it otherwise.
func (o Options) loadURL(url string) (*Dataset, error) {
	dir, err := o.cacheDir()
	if err != nil {
		return nil, err
	}
	final := filepath.Join(dir, cacheName(url))
	want := strings.ToLower(o.MD5)
	if want == "" && url == OfficialURL {
		want = OfficialMD5
	}
	if isRegular(final) {
		side := readSidecar(final)
		d, sum, err := readArchiveFile(final, true)
		switch {
		case side != "" && sum != side:
			o.warn("cached %s has MD5 %s, not the %s recorded when it was downloaded (damaged); downloading it again", final, sum, side)
		case side != "" && want != "" && sum != want:
			o.warn("cached %s has MD5 %s, not the expected %s; downloading it again", final, sum, want)
		case err != nil:
			return nil, fmt.Errorf("cifar10: cached %s: %w; delete it to download it again, or point --data at a good copy of %s", final, err, ArchiveName)
		case side == "":
			// Put there by hand: the rules for a local archive.
			if err := o.judge(final, sum); err != nil {
				return nil, err
			}
			return d, nil
		default:
			if want == "" && sum != OfficialMD5 {
				o.warn("%s (downloaded from %s): MD5 %s is not the official CIFAR-10 archive's (%s); using it anyway", final, url, sum, OfficialMD5)
			}
			return d, nil
		}
		d = nil
		if err := os.Remove(final); err != nil {
			return nil, fmt.Errorf("cifar10: %w; delete it by hand", err)
		}
		os.Remove(final + ".md5")
	}
	return o.download(url, final, want)
}

// download fetches url into final (see Load) and returns the parsed data
// set. want is the expected MD5, "" if unknown.
func (o Options) download(url, final, want string) (*Dataset, error) {
	var d *Dataset
	sum, _, err := fetchURL(url, final, want, ArchiveName, o.Progress, func(p string) error {
		var err error
		d, _, err = readArchiveFile(p, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cifar10: %w", err)
	}
	if want == "" && sum != OfficialMD5 {
		o.warn("%s: MD5 %s is not the official CIFAR-10 archive's (%s) and no checksum is known for this URL; keeping it as %s", url, sum, OfficialMD5, final)
	}
	return d, nil
}

// stallReader pushes the stall timer back on every read that returns data.
type stallReader struct {
	r io.Reader
	t *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t.Reset(stallTimeout)
	}
	return n, err
}
