package dataset

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/internal/dirtest"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

// fileServer serves files by path, counting requests.
type fileServer struct {
	*httptest.Server
	hits atomic.Int32
}

func serveFiles(t *testing.T, files map[string][]byte) *fileServer {
	s := &fileServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// withOfficial replaces the official files of name for one test.
func withOfficial(t *testing.T, name string, files []remoteFile) {
	old := officialFiles[name]
	officialFiles[name] = files
	t.Cleanup(func() { officialFiles[name] = old })
}

// TestDownloadMNIST downloads the four files by name, from a second mirror
// when the first fails, verifies their checksums, keeps them in the cache
// and uses the cache the next time.
func TestDownloadMNIST(t *testing.T) {
	for _, name := range []string{MNIST, FashionMNIST} {
		t.Run(name, func(t *testing.T) {
			src := makeMNIST(12, 6, 28, 28)
			files := src.files(t, true)
			served := map[string][]byte{}
			var remote []remoteFile
			s := serveFiles(t, served)
			for _, base := range mnistFiles {
				n := base + ".gz"
				served["/good/"+n] = files[n]
				remote = append(remote, remoteFile{name: n, md5: md5Hex(files[n]), urls: []string{s.URL + "/gone/" + n, s.URL + "/good/" + n}})
			}
			withOfficial(t, name, remote)
			cache := t.TempDir()
			var prog bytes.Buffer
			warn, warnings := collect()
			o := Options{Source: name, CacheDir: cache, Progress: &prog, Warn: warn}
			d, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != name || sameSplit(d.Train, src.expectedTrain, 785) != "" || sameSplit(d.Test, src.expectedTest, 785) != "" {
				t.Errorf("downloaded %s does not read back as the served data", d.Name)
			}
			if len(*warnings) != 4 || !strings.Contains((*warnings)[0], "404") || !strings.Contains((*warnings)[0], "trying "+s.URL+"/good/") {
				t.Errorf("warnings %q, want four about trying the next mirror", *warnings)
			}
			if !strings.Contains(prog.String(), "downloading "+s.URL) {
				t.Errorf("progress %q", prog.String())
			}
			var want []string
			for _, base := range mnistFiles {
				want = append(want, base+".gz", base+".gz.md5")
			}
			dirtest.Only(t, filepath.Join(cache, name), want...)
			hits := s.hits.Load()
			prog.Reset()
			if _, err := Load(o); err != nil {
				t.Fatal(err)
			}
			if s.hits.Load() != hits || prog.Len() != 0 {
				t.Errorf("second load: %d more requests, progress %q; want the cache", s.hits.Load()-hits, prog.String())
			}
		})
	}
}

// TestDownloadCIFAR100 downloads CIFAR-100's binary archive by name, and an
// archive by URL.
func TestDownloadCIFAR100(t *testing.T) {
	src := makeCIFAR100(9, 4, 3)
	dir := t.TempDir()
	writeCIFAR100Bin(t, filepath.Join(dir, "bin"), src)
	archive := tarGzDir(t, filepath.Join(dir, "bin"), "cifar-100-binary", "")
	writeCIFAR100Py(t, filepath.Join(dir, "py"), src, pickleStyles[4])
	pyArchive := tarGzDir(t, filepath.Join(dir, "py"), "cifar-100-python", "")
	s := serveFiles(t, map[string][]byte{"/c100.tgz": archive, "/mirror/cifar-100-python.tar.gz": pyArchive})
	withOfficial(t, CIFAR100, []remoteFile{{name: "cifar-100-binary.tar.gz", md5: md5Hex(archive), urls: []string{s.URL + "/c100.tgz"}}})
	cache := t.TempDir()
	warn, warnings := collect()
	for range 2 {
		d, err := Load(Options{Source: "cifar100", CacheDir: cache, Labels: "coarse", Warn: warn})
		if err != nil {
			t.Fatal(err)
		}
		if sameSplit(d.Train, src.records(true, true), 3073) != "" || !slices.Equal(d.Classes, src.coarseNames) {
			t.Error("downloaded CIFAR-100 does not read back as served")
		}
	}
	if s.hits.Load() != 1 || len(*warnings) != 0 {
		t.Errorf("%d requests, warnings %q; want one request and no warnings", s.hits.Load(), *warnings)
	}
	dirtest.Only(t, cache, "cifar-100-binary.tar.gz", "cifar-100-binary.tar.gz.md5")

	// By URL: an unknown checksum, so a warning that it is not the official
	// archive; cached under a name of its own.
	url := s.URL + "/mirror/cifar-100-python.tar.gz"
	for range 2 {
		*warnings = nil
		d, err := Load(Options{Source: url, CacheDir: cache, Warn: warn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Source != url || sameSplit(d.Test, src.records(false, false), 3073) != "" {
			t.Error("CIFAR-100 by URL does not read back as served")
		}
		if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "not the official cifar-100-python.tar.gz") {
			t.Errorf("warnings %q", *warnings)
		}
	}
	if s.hits.Load() != 2 {
		t.Errorf("%d requests, want 2", s.hits.Load())
	}
}

// TestDownloadErrors checks a wrong checksum, a file that is not the data
// set, and no network: one-line errors, nothing left in the cache.
func TestDownloadErrors(t *testing.T) {
	src := makeMNIST(3, 2, 28, 28)
	files := src.files(t, true)
	n0 := mnistFiles[0] + ".gz"
	html := []byte("<html>moved</html>")
	s := serveFiles(t, map[string][]byte{"/" + n0: files[n0], "/page": html})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	for _, tc := range []struct {
		name string
		f    remoteFile
		err  []string
	}{
		{"wrong checksum", remoteFile{name: n0, md5: md5Hex([]byte("x")), urls: []string{s.URL + "/" + n0}}, []string{"has MD5 " + md5Hex(files[n0]), "not the expected", "try again"}},
		{"not an IDX file", remoteFile{name: n0, urls: []string{s.URL + "/page"}}, []string{"magic 3c68746d is not an IDX file's", "check that the URL serves " + n0}},
		{"offline", remoteFile{name: n0, md5: md5Hex(files[n0]), urls: []string{deadURL + "/" + n0}}, []string{"check the network", "download " + n0 + " yourself"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withOfficial(t, MNIST, []remoteFile{tc.f})
			cache := t.TempDir()
			_, err := Load(Options{Source: MNIST, CacheDir: cache})
			errtest.Want(t, err, append(tc.err, "dataset: ")...)
			dirtest.Only(t, filepath.Join(cache, MNIST))
		})
	}
}

// TestDownloadCIFAR10 checks that the name cifar10 goes to package cifar10,
// which uses an archive put into the cache by hand (this test never contacts
// the official address).
func TestDownloadCIFAR10(t *testing.T) {
	src := cifar10.Synthetic(20, 10, 12)
	var buf bytes.Buffer
	if err := cifar10.WriteArchive(&buf, src); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	writeFile(t, filepath.Join(cache, cifar10.ArchiveName), buf.Bytes())
	for _, source := range []string{"", "cifar10", "cifar-10"} {
		warn, warnings := collect()
		d, err := Load(Options{Source: source, CacheDir: cache, Warn: warn})
		if err != nil {
			t.Fatal(err)
		}
		checkCIFAR10(t, d, src)
		if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "not the official") {
			t.Errorf("source %q: warnings %q", source, *warnings)
		}
	}
}
