package arch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/layers"
)

// Input is what the data decides about a network: the image's channels
// and size, and the number of classes.
type Input struct {
	C, H, W int
	Classes int
}

// CIFAR10 is the input of CIFAR-10: 3x32x32 images, 10 classes.
var CIFAR10 = Input{C: 3, H: 32, W: 32, Classes: 10}

// Network is a model description built for one input: the model, ready to
// allocate on a backend, and its summary.
type Network struct {
	// Name is the zoo name or the file the description came from.
	Name string
	// Source is the description's text, which checkpoints keep.
	Source string
	Model  *layers.Model
	// Rows summarize the layers in order, nested modules included.
	Rows []Row
}

// Row is one line of a network's summary.
type Row struct {
	Name   string // the module's dotted name, or "" for an unnamed layer
	Type   string // the layer as written, e.g. "conv 64 kernel=3 pad=1"
	Depth  int    // nesting level
	Out    []int  // output shape of one image: [C,H,W] or [F]
	Params int    // state_dict values (buffers included)
	// Trainable counts the parameters the optimizer updates.
	Trainable int
	FLOPs     int64 // forward pass, per image
}

// builder turns a parsed tree into layers, tracking the shape of one image.
type builder struct {
	file    string
	in      Input
	names   map[string]int // full name → line
	rows    []Row
	streams uint32 // dropout streams handed out
}

// Build parses a model description and builds it for input in. name says
// where the text came from, for messages.
func Build(name, text string, in Input) (*Network, error) {
	if in.C < 1 || in.H < 1 || in.W < 1 || in.Classes < 1 {
		return nil, fmt.Errorf("%s: input %dx%dx%d with %d classes: every size must be at least 1", name, in.C, in.H, in.W, in.Classes)
	}
	if tooBig([]int{in.C, in.H, in.W}) {
		return nil, fmt.Errorf("%s: input %dx%dx%d is too large", name, in.C, in.H, in.W)
	}
	ls, err := lex(name, text)
	if err != nil {
		return nil, err
	}
	nodes, err := tree(name, ls)
	if err != nil {
		return nil, err
	}
	b := &builder{file: name, in: in, names: map[string]int{}}
	m := &layers.Model{Input: []int{in.C, in.H, in.W}}
	var body []*node
	for _, n := range nodes {
		if n.op == "normalize" && n.name == "" {
			if err := b.normalize(n, m); err != nil {
				return nil, err
			}
			continue
		}
		body = append(body, n)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%s: no layers", name)
	}
	shape := []int{in.C, in.H, in.W}
	if m.Layers, shape, err = b.seq(body, "", 0, shape); err != nil {
		return nil, err
	}
	if !slices.Equal(shape, []int{in.Classes}) {
		return nil, fmt.Errorf("%s:%d: the network ends with shape %s; it must end with one value per class (%d): finish with flatten and linear classes",
			name, body[len(body)-1].no, dims(shape), in.Classes)
	}
	return &Network{Name: name, Source: text, Model: m, Rows: b.rows}, nil
}

func (b *builder) normalize(n *node, m *layers.Model) error {
	a := newArgs(b.file, n.line)
	m.Mean, m.Std = a.floats("mean"), a.floats("std")
	if err := a.done(0); err != nil {
		return err
	}
	if len(m.Mean) != b.in.C || len(m.Std) != b.in.C {
		return fmt.Errorf("%s:%d: normalize has %d means and %d deviations for %d input channels",
			b.file, n.no, len(m.Mean), len(m.Std), b.in.C)
	}
	for _, s := range m.Std {
		if !(s > 0) {
			return fmt.Errorf("%s:%d: normalize: std %v: every deviation must be > 0", b.file, n.no, s)
		}
	}
	return nil
}

// seq builds nodes one after another from an input shape.
func (b *builder) seq(nodes []*node, prefix string, depth int, shape []int) ([]layers.Layer, []int, error) {
	var out []layers.Layer
	for _, n := range nodes {
		l, next, err := b.layer(n, prefix, depth, shape)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, l)
		shape = next
	}
	return out, shape, nil
}

// fullName joins a prefix and a name, and checks the name is new.
func (b *builder) fullName(n *node, prefix string) (string, error) {
	if n.name == "" {
		return strings.TrimSuffix(prefix, "."), nil
	}
	full := prefix + n.name
	if first, dup := b.names[full]; dup {
		return "", fmt.Errorf("%s:%d: the name %s is already used on line %d", b.file, n.no, full, first)
	}
	b.names[full] = n.no
	return full, nil
}

// needName refuses a layer with parameters but no name to save them under.
func (b *builder) needName(n *node, full string) error {
	if n.name == "" {
		return fmt.Errorf("%s:%d: %s has parameters and needs a name to save them under: write e.g. %s1: %s",
			b.file, n.no, n.op, n.op, strings.Join(append([]string{n.op}, n.args...), " "))
	}
	return nil
}

func (b *builder) shapeErr(n *node, format string, v ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", b.file, n.no, n.op, fmt.Sprintf(format, v...))
}

// layer builds one node (a block recursively) for input shape in.
func (b *builder) layer(n *node, prefix string, depth int, in []int) (layers.Layer, []int, error) {
	full, err := b.fullName(n, prefix)
	if err != nil {
		return nil, nil, err
	}
	if isBlock(n.op) {
		return b.block(n, full, depth, in)
	}
	if len(n.children) > 0 {
		return nil, nil, fmt.Errorf("%s:%d: %s cannot hold indented layers", b.file, n.no, n.op)
	}
	a := newArgs(b.file, n.line)
	named := full
	if n.name == "" {
		named = ""
	}
	row := Row{Name: named, Type: strings.Join(append([]string{n.op}, n.args...), " "), Depth: depth}
	spatial := func() bool {
		if len(in) != 3 {
			a.fail("needs an image input [C,H,W], gets %s", dims(in))
			return false
		}
		return true
	}
	elems := int64(product(in))
	var l layers.Layer
	var out []int
	npos := 0
	switch n.op {
	case "conv":
		npos = 1
		outC := a.integer("output channels", a.positional(0, "the number of output channels (conv 64 kernel=3)", ""), 1)
		k := a.intKey("kernel", 0, 1)
		if k == 0 && a.err == nil {
			a.fail("missing kernel=K")
		}
		stride, pad := a.intKey("stride", 1, 1), a.intKey("pad", 0, 0)
		bias, frozen := a.boolean("bias", true), a.frozen()
		if a.err != nil || !spatial() {
			break
		}
		if err := b.needName(n, full); err != nil {
			return nil, nil, err
		}
		if in[1]+2*pad < k || in[2]+2*pad < k {
			return nil, nil, b.shapeErr(n, "a %dx%d kernel does not fit the %s input padded by %d", k, k, dims(in), pad)
		}
		oh, ow := (in[1]+2*pad-k)/stride+1, (in[2]+2*pad-k)/stride+1
		c := layers.NewConv2dNoBias(full, in[0], outC, k, stride, pad)
		if bias {
			c = layers.NewConv2d(full, in[0], outC, k, stride, pad)
		}
		if frozen {
			c.Weight.Kind = layers.Frozen
		}
		l, out = c, []int{outC, oh, ow}
		row.FLOPs = 2 * int64(outC*oh*ow) * int64(in[0]*k*k)
	case "linear":
		npos = 1
		s := a.positional(0, "the number of outputs (linear 512, or linear classes)", "")
		outF := b.in.Classes
		if s != "classes" {
			outF = a.integer("outputs", s, 1)
		}
		bias := a.boolean("bias", true)
		if a.err != nil {
			break
		}
		if len(in) != 1 {
			return nil, nil, b.shapeErr(n, "needs a flat input but gets %s: put a flatten line before it", dims(in))
		}
		if err := b.needName(n, full); err != nil {
			return nil, nil, err
		}
		lin := layers.NewLinearNoBias(full, in[0], outF)
		if bias {
			lin = layers.NewLinear(full, in[0], outF)
		}
		l, out = lin, []int{outF}
		row.FLOPs = 2 * int64(in[0]) * int64(outF)
	case "batchnorm":
		eps, mom := a.floatKey("eps", 1e-5), a.floatKey("momentum", 0.1)
		frozen := a.frozen()
		if a.err != nil || !spatial() {
			break
		}
		if !(eps > 0) || !(mom >= 0 && mom <= 1) {
			a.fail("eps %v, momentum %v: want eps > 0 and momentum in [0,1]", eps, mom)
			break
		}
		if err := b.needName(n, full); err != nil {
			return nil, nil, err
		}
		l, out = layers.NewBatchNorm2d(full, in[0], float32(eps), float32(mom), frozen), in
		row.FLOPs = 2 * elems
	case "relu":
		l, out, row.FLOPs = layers.ReLU{}, in, elems
	case "gelu":
		l, out, row.FLOPs = layers.GELU{}, in, 8*elems
	case "dropout":
		npos = 1
		p := a.number("probability", a.positional(0, "", "0.5"))
		if a.err == nil && !(p >= 0 && p < 1) {
			a.fail("probability %v: want a number in [0,1)", p)
		}
		b.streams++
		l, out, row.FLOPs = &layers.Dropout{P: float32(p), Stream: b.streams}, in, elems
	case "maxpool", "avgpool":
		npos = 1
		ks := a.positional(0, "the kernel size (maxpool 2) or global", "")
		global := ks == "global"
		k := 0
		if !global {
			k = a.integer("kernel", ks, 1)
		}
		stride := a.intKey("stride", k, 1)
		if a.err != nil || !spatial() {
			break
		}
		if global {
			if in[1] != in[2] {
				return nil, nil, b.shapeErr(n, "global pooling of a %dx%d map: only square maps are supported", in[1], in[2])
			}
			k, stride = in[1], in[1]
		}
		if k > in[1] || k > in[2] {
			return nil, nil, b.shapeErr(n, "a %dx%d window does not fit the %s input", k, k, dims(in))
		}
		out = []int{in[0], (in[1]-k)/stride + 1, (in[2]-k)/stride + 1}
		row.FLOPs = int64(product(out) * k * k)
		if n.op == "maxpool" {
			l = layers.MaxPool2d{Kernel: k, Stride: stride}
		} else {
			l = layers.AvgPool2d{Kernel: k, Stride: stride}
		}
	case "flatten":
		l, out = layers.Flatten{}, []int{product(in)}
	case "scale":
		npos = 1
		f := a.number("factor", a.positional(0, "the factor (scale 1/9)", ""))
		l, out, row.FLOPs = layers.Scale{Factor: float32(f)}, in, elems
	default:
		return nil, nil, fmt.Errorf("%s:%d: unknown layer %q: use one of %s", b.file, n.no, n.op, strings.Join(layerTypes, ", "))
	}
	if err := a.done(npos); err != nil {
		return nil, nil, err
	}
	if tooBig(out) {
		return nil, nil, b.shapeErr(n, "its output %s is too large", dims(out))
	}
	for _, p := range l.Params() {
		if tooBig(p.Shape) {
			return nil, nil, b.shapeErr(n, "%s %s is too large", p.Name, dims(p.Shape))
		}
	}
	row.Out = out
	for _, p := range l.Params() {
		row.Params += p.Len()
		if p.Trains() {
			row.Trainable += p.Len()
		}
	}
	b.rows = append(b.rows, row)
	return l, out, nil
}

// layerTypes are the layers a model file can use, for messages.
var layerTypes = []string{"conv", "linear", "batchnorm", "relu", "gelu", "dropout", "maxpool", "avgpool", "flatten", "scale", "residual", "name: (a block)"}

// block builds a nested Sequential or a Residual.
func (b *builder) block(n *node, full string, depth int, in []int) (layers.Layer, []int, error) {
	if len(n.args) > 0 {
		return nil, nil, fmt.Errorf("%s:%d: %s takes no settings, got %q", b.file, n.no, blockType(n.op), strings.Join(n.args, " "))
	}
	if len(n.children) == 0 {
		return nil, nil, fmt.Errorf("%s:%d: %s has no layers under it: indent its layers below it", b.file, n.no, blockType(n.op))
	}
	prefix := ""
	if full != "" {
		prefix = full + "."
	}
	b.rows = append(b.rows, Row{Name: full, Type: blockType(n.op), Depth: depth})
	at := len(b.rows) - 1
	var l layers.Layer
	var out []int
	if n.op != "residual" {
		ls, shape, err := b.seq(n.children, prefix, depth+1, in)
		if err != nil {
			return nil, nil, err
		}
		l, out = &layers.Sequential{Layers: ls}, shape
	} else {
		var body, short []*node
		for _, c := range n.children {
			if c.name == "shortcut" && isBlock(c.op) && c.op != "residual" {
				if short != nil {
					return nil, nil, fmt.Errorf("%s:%d: a second shortcut in the residual block of line %d", b.file, c.no, n.no)
				}
				short = append([]*node{}, c)
				continue
			}
			body = append(body, c)
		}
		if len(body) == 0 {
			return nil, nil, fmt.Errorf("%s:%d: the residual block has a shortcut but no body", b.file, n.no)
		}
		r := &layers.Residual{}
		var err error
		if r.Body, out, err = b.seq(body, prefix, depth+1, in); err != nil {
			return nil, nil, err
		}
		shortOut := in
		if short != nil {
			var sl layers.Layer
			if sl, shortOut, err = b.layer(short[0], prefix, depth+1, in); err != nil {
				return nil, nil, err
			}
			r.Shortcut = sl.(*layers.Sequential).Layers
		}
		if !slices.Equal(out, shortOut) {
			return nil, nil, fmt.Errorf("%s:%d: residual: the body gives %s but the shortcut %s: they must match to be added (give the block a shortcut: with a 1x1 conv of the body's channels and stride)",
				b.file, n.no, dims(out), dims(shortOut))
		}
		l = r
		b.rows = append(b.rows, Row{Type: "add", Depth: depth + 1, Out: out, FLOPs: int64(product(out))})
	}
	b.rows[at].Out = out
	return l, out, nil
}

func blockType(op string) string {
	if op == "" {
		return "sequential"
	}
	return op
}

// maxElems bounds the elements of any tensor a layer describes (its
// output for one image, each parameter), so sizes cannot overflow an int.
const maxElems = 1 << 31

// tooBig says whether s has more than maxElems elements, computed without
// overflowing.
func tooBig(s []int) bool {
	n := 1.0
	for _, d := range s {
		n *= float64(d)
	}
	return n > maxElems
}

func product(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

// dims writes a shape as 64x16x16.
func dims(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}
