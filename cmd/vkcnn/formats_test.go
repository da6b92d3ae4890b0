package main

import (
	"bytes"
	"compress/gzip"
	endian "encoding/binary"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/gpu"
)

// The tests here write small learnable data sets in every format --data
// takes, train on them from the command line and use the checkpoints with
// eval, predict and show.

// pyPickle writes Python 2 pickles (protocol 2), as the official CIFAR
// files are: dicts of byte strings, ints, lists and uint8 numpy arrays.
type pyPickle struct{ bytes.Buffer }

func newPickle() *pyPickle {
	p := &pyPickle{}
	p.Write([]byte{0x80, 2})
	return p
}

func (p *pyPickle) op(b ...byte) { p.Write(b) }

// str writes a Python 2 str (SHORT_BINSTRING or BINSTRING).
func (p *pyPickle) str(s string) {
	if len(s) < 256 {
		p.op('U', byte(len(s)))
	} else {
		p.op('T')
		endian.Write(p, endian.LittleEndian, uint32(len(s)))
	}
	p.WriteString(s)
}

// int writes a BININT.
func (p *pyPickle) int(v int) {
	p.op('J')
	endian.Write(p, endian.LittleEndian, int32(v))
}

func (p *pyPickle) list(n int, item func(i int)) {
	p.op(']')
	if n == 0 {
		return
	}
	p.op('(')
	for i := range n {
		item(i)
	}
	p.op('e')
}

// ndarray writes a uint8 numpy array as numpy's __reduce__ does:
// _reconstruct(ndarray, (0,), 'b') then __setstate__((1, shape, dtype,
// False, data)).
func (p *pyPickle) ndarray(shape []int, data []byte) {
	p.WriteString("cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
	p.int(0)
	p.op(0x85) // TUPLE1
	p.str("b")
	p.op(0x87, 'R') // TUPLE3, REDUCE
	p.op('(')
	p.int(1)
	p.op('(')
	for _, d := range shape {
		p.int(d)
	}
	p.op('t')
	p.WriteString("cnumpy\ndtype\n")
	p.str("u1")
	p.int(0)
	p.int(1)
	p.op(0x87, 'R')
	p.op('(')
	p.int(3)
	p.str("|")
	p.op('N', 'N', 'N')
	p.int(-1)
	p.int(-1)
	p.int(0)
	p.op('t', 'b')
	p.op(0x89) // NEWFALSE: C order
	p.str(string(data))
	p.op('t', 'b')
}

// dict writes {key: value()} in the order of keys, and ends the pickle.
func (p *pyPickle) dict(keys []string, value func(key string)) []byte {
	p.op('}', '(')
	for _, k := range keys {
		p.str(k)
		value(k)
	}
	p.op('u', '.')
	return p.Bytes()
}

// split is images (c x h x w bytes each, channel-major) and their labels.
type split struct {
	images []byte
	labels []int
}

// patterns generates n learnable images of c x h x w in the given number of
// classes: noise with a bright 3x3 block at a place of the class's own (a
// grid of 3-pixel steps) in a colour of its own, so that more classes than
// places still differ.
func patterns(n, c, h, w, classes int, seed uint64) split {
	rng := rand.New(rand.NewPCG(seed, 17))
	cols, rows := (w-4)/3, (h-4)/3
	s := split{images: make([]byte, n*c*h*w), labels: make([]int, n)}
	for i := range n {
		k := rng.IntN(classes)
		s.labels[i] = k
		img := s.images[i*c*h*w:][:c*h*w]
		pos, variant := k%(cols*rows), k/(cols*rows)
		by, bx := 1+3*(pos/cols), 1+3*(pos%cols)
		for ch := range c {
			level := 255
			if variant > 0 && ch != variant%c {
				level = 100
			}
			for y := range h {
				for x := range w {
					v := rng.IntN(50)
					if y >= by && y < by+3 && x >= bx && x < bx+3 {
						v = level - rng.IntN(20)
					}
					img[(ch*h+y)*w+x] = byte(v)
				}
			}
		}
	}
	return s
}

// records is s as records: each label byte (label(k) of it) then the image.
func (s split) records(size int, label func(k int) []byte) []byte {
	var out []byte
	for i, k := range s.labels {
		out = append(out, label(k)...)
		out = append(out, s.images[i*size:(i+1)*size]...)
	}
	return out
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// cifarBatch is a CIFAR Python batch: "data" and the label lists.
func cifarBatch(s split, labelKeys map[string]func(k int) int) []byte {
	p := newPickle()
	keys := []string{"batch_label"}
	keys = append(keys, slices.Sorted(maps.Keys(labelKeys))...)
	keys = append(keys, "data")
	n := len(s.labels)
	return p.dict(keys, func(key string) {
		switch key {
		case "batch_label":
			p.str("generated")
		case "data":
			p.ndarray([]int{n, 3072}, s.images)
		default:
			f := labelKeys[key]
			p.list(n, func(i int) { p.int(f(s.labels[i])) })
		}
	})
}

// namesPickle is a meta file: the names under key.
func namesPickle(key string, names []string) []byte {
	p := newPickle()
	return p.dict([]string{key}, func(string) { p.list(len(names), func(i int) { p.str(names[i]) }) })
}

// writeCIFAR10Py writes train and test in torchvision's cifar-10-batches-py
// layout into dir: five training batches, test_batch and batches.meta.
func writeCIFAR10Py(t *testing.T, dir string, train, test split, classes []string) {
	t.Helper()
	n := len(train.labels)
	same := map[string]func(int) int{"labels": func(k int) int { return k }}
	for b := range 5 {
		lo, hi := b*n/5, (b+1)*n/5
		part := split{images: train.images[lo*3072 : hi*3072], labels: train.labels[lo:hi]}
		writeTestFile(t, filepath.Join(dir, fmt.Sprintf("data_batch_%d", b+1)), cifarBatch(part, same))
	}
	writeTestFile(t, filepath.Join(dir, "test_batch"), cifarBatch(test, same))
	writeTestFile(t, filepath.Join(dir, "batches.meta"), namesPickle("label_names", classes))
}

// cifar100Names are generated names of the 100 fine and 20 coarse classes
// (coarse = fine / 5).
func cifar100Names() (fine, coarse []string) {
	for k := range 100 {
		fine = append(fine, fmt.Sprintf("fine_%02d", k))
	}
	for k := range 20 {
		coarse = append(coarse, fmt.Sprintf("coarse_%02d", k))
	}
	return fine, coarse
}

func writeCIFAR100Bin(t *testing.T, dir string, train, test split) {
	t.Helper()
	label := func(k int) []byte { return []byte{byte(k / 5), byte(k)} }
	writeTestFile(t, filepath.Join(dir, "train.bin"), train.records(3072, label))
	writeTestFile(t, filepath.Join(dir, "test.bin"), test.records(3072, label))
	fine, coarse := cifar100Names()
	writeTestFile(t, filepath.Join(dir, "fine_label_names.txt"), []byte(strings.Join(fine, "\n")+"\n"))
	writeTestFile(t, filepath.Join(dir, "coarse_label_names.txt"), []byte(strings.Join(coarse, "\n")+"\n"))
}

func writeCIFAR100Py(t *testing.T, dir string, train, test split) {
	t.Helper()
	keys := map[string]func(int) int{"fine_labels": func(k int) int { return k }, "coarse_labels": func(k int) int { return k / 5 }}
	writeTestFile(t, filepath.Join(dir, "train"), cifarBatch(train, keys))
	writeTestFile(t, filepath.Join(dir, "test"), cifarBatch(test, keys))
	fine, coarse := cifar100Names()
	p := newPickle()
	writeTestFile(t, filepath.Join(dir, "meta"), p.dict([]string{"fine_label_names", "coarse_label_names"}, func(key string) {
		names := fine
		if key == "coarse_label_names" {
			names = coarse
		}
		p.list(len(names), func(i int) { p.str(names[i]) })
	}))
}

// writeIDX writes MNIST's four IDX files of 28x28 images into dir,
// gzip-compressed or not.
func writeIDX(t *testing.T, dir string, train, test split, gz bool) {
	t.Helper()
	for _, f := range []struct {
		name string
		s    split
	}{{"train", train}, {"t10k", test}} {
		n := len(f.s.labels)
		var images, labels bytes.Buffer
		endian.Write(&images, endian.BigEndian, []uint32{0x803, uint32(n), 28, 28})
		images.Write(f.s.images)
		endian.Write(&labels, endian.BigEndian, []uint32{0x801, uint32(n)})
		for _, k := range f.s.labels {
			labels.WriteByte(byte(k))
		}
		for name, data := range map[string][]byte{f.name + "-images-idx3-ubyte": images.Bytes(), f.name + "-labels-idx1-ubyte": labels.Bytes()} {
			if gz {
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write(data)
				zw.Close()
				name, data = name+".gz", z.Bytes()
			}
			writeTestFile(t, filepath.Join(dir, name), data)
		}
	}
}

// folderClasses are an image folder's classes: a colour each.
var folderClasses = []struct {
	name string
	c    color.RGBA
}{{"cat", color.RGBA{200, 40, 40, 255}}, {"dog", color.RGBA{40, 200, 40, 255}}, {"frog", color.RGBA{40, 40, 200, 255}}, {"owl", color.RGBA{220, 220, 40, 255}}}

// folderImage is an image of class k: its colour with noise, a dark centre
// square, of w x h pixels.
func folderImage(rng *rand.Rand, k, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c := folderClasses[k].c
	jitter := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+rng.IntN(61)-30))) }
	for y := range h {
		for x := range w {
			p := color.RGBA{jitter(c.R), jitter(c.G), jitter(c.B), 255}
			if x > w/3 && x < 2*w/3 && y > h/3 && y < 2*h/3 {
				p = color.RGBA{p.R / 3, p.G / 3, p.B / 3, 255}
			}
			img.SetRGBA(x, y, p)
		}
	}
	return img
}

// writeImageFolder writes ROOT/train/CLASS/* and ROOT/test/CLASS/*: PNG and
// JPEG files of mixed sizes (square, wide, tall), per in each class.
func writeImageFolder(t *testing.T, root string, perTrain, perTest int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	sizes := []image.Point{{32, 32}, {48, 30}, {25, 40}, {64, 64}, {20, 20}}
	for _, sp := range []struct {
		dir string
		n   int
	}{{"train", perTrain}, {"test", perTest}} {
		for k, cl := range folderClasses {
			for i := range sp.n {
				sz := sizes[(i+k)%len(sizes)]
				img := folderImage(rng, k, sz.X, sz.Y)
				var buf bytes.Buffer
				ext := ".png"
				if i%2 == 1 {
					ext = ".jpg"
					if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
						t.Fatal(err)
					}
				} else if err := png.Encode(&buf, img); err != nil {
					t.Fatal(err)
				}
				writeTestFile(t, filepath.Join(root, sp.dir, cl.name, fmt.Sprintf("%03d%s", i, ext)), buf.Bytes())
			}
		}
	}
}

// tinyNet is a quick model file for the format tests: it fits any image
// size of at least 2 pixels.
const tinyNet = "conv1: conv 8 kernel=3 pad=1\nrelu\nmaxpool 2\nflatten\nfc: linear classes\n"

// testAccuracy is the last "test accuracy X %" train printed.
func testAccuracy(t *testing.T, out string) float64 {
	t.Helper()
	i := strings.LastIndex(out, "test accuracy ")
	if i < 0 {
		t.Fatalf("no test accuracy in:\n%s", out)
	}
	var acc float64
	if _, err := fmt.Sscanf(out[i:], "test accuracy %g", &acc); err != nil {
		t.Fatal(err)
	}
	return acc
}

// formatCase is a data set written in one format.
type formatCase struct {
	name    string
	write   func(t *testing.T, dir string) string // returns --data
	flags   []string                              // more data flags
	classes []string                              // names, in label order (nil: do not check)
	n       int                                   // classes
	input   string                                // CxHxW
	dataset string                                // what the checkpoint records
}

// formatCases writes each format's data set under its own directory.
func formatCases() []formatCase {
	fine, coarse := cifar100Names()
	cifarClasses := cifar10.ClassNames()
	return []formatCase{
		{"cifar10-python", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "cifar-10-batches-py")
			writeCIFAR10Py(t, d, patterns(300, 3, 32, 32, 10, 1), patterns(100, 3, 32, 32, 10, 2), cifarClasses)
			return dir // torchvision's root: the layout is found inside
		}, nil, cifarClasses, 10, "3x32x32", "cifar10"},
		{"cifar100-binary-fine", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "cifar-100-binary")
			writeCIFAR100Bin(t, d, patterns(800, 3, 32, 32, 100, 3), patterns(200, 3, 32, 32, 100, 4))
			return d
		}, nil, fine, 100, "3x32x32", "cifar100"},
		{"cifar100-python-coarse", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "cifar-100-python")
			writeCIFAR100Py(t, d, patterns(400, 3, 32, 32, 100, 5), patterns(100, 3, 32, 32, 100, 6))
			return d
		}, []string{"--labels", "coarse"}, coarse, 20, "3x32x32", "cifar100"},
		{"mnist-gz", func(t *testing.T, dir string) string {
			d := filepath.Join(dir, "mnist")
			writeIDX(t, d, patterns(300, 1, 28, 28, 10, 7), patterns(100, 1, 28, 28, 10, 8), true)
			return d
		}, nil, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, 10, "1x28x28", "mnist"},
		{"fashion-mnist", func(t *testing.T, dir string) string {
			writeIDX(t, filepath.Join(dir, "FashionMNIST", "raw"), patterns(300, 1, 28, 28, 10, 9), patterns(100, 1, 28, 28, 10, 10), false)
			return dir
		}, nil, []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}, 10, "1x28x28", "fashion-mnist"},
		{"imagefolder", func(t *testing.T, dir string) string {
			writeImageFolder(t, dir, 40, 10)
			return dir
		}, []string{"--image-size", "24"}, []string{"cat", "dog", "frog", "owl"}, 4, "3x24x24", "imagefolder"},
	}
}

// vulkanDevices is the devices the format tests train on: the CPU
// reference and, where Vulkan works, device 0.
func vulkanDevices(t *testing.T) []string {
	if infos, err := gpu.Devices(); err != nil || len(infos) == 0 {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Logf("no Vulkan device: the CPU reference only (%v)", err)
		return []string{"cpu"}
	}
	return []string{"cpu", "0"}
}

// TestDataFormats trains on a generated data set in every format, on the
// CPU reference and a Vulkan device, to well above chance; the checkpoint
// records the data's classes and shape, and eval, predict, export and show
// use them.
func TestDataFormats(t *testing.T) {
	net := filepath.Join(t.TempDir(), "tiny.net")
	writeTestFile(t, net, []byte(tinyNet))
	img := filepath.Join(t.TempDir(), "red.png")
	writePNG(t, img, 50, 40)
	for _, fc := range formatCases() {
		t.Run(fc.name, func(t *testing.T) {
			data := fc.write(t, t.TempDir())
			for _, device := range vulkanDevices(t) {
				run := filepath.Join(t.TempDir(), "run")
				args := append([]string{"train", "--data", data, "--arch", net, "--device", device, "--epochs", "3",
					"--batch-size", "16", "--lr", "0.02", "--seed", "1", "--out", run}, fc.flags...)
				out := mustRun(t, args...)
				acc, chance := testAccuracy(t, out), 100/float64(fc.n)
				t.Logf("%s on %s: test accuracy %.1f %% (chance %.1f %%)", fc.name, device, acc, chance)
				if acc < min(5*chance, 80) {
					t.Errorf("%s: test accuracy %.1f %%, want at least %.1f %% (chance is %.1f %%)", device, acc, min(5*chance, 80), chance)
				}
				if device != "cpu" {
					continue
				}
				model := filepath.Join(run, "model.safetensors")
				checkRecorded(t, model, fc)
				evalArgs := append([]string{"eval", "--data", data, "--device", "cpu", "--model", model}, fc.flags...)
				out = mustRun(t, evalArgs...)
				if !strings.Contains(out, fc.classes[len(fc.classes)-1]) {
					t.Errorf("eval output does not name the class %q:\n%s", fc.classes[len(fc.classes)-1], out)
				}
				out = mustRun(t, "predict", "--device", "cpu", "--model", model, img)
				if !namesAClass(out, fc.classes) {
					t.Errorf("predict output names none of the classes %v:\n%s", fc.classes, out)
				}
				onnxOut := mustRun(t, "export", "--model", model, "--out", filepath.Join(t.TempDir(), "m.onnx"))
				if want := fmt.Sprintf("[batch,%s] in [0,1], output \"logits\" [batch,%d]", strings.ReplaceAll(fc.input, "x", ","), fc.n); !strings.Contains(onnxOut, want) {
					t.Errorf("export output lacks %q:\n%s", want, onnxOut)
				}
				grid := filepath.Join(t.TempDir(), "grid.png")
				mustRun(t, append([]string{"show", "--data", data, "--out", grid}, fc.flags...)...)
				if f, err := os.Open(grid); err != nil {
					t.Error(err)
				} else {
					if _, err := png.Decode(f); err != nil {
						t.Errorf("show wrote no PNG: %v", err)
					}
					f.Close()
				}
			}
		})
	}
}

// namesAClass says whether predict's output line names one of classes.
func namesAClass(out string, classes []string) bool {
	for _, c := range classes {
		if strings.Contains(out, "  "+c+" ") {
			return true
		}
	}
	return false
}

// checkRecorded checks the checkpoint's data metadata.
func checkRecorded(t *testing.T, model string, fc formatCase) {
	t.Helper()
	info, err := readModelInfo(model)
	if err != nil {
		t.Fatal(err)
	}
	in := fmt.Sprintf("%dx%dx%d", info.in.C, info.in.H, info.in.W)
	if in != fc.input || info.in.Classes != fc.n || info.dataset != fc.dataset || !info.recorded {
		t.Errorf("checkpoint records %s, %d classes, data set %q; want %s, %d, %q", in, info.in.Classes, info.dataset, fc.input, fc.n, fc.dataset)
	}
	if fmt.Sprint(info.classes) != fmt.Sprint(fc.classes) {
		t.Errorf("checkpoint records the classes %v, want %v", info.classes, fc.classes)
	}
}

// TestEvalManyClasses: eval of a 100-class model summarizes the confusion
// matrix (per-class accuracies, the most confused pairs) and --confusion
// writes the whole matrix as CSV.
func TestEvalManyClasses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cifar-100-binary")
	writeCIFAR100Bin(t, dir, patterns(200, 3, 32, 32, 100, 11), patterns(100, 3, 32, 32, 100, 12))
	net := filepath.Join(t.TempDir(), "tiny.net")
	writeTestFile(t, net, []byte(tinyNet))
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--data", dir, "--arch", net, "--device", "cpu", "--epochs", "1", "--batch-size", "16", "--out", run)
	csvPath := filepath.Join(t.TempDir(), "confusion.csv")
	out := mustRun(t, "eval", "--data", dir, "--device", "cpu", "--model", filepath.Join(run, "model.safetensors"), "--confusion", csvPath)
	fine, _ := cifar100Names()
	for _, want := range []string{"Accuracy of the network on the 100 test images", "accuracy per class:", fine[99], "most confused", "the full confusion matrix is in " + csvPath} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "true \\ predicted") {
		t.Errorf("eval printed the 100x100 matrix:\n%s", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, row := range rows {
		if len(row) != 101 {
			t.Fatalf("CSV row %d has %d fields, want 101", i, len(row))
		}
		if i == 0 {
			if row[1] != fine[0] || row[100] != fine[99] {
				t.Errorf("CSV header %v...: want the class names", row[:3])
			}
			continue
		}
		if row[0] != fine[i-1] {
			t.Errorf("CSV row %d is named %q, want %q", i, row[0], fine[i-1])
		}
		for _, v := range row[1:] {
			var n int
			fmt.Sscan(v, &n)
			total += n
		}
	}
	if len(rows) != 101 || total != 100 {
		t.Errorf("CSV: %d rows counting %d images, want 101 rows and the 100 test images", len(rows), total)
	}
}

// TestPythonLayoutTrainsAsBinary: the same generated CIFAR-10 images as the
// binary archive and in torchvision's Python layout train to the same
// weights, bit for bit, and the same printed metrics.
func TestPythonLayoutTrainsAsBinary(t *testing.T) {
	d := cifar10.Synthetic(200, 50, 4)
	var buf bytes.Buffer
	if err := cifar10.WriteArchive(&buf, d); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), cifar10.ArchiveName)
	writeTestFile(t, bin, buf.Bytes())
	py := filepath.Join(t.TempDir(), "cifar-10-batches-py")
	writeCIFAR10Py(t, py, cifarSplit(d.Train.Records, d.Train.N), cifarSplit(d.Test.Records, d.Test.N), cifar10.ClassNames())
	sameTraining(t, []string{"--data", bin}, []string{"--data", py}, "--batch-size", "16", "--epochs", "2", "--augment", "--lr", "0.01")
}

// cifarSplit cuts n CIFAR-10 records into images and labels.
func cifarSplit(recs []byte, n int) split {
	s := split{labels: make([]int, n)}
	for i := range n {
		r := recs[i*cifar10.RecordSize : (i+1)*cifar10.RecordSize]
		s.labels[i] = int(r[0])
		s.images = append(s.images, r[1:]...)
	}
	return s
}

// sameTraining trains the seed network on the CPU reference with each of
// two sets of data flags and the common flags, and checks that the printed
// metrics (but for times) and the checkpoints' bytes are the same.
func sameTraining(t *testing.T, a, b []string, common ...string) {
	t.Helper()
	var outs [2]string
	var models [2][]byte
	for i, data := range [][]string{a, b} {
		run := filepath.Join(t.TempDir(), "run")
		out := mustRun(t, slices.Concat([]string{"train", "--device", "cpu", "--seed", "0", "--out", run}, data, common)...)
		outs[i] = metricLines(out)
		var err error
		if models[i], err = os.ReadFile(filepath.Join(run, "model.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("metrics:\n%s", outs[0])
	if outs[0] != outs[1] || outs[0] == "" {
		t.Errorf("the metrics differ:\n%s\nwith %v; with %v:\n%s", outs[0], a, b, outs[1])
	}
	if !bytes.Equal(models[0], models[1]) {
		t.Errorf("the checkpoints with %v and with %v differ", a, b)
	}
}

// metricLines keeps train's per-epoch lines, cut before the timings.
func metricLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Epoch ") || strings.Contains(l, "train loss") {
			if i := strings.LastIndex(l, "%,"); i >= 0 {
				l = l[:i] // the accuracies stay; seconds and images/s go
			}
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// realCIFAR10 is the offline copy of the real CIFAR-10 archive beside the
// repository (../shared/data/cifar10), or a skip.
func realCIFAR10(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "cifar10", cifar10.ArchiveName)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("the real CIFAR-10 archive is not at %s (../shared/data beside the repository); skipping", p)
	}
	if testing.Short() {
		t.Skip("-short: skipping training on the real CIFAR-10")
	}
	return p
}

// TestRealCIFAR10PythonLayout: the first 3,000 training and 1,000 test
// images of the real CIFAR-10, converted to torchvision's Python layout,
// train the seed recipe for an epoch to the same metrics and the same
// weights, bit for bit, as the binary archive with --limit-train 3000
// --limit-test 1000.
func TestRealCIFAR10PythonLayout(t *testing.T) {
	archive := realCIFAR10(t)
	d, err := cifar10.Load(cifar10.Options{Source: archive, Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	const nTrain, nTest = 3000, 1000
	py := filepath.Join(t.TempDir(), "cifar-10-batches-py")
	writeCIFAR10Py(t, py, cifarSplit(d.Train.Records, nTrain), cifarSplit(d.Test.Records, nTest), d.Classes)
	sameTraining(t, []string{"--data", archive, "--limit-train", fmt.Sprint(nTrain), "--limit-test", fmt.Sprint(nTest)},
		[]string{"--data", py}, "--epochs", "1")
}

// TestDataErrors: each mistake with --data and its flags, and data that
// does not fit a model, ends in one line naming what is wrong and what to
// do, with a non-zero exit.
func TestDataErrors(t *testing.T) {
	root := t.TempDir()
	mnist := filepath.Join(root, "mnist")
	writeIDX(t, mnist, patterns(40, 1, 28, 28, 10, 1), patterns(20, 1, 28, 28, 10, 2), true)
	cifar := archive(t)
	both := filepath.Join(root, "both")
	writeIDX(t, both, patterns(20, 1, 28, 28, 10, 1), patterns(10, 1, 28, 28, 10, 2), false)
	writeCIFAR10Py(t, both, patterns(20, 3, 32, 32, 10, 3), patterns(10, 3, 32, 32, 10, 4), cifar10.ClassNames())
	pyOnly := filepath.Join(root, "py", "cifar-10-batches-py")
	writeCIFAR10Py(t, pyOnly, patterns(20, 3, 32, 32, 10, 3), patterns(10, 3, 32, 32, 10, 4), cifar10.ClassNames())
	empty := t.TempDir()
	folder := filepath.Join(root, "folder")
	writeImageFolder(t, folder, 3, 1)
	broken := filepath.Join(folder, "train", "dog", "broken.png")
	writeTestFile(t, broken, []byte("\x89PNG\r\n\x1a\nnot really"))
	truncated := filepath.Join(root, "truncated")
	writeIDX(t, truncated, patterns(20, 1, 28, 28, 10, 1), patterns(10, 1, 28, 28, 10, 2), false)
	ti := filepath.Join(truncated, "train-images-idx3-ubyte")
	if err := os.Truncate(ti, 16+28*28*5+100); err != nil {
		t.Fatal(err)
	}

	// A model of MNIST's shape to misuse.
	net := filepath.Join(root, "tiny.net")
	writeTestFile(t, net, []byte(tinyNet))
	run := filepath.Join(root, "run")
	mustRun(t, "train", "--data", mnist, "--arch", net, "--device", "cpu", "--epochs", "1", "--batch-size", "8", "--out", run)
	model := filepath.Join(run, "model.safetensors")

	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad --labels", []string{"train", "--data", mnist, "--labels", "medium", "--out", out}, []string{`--labels "medium": want fine`}},
		{"bad --image-size", []string{"show", "--data", folder, "--image-size", "0"}, []string{"--image-size 0: want 1-4096"}},
		{"bad --data-format", []string{"show", "--data", mnist, "--data-format", "svhn"}, []string{`format "svhn": want one of cifar10, cifar100, mnist, fashion-mnist, imagefolder`}},
		{"coarse labels of MNIST", []string{"show", "--data", mnist, "--labels", "coarse"}, []string{"coarse labels are CIFAR-100's", mnist, "drop --labels coarse"}},
		{"no data set there", []string{"train", "--data", empty, "--device", "cpu", "--out", out}, []string{empty, "holds no data set", "point --data at"}},
		{"two data sets there", []string{"show", "--data", both}, []string{both, "holds several data sets", "pick one with --data-format"}},
		{"format not there", []string{"show", "--data", filepath.Dir(pyOnly), "--data-format", "mnist"}, []string{"holds no mnist data", "drop --data-format"}},
		{"unknown name", []string{"show", "--data", "cifar11"}, []string{"cifar11", "name one to download: cifar10, cifar100, mnist, fashion-mnist"}},
		{"truncated IDX file", []string{"train", "--data", truncated, "--device", "cpu", "--out", out}, []string{ti}},
		{"unreadable image with --strict", []string{"train", "--data", folder, "--strict", "--device", "cpu", "--out", out}, []string{broken, "drop --strict"}},
		{"eval on data of another shape", []string{"eval", "--data", cifar, "--device", "cpu", "--model", model},
			[]string{model, "was trained on 1x28x28 images of 10 classes", "has 3x32x32 images of 10 classes", "use the model's own data set"}},
		{"predict with data of another shape", []string{"predict", "--data", cifar, "--device", "cpu", "--model", model, broken},
			[]string{"was trained on 1x28x28 images"}},
		{"resume on data of another shape", []string{"train", "--resume", run, "--data", cifar, "--device", "cpu", "--epochs", "2"},
			[]string{run, "was trained on 1x28x28 images of 10 classes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, code := vkcnn(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want an error; output:\n%s", got)
			}
			if strings.Contains(got, "goroutine") || strings.Contains(got, "panic") {
				t.Fatalf("a stack trace:\n%s", got)
			}
			line := strings.TrimSpace(lastError(got))
			if strings.Contains(line, "\n") {
				t.Errorf("error is not one line:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("error does not say %q:\n%s", w, line)
				}
			}
		})
	}

	// Without --strict the unreadable image is skipped with a warning that
	// names it, and training goes on.
	got := mustRun(t, "train", "--data", folder, "--arch", net, "--device", "cpu", "--epochs", "1", "--batch-size", "4", "--out", t.TempDir())
	if !strings.Contains(got, "warning: "+broken) || !strings.Contains(got, "skipped (--strict refuses such images)") {
		t.Errorf("no warning naming %s:\n%s", broken, got)
	}
	// --image-size on data that is not an image folder is ignored, with a
	// warning.
	if got := mustRun(t, "show", "--data", mnist, "--image-size", "20", "--out", filepath.Join(t.TempDir(), "g.png")); !strings.Contains(got, "warning: --image-size applies to image folders") {
		t.Errorf("no warning about --image-size:\n%s", got)
	}
}
