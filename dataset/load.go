package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vkcnn/vkcnn/cifar10"
)

// Options says what Load reads and how.
type Options struct {
	// Source is what --data points at:
	//   - "" or a name, cifar10, cifar100, mnist or fashion-mnist: the
	//     official files, downloaded once into CacheDir (a name is a name
	//     only when no file or directory of that name exists);
	//   - an archive: cifar-10-binary.tar.gz, cifar-10-python.tar.gz,
	//     cifar-100-binary.tar.gz or cifar-100-python.tar.gz (told by what
	//     it holds, not by its name);
	//   - a directory holding one data set: the extracted
	//     cifar-10-batches-bin, cifar-10-batches-py, cifar-100-binary or
	//     cifar-100-python; the four MNIST IDX files; an image folder
	//     (ROOT/train/CLASS/*.png|jpg|jpeg and ROOT/test/CLASS/* or
	//     ROOT/val/CLASS/*); or a directory, such as torchvision's data
	//     root, that holds one of these or an official archive (an extracted
	//     directory is preferred to an archive, binary to Python);
	//   - one file of an extracted layout (such as data_batch_1 or
	//     train-images-idx3-ubyte.gz): its directory;
	//   - an http(s) URL of an archive, downloaded once into CacheDir.
	Source string
	// Format names the data set to read when Source could hold several, or
	// to tell MNIST from Fashion-MNIST: cifar10, cifar100, mnist,
	// fashion-mnist or imagefolder. "" means the one Source holds; the four
	// IDX files are Fashion-MNIST when their directory's name says
	// "fashion" (as torchvision's FashionMNIST/raw does), else MNIST.
	Format string
	// Labels picks CIFAR-100's labels: "fine" (100 classes; "" means fine)
	// or "coarse" (20 superclasses). Other data sets refuse "coarse".
	Labels string
	// ImageSize is the side of the square images an image folder is
	// converted to: the shorter side is scaled to it, then the centre
	// cropped. 0 means 32.
	ImageSize int
	// Strict makes an image folder's unreadable image an error; by default
	// it is skipped with a warning.
	Strict bool
	// CacheDir is where downloads and converted image folders are kept. ""
	// means $VKCNN_DATA when that is set, else os.UserCacheDir()/vkcnn.
	CacheDir string
	// Workers is how many images an image folder converts at once; 0 means
	// GOMAXPROCS.
	Workers int
	// Progress receives download progress and image-folder conversion
	// reports; nil is silent.
	Progress io.Writer
	// Warn receives warnings (a checksum that is not the official one, an
	// image skipped); nil drops them.
	Warn func(string)
}

func (o Options) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// hintSource ends errors about what --data points at.
const hintSource = "point --data at a data set archive or directory (CIFAR-10/100 binary or Python layout, the four MNIST IDX files, an image folder ROOT/train/CLASS/*.png), or name one to download: cifar10, cifar100, mnist, fashion-mnist"

// Load reads the data set o.Source names (see Options), downloading it first
// when needed, and returns it with its class names, image shape and
// normalization figures. Errors are one line: they name the file and say
// what to do.
func Load(o Options) (*Dataset, error) {
	format, err := canonicalFormat(o.Format)
	if err != nil {
		return nil, err
	}
	o.Format = format
	switch strings.ToLower(o.Labels) {
	case "", "fine":
		o.Labels = "fine"
	case "coarse":
		o.Labels = "coarse"
	default:
		return nil, fmt.Errorf("dataset: labels %q: want fine or coarse (CIFAR-100's 100 classes or 20 superclasses)", o.Labels)
	}
	if o.ImageSize == 0 {
		o.ImageSize = 32
	}
	if o.ImageSize < 1 || o.ImageSize > 4096 {
		return nil, fmt.Errorf("dataset: image size %d: want 1-4096 pixels (32 for CIFAR-sized images)", o.ImageSize)
	}

	d, err := o.load()
	if err != nil {
		return nil, err
	}
	if o.Labels == "coarse" && d.Name != CIFAR100 {
		return nil, fmt.Errorf("dataset: coarse labels are CIFAR-100's, but %s holds %s; drop the coarse labels option", d.Source, d.Name)
	}
	if d.Train.N == 0 || d.Test.N == 0 {
		return nil, fmt.Errorf("dataset: %s has %d training and %d test images; both splits need images, %s", d.Source, d.Train.N, d.Test.N, hintSource)
	}
	if d.Mean == nil {
		if m, s, ok := defaultStats(d.Name); ok {
			d.Mean, d.Std = m, s
		} else {
			d.Mean, d.Std = ChannelStats(d.Train, d.Channels)
		}
	}
	if err := d.Check(); err != nil {
		// Every reader checks what it reads, so this is a bug, not bad data.
		return nil, fmt.Errorf("dataset: %s read as %s is inconsistent (%w); please report this", d.Source, d.Name, err)
	}
	return d, nil
}

// downloadName returns the data set a Source names for download, "" when
// it names none. Only the names themselves (and cifar-10, cifar-100) count,
// not every alias Format takes, so that a mistyped path is rarely taken for
// a name.
func downloadName(src string) string {
	switch strings.ToLower(src) {
	case CIFAR10, "cifar-10":
		return CIFAR10
	case CIFAR100, "cifar-100":
		return CIFAR100
	case MNIST:
		return MNIST
	case FashionMNIST:
		return FashionMNIST
	}
	return ""
}

// canonicalFormat turns an Options.Format into one of the names, or "".
func canonicalFormat(f string) (string, error) {
	switch strings.ReplaceAll(strings.ToLower(f), "_", "-") {
	case "":
		return "", nil
	case "cifar10", "cifar-10":
		return CIFAR10, nil
	case "cifar100", "cifar-100":
		return CIFAR100, nil
	case "mnist":
		return MNIST, nil
	case "fashion-mnist", "fashionmnist", "fashion":
		return FashionMNIST, nil
	case "imagefolder", "image-folder", "images", "folder":
		return ImageFolder, nil
	}
	return "", fmt.Errorf("dataset: format %q: want one of %s", f, strings.Join(Formats(), ", "))
}

// load dispatches on what Source is.
func (o Options) load() (*Dataset, error) {
	src := o.Source
	if src == "" {
		name := o.Format
		if name == "" {
			name = CIFAR10
		}
		return o.download(name)
	}
	if isURL(src) {
		return o.loadURL(src)
	}
	fi, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		if name := downloadName(src); name != "" {
			if o.Format != "" && o.Format != name {
				return nil, fmt.Errorf("dataset: --data %s asks for %s but the format is %s; drop one of them", src, name, o.Format)
			}
			return o.download(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: data source: %w; %s", err, hintSource)
	}
	if fi.IsDir() {
		return o.loadDir(src)
	}
	return o.loadFile(src, false)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// candidate is a place a data set may be read from.
type candidate struct {
	layout  layout
	path    string
	archive bool
}

// name is the data set the candidate holds, format deciding MNIST's.
func (c candidate) name(format string) string {
	if c.layout != layoutMNIST {
		return c.layout.dataset()
	}
	if format == MNIST || format == FashionMNIST {
		return format
	}
	if isFashion(c.path) {
		return FashionMNIST
	}
	return MNIST
}

// dirLayouts lists the layouts a directory holds itself.
func dirLayouts(dir string) []layout {
	var ls []layout
	has := func(name string) bool { return isRegular(filepath.Join(dir, name)) }
	if has("data_batch_1.bin") {
		ls = append(ls, layoutCIFAR10Bin)
	}
	if has("data_batch_1") {
		ls = append(ls, layoutCIFAR10Py)
	}
	if has("train.bin") {
		ls = append(ls, layoutCIFAR100Bin)
	}
	if has("train") && has("meta") {
		ls = append(ls, layoutCIFAR100Py)
	}
	if hasMNIST(dir) {
		ls = append(ls, layoutMNIST)
	}
	if isDir(filepath.Join(dir, "train")) && (isDir(filepath.Join(dir, "test")) || isDir(filepath.Join(dir, "val"))) {
		ls = append(ls, layoutImageFolder)
	}
	return ls
}

// candidates lists where dir holds data sets: dir itself when it does;
// otherwise the extracted directories and official archives it holds, in
// order of preference (extracted before archives, binary before Python).
func candidates(dir string) []candidate {
	var cs []candidate
	for _, l := range dirLayouts(dir) {
		cs = append(cs, candidate{layout: l, path: dir})
	}
	if len(cs) > 0 {
		return cs
	}
	for _, sub := range []string{"cifar-10-batches-bin", "cifar-10-batches-py", "cifar-100-binary", "cifar-100-python",
		"raw", filepath.Join("MNIST", "raw"), filepath.Join("FashionMNIST", "raw"), "MNIST", "FashionMNIST", "mnist", "fashion-mnist"} {
		p := filepath.Join(dir, sub)
		if !isDir(p) {
			continue
		}
		for _, l := range dirLayouts(p) {
			if l != layoutImageFolder {
				cs = append(cs, candidate{layout: l, path: p})
			}
		}
	}
	for _, a := range []struct {
		name string
		l    layout
	}{
		{cifar10.ArchiveName, layoutCIFAR10Bin},
		{"cifar-10-python.tar.gz", layoutCIFAR10Py},
		{"cifar-100-binary.tar.gz", layoutCIFAR100Bin},
		{"cifar-100-python.tar.gz", layoutCIFAR100Py},
	} {
		if p := filepath.Join(dir, a.name); isRegular(p) {
			cs = append(cs, candidate{layout: a.l, path: p, archive: true})
		}
	}
	return cs
}

// loadDir reads the one data set dir holds (or the one Format names).
func (o Options) loadDir(dir string) (*Dataset, error) {
	all := candidates(dir)
	var cs []candidate
	var names []string
	for _, c := range all {
		n := c.name(o.Format)
		if o.Format != "" && n != o.Format {
			continue
		}
		if !contains(names, n) {
			names = append(names, n)
		}
		cs = append(cs, c)
	}
	switch {
	case len(all) == 0:
		return nil, fmt.Errorf("dataset: directory %s holds no data set: no CIFAR batches, MNIST IDX files, official archive, or train/ and test/ image folders; %s", dir, hintSource)
	case len(cs) == 0:
		return nil, fmt.Errorf("dataset: directory %s holds no %s data (it holds %s); drop the format option or point --data elsewhere", dir, o.Format, describe(all, ""))
	case len(names) > 1:
		return nil, fmt.Errorf("dataset: directory %s holds several data sets (%s); pick one with the format option, or point --data at one of them", dir, describe(cs, o.Format))
	}
	c := cs[0]
	// Between MNIST IDX directories, prefer the one whose name matches.
	for _, x := range cs {
		if x.layout == layoutMNIST && isFashion(x.path) == (names[0] == FashionMNIST) {
			c = x
			break
		}
	}
	return o.loadCandidate(c, names[0], false)
}

// describe lists candidates for messages: "cifar10 (CIFAR-10 Python) in X".
func describe(cs []candidate, format string) string {
	var s []string
	for _, c := range cs {
		s = append(s, fmt.Sprintf("%s (%s) in %s", c.name(format), c.layout, c.path))
	}
	return strings.Join(s, "; ")
}

// loadFile reads an archive, or the directory of a data file. verified says
// the file's checksum was checked already (a download).
func (o Options) loadFile(p string, verified bool) (*Dataset, error) {
	if base := filepath.Base(p); memberLayout(base) != layoutNone || strings.Contains(base, "-ubyte") {
		return o.loadDir(filepath.Dir(p))
	}
	if !isGzip(p) {
		return nil, fmt.Errorf("dataset: %s is neither a .tar.gz archive nor a file of a data set's layout; %s", p, hintSource)
	}
	l, err := sniffTarGz(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w; re-download it, or %s", err, hintSource)
	}
	if l == layoutNone {
		return nil, fmt.Errorf("dataset: archive %s holds no CIFAR-10 or CIFAR-100 files (data_batch_1..5, test_batch, train, test, meta, train.bin, test.bin); %s", p, hintSource)
	}
	c := candidate{layout: l, path: p, archive: true}
	if n := c.name(o.Format); o.Format != "" && n != o.Format {
		return nil, fmt.Errorf("dataset: archive %s holds %s, not %s; drop the format option or point --data elsewhere", p, n, o.Format)
	}
	return o.loadCandidate(c, c.name(o.Format), verified)
}

// loadCandidate runs the reader of c's layout.
func (o Options) loadCandidate(c candidate, name string, verified bool) (*Dataset, error) {
	var d *Dataset
	var err error
	switch c.layout {
	case layoutCIFAR10Bin:
		var cd *cifar10.Dataset
		cd, err = cifar10.Load(cifar10.Options{Source: c.path, Warn: o.Warn})
		if err == nil {
			d = FromCIFAR10(cd)
		} else {
			// Package cifar10's errors are complete already.
			return nil, fmt.Errorf("dataset: %w", err)
		}
	case layoutCIFAR10Py, layoutCIFAR100Bin, layoutCIFAR100Py:
		d, err = o.loadCIFAR(c, verified)
	case layoutMNIST:
		d, err = loadMNIST(c.path, name)
		if err != nil {
			err = fmt.Errorf("%w; re-download the file, or point --data at a directory holding good copies of the four IDX files", err)
		}
	case layoutImageFolder:
		d, err = o.loadImageFolder(c.path)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	d.Source = c.path
	return d, nil
}

// loadCIFAR reads CIFAR-10's Python layout or either of CIFAR-100's, from an
// archive or an extracted directory.
func (o Options) loadCIFAR(c candidate, verified bool) (*Dataset, error) {
	want := cifar10PyFiles
	switch c.layout {
	case layoutCIFAR100Bin:
		want = cifar100BinFiles
	case layoutCIFAR100Py:
		want = cifar100PyFiles
	}
	var files cifarPyFiles
	var prefix, hint string
	if c.archive {
		var sum string
		var err error
		files, sum, err = readTarGz(c.path, want, maxPickleSize, !verified)
		if err != nil {
			return nil, fmt.Errorf("%s: %w; re-download it, or point --data at a good copy", c.path, err)
		}
		if off, ok := officialArchives[c.layout]; ok && !verified && sum != off.md5 {
			o.warn("%s: MD5 %s is not the official %s's (%s); using it anyway", c.path, sum, off.name, off.md5)
		}
		prefix, hint = c.path+": ", "re-download the archive, or point --data at a good copy"
	} else {
		files = cifarPyFiles{}
		for _, name := range want {
			p := filepath.Join(c.path, name)
			fi, err := os.Stat(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !fi.Mode().IsRegular() || fi.Size() > maxPickleSize {
				return nil, fmt.Errorf("%s is not a regular file of at most %d bytes; re-extract the archive there", p, maxPickleSize)
			}
			if files[name], err = os.ReadFile(p); err != nil {
				return nil, err
			}
		}
		prefix, hint = c.path+string(filepath.Separator), "re-extract the archive there, or point --data at the .tar.gz"
	}
	coarse := o.Labels == "coarse"
	var d *Dataset
	var err error
	switch c.layout {
	case layoutCIFAR10Py:
		d, err = cifar10Py(files, prefix)
	case layoutCIFAR100Bin:
		d, err = cifar100Bin(files, prefix, coarse)
	case layoutCIFAR100Py:
		d, err = cifar100Py(files, prefix, coarse)
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "no ") {
			err = fmt.Errorf("%s has %w", c.path, err)
		}
		return nil, fmt.Errorf("%w; %s", err, hint)
	}
	return d, nil
}
