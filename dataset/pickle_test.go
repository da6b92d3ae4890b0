package dataset

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/errtest"
)

// pythonWithNumpy returns a Python 3 that has numpy (Debian's
// /usr/bin/python3 with python3-numpy, which tools/test.sh installs with
// python3-torch, or the first python3 on PATH), or skips the test.
func pythonWithNumpy(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with numpy (apt-get install python3-numpy): skipping the check against Python's own pickles")
	return ""
}

func runPython(t *testing.T, py, script string, args ...string) {
	t.Helper()
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
}

// TestPickleFromPython reads pickles that Python and numpy wrote, at every
// protocol from 2 to 5, with labels as a list, numpy arrays of other integer
// types and byte orders, and numpy scalars, data in [N, 3, 32, 32] shape and
// in Fortran order, and bytes keys.
func TestPickleFromPython(t *testing.T) {
	py := pythonWithNumpy(t)
	dir := t.TempDir()
	runPython(t, py, `
import numpy as np, pickle, sys, os
out = sys.argv[1]
rng = np.random.default_rng(1)
n = 40  # 122880 bytes of pixels: more than a 64 KB frame
data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
labels = [int(x) for x in rng.integers(0, 10, size=n)]
open(os.path.join(out, 'images'), 'wb').write(data.tobytes())
open(os.path.join(out, 'labels'), 'wb').write(bytes(labels))
variants = {
    'list': {'batch_label': 'testing batch 1 of 1', 'labels': labels, 'data': data, 'filenames': ['x_%d.png' % i for i in range(n)]},
    'int64-array': {'labels': np.array(labels, dtype=np.int64), 'data': data},
    'big-endian-array': {'labels': np.array(labels, dtype='>i4'), 'data': data},
    'uint8-array': {'labels': np.array(labels, dtype=np.uint8), 'data': data},
    'numpy-scalars': {'labels': [np.int64(l) for l in labels], 'data': data},
    'nchw': {'labels': labels, 'data': data.reshape(n, 3, 32, 32)},
    'fortran': {'labels': labels, 'data': np.asfortranarray(data)},
    'bytes-keys': {b'batch_label': b'x', b'labels': labels, b'data': data},
}
for name, v in variants.items():
    for proto in (2, 3, 4, 5):
        with open(os.path.join(out, '%s-p%d' % (name, proto)), 'wb') as f:
            pickle.dump(v, f, protocol=proto)
for proto in (2, 3, 4, 5):
    with open(os.path.join(out, 'meta-p%d' % proto), 'wb') as f:
        pickle.dump({'num_cases_per_batch': 10000, 'label_names': ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'], 'num_vis': 3072}, f, protocol=proto)
`, dir)
	wantImages, _ := os.ReadFile(filepath.Join(dir, "images"))
	wantLabels, _ := os.ReadFile(filepath.Join(dir, "labels"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.Contains(name, "-p") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "meta") {
				names, err := parseCIFARMeta(name, data, "label_names", 10)
				if err != nil {
					t.Fatal(err)
				}
				if names[0] != "airplane" || names[9] != "truck" {
					t.Errorf("names %q", names)
				}
				return
			}
			images, labels, err := parseCIFARPickle(name, data, []string{"labels"}, []int{10})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(images, wantImages) {
				t.Error("images differ from Python's")
			}
			if !bytes.Equal(labels[0], wantLabels) {
				t.Errorf("labels %v, want %v", labels[0], wantLabels)
			}
		})
	}
	if n != 36 {
		t.Errorf("%d pickles from Python, want 36", n)
	}
}

// TestPickleWriterMatchesPython checks the test helper that writes pickles
// (Python 2's protocol 2 included, which no Python here can write): Python
// reads each style as torchvision does (encoding='latin1') and gets the
// same arrays, labels and names.
func TestPickleWriterMatchesPython(t *testing.T) {
	py := pythonWithNumpy(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 30
	images := make([]byte, n*cifarImageSize)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	labels := make([]byte, n)
	for i := range labels {
		labels[i] = byte(rng.IntN(10))
	}
	dir := t.TempDir()
	for _, s := range pickleStyles {
		writeFile(t, filepath.Join(dir, s.name), batchPickle(s, images, map[string][]byte{"labels": labels}))
	}
	runPython(t, py, `
import numpy as np, pickle, sys, os
d = sys.argv[1]
for name in sys.argv[2:]:
    with open(os.path.join(d, name), 'rb') as f:
        b = pickle.load(f, encoding='latin1')
    a = b['data']
    assert a.dtype == np.uint8 and a.shape == (30, 3072) and a.flags['C_CONTIGUOUS'], (name, a.dtype, a.shape)
    assert b['batch_label'] == 'testing batch 1 of 1', (name, b['batch_label'])
    assert len(b['filenames']) == 30 and b['filenames'][1] == 'image_b.png', (name, b['filenames'][:2])
    open(os.path.join(d, name + '.images'), 'wb').write(a.tobytes())
    open(os.path.join(d, name + '.labels'), 'wb').write(bytes(b['labels']))
`, append([]string{dir}, styleNames()...)...)
	for _, s := range pickleStyles {
		gotImages, _ := os.ReadFile(filepath.Join(dir, s.name+".images"))
		gotLabels, _ := os.ReadFile(filepath.Join(dir, s.name+".labels"))
		if !bytes.Equal(gotImages, images) || !bytes.Equal(gotLabels, labels) {
			t.Errorf("%s: Python reads other data than the helper wrote", s.name)
		}
	}
}

func styleNames() []string {
	var s []string
	for _, st := range pickleStyles {
		s = append(s, st.name)
	}
	return s
}

// TestParseCIFARPickle reads the helper's pickles of every style and
// refuses pickles that are not CIFAR batches, with one-line errors naming
// the file.
func TestParseCIFARPickle(t *testing.T) {
	const n = 3
	images := make([]byte, n*cifarImageSize)
	for i := range images {
		images[i] = byte(i * 7)
	}
	labels := []byte{3, 0, 9}
	for _, s := range pickleStyles {
		t.Run(s.name, func(t *testing.T) {
			gi, gl, err := parseCIFARPickle("batch", batchPickle(s, images, map[string][]byte{"labels": labels}), []string{"labels"}, []int{10})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gi, images) || !bytes.Equal(gl[0], labels) {
				t.Error("read other data than written")
			}
		})
	}

	p2 := pickleStyles[0]
	p4 := pickleStyles[3]
	pick := func(s pickleStyle, f func(p *pickler)) []byte {
		p := newPickler(s)
		f(p)
		return p.finish()
	}
	good := batchPickle(p4, images, map[string][]byte{"labels": labels})
	for _, tc := range []struct {
		name string
		data []byte
		err  []string
	}{
		{"empty file", nil, []string{"f.pkl", "truncated pickle"}},
		{"text", []byte("hello, world\n"), []string{"f.pkl", "not a pickle"}},
		{"truncated", good[:len(good)/2], []string{"f.pkl", "truncated pickle"}},
		{"no STOP", good[:len(good)-1], []string{"f.pkl", "truncated"}},
		{"a list", pick(p2, func(p *pickler) { p.list(2, func(i int) { p.int(i) }) }), []string{"f.pkl", "holds a list, want a dict", "not a CIFAR batch"}},
		{"dict without data", pick(p2, func(p *pickler) { p.dict([]string{"x"}, map[string]func(){"x": func() { p.int(1) }}) }), []string{"without \"data\"", "keys: x", "not a CIFAR batch"}},
		{"data not an array", pick(p2, func(p *pickler) { p.dict([]string{"data"}, map[string]func(){"data": func() { p.str("x") }}) }), []string{"\"data\" is a str", "not a CIFAR batch"}},
		{"float data", pick(p4, func(p *pickler) {
			p.dict([]string{"data", "labels"}, map[string]func(){
				"data":   func() { p.ndarray([]int{1, cifarImageSize / 4}, "f4", "<", false, make([]byte, cifarImageSize)) },
				"labels": func() { p.list(1, func(int) { p.int(0) }) },
			})
		}), []string{"type f4, want uint8", "not a CIFAR batch"}},
		{"wrong shape", pick(p4, func(p *pickler) {
			p.dict([]string{"data", "labels"}, map[string]func(){
				"data":   func() { p.ndarray([]int{2, 1536}, "u1", "|", false, make([]byte, 3072)) },
				"labels": func() { p.list(2, func(int) { p.int(0) }) },
			})
		}), []string{"shape [2 1536], want [N, 3072]"}},
		{"data shorter than its shape", pick(p2, func(p *pickler) {
			p.dict([]string{"data"}, map[string]func(){"data": func() { p.ndarray([]int{2, 3072}, "u1", "|", false, make([]byte, 3072)) }})
		}), []string{"has 3072 bytes of data, want 6144"}},
		{"no labels", pick(p4, func(p *pickler) {
			p.dict([]string{"data"}, map[string]func(){"data": func() { p.ndarray([]int{1, 3072}, "u1", "|", false, make([]byte, 3072)) }})
		}), []string{"no \"labels\"", "not a CIFAR batch"}},
		{"labels for other images", batchPickle(p4, images, map[string][]byte{"labels": labels[:2]}), []string{"2 \"labels\" for 3 images"}},
		{"label 10", batchPickle(p2, images, map[string][]byte{"labels": {1, 10, 2}}), []string{"image 1 has labels 10, want 0-9"}},
		{"labels not ints", pick(p4, func(p *pickler) {
			p.dict([]string{"data", "labels"}, map[string]func(){
				"data":   func() { p.ndarray([]int{1, 3072}, "u1", "|", false, make([]byte, 3072)) },
				"labels": func() { p.list(1, func(int) { p.str("cat") }) },
			})
		}), []string{"item 0 is a str, want an int"}},
		{"unknown global", pick(p2, func(p *pickler) { p.global("os", "system"); p.tuple(func() { p.str("true") }); p.op('R') }),
			[]string{"refers to os.system, which no data set pickle uses"}},
		{"huge length", []byte{0x80, 2, 'T', 0xff, 0xff, 0xff, 0x7f, '.'}, []string{"truncated pickle"}},
		{"huge BINBYTES8", append([]byte{0x80, 4, 0x8e}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '.'), []string{"truncated pickle"}},
		{"huge frame", append([]byte{0x80, 4, 0x95}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '.'), []string{"truncated pickle (frame"}},
		{"stack underflow", []byte{0x80, 2, 't', '.'}, []string{"not a readable pickle"}},
		{"unhashable set item", []byte{0x80, 4, 0x8f, '(', 'C', 1, 'x', 0x90, '.'}, []string{"f.pkl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseCIFARPickle("f.pkl", bytes.Clone(tc.data), []string{"labels"}, []int{10})
			errtest.Want(t, err, append([]string{"f.pkl"}, tc.err...)...)
		})
	}
}

// TestPickleLong0 checks Python 2's 0L (LONG1 of no bytes), which gopickle
// alone cannot decode.
func TestPickleLong0(t *testing.T) {
	v, err := unpickle([]byte{0x80, 2, ']', '(', 0x8a, 0, 0x8a, 1, 5, 'e', '.'})
	if err != nil {
		t.Fatal(err)
	}
	got, err := pyInts(v)
	if err != nil || len(got) != 2 || got[0] != 0 || got[1] != 5 {
		t.Errorf("got %v, %v; want [0 5]", got, err)
	}
}
