package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vkcnn/vkcnn/cifar10"
)

// remoteFile is one official file: its name, the addresses it is served at
// (mirrors, tried in order) and its published MD5 checksum.
type remoteFile struct {
	name string
	urls []string
	md5  string
}

// officialFiles are the files each name downloads, with the checksums
// torchvision publishes. CIFAR-10 is package cifar10's (OfficialURL). A
// variable so that tests can serve them locally.
var officialFiles = map[string][]remoteFile{
	CIFAR100: {{name: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8",
		urls: []string{"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"}}},
	MNIST: mnistRemote([]string{"https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"},
		"f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432", "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
	FashionMNIST: mnistRemote([]string{"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
		"8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
}

// mnistRemote lists the four gzip-compressed IDX files at each mirror.
func mnistRemote(mirrors []string, md5s ...string) []remoteFile {
	var fs []remoteFile
	for k, base := range mnistFiles {
		f := remoteFile{name: base + ".gz", md5: md5s[k]}
		for _, m := range mirrors {
			f.urls = append(f.urls, m+f.name)
		}
		fs = append(fs, f)
	}
	return fs
}

// cacheDir is where downloads go.
func (o Options) cacheDir() (string, error) {
	if o.CacheDir != "" {
		return o.CacheDir, nil
	}
	d, err := cifar10.DefaultCacheDir()
	if err != nil {
		return "", fmt.Errorf("dataset: %w, or point --data at local files", err)
	}
	return d, nil
}

// download gets the official files of a data set into the cache (or uses
// the copies there) and reads them.
func (o Options) download(name string) (*Dataset, error) {
	dir, err := o.cacheDir()
	if err != nil {
		return nil, err
	}
	if name == CIFAR10 {
		cd, err := cifar10.Load(cifar10.Options{CacheDir: dir, Progress: o.Progress, Warn: o.Warn})
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		d := FromCIFAR10(cd)
		d.Source = filepath.Join(dir, cifar10.ArchiveName)
		return d, nil
	}
	files, ok := officialFiles[name]
	if !ok {
		return nil, fmt.Errorf("dataset: no official download for %s; %s", name, hintSource)
	}
	if name == MNIST || name == FashionMNIST {
		// The four files go in a directory of their own, named for the
		// data set, since both data sets use the same file names.
		sub := filepath.Join(dir, name)
		for _, f := range files {
			_, err := o.fetch(f, filepath.Join(sub, f.name), func(p string) error {
				fh, err := os.Open(p)
				if err != nil {
					return err
				}
				defer fh.Close()
				_, err = readIDX(f.name, fh)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		return o.loadCandidate(candidate{layout: layoutMNIST, path: sub}, name, true)
	}
	f := files[0]
	p, err := o.fetch(f, filepath.Join(dir, f.name), func(p string) error {
		// Reject what is not the archive before it is cached; the data is
		// read again from the cache below, which costs a second
		// decompression only on the first run.
		l, err := sniffTarGz(p)
		if err == nil && l.dataset() != name {
			err = fmt.Errorf("it holds %s, not %s", l, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return o.loadFile(p, true)
}

// fetch gets one file through package cifar10's download code.
func (o Options) fetch(f remoteFile, dst string, check func(string) error) (string, error) {
	p, err := cifar10.Fetch{URLs: f.urls, Path: dst, MD5: f.md5, Name: f.name, Progress: o.Progress, Warn: o.Warn, Check: check}.Get()
	if err != nil {
		return "", fmt.Errorf("dataset: %w", err)
	}
	return p, nil
}

// loadURL downloads an archive from a URL into the cache (once) and reads
// it. A URL ending in CIFAR-10's binary archive goes to package cifar10,
// which keeps its own cache; the official addresses of the other archives
// get their published checksums.
func (o Options) loadURL(url string) (*Dataset, error) {
	base := path.Base(strings.SplitN(url, "?", 2)[0])
	if base == cifar10.ArchiveName {
		dir, err := o.cacheDir()
		if err != nil {
			return nil, err
		}
		cd, err := cifar10.Load(cifar10.Options{Source: url, CacheDir: dir, Progress: o.Progress, Warn: o.Warn})
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		d := FromCIFAR10(cd)
		d.Source = url
		return d, nil
	}
	f := remoteFile{name: base, urls: []string{url}}
	for _, fs := range officialFiles {
		for _, of := range fs {
			if contains(of.urls, url) {
				f.md5 = of.md5
			}
		}
	}
	for _, a := range officialArchives {
		if url == "https://www.cs.toronto.edu/~kriz/"+a.name {
			f.md5 = a.md5
		}
	}
	dir, err := o.cacheDir()
	if err != nil {
		return nil, err
	}
	// Name the cached copy after the URL, so two URLs never share a file.
	h := sha256.Sum256([]byte(url))
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".tar") + "-" + hex.EncodeToString(h[:6]) + ".tar.gz"
	p, err := o.fetch(f, filepath.Join(dir, name), func(p string) error {
		l, err := sniffTarGz(p)
		if err == nil && l == layoutNone {
			err = fmt.Errorf("the archive holds no CIFAR-10 or CIFAR-100 files")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	d, err := o.loadFile(p, f.md5 != "")
	if err != nil {
		return nil, err
	}
	d.Source = url
	return d, nil
}
