package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/internal/dirtest"
	"github.com/vkcnn/vkcnn/internal/errtest"
)

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// solid returns a w x h image of one colour in the given mode.
func solid(mode string, w, h int, c color.NRGBA) image.Image {
	r := image.Rect(0, 0, w, h)
	var img draw2
	switch mode {
	case "rgb":
		img = image.NewRGBA(r)
	case "nrgba": // with the colour's alpha
		img = image.NewNRGBA(r)
	case "grey":
		img = image.NewGray(r)
	case "paletted":
		return &image.Paletted{Pix: make([]byte, w*h), Stride: w, Rect: r, Palette: color.Palette{c, color.Black}}
	}
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

type draw2 interface {
	image.Image
	Set(x, y int, c color.Color)
}

// imageCase is one image of a test folder and the colour its record must
// have (within tol).
type imageCase struct {
	rel  string
	data []byte
	want [3]int
	tol  int
}

// folderCases returns images of mixed sizes, modes and formats: exact
// 32x32 PNGs, grey, paletted with a transparent entry, RGBA with alpha 0
// (PIL keeps the colour, drops alpha), JPEGs in colour and grey, wide and
// tall ones whose sides are cropped.
func folderCases(t testing.TB) []imageCase {
	red := color.NRGBA{200, 30, 40, 255}
	blue := color.NRGBA{20, 40, 210, 255}
	green := color.NRGBA{30, 180, 60, 255}
	wide := image.NewNRGBA(image.Rect(0, 0, 96, 32)) // centre green, sides red
	tall := image.NewRGBA(image.Rect(0, 0, 40, 120)) // centre blue, ends red
	for y := range 32 {
		for x := range 96 {
			c := red
			if x >= 32 && x < 64 {
				c = green
			}
			wide.Set(x, y, c)
		}
	}
	for y := range 120 {
		for x := range 40 {
			c := red
			if y >= 40 && y < 80 {
				c = blue
			}
			tall.Set(x, y, c)
		}
	}
	return []imageCase{
		{"train/bird/a.png", pngBytes(t, solid("rgb", 32, 32, red)), [3]int{200, 30, 40}, 0},
		{"train/bird/b.jpg", jpegBytes(t, solid("rgb", 64, 48, blue)), [3]int{20, 40, 210}, 4},
		{"train/bird/sub/c.PNG", pngBytes(t, solid("grey", 17, 23, color.NRGBA{99, 99, 99, 255})), [3]int{99, 99, 99}, 0},
		{"train/cat/a.png", pngBytes(t, solid("paletted", 50, 50, color.NRGBA{10, 220, 30, 0})), [3]int{10, 220, 30}, 0},
		{"train/cat/b.png", pngBytes(t, solid("nrgba", 31, 45, color.NRGBA{120, 60, 250, 0})), [3]int{120, 60, 250}, 0},
		{"train/cat/c.jpeg", jpegBytes(t, solid("grey", 100, 70, color.NRGBA{180, 180, 180, 255})), [3]int{180, 180, 180}, 3},
		{"train/cat/tall.png", pngBytes(t, tall), [3]int{20, 40, 210}, 1},
		{"train/cat/wide.png", pngBytes(t, wide), [3]int{30, 180, 60}, 0},
		{"test/bird/x.png", pngBytes(t, solid("nrgba", 32, 32, color.NRGBA{1, 2, 3, 128})), [3]int{1, 2, 3}, 0},
		{"test/cat/y.jpg", jpegBytes(t, solid("grey", 10, 10, color.NRGBA{50, 50, 50, 255})), [3]int{50, 50, 50}, 3},
	}
}

func writeCases(t testing.TB, root string, cases []imageCase) {
	for _, c := range cases {
		writeFile(t, filepath.Join(root, filepath.FromSlash(c.rel)), c.data)
	}
}

// checkCases checks each record's colour over the whole image.
func checkCases(t *testing.T, d *Dataset, cases []imageCase) {
	t.Helper()
	i := map[string]int{"train": 0, "test": 0}
	for _, c := range cases {
		split := strings.SplitN(c.rel, "/", 2)[0]
		sp := d.Train
		if split == "test" {
			sp = d.Test
		}
		k := i[split]
		i[split]++
		if k >= sp.N {
			t.Fatalf("%s: no record %d in %s", c.rel, k, split)
		}
		class := strings.Split(c.rel, "/")[1]
		if got := d.Classes[sp.Label(k)]; got != class {
			t.Errorf("%s: record %d has class %s", c.rel, k, got)
		}
		img := sp.Image(k)
		plane := d.Height * d.Width
		for ch := range 3 {
			for p, v := range img[ch*plane : (ch+1)*plane] {
				if math.Abs(float64(int(v)-c.want[ch])) > float64(c.tol) {
					t.Errorf("%s: channel %d pixel %d is %d, want %d±%d", c.rel, ch, p, v, c.want[ch], c.tol)
					break
				}
			}
		}
	}
	if i["train"] != d.Train.N || i["test"] != d.Test.N {
		t.Errorf("%d/%d records, want %d/%d", d.Train.N, d.Test.N, i["train"], i["test"])
	}
}

// TestImageFolder converts a folder of PNG and JPEG images of mixed sizes
// and modes, caches it, reuses the cache, and refreshes it after a change.
func TestImageFolder(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pets")
	cases := folderCases(t)
	writeCases(t, root, cases)
	writeFile(t, filepath.Join(root, "train", "cat", "notes.txt"), []byte("not an image"))
	cache := t.TempDir()
	var prog bytes.Buffer
	load := func() *Dataset {
		t.Helper()
		prog.Reset()
		warn, warnings := collect()
		d, err := Load(Options{Source: root, CacheDir: cache, Progress: &prog, Warn: warn, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(*warnings) > 0 {
			t.Errorf("warnings %q", *warnings)
		}
		return d
	}
	d := load()
	if !strings.Contains(prog.String(), "converting 10 images") {
		t.Errorf("first load: progress %q, want it to convert 10 images", prog.String())
	}
	if d.Name != ImageFolder || d.Channels != 3 || d.Height != 32 || d.Width != 32 || !slices.Equal(d.Classes, []string{"bird", "cat"}) {
		t.Errorf("name %s, shape %dx%dx%d, classes %q", d.Name, d.Channels, d.Height, d.Width, d.Classes)
	}
	checkCases(t, d, cases)
	mean, std := ChannelStats(d.Train, 3)
	if !slices.Equal(d.Mean, mean) || !slices.Equal(d.Std, std) {
		t.Errorf("mean %v std %v, want the training images' %v %v", d.Mean, d.Std, mean, std)
	}
	entries := dirtest.Names(t, filepath.Join(cache, "imagefolder"))
	if len(entries) != 1 || !strings.HasPrefix(entries[0], "pets-") || !strings.HasSuffix(entries[0], "-32px.cache") {
		t.Fatalf("cache holds %q, want one pets-*-32px.cache", entries)
	}

	// The second load comes from the cache, converting nothing.
	again := load()
	if prog.Len() != 0 {
		t.Errorf("second load: progress %q, want none (cached)", prog.String())
	}
	if sameSplit(again.Train, d.Train.Records, d.RecordSize()) != "" || sameSplit(again.Test, d.Test.Records, d.RecordSize()) != "" ||
		!slices.Equal(again.Classes, d.Classes) || !slices.Equal(again.Mean, d.Mean) {
		t.Error("cached load differs from the first")
	}

	// Touching a file converts that one again, and only it.
	p := filepath.Join(root, "train", "cat", "b.png")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	touched := load()
	if !strings.Contains(prog.String(), "converting 1 images") || !strings.Contains(prog.String(), "9 unchanged ones from the cache") {
		t.Errorf("after touching a file: progress %q, want one image converted", prog.String())
	}
	if sameSplit(touched.Train, d.Train.Records, d.RecordSize()) != "" {
		t.Error("records changed after touching a file")
	}
	// A changed image gets its new colour; a new one is added in order.
	writeFile(t, p, pngBytes(t, solid("rgb", 40, 40, color.NRGBA{7, 8, 9, 255})))
	writeFile(t, filepath.Join(root, "test", "cat", "z.png"), pngBytes(t, solid("grey", 32, 32, color.NRGBA{77, 77, 77, 255})))
	changed := load()
	if !strings.Contains(prog.String(), "converting 2 images") {
		t.Errorf("after changing a file and adding one: progress %q, want two converted", prog.String())
	}
	cases[4].want, cases[4].tol = [3]int{7, 8, 9}, 0
	cases = append(cases, imageCase{rel: "test/cat/z.png", want: [3]int{77, 77, 77}})
	checkCases(t, changed, cases)
	dirtest.Only(t, filepath.Join(cache, "imagefolder"), entries[0])

	// A damaged cache is rebuilt.
	cp := filepath.Join(cache, "imagefolder", entries[0])
	b, _ := os.ReadFile(cp)
	b[len(b)/2] ^= 0xFF
	writeFile(t, cp, b)
	rebuilt := load()
	if !strings.Contains(prog.String(), "converting 11 images") {
		t.Errorf("damaged cache: progress %q, want all converted", prog.String())
	}
	checkCases(t, rebuilt, cases)

	// Another image size has a cache of its own.
	d16, err := Load(Options{Source: root, CacheDir: cache, ImageSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if d16.Height != 16 || d16.RecordSize() != 1+3*16*16 {
		t.Errorf("ImageSize 16 gave %dx%d", d16.Height, d16.Width)
	}
	if n := len(dirtest.Names(t, filepath.Join(cache, "imagefolder"))); n != 2 {
		t.Errorf("%d cache files, want 2", n)
	}
}

// TestImageFolderExact checks that 32x32 PNGs (as CIFAR-10's PNG release
// is) convert to exactly their pixels: the records of a CIFAR-10 set
// written as PNGs and read back are the same, in class and file order.
func TestImageFolderExact(t *testing.T) {
	src := cifar10.Synthetic(30, 20, 9)
	root := t.TempDir()
	var want [2][]byte
	for k, sp := range []cifar10.Split{src.Train, src.Test} {
		split := []string{"train", "val"}[k]
		// Records sorted by class, then by file name (the index).
		for c := range cifar10.NumClasses {
			for i := range sp.N {
				if sp.Label(i) != c {
					continue
				}
				img := image.NewRGBA(image.Rect(0, 0, 32, 32))
				px := sp.Image(i)
				for p := range 1024 {
					img.Pix[4*p], img.Pix[4*p+1], img.Pix[4*p+2], img.Pix[4*p+3] = px[p], px[1024+p], px[2048+p], 255
				}
				writeFile(t, filepath.Join(root, split, src.Classes[c], strings.Repeat("0", 3-len(itoa3(i)))+itoa3(i)+".png"), pngBytes(t, img))
				want[k] = append(want[k], sp.Record(i)...)
			}
		}
	}
	d, err := Load(Options{Source: root, CacheDir: t.TempDir(), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, cifar10.ClassNames()) {
		t.Errorf("classes %q", d.Classes)
	}
	if diff := sameSplit(d.Train, want[0], cifar10.RecordSize); diff != "" {
		t.Errorf("train: %s", diff)
	}
	if diff := sameSplit(d.Test, want[1], cifar10.RecordSize); diff != "" {
		t.Errorf("val: %s", diff)
	}
	if c, ok := d.CIFAR10(); !ok || c.Train.N != 30 {
		t.Error("a 32x32 RGB folder of 10 classes does not convert to package cifar10's Dataset")
	}
}

func itoa3(i int) string {
	return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

// TestImageFolderUnreadable checks that an unreadable image is skipped with
// a warning naming it (also when the folder comes from the cache), or
// refused with Strict.
func TestImageFolderUnreadable(t *testing.T) {
	root := t.TempDir()
	writeCases(t, root, folderCases(t))
	bad := writeFile(t, filepath.Join(root, "train", "cat", "broken.jpg"), []byte("\xff\xd8\xff\xe0 truncated"))
	cache := t.TempDir()
	for _, pass := range []string{"converted", "cached"} {
		t.Run(pass, func(t *testing.T) {
			warn, warnings := collect()
			d, err := Load(Options{Source: root, CacheDir: cache, Warn: warn})
			if err != nil {
				t.Fatal(err)
			}
			if d.Train.N != 8 {
				t.Errorf("%d training images, want 8 (the broken one skipped)", d.Train.N)
			}
			if len(*warnings) != 1 || !strings.Contains((*warnings)[0], bad) || !strings.Contains((*warnings)[0], "skipped") {
				t.Errorf("warnings %q, want one naming %s", *warnings, bad)
			}
			_, err = Load(Options{Source: root, CacheDir: cache, Strict: true})
			errtest.Want(t, err, bad, "cannot decode it", "drop the strict option")
		})
	}
}

// TestImageFolderErrors checks the folders that cannot be read.
func TestImageFolderErrors(t *testing.T) {
	img := pngBytes(t, solid("grey", 8, 8, color.NRGBA{1, 1, 1, 255}))
	for _, tc := range []struct {
		name  string
		files []string // files to write, each an image unless it ends in .txt
		dirs  []string
		err   []string
	}{
		{"no classes", []string{"train/a.png", "test/b.png"}, nil, []string{filepath.Join("train") + " has no class folders"}},
		{"class with no images", []string{"train/cat/a.png", "train/dog/notes.txt", "test/cat/a.png", "test/dog/a.png"}, nil, []string{filepath.Join("train", "dog") + " has no images"}},
		{"empty test class", []string{"train/cat/a.png", "train/dog/a.png", "test/cat/a.png"}, []string{"test/dog"}, []string{filepath.Join("test", "dog") + " has no images"}},
		{"different classes", []string{"train/cat/a.png", "train/dog/a.png", "test/cat/a.png", "test/cow/a.png"}, nil,
			[]string{"have different classes", "only in train: dog", "only in test: cow"}},
		{"only unreadable images", []string{"train/cat/a.png", "train/dog/bad.png", "test/cat/a.png", "test/dog/a.png"}, nil,
			[]string{filepath.Join("train", "dog") + " has no readable images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				data := img
				if strings.HasSuffix(f, ".txt") || strings.Contains(f, "bad") {
					data = []byte("nothing")
				}
				writeFile(t, filepath.Join(root, filepath.FromSlash(f)), data)
			}
			for _, d := range tc.dirs {
				os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755)
			}
			_, err := Load(Options{Source: root, CacheDir: t.TempDir(), Format: ImageFolder})
			errtest.Want(t, err, append(tc.err, root)...)
		})
	}
}

// TestOpaque checks alpha handling against what PIL's convert("RGB") gives:
// the stored colour, whatever the alpha.
func TestOpaque(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	n.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	n.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 128})
	o := opaque(n)
	for x, want := range []color.NRGBA{{10, 20, 30, 255}, {40, 50, 60, 255}} {
		if got := color.NRGBAModel.Convert(o.At(x, 0)); got != want {
			t.Errorf("pixel %d: %v, want %v", x, got, want)
		}
	}
	if n.Pix[3] != 0 {
		t.Error("opaque changed its input")
	}
}

// TestImageFolderSymlink checks that a class folder may be a symbolic link,
// as torchvision's ImageFolder allows.
func TestImageFolderSymlink(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	img := pngBytes(t, solid("grey", 32, 32, color.NRGBA{5, 5, 5, 255}))
	writeFile(t, filepath.Join(root, "train", "a", "1.png"), img)
	writeFile(t, filepath.Join(root, "test", "a", "1.png"), img)
	writeFile(t, filepath.Join(elsewhere, "b", "1.png"), img)
	writeFile(t, filepath.Join(elsewhere, "b", "2.png"), img)
	for _, split := range []string{"train", "test"} {
		if err := os.Symlink(filepath.Join(elsewhere, "b"), filepath.Join(root, split, "b")); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	d, err := Load(Options{Source: root, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{"a", "b"}) || d.Train.N != 3 || d.Test.N != 3 {
		t.Errorf("classes %q, %d/%d images; want a, b and 3/3", d.Classes, d.Train.N, d.Test.N)
	}
}
