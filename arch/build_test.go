package arch

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// tail is a valid ending for a body that leaves an image map: it makes the
// network end in one logit per class.
const tail = "flatten\nfc: linear classes\n"

// brokenCase is a model file Build must refuse: the error must start with
// "bad.net:LINE: " (just "bad.net: " when line is 0) and contain every
// phrase.
type brokenCase struct {
	name    string
	text    string
	line    int
	phrases []string
}

// brokenCases are the broken model files of TestBuildErrors, also the
// fuzzer's seeds.
var brokenCases = []brokenCase{
	{"unknown layer", "c1: conv 8 kernel=3\nrelu\nconvolution 8\n" + tail, 3,
		[]string{`unknown layer "convolution"`, "conv, linear, batchnorm", "residual"}},
	{"conv without kernel", "# a comment\nc1: conv 8 pad=1\n" + tail, 2, []string{"conv", "missing kernel=K"}},
	{"conv without channels", "c1: conv kernel=3\n" + tail, 1, []string{"missing the number of output channels"}},
	{"conv without a name", "relu\nconv 8 kernel=3\n" + tail, 2, []string{"needs a name", "conv1: conv 8 kernel=3"}},
	{"linear without a name", "flatten\nlinear classes\n", 2, []string{"needs a name"}},
	{"batchnorm without a name", "c: conv 8 kernel=3\nbatchnorm\n" + tail, 2, []string{"needs a name"}},
	{"linear on an image", "c1: conv 8 kernel=3\nrelu\nfc: linear classes\n", 3, []string{"8x30x30", "flatten"}},
	{"conv on a flat input", "flatten\nc: conv 8 kernel=1\nfc: linear classes\n", 2, []string{"needs an image input", "3072"}},
	{"batchnorm on a flat input", "flatten\nn: batchnorm\nfc: linear classes\n", 2, []string{"needs an image input"}},
	{"pool on a flat input", "flatten\nmaxpool 2\nfc: linear classes\n", 2, []string{"needs an image input"}},
	{"kernel larger than the map", "c1: conv 8 kernel=3 stride=2\nc2: conv 8 kernel=16\n" + tail, 2,
		[]string{"16x16 kernel does not fit the 8x15x15 input"}},
	{"pool window larger than the map", "maxpool 8\nmaxpool 5\n" + tail, 2, []string{"5x5 window does not fit the 3x4x4 input"}},
	{"name used twice", "c1: conv 8 kernel=3\nrelu\n\nc1: conv 8 kernel=3\n" + tail, 4,
		[]string{"name c1 is already used on line 1"}},
	{"name used twice in a block", "b:\n    c: conv 8 kernel=3\n    c: conv 8 kernel=3\n" + tail, 3,
		[]string{"b.c is already used on line 2"}},
	{"block and layer sharing a dotted name", "b:\n    c: conv 8 kernel=3\nb: conv 8 kernel=3\n" + tail, 3,
		[]string{"name b is already used on line 1"}},
	{"child indented less than its sibling", "b:\n    c1: conv 8 kernel=3\n  relu\n" + tail, 3,
		[]string{"indentation does not match line 2"}},
	{"child indented more than its sibling", "b:\n  relu\n      c1: conv 8 kernel=3\n" + tail, 3,
		[]string{"indented under line 2", "relu is not a block"}},
	{"tab against spaces", "b:\n\tc1: conv 8 kernel=3\n  relu\n" + tail, 3, []string{"indentation does not match line 2"}},
	{"layer under a layer", "c1: conv 8 kernel=3\n    relu\n" + tail, 2,
		[]string{"indented under line 1", "conv is not a block"}},
	{"block with nothing under it", "b:\nrelu\n" + tail, 1, []string{"no layers under it"}},
	{"residual with settings", "r: residual 2\n    relu\n" + tail, 1, []string{"residual takes no settings"}},
	{"unknown setting", "c1: conv 8 kernel=3 strid=2\n" + tail, 1, []string{"conv: unknown setting strid"}},
	{"unexpected value", "c1: conv 8 3 kernel=3\n" + tail, 1, []string{`unexpected "3"`}},
	{"setting given twice", "c1: conv 8 kernel=3 kernel=5\n" + tail, 1, []string{"kernel given twice"}},
	{"setting given twice in two cases", "c1: conv 8 kernel=3 KERNEL=5\n" + tail, 1, []string{"given twice"}},
	{"not a number", "c1: conv eight kernel=3\n" + tail, 1, []string{`output channels "eight"`, "whole number"}},
	{"fractional kernel", "c1: conv 8 kernel=2.5\n" + tail, 1, []string{`kernel "2.5"`, "whole number"}},
	{"zero stride", "c1: conv 8 kernel=3 stride=0\n" + tail, 1, []string{"stride", ">= 1"}},
	{"negative padding", "c1: conv 8 kernel=3 pad=-1\n" + tail, 1, []string{"pad", ">= 0"}},
	{"bad boolean", "c1: conv 8 kernel=3 bias=maybe\n" + tail, 1, []string{"bias=maybe: want true or false"}},
	{"bad weight choice", "c: conv 8 kernel=3\nn: batchnorm weight=fixed\n" + tail, 2, []string{"weight=fixed: want trained or frozen"}},
	{"bad scale", "scale 1/0\n" + tail, 1, []string{`factor "1/0"`}},
	{"non-finite scale", "scale inf\n" + tail, 1, []string{"scale", "finite"}},
	{"bad batchnorm eps", "c: conv 8 kernel=3\nn: batchnorm eps=0\n" + tail, 2, []string{"want eps > 0"}},
	{"bad batchnorm momentum", "c: conv 8 kernel=3\nn: batchnorm momentum=2\n" + tail, 2, []string{"momentum in [0,1]"}},
	{"dropout of 1.5", "c1: conv 8 kernel=3\ndropout 1.5\n" + tail, 2, []string{"probability 1.5", "[0,1)"}},
	{"dropout of 1", "dropout 1\n" + tail, 1, []string{"probability 1"}},
	{"dropout of NaN", "dropout NaN\n" + tail, 1, []string{"probability", "NaN"}},
	{"dropout p=", "dropout p=0.2\n" + tail, 1, []string{"unknown setting p"}},
	{"residual changing channels", "c1: conv 8 kernel=3\nr: residual\n    c2: conv 16 kernel=3 pad=1\n    relu\n" + tail, 2,
		[]string{"16x30x30", "8x30x30", "shortcut"}},
	{"residual with a shortcut that does not fit", "r: residual\n    c: conv 8 kernel=3 pad=1 stride=2\n    shortcut:\n        s: conv 8 kernel=1\n" + tail, 1,
		[]string{"8x16x16", "8x32x32", "must match"}},
	{"residual with only a shortcut", "r: residual\n    shortcut:\n        relu\n" + tail, 1, []string{"shortcut but no body"}},
	{"residual with two shortcuts", "r: residual\n    relu\n    shortcut:\n        relu\n    shortcut:\n        relu\n" + tail, 5,
		[]string{"second shortcut", "line 1"}},
	{"not ending in the classes", "c1: conv 8 kernel=3\nflatten\nfc: linear 7\n", 3, []string{"ends with shape 7", "one value per class (10)"}},
	{"ending in an image", "c1: conv 8 kernel=3\nrelu\n", 2, []string{"ends with shape 8x30x30", "flatten"}},
	{"normalize with two values", "normalize mean=0.5,0.5 std=0.2,0.2\n" + tail, 1, []string{"2 means and 2 deviations for 3 input channels"}},
	{"normalize without std", "\n\nnormalize mean=0.5,0.5,0.5\n" + tail, 3, []string{"missing std="}},
	{"normalize with a zero deviation", "normalize mean=0.5,0.5,0.5 std=0.2,0,0.2\n" + tail, 1, []string{"must be > 0"}},
	{"normalize with a bad number", "normalize mean=0.5,x,0.5 std=0.2,0.2,0.2\n" + tail, 1, []string{`mean "x"`}},
	{"normalize not finite", "normalize mean=0.5,inf,0.5 std=0.2,0.2,0.2\n" + tail, 1, []string{"normalize", "finite"}},
	{"huge padding", "c: conv 8 kernel=1 pad=1152921504606846976\n" + tail, 1, []string{"conv: its output", "too large"}},
	{"huge channels", "c: conv 4611686018427387904 kernel=1\n" + tail, 1, []string{"too large"}},
	{"huge linear", "flatten\nfc: linear 1000000\nfc2: linear classes\n", 2, []string{"fc.weight 1000000x3072 is too large"}},
	{"huge kernel", "c: conv 8 kernel=3000000000 pad=1500000000\n" + tail, 1, []string{"c.weight 8x3x3000000000x3000000000 is too large"}},
	{"empty file", "", 0, []string{"no layers"}},
	{"only comments", "# nothing\n\n   # here\n", 0, []string{"no layers"}},
	{"only normalize", "normalize mean=0.5,0.5,0.5 std=0.2,0.2,0.2\n", 0, []string{"no layers"}},
	{"bad name", "conv-1: conv 8 kernel=3\n" + tail, 1, []string{`name "conv-1"`}},
	{"dotted name", "a.b: conv 8 kernel=3\n" + tail, 1, []string{`name "a.b"`}},
	{"lone colon", "relu\n:\n" + tail, 2, []string{"colon without a name"}},
	{"layer after a lone colon", ": relu\n" + tail, 1, []string{"colon without a name"}},
	{"layer glued to a lone colon", "relu\n:relu\n" + tail, 2, []string{"colon without a name"}},
}

// buildNoPanic runs Build, turning a panic into a test failure.
func buildNoPanic(t testing.TB, name, text string, in Input) (nw *Network, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Build(%q) panicked: %v", text, r)
		}
	}()
	return Build(name, text, in)
}

// TestBuildErrors checks each broken file is refused with its line and
// the words that say what is wrong.
func TestBuildErrors(t *testing.T) {
	for _, tc := range brokenCases {
		t.Run(tc.name, func(t *testing.T) {
			nw, err := buildNoPanic(t, "bad.net", tc.text, CIFAR10)
			if err == nil {
				t.Fatalf("built %d rows, want an error", len(nw.Rows))
			}
			msg := err.Error()
			prefix := "bad.net: "
			if tc.line > 0 {
				prefix = fmt.Sprintf("bad.net:%d: ", tc.line)
			}
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			for _, p := range tc.phrases {
				if !strings.Contains(msg, p) {
					t.Errorf("error %q does not mention %q", msg, p)
				}
			}
		})
	}
}

// TestBuildInputErrors checks inputs that no network fits are refused.
func TestBuildInputErrors(t *testing.T) {
	for _, tc := range []struct {
		in   Input
		want string
	}{
		{Input{}, "at least 1"},
		{Input{C: 3, H: 32, W: 32}, "at least 1"},
		{Input{C: 0, H: 32, W: 32, Classes: 10}, "at least 1"},
		{Input{C: 3, H: -1, W: 32, Classes: 10}, "at least 1"},
		{Input{C: 3, H: 1 << 40, W: 1 << 40, Classes: 10}, "too large"},
	} {
		if _, err := buildNoPanic(t, "x", "flatten\nfc: linear classes\n", tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
	// Too small an image for the network: the first layer that does not fit says so.
	text, _ := Zoo("resnet18")
	if _, err := buildNoPanic(t, "resnet18", text, Input{C: 3, H: 16, W: 16, Classes: 10}); err == nil ||
		!regexp.MustCompile(`^resnet18:\d+: avgpool: a 4x4 window does not fit the 512x2x2 input$`).MatchString(err.Error()) {
		t.Errorf("resnet18 on 16x16: %v", err)
	}
}

// TestBuildAccepts checks files that are fine, if unusual, build with the
// expected final rows.
func TestBuildAccepts(t *testing.T) {
	for _, tc := range []struct{ name, text, last string }{
		{"tabs and CRLF", "c1: conv 8 kernel=3\r\nb:\r\n\trelu\r\n\tmaxpool 2\r\nflatten\r\nfc: linear classes\r\n", "10"},
		{"comments after layers", "c1: conv 8 kernel=3 # a conv\n# a comment\n    # indented comment\nflatten # flat\nfc: linear classes", "10"},
		{"name glued to the layer", "c1:conv 8 kernel=3\nflatten\nfc:linear classes\n", "10"},
		{"upper-case layers and keys", "c1: CONV 8 Kernel=3 BIAS=False\nFlatten\nfc: Linear classes\n", "10"},
		{"global pools and sequential", "s: sequential\n    c: conv 8 kernel=3\n    avgpool global\nflatten\nfc: linear classes bias=no\n", "10"},
		{"unnamed residual", "c: conv 8 kernel=3 pad=1\nresidual\n    c2: conv 8 kernel=3 pad=1\n    relu\n" + tail, "10"},
		{"pool with a stride", "maxpool 3 stride=2\nflatten\nfc: linear classes\n", "10"},
		{"scale and dropout", "flatten\nscale 1/9\ndropout\nfc: linear classes\n", "10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw, err := buildNoPanic(t, "ok.net", tc.text, CIFAR10)
			if err != nil {
				t.Fatal(err)
			}
			if got := dims(nw.Rows[len(nw.Rows)-1].Out); got != tc.last {
				t.Errorf("ends with %s, want %s", got, tc.last)
			}
		})
	}
	// The settings took effect.
	nw, err := buildNoPanic(t, "ok.net", "c1: CONV 8 Kernel=3 BIAS=False\nmaxpool 3 stride=2\nFlatten\nfc: Linear classes\n", CIFAR10)
	if err != nil {
		t.Fatal(err)
	}
	names, shapes := nw.Model.Shapes()
	if !slices.Equal(names, []string{"c1.weight", "fc.weight", "fc.bias"}) || !slices.Equal(shapes[1], []int{10, 8 * 14 * 14}) {
		t.Errorf("state_dict %v %v", names, shapes)
	}
}

// row finds the summary row named name, failing the test without one.
func row(t *testing.T, nw *Network, name string) Row {
	t.Helper()
	for _, r := range nw.Rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("%s: no row %q", nw.Name, name)
	return Row{}
}

// summaryTable renders nw's summary and splits the table into cells by the
// header's column positions (the table is left-aligned, so every cell
// starts where its header does). It returns the rows and the totals line.
func summaryTable(t *testing.T, nw *Network) (rows [][]string, total string) {
	t.Helper()
	var sb strings.Builder
	if err := nw.Summary(&sb); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	header := lines[0]
	var cols []int
	for _, h := range []string{"layer", "type", "output", "params", "FLOPs"} {
		i := strings.Index(header, h)
		if i < 0 {
			t.Fatalf("header %q has no %s", header, h)
		}
		cols = append(cols, i)
	}
	for _, l := range lines[1 : len(lines)-1] {
		var cells []string
		for i, c := range cols {
			end := len(l)
			if i+1 < len(cols) {
				end = min(cols[i+1], len(l))
			}
			cells = append(cells, strings.TrimSpace(l[min(c, len(l)):end]))
		}
		rows = append(rows, cells)
	}
	return rows, lines[len(lines)-1]
}

// TestSummarySeed checks the seed's table row by row and its totals:
// 896 + 9,248 + 4,194,816 + 5,130 = 4,210,090 values, all trained.
func TestSummarySeed(t *testing.T) {
	nw := mustZoo(t, "seed", CIFAR10)
	rows, total := summaryTable(t, nw)
	want := [][]string{
		{"conv1", "conv 32 kernel=3 pad=1", "32x32x32", "896", "1.77M"},
		{"-", "relu", "32x32x32", "-", "32.8k"},
		{"-", "dropout 0.3", "32x32x32", "-", "32.8k"},
		{"conv2", "conv 32 kernel=3 pad=1", "32x32x32", "9248", "18.87M"},
		{"-", "relu", "32x32x32", "-", "32.8k"},
		{"-", "maxpool 2", "32x16x16", "-", "32.8k"},
		{"-", "flatten", "8192", "-", "-"},
		{"fc3", "linear 512", "512", "4.19M", "8.39M"},
		{"-", "relu", "512", "-", "512"},
		{"-", "dropout 0.5", "512", "-", "512"},
		{"fc4", "linear classes", "10", "5130", "10.2k"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
	const wantTotal = "total: 4,210,090 values in the state_dict (4,210,090 trained), 29.17M FLOPs per image forward"
	if total != wantTotal {
		t.Errorf("totals %q, want %q", total, wantTotal)
	}
	if r := row(t, nw, "fc3"); r.Params != 512*8192+512 || r.Trainable != r.Params || r.FLOPs != 2*8192*512 {
		t.Errorf("fc3 row %+v", r)
	}
}

// TestSummaryResnet18 checks blocks nest, every residual block ends with an
// add row of its output shape, and the totals count buffers but do not
// train them.
func TestSummaryResnet18(t *testing.T) {
	nw := mustZoo(t, "resnet18", CIFAR10)
	adds := 0
	for i, r := range nw.Rows {
		if r.Type != "residual" {
			continue
		}
		// The block's rows run to the next row at its depth or above; the last is the add.
		end := i + 1
		for end < len(nw.Rows) && nw.Rows[end].Depth > r.Depth {
			end++
		}
		last := nw.Rows[end-1]
		if last.Type != "add" || last.Name != "" || last.Depth != r.Depth+1 || !slices.Equal(last.Out, r.Out) {
			t.Errorf("%s: last row %+v, want add of %v at depth %d", r.Name, last, r.Out, r.Depth+1)
		}
		for _, in := range nw.Rows[i+1 : end-1] {
			if in.Type == "add" && in.Depth == r.Depth+1 {
				t.Errorf("%s: an add before the end", r.Name)
			}
		}
		adds++
	}
	if adds != 8 {
		t.Errorf("%d residual blocks, want 8", adds)
	}
	for name, out := range map[string]string{
		"conv1": "64x32x32", "layer1": "64x32x32", "layer2.0": "128x16x16", "layer2.0.conv1": "128x16x16",
		"layer2.0.shortcut": "128x16x16", "layer2.0.shortcut.0": "128x16x16", "layer4": "512x4x4", "linear": "10",
	} {
		if r := row(t, nw, name); dims(r.Out) != out {
			t.Errorf("%s: output %s, want %s", name, dims(r.Out), out)
		}
	}
	if r := row(t, nw, "layer2.0.shortcut.0"); r.Depth != 3 || r.Type != "conv 128 kernel=1 stride=2 bias=false" {
		t.Errorf("shortcut conv row %+v", r)
	}
	rows, total := summaryTable(t, nw)
	addRows := 0
	for _, r := range rows {
		if r[1] == "add" {
			addRows++
			if r[0] != "-" {
				t.Errorf("add row %q", r)
			}
		}
	}
	if addRows != 8 || len(rows) != len(nw.Rows) {
		t.Errorf("%d add rows in %d table rows (%d summary rows)", addRows, len(rows), len(nw.Rows))
	}
	if !strings.HasPrefix(total, "total: 11,183,582 values in the state_dict (11,173,962 trained), ") {
		t.Errorf("totals %q", total)
	}
	var sb strings.Builder
	if err := nw.Summary(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "\n      layer2.0.shortcut.0  ") {
		t.Errorf("the table does not indent nested names:\n%s", sb.String())
	}
	for i, l := range strings.Split(sb.String(), "\n") {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("line %d has trailing spaces: %q", i+1, l)
			break
		}
	}
}

// TestNumberFormats checks the summary's number formats.
func TestNumberFormats(t *testing.T) {
	for _, tc := range []struct {
		v            int64
		group, count string
	}{
		{0, "0", "-"}, {7, "7", "7"}, {999, "999", "999"}, {1000, "1,000", "1000"}, {9999, "9,999", "9999"},
		{10000, "10,000", "10.0k"}, {123456, "123,456", "123.5k"}, {11173962, "11,173,962", "11.17M"},
		{2_500_000_000, "2,500,000,000", "2.50G"},
	} {
		if g, c := group(tc.v), count(tc.v); g != tc.group || c != tc.count {
			t.Errorf("%d: group %q count %q, want %q %q", tc.v, g, c, tc.group, tc.count)
		}
	}
}

// TestSource checks --arch resolution: a zoo name, a file, or a message
// naming the zoo.
func TestSource(t *testing.T) {
	if name, text, err := Source("resnet18"); err != nil || name != "resnet18" || !strings.Contains(text, "layer4:") {
		t.Errorf("Source(resnet18): %q, %d bytes, %v", name, len(text), err)
	}
	file := t.TempDir() + "/my.net"
	if err := os.WriteFile(file, []byte("c: conv 8 kernel=3\nflatten\nfc: linear classes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nw, err := Load(file, CIFAR10)
	if err != nil || nw.Name != file {
		t.Fatalf("Load(%s): %v", file, err)
	}
	if err := os.WriteFile(file, []byte("c: conv 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file, CIFAR10); err == nil || !strings.HasPrefix(err.Error(), file+":1: ") {
		t.Errorf("a broken file: %v", err)
	}
	_, _, err = Source("resnet19")
	if err == nil || !strings.Contains(err.Error(), "airbench94, resnet18, seed") {
		t.Errorf("Source(resnet19): %v", err)
	}
}

func ExampleBuild() {
	text := `
normalize mean=0.5,0.5,0.5 std=0.25,0.25,0.25
stem: conv 16 kernel=3 pad=1 bias=false
bn: batchnorm
relu
block: residual
    conv1: conv 32 kernel=3 stride=2 pad=1 bias=false
    bn1: batchnorm
    relu
    conv2: conv 32 kernel=3 pad=1
    shortcut:
        0: conv 32 kernel=1 stride=2 bias=false
relu
avgpool global
flatten
fc: linear classes
`
	nw, err := Build("small.net", text, CIFAR10)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := nw.Summary(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// layer                 type                                        output    params  FLOPs
	// stem                  conv 16 kernel=3 pad=1 bias=false           16x32x32  432     884.7k
	// bn                    batchnorm                                   16x32x32  65      32.8k
	// -                     relu                                        16x32x32  -       16.4k
	// block                 residual                                    32x16x16  -       -
	//   block.conv1         conv 32 kernel=3 stride=2 pad=1 bias=false  32x16x16  4608    2.36M
	//   block.bn1           batchnorm                                   32x16x16  129     16.4k
	//   -                   relu                                        32x16x16  -       8192
	//   block.conv2         conv 32 kernel=3 pad=1                      32x16x16  9248    4.72M
	//   block.shortcut      sequential                                  32x16x16  -       -
	//     block.shortcut.0  conv 32 kernel=1 stride=2 bias=false        32x16x16  512     262.1k
	//   -                   add                                         32x16x16  -       8192
	// -                     relu                                        32x16x16  -       8192
	// -                     avgpool global                              32x1x1    -       8192
	// -                     flatten                                     32        -       -
	// fc                    linear classes                              10        330     640
	// total: 15,324 values in the state_dict (15,226 trained), 8.32M FLOPs per image forward
}
