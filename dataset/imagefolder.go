package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/image/draw"

	// Decoders of the formats an image folder may hold; image.Decode tells
	// them apart by content, as PIL does, so a mislabelled file still reads.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// An image folder is torchvision's ImageFolder layout:
//
//	ROOT/train/CLASS/*.png|jpg|jpeg  (any depth below CLASS)
//	ROOT/test/CLASS/*                (or ROOT/val/CLASS/*)
//
// Class names are the folder names of train, sorted; test must have the same
// ones. Each image is converted as torchvision's loader and transforms
// Resize(S) + CenterCrop(S) would: to RGB (alpha dropped, grey and palettes
// expanded), the shorter side scaled to S, the centre S x S kept. The result
// is cached (imagecache.go), so this costs once.

// imageExts are the file extensions read, as torchvision's IMG_EXTENSIONS
// that Go decodes.
var imageExts = []string{".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}

// maxPixels bounds the pixels of one image (PIL's decompression-bomb limit),
// so that a small file cannot claim gigabytes.
const maxPixels = 89478485

// scaler is the interpolation of the conversion; its name goes into the
// cache key.
var (
	scaler     = draw.CatmullRom
	scalerName = "catmullrom"
)

// imageFile is one image of the folder.
type imageFile struct {
	rel   string // path below ROOT, with '/' separators (the cache key)
	size  int64
	mtime int64 // UnixNano
	class int
}

// folderList is what the walk of an image folder found.
type folderList struct {
	root    string
	testDir string // "test" or "val"
	classes []string
	train   []imageFile
	test    []imageFile
}

// listFolder walks an image folder: class folders of train and test (or
// val), and the images under each, sorted.
func listFolder(root string) (*folderList, error) {
	l := &folderList{root: root, testDir: "test"}
	if !isDir(filepath.Join(root, "test")) {
		l.testDir = "val"
	}
	trainClasses, err := classDirs(filepath.Join(root, "train"))
	if err != nil {
		return nil, err
	}
	testClasses, err := classDirs(filepath.Join(root, l.testDir))
	if err != nil {
		return nil, err
	}
	if len(trainClasses) == 0 {
		return nil, fmt.Errorf("%s has no class folders; put each class's images in a folder of its own, %s", filepath.Join(root, "train"), filepath.Join(root, "train", "CLASS", "*.png"))
	}
	if !slices.Equal(trainClasses, testClasses) {
		return nil, fmt.Errorf("%s and %s have different classes (only in train: %s; only in %s: %s); give both the same class folders",
			filepath.Join(root, "train"), filepath.Join(root, l.testDir), listOrNone(minus(trainClasses, testClasses)), l.testDir, listOrNone(minus(testClasses, trainClasses)))
	}
	if len(trainClasses) > MaxClasses {
		return nil, fmt.Errorf("%s has %d class folders, more than the %d a one-byte label can tell apart", filepath.Join(root, "train"), len(trainClasses), MaxClasses)
	}
	l.classes = trainClasses
	for _, split := range []string{"train", l.testDir} {
		var files []imageFile
		for c, class := range l.classes {
			dir := filepath.Join(root, split, class)
			n := len(files)
			if files, err = walkImages(root, dir, c, files); err != nil {
				return nil, err
			}
			if len(files) == n {
				return nil, fmt.Errorf("%s has no images (%s); add some or remove the folder from both splits", dir, strings.Join(imageExts, ", "))
			}
		}
		if split == "train" {
			l.train = files
		} else {
			l.test = files
		}
	}
	return l, nil
}

// classDirs lists the sorted names of the folders in dir (following
// symbolic links), hidden ones left out.
func classDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isDir(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// walkImages appends the image files below dir (of class c), sorted by
// path, with their sizes and modification times.
func walkImages(root, dir string, c int, files []imageFile) ([]imageFile, error) {
	start := len(files)
	// The separator makes WalkDir follow a class folder that is a symbolic
	// link (as classDirs does); links further down are not followed.
	top := dir + string(filepath.Separator)
	err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != top {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || !contains(imageExts, strings.ToLower(filepath.Ext(p))) {
			return nil
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(p)
		} else {
			fi, err = e.Info()
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, imageFile{rel: filepath.ToSlash(rel), size: fi.Size(), mtime: fi.ModTime().UnixNano(), class: c})
		return nil
	})
	slices.SortFunc(files[start:], func(a, b imageFile) int { return strings.Compare(a.rel, b.rel) })
	return files, err
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 5 {
		return strings.Join(s[:5], ", ") + fmt.Sprintf(" and %d more", len(s)-5)
	}
	return strings.Join(s, ", ")
}

// loadImageFolder reads an image folder through its cache: unchanged
// images come from the cache, new or changed ones are converted.
func (o Options) loadImageFolder(root string) (*Dataset, error) {
	l, err := listFolder(root)
	if err != nil {
		return nil, err
	}
	side := o.ImageSize
	cachePath, cerr := o.folderCachePath(root, side)
	var old *folderCache
	if cerr == nil {
		old = readFolderCache(cachePath, side)
	}
	key := l.key(side)
	fc := old
	if old == nil || old.key != key {
		fc, err = o.convertFolder(l, side, old)
		if err != nil {
			return nil, err
		}
		switch {
		case cerr != nil:
			o.warn("image folder %s: not cached (%v)", root, cerr)
		default:
			if err := writeFolderCache(cachePath, fc); err != nil {
				o.warn("image folder %s: not cached (%v); it will be converted again next time", root, err)
			}
		}
	}
	if err := o.reportSkipped(root, fc); err != nil {
		return nil, err
	}
	rs := 1 + 3*side*side
	d := &Dataset{
		Name: ImageFolder, Classes: fc.classes, Channels: 3, Height: side, Width: side,
		Train: Split{Records: fc.train, N: len(fc.train) / rs, RecordSize: rs},
		Test:  Split{Records: fc.test, N: len(fc.test) / rs, RecordSize: rs},
		Mean:  fc.mean, Std: fc.std,
	}
	// A class whose every image was skipped has none left.
	for _, s := range []struct {
		name string
		sp   Split
	}{{"train", d.Train}, {l.testDir, d.Test}} {
		counts := make([]int, len(d.Classes))
		for i := range s.sp.N {
			counts[s.sp.Label(i)]++
		}
		for c, n := range counts {
			if n == 0 {
				return nil, fmt.Errorf("%s has no readable images; add some or remove the folder from both splits", filepath.Join(root, s.name, d.Classes[c]))
			}
		}
	}
	return d, nil
}

// reportSkipped warns of the images that could not be read, or refuses
// them with Strict.
func (o Options) reportSkipped(root string, fc *folderCache) error {
	var skipped []cacheEntry
	for _, e := range append(slices.Clip(fc.trainFiles), fc.testFiles...) {
		if e.reason != "" {
			skipped = append(skipped, e)
		}
	}
	if len(skipped) == 0 {
		return nil
	}
	if o.Strict {
		e := skipped[0]
		more := ""
		if len(skipped) > 1 {
			more = fmt.Sprintf(" (and %d more unreadable images)", len(skipped)-1)
		}
		return fmt.Errorf("%s: %s%s; fix or remove it, or drop the strict option to skip unreadable images", filepath.Join(root, filepath.FromSlash(e.rel)), e.reason, more)
	}
	const shown = 10
	for i, e := range skipped {
		if i == shown {
			o.warn("image folder %s: %d more unreadable images skipped", root, len(skipped)-shown)
			break
		}
		o.warn("%s: %s; skipped (the strict option refuses such images)", filepath.Join(root, filepath.FromSlash(e.rel)), e.reason)
	}
	return nil
}

// convertFolder converts every image of l (reusing old's records of the
// files unchanged since) in parallel, and computes the training split's
// normalization figures.
func (o Options) convertFolder(l *folderList, side int, old *folderCache) (*folderCache, error) {
	rs := 1 + 3*side*side
	fc := &folderCache{key: l.key(side), side: side, classes: l.classes}
	reuse := map[string]*cacheEntry{}
	if old != nil {
		for _, fs := range [][]cacheEntry{old.trainFiles, old.testFiles} {
			for i := range fs {
				reuse[fs[i].rel] = &fs[i]
			}
		}
	}
	type job struct {
		f   imageFile
		out *cacheEntry
		rec []byte
	}
	var jobs []job
	splits := []struct {
		files []imageFile
		out   *[]cacheEntry
		recs  []byte
	}{{l.train, &fc.trainFiles, make([]byte, len(l.train)*rs)}, {l.test, &fc.testFiles, make([]byte, len(l.test)*rs)}}
	reused := 0
	for _, s := range splits {
		*s.out = make([]cacheEntry, len(s.files))
		for i, f := range s.files {
			e := &(*s.out)[i]
			*e = cacheEntry{rel: f.rel, size: f.size, mtime: f.mtime, class: f.class}
			rec := s.recs[i*rs : (i+1)*rs]
			if p := reuse[f.rel]; p != nil && p.size == f.size && p.mtime == f.mtime && p.class == f.class {
				e.reason = p.reason
				if p.reason == "" {
					copy(rec, p.record)
				}
				reused++
				continue
			}
			jobs = append(jobs, job{f, e, rec})
		}
	}
	if old != nil {
		// The old records are copied out; let them go.
		old.train, old.test = nil, nil
	}

	start := time.Now()
	if o.Progress != nil && len(jobs) > 0 {
		fmt.Fprintf(o.Progress, "converting %d images of %s to %dx%d RGB", len(jobs), l.root, side, side)
		if reused > 0 {
			fmt.Fprintf(o.Progress, " (%d unchanged ones from the cache)", reused)
		}
		fmt.Fprintln(o.Progress)
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if o.Progress != nil && len(jobs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fmt.Fprintf(o.Progress, "  %d of %d images\n", done.Load(), len(jobs))
				}
			}
		}()
	}
	var cw sync.WaitGroup
	for range min(workers, max(len(jobs), 1)) {
		cw.Add(1)
		go func() {
			defer cw.Done()
			cv := newConverter(side)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				if err := cv.convert(filepath.Join(l.root, filepath.FromSlash(j.f.rel)), j.rec[1:]); err != nil {
					j.out.reason = err.Error()
				} else {
					j.rec[0] = byte(j.f.class)
				}
				done.Add(1)
			}
		}()
	}
	cw.Wait()
	close(stop)
	wg.Wait()

	// Keep the records of the images that were read, in file order.
	for k, s := range splits {
		n := 0
		for i, e := range *s.out {
			if e.reason != "" {
				continue
			}
			copy(s.recs[n*rs:(n+1)*rs], s.recs[i*rs:(i+1)*rs])
			n++
		}
		if k == 0 {
			fc.train = s.recs[:n*rs]
		} else {
			fc.test = s.recs[:n*rs]
		}
	}
	fc.mean, fc.std = ChannelStats(Split{Records: fc.train, N: len(fc.train) / rs, RecordSize: rs}, 3)
	if o.Progress != nil && len(jobs) > 0 {
		fmt.Fprintf(o.Progress, "converted %d images in %v\n", len(jobs), time.Since(start).Round(10*time.Millisecond))
	}
	return fc, nil
}

// converter turns image files into side x side RGB planes; one per
// goroutine, since it keeps scratch images.
type converter struct {
	side int
	dst  *image.RGBA
	buf  bytes.Buffer
}

func newConverter(side int) *converter {
	return &converter{side: side, dst: image.NewRGBA(image.Rect(0, 0, side, side))}
}

// errTooLarge says an image has more pixels than maxPixels.
var errTooLarge = errors.New("too large")

// convert reads the image at p into out (3 planes of side*side bytes). Its
// error says why the image is unreadable, for the warning.
func (cv *converter) convert(p string, out []byte) error {
	cv.buf.Reset()
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	_, err = cv.buf.ReadFrom(f)
	f.Close()
	if err != nil {
		return err
	}
	data := cv.buf.Bytes()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("cannot decode it (%v)", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return fmt.Errorf("%w: %dx%d pixels, more than %d", errTooLarge, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("cannot decode it (%v)", err)
	}
	cv.resize(img)
	planes(cv.dst, out)
	return nil
}

// resize draws the centre square of img, scaled to side x side, into
// cv.dst, opaque.
func (cv *converter) resize(img image.Image) {
	img = opaque(img)
	b := img.Bounds()
	m := min(b.Dx(), b.Dy())
	// The centre square of the source is what Resize(shorter side to S)
	// then CenterCrop(S) keep.
	x0, y0 := b.Min.X+(b.Dx()-m)/2, b.Min.Y+(b.Dy()-m)/2
	sq := image.Rect(x0, y0, x0+m, y0+m)
	if m == cv.side {
		draw.Draw(cv.dst, cv.dst.Bounds(), img, sq.Min, draw.Src)
		return
	}
	scaler.Scale(cv.dst, cv.dst.Bounds(), img, sq, draw.Src, nil)
}

// planes writes an opaque RGBA image as three planes (red, green, blue),
// each row-major.
func planes(src *image.RGBA, out []byte) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	plane := w * h
	for y := range h {
		row := src.Pix[y*src.Stride : y*src.Stride+4*w]
		for x := range w {
			o := y*w + x
			out[o] = row[4*x]
			out[plane+o] = row[4*x+1]
			out[2*plane+o] = row[4*x+2]
		}
	}
}

// opaque returns img with its alpha dropped, as PIL's convert("RGB") does:
// colours keep their stored (unpremultiplied) values, whatever their
// alpha. Images without alpha are returned as they are.
func opaque(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return img
	case *image.NRGBA:
		if m.Opaque() {
			return img
		}
		out := &image.NRGBA{Pix: slices.Clone(m.Pix), Stride: m.Stride, Rect: m.Rect}
		for i := 3; i < len(out.Pix); i += 4 {
			out.Pix[i] = 0xFF
		}
		return out
	case *image.Paletted:
		p := make(color.Palette, len(m.Palette))
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			n.A = 0xFF
			p[i] = n
		}
		return &image.Paletted{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect, Palette: p}
	}
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return img
	}
	// Anything else with alpha (RGBA, NRGBA64, ...): unpremultiply pixel by
	// pixel. Rare in practice, so the slow path is fine.
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			n.A = 0xFF
			out.SetNRGBA(x, y, n)
		}
	}
	return out
}
