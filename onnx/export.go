// Package onnx exports a layers.Model as an ONNX model for inference: the
// network in evaluation mode (BatchNorm on its running statistics, Dropout
// gone), float32, with a dynamic batch dimension. Its input "input" is NCHW
// images with pixels scaled to [0,1] (value/255, what torchvision's ToTensor
// gives); the model's input normalization is the graph's first two nodes.
// Its output "logits" is one value per class.
//
// Every layer maps to standard ONNX operators of the default domain:
//
//	normalize      Sub, Div by [1,C,1,1] constants normalize/mean, normalize/std
//	Conv2d         Conv (pads, strides, kernel_shape; bias when it has one)
//	BatchNorm2d    BatchNormalization on weight, bias, running_mean, running_var
//	ReLU           Relu
//	GELU           Div(√2), Erf, Add(1), Mul(x), Mul(½): the exact erf form
//	Dropout        nothing: it is the identity in evaluation
//	MaxPool2d      MaxPool (floor mode, no padding), or GlobalMaxPool when
//	               the window is the whole map
//	AvgPool2d      AveragePool likewise, or GlobalAveragePool
//	Flatten        Flatten axis=1
//	Linear         Gemm transB=1 (bias when it has one)
//	Scale          Mul by a scalar constant
//	Sequential     its layers in order
//	Residual       both branches from the same input, joined by Add
//
// Initializers keep the PyTorch state_dict names (layer2.0.shortcut.0.weight,
// bn1.running_mean), so the graph reads as the model file does in a viewer
// such as Netron; nodes of layers with parameters carry the module's name,
// the others their kind and position (layer1.0/relu_2). num_batches_tracked
// does not take part in inference and is left out.
//
// A layer this package cannot express (a type it does not know, a shape
// that does not fit) is refused with its name and the reason.
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
)

// Opset is the version of the default ONNX operator set the export uses.
// Every operator it emits has had its present meaning since opset 13 (Erf
// and Gemm 13, Flatten 13, Conv and AveragePool 11, MaxPool 12,
// BatchNormalization 9), so 13 lets the widest range of runtimes load the
// file (onnxruntime 1.6 and later, TensorRT 8, OpenCV's dnn, and Debian's
// onnx 1.12 checker, which knows opsets up to 17). GELU as a single op
// needs opset 20, so it is written in its Erf form, which is exact.
const Opset = 13

// IRVersion is the ONNX IR version of the file: 7 is the one that goes
// with opset 13, so readers of that age accept it.
const IRVersion = 7

// Input and output names, and the name of the dynamic batch dimension.
const (
	InputName  = "input"
	OutputName = "logits"
	BatchDim   = "batch"
)

// Info is what the graph needs beyond the model and its weights.
type Info struct {
	// C, H, W are the size of the input images the network was built for.
	C, H, W int
	// Classes names the logits, in order; their number must be the
	// network's output size.
	Classes []string
	// Arch is the network's zoo name or model file, and ArchSource its
	// description; both go into the metadata.
	Arch, ArchSource string
	// Version is vkcnn's version, the model's producer_version.
	Version string
}

// Export builds the ONNX model of m in evaluation mode with the weights w
// (every state_dict entry by name, as layers.Model.Weights gives them).
func Export(m *layers.Model, w map[string][]float32, info Info) (*onnxpb.ModelProto, error) {
	if info.C < 1 || info.H < 1 || info.W < 1 {
		return nil, fmt.Errorf("input %dx%dx%d: every size must be at least 1", info.C, info.H, info.W)
	}
	if len(info.Classes) == 0 {
		return nil, fmt.Errorf("no class names: the metadata needs one per logit")
	}
	g := &graph{w: w, taken: map[string]bool{InputName: true, OutputName: true}, inits: map[string]bool{}}
	x := value{InputName, []int{info.C, info.H, info.W}}
	var err error
	if x, err = g.normalize(m, x); err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("the model has no layers")
	}
	if x, err = g.chain(m.Layers, x, ""); err != nil {
		return nil, err
	}
	if x.name == InputName {
		return nil, fmt.Errorf("the network computes nothing (its layers are all identities in evaluation): there is no graph to export")
	}
	if !slices.Equal(x.shape, []int{len(info.Classes)}) {
		return nil, fmt.Errorf("the network ends with shape %s, not one logit for each of the %d classes: end it with flatten and a linear layer",
			dims(x.shape), len(info.Classes))
	}
	g.rename(x.name, OutputName)

	classes, err := json.Marshal(info.Classes)
	if err != nil {
		return nil, err
	}
	meta := [][2]string{
		{"classes", string(classes)},
		{"input_size", fmt.Sprintf("%dx%dx%d", info.C, info.H, info.W)},
		{"input", "NCHW float32 RGB pixels scaled to [0,1] (value/255, as torchvision's ToTensor gives them); the normalization below is inside the graph"},
	}
	if len(m.Std) > 0 {
		meta = append(meta, [2]string{"mean", floats(m.Mean)}, [2]string{"std", floats(m.Std)})
	} else {
		meta = append(meta, [2]string{"normalization", "none"})
	}
	meta = append(meta,
		[2]string{"arch", info.Arch},
		[2]string{"arch_source", info.ArchSource},
		[2]string{"vkcnn_version", info.Version},
	)
	var props []*onnxpb.StringStringEntryProto
	for _, kv := range meta {
		props = append(props, &onnxpb.StringStringEntryProto{Key: kv[0], Value: kv[1]})
	}
	doc := fmt.Sprintf("%s exported by vkcnn in evaluation mode: %s %s in [0,1] → %s [%s,%d]",
		info.Arch, InputName, dims([]int{info.C, info.H, info.W}), OutputName, BatchDim, len(info.Classes))
	return &onnxpb.ModelProto{
		IrVersion:       IRVersion,
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName:    "vkcnn",
		ProducerVersion: info.Version,
		DocString:       doc,
		MetadataProps:   props,
		Graph: &onnxpb.GraphProto{
			Name:        graphName(info.Arch),
			DocString:   doc,
			Node:        g.nodes,
			Initializer: g.initializers,
			Input: []*onnxpb.ValueInfoProto{tensorInfo(InputName, []int{info.C, info.H, info.W},
				"images, NCHW RGB, pixels scaled to [0,1]")},
			Output:    []*onnxpb.ValueInfoProto{tensorInfo(OutputName, x.shape, "one logit per class (see metadata classes)")},
			ValueInfo: g.infos,
		},
	}, nil
}

// Marshal encodes the model in the protobuf wire format of .onnx files.
func Marshal(mp *onnxpb.ModelProto) ([]byte, error) {
	// Deterministic, so that one checkpoint always gives the same file.
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// Write writes the model to path through a temporary file renamed into
// place, so an interrupted export leaves no partial file.
func Write(path string, mp *onnxpb.ModelProto) error {
	b, err := Marshal(mp)
	if err != nil {
		return fmt.Errorf("encoding the ONNX model: %w", err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// value is a tensor of the graph: its name and the shape of one image's
// slice of it ([C,H,W] or [F]; the batch dimension is implied).
type value struct {
	name  string
	shape []int
}

// graph collects nodes, initializers and value infos while the model is
// walked.
type graph struct {
	w            map[string][]float32
	nodes        []*onnxpb.NodeProto
	initializers []*onnxpb.TensorProto
	infos        []*onnxpb.ValueInfoProto
	taken        map[string]bool // node and value names in use
	inits        map[string]bool // initializer names added
}

// unique returns name, or name with a suffix when it is already in use.
func (g *graph) unique(name string) string {
	n := name
	for i := 2; g.taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	g.taken[n] = true
	return n
}

// node adds a node named name (made unique) and returns its output, a
// tensor of the same name whose per-image shape is shape.
func (g *graph) node(op, name string, inputs []string, shape []int, attrs ...*onnxpb.AttributeProto) value {
	name = g.unique(name)
	g.nodes = append(g.nodes, &onnxpb.NodeProto{OpType: op, Name: name, Input: inputs, Output: []string{name}, Attribute: attrs})
	g.infos = append(g.infos, tensorInfo(name, shape, ""))
	return value{name, slices.Clone(shape)}
}

// rename gives the tensor from a name to another: the last one becomes the
// graph's output.
func (g *graph) rename(from, to string) {
	for _, n := range g.nodes {
		for i := range n.Input {
			if n.Input[i] == from {
				n.Input[i] = to
			}
		}
		for i := range n.Output {
			if n.Output[i] == from {
				n.Output[i] = to
			}
		}
	}
	g.infos = slices.DeleteFunc(g.infos, func(v *onnxpb.ValueInfoProto) bool { return v.Name == from })
}

// param adds p's weights as an initializer under its state_dict name.
func (g *graph) param(p *layers.Param) (string, error) {
	v, ok := g.w[p.Name]
	if !ok {
		return "", fmt.Errorf("no weights for %s", p.Name)
	}
	if len(v) != p.Len() {
		return "", fmt.Errorf("%s: %d values for shape %v", p.Name, len(v), p.Shape)
	}
	g.constant(p.Name, p.Shape, v)
	return p.Name, nil
}

// constant adds an initializer once (GELU's constants are shared).
func (g *graph) constant(name string, shape []int, v []float32) string {
	if g.inits[name] {
		return name
	}
	g.inits[name] = true
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		// ONNX's raw_data is little-endian whatever the machine.
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.initializers = append(g.initializers, &onnxpb.TensorProto{
		Name: name, Dims: int64s(shape...), DataType: int32(onnxpb.TensorProto_FLOAT), RawData: raw,
	})
	return name
}

// normalize adds (x - mean) / std per channel, as layers.Model.Logits
// computes it, when the model normalizes its input.
func (g *graph) normalize(m *layers.Model, x value) (value, error) {
	if len(m.Std) == 0 { // as Logits: no deviations, no normalization
		return x, nil
	}
	c := x.shape[0]
	if len(m.Mean) != c || len(m.Std) != c {
		return x, fmt.Errorf("normalize: %d means and %d deviations for %d input channels", len(m.Mean), len(m.Std), c)
	}
	mean := g.constant("normalize/mean", []int{1, c, 1, 1}, m.Mean)
	std := g.constant("normalize/std", []int{1, c, 1, 1}, m.Std)
	x = g.node("Sub", "normalize/sub", []string{x.name, mean}, x.shape)
	return g.node("Div", "normalize/div", []string{x.name, std}, x.shape), nil
}

// chain adds layers one after another; scope names the unnamed ones.
func (g *graph) chain(ls []layers.Layer, x value, scope string) (value, error) {
	for i, l := range ls {
		var err error
		if x, err = g.layer(l, x, scope, i); err != nil {
			return x, err
		}
	}
	return x, nil
}

// local names the i'th layer of a scope that has no name of its own.
func local(scope, kind string, i int) string {
	if scope == "" {
		return fmt.Sprintf("%s_%d", kind, i)
	}
	return fmt.Sprintf("%s/%s_%d", scope, kind, i)
}

// layer adds one layer (a container recursively) for input x.
func (g *graph) layer(l layers.Layer, x value, scope string, i int) (value, error) {
	switch l := l.(type) {
	case *layers.Conv2d:
		return g.conv(l, x)
	case *layers.BatchNorm2d:
		return g.batchNorm(l, x)
	case *layers.Linear:
		return g.linear(l, x)
	case layers.ReLU, *layers.ReLU:
		return g.node("Relu", local(scope, "relu", i), []string{x.name}, x.shape), nil
	case layers.GELU, *layers.GELU:
		return g.gelu(x, local(scope, "gelu", i)), nil
	case *layers.Dropout:
		return x, nil // the identity in evaluation
	case layers.Scale:
		return g.scale(l.Factor, x, local(scope, "scale", i)), nil
	case *layers.Scale:
		return g.scale(l.Factor, x, local(scope, "scale", i)), nil
	case layers.MaxPool2d:
		return g.pool("MaxPool", l.Kernel, l.Stride, l.Global, x, local(scope, "maxpool", i))
	case *layers.MaxPool2d:
		return g.pool("MaxPool", l.Kernel, l.Stride, l.Global, x, local(scope, "maxpool", i))
	case layers.AvgPool2d:
		return g.pool("AveragePool", l.Kernel, l.Stride, l.Global, x, local(scope, "avgpool", i))
	case *layers.AvgPool2d:
		return g.pool("AveragePool", l.Kernel, l.Stride, l.Global, x, local(scope, "avgpool", i))
	case layers.Flatten, *layers.Flatten:
		return g.node("Flatten", local(scope, "flatten", i), []string{x.name}, []int{product(x.shape)}, attrInt("axis", 1)), nil
	case *layers.Sequential:
		inner := moduleName(l)
		if inner == "" {
			inner = local(scope, "block", i)
		}
		return g.chain(l.Layers, x, inner)
	case *layers.Residual:
		return g.residual(l, x, scope, i)
	}
	name := moduleName(l)
	if name == "" {
		name = local(scope, "layer", i)
	}
	return x, fmt.Errorf("layer %s (%T): the ONNX export does not know this layer type; it exports conv, batchnorm, linear, relu, gelu, dropout, maxpool, avgpool, flatten, scale and their blocks", name, l)
}

func (g *graph) conv(c *layers.Conv2d, x value) (value, error) {
	name := owner(c.Weight)
	if len(x.shape) != 3 || x.shape[0] != c.In {
		return x, fmt.Errorf("layer %s (conv): input %s, want %d channels of an image", name, dims(x.shape), c.In)
	}
	h := (x.shape[1]+2*c.Pad-c.Kernel)/c.Stride + 1
	w := (x.shape[2]+2*c.Pad-c.Kernel)/c.Stride + 1
	if c.Kernel < 1 || c.Stride < 1 || c.Pad < 0 || h < 1 || w < 1 {
		return x, fmt.Errorf("layer %s (conv): kernel %d, stride %d, pad %d do not fit its input %s", name, c.Kernel, c.Stride, c.Pad, dims(x.shape))
	}
	in := []string{x.name}
	for _, p := range c.Params() {
		n, err := g.param(p)
		if err != nil {
			return x, fmt.Errorf("layer %s (conv): %w", name, err)
		}
		in = append(in, n)
	}
	k, s, p := int64(c.Kernel), int64(c.Stride), int64(c.Pad)
	return g.node("Conv", name, in, []int{c.Out, h, w},
		attrInts("kernel_shape", k, k), attrInts("strides", s, s), attrInts("pads", p, p, p, p),
		attrInts("dilations", 1, 1), attrInt("group", 1)), nil
}

func (g *graph) batchNorm(n *layers.BatchNorm2d, x value) (value, error) {
	name := owner(n.Weight)
	if len(x.shape) != 3 || x.shape[0] != n.C {
		return x, fmt.Errorf("layer %s (batchnorm): input %s, want %d channels of an image", name, dims(x.shape), n.C)
	}
	// ONNX's inputs are PyTorch's eval-mode state: scale, bias, running
	// mean and variance; num_batches_tracked only matters for training.
	in := []string{x.name}
	for _, p := range []*layers.Param{n.Weight, n.Bias, n.RunningMean, n.RunVar} {
		pn, err := g.param(p)
		if err != nil {
			return x, fmt.Errorf("layer %s (batchnorm): %w", name, err)
		}
		in = append(in, pn)
	}
	return g.node("BatchNormalization", name, in, x.shape, attrFloat("epsilon", n.Eps)), nil
}

func (g *graph) linear(l *layers.Linear, x value) (value, error) {
	name := owner(l.Weight)
	if len(x.shape) != 1 || x.shape[0] != l.In {
		return x, fmt.Errorf("layer %s (linear): input %s, want %d features (put flatten before it)", name, dims(x.shape), l.In)
	}
	in := []string{x.name}
	for _, p := range l.Params() {
		n, err := g.param(p)
		if err != nil {
			return x, fmt.Errorf("layer %s (linear): %w", name, err)
		}
		in = append(in, n)
	}
	// y = x·Wᵀ + b with W stored [out,in], as torch.nn.Linear keeps it.
	return g.node("Gemm", name, in, []int{l.Out}, attrInt("transB", 1)), nil
}

// gelu adds x·Φ(x) = x·(1 + erf(x/√2))/2, the exact form vkcnn and
// torch.nn.GELU compute, in the order PyTorch's exporter writes it.
func (g *graph) gelu(x value, name string) value {
	sqrt2 := g.constant("gelu/sqrt2", nil, []float32{float32(math.Sqrt2)})
	one := g.constant("gelu/one", nil, []float32{1})
	half := g.constant("gelu/half", nil, []float32{0.5})
	d := g.node("Div", name+"/div", []string{x.name, sqrt2}, x.shape)
	e := g.node("Erf", name+"/erf", []string{d.name}, x.shape)
	a := g.node("Add", name+"/add", []string{e.name, one}, x.shape)
	m := g.node("Mul", name+"/mul", []string{x.name, a.name}, x.shape)
	return g.node("Mul", name, []string{m.name, half}, x.shape)
}

func (g *graph) scale(f float32, x value, name string) value {
	c := g.constant(name+"/factor", nil, []float32{f})
	return g.node("Mul", name, []string{x.name, c}, x.shape)
}

// pool adds a max or average pool with layers' semantics: no padding, floor
// mode, stride 0 meaning the kernel; a window covering the whole map is the
// global pool.
func (g *graph) pool(op string, kernel, stride int, global bool, x value, name string) (value, error) {
	kind := map[string]string{"MaxPool": "maxpool", "AveragePool": "avgpool"}[op]
	if len(x.shape) != 3 {
		return x, fmt.Errorf("layer %s (%s): input %s, want an image [C,H,W]", name, kind, dims(x.shape))
	}
	c, h, w := x.shape[0], x.shape[1], x.shape[2]
	if global {
		if h != w {
			return x, fmt.Errorf("layer %s (%s global): a %dx%d map: only square maps are pooled globally", name, kind, h, w)
		}
		kernel, stride = h, h
	}
	if stride == 0 {
		stride = kernel
	}
	if kernel < 1 || stride < 1 || kernel > h || kernel > w {
		return x, fmt.Errorf("layer %s (%s): kernel %d, stride %d do not fit a %dx%d map", name, kind, kernel, stride, h, w)
	}
	if kernel == h && kernel == w {
		return g.node("Global"+op, name, []string{x.name}, []int{c, 1, 1}), nil
	}
	k, s := int64(kernel), int64(stride)
	attrs := []*onnxpb.AttributeProto{attrInts("kernel_shape", k, k), attrInts("strides", s, s), attrInts("pads", 0, 0, 0, 0), attrInt("ceil_mode", 0)}
	return g.node(op, name, []string{x.name}, []int{c, (h-kernel)/stride + 1, (w-kernel)/stride + 1}, attrs...), nil
}

// residual adds body(x) + shortcut(x), the shortcut being x itself when
// empty.
func (g *graph) residual(r *layers.Residual, x value, scope string, i int) (value, error) {
	name := moduleName(r)
	if name == "" {
		name = local(scope, "residual", i)
	}
	if len(r.Body) == 0 {
		return x, fmt.Errorf("layer %s (residual): an empty body", name)
	}
	body, err := g.chain(r.Body, x, name)
	if err != nil {
		return x, err
	}
	short := x
	if len(r.Shortcut) > 0 {
		sc := parentOf(modules(r.Shortcut))
		if sc == "" {
			sc = name + "/shortcut"
		}
		if short, err = g.chain(r.Shortcut, x, sc); err != nil {
			return x, err
		}
	}
	if !slices.Equal(body.shape, short.shape) {
		return x, fmt.Errorf("layer %s (residual): the body's output %s and the shortcut's %s differ, so they cannot be added", name, dims(body.shape), dims(short.shape))
	}
	return g.node("Add", name+"/add", []string{body.name, short.name}, body.shape), nil
}

// moduleName is the PyTorch module name of a layer, found from its
// parameters' names: "" for a layer without parameters.
func moduleName(l layers.Layer) string {
	switch l := l.(type) {
	case *layers.Conv2d:
		return owner(l.Weight)
	case *layers.Linear:
		return owner(l.Weight)
	case *layers.BatchNorm2d:
		return owner(l.Weight)
	case *layers.Sequential:
		return parentOf(modules(l.Layers))
	case *layers.Residual:
		ms := modules(l.Body)
		if sc := parentOf(modules(l.Shortcut)); sc != "" {
			ms = append(ms, sc)
		}
		return parentOf(ms)
	}
	var names []string
	for _, p := range l.Params() {
		names = append(names, moduleOf(p.Name))
	}
	return common(names)
}

// modules lists the module names of the layers that have one.
func modules(ls []layers.Layer) []string {
	var out []string
	for _, l := range ls {
		if m := moduleName(l); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// parentOf is the module that contains every one of names: their longest
// common dotted prefix, shortened by a component when it is one of them
// (a block with one child with parameters is that child's parent).
func parentOf(names []string) string {
	c := common(names)
	if slices.Contains(names, c) {
		return moduleOf(c)
	}
	return c
}

// common is the longest dotted prefix shared by every name.
func common(names []string) string {
	if len(names) == 0 {
		return ""
	}
	parts := strings.Split(names[0], ".")
	for _, n := range names[1:] {
		q := strings.Split(n, ".")
		k := 0
		for k < len(parts) && k < len(q) && parts[k] == q[k] {
			k++
		}
		parts = parts[:k]
	}
	return strings.Join(parts, ".")
}

// moduleOf strips the last component of a dotted name ("" when there is
// only one).
func moduleOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return ""
}

// owner names the node of a layer with parameters: the module of its first
// parameter, or the parameter itself when its name has no module part.
func owner(p *layers.Param) string {
	if m := moduleOf(p.Name); m != "" {
		return m
	}
	return p.Name
}

// tensorInfo describes a float tensor [batch, shape...].
func tensorInfo(name string, shape []int, doc string) *onnxpb.ValueInfoProto {
	ds := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}}}
	for _, d := range shape {
		ds = append(ds, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{Name: name, DocString: doc, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: int32(onnxpb.TensorProto_FLOAT),
			Shape:    &onnxpb.TensorShapeProto{Dim: ds},
		}},
	}}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

func int64s(v ...int) []int64 {
	out := make([]int64, len(v))
	for i, d := range v {
		out[i] = int64(d)
	}
	return out
}

func product(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// dims writes a shape as 3x32x32.
func dims(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// floats writes 0.4914,0.4822,0.4465.
func floats(v []float32) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprint(f)
	}
	return strings.Join(parts, ",")
}

// graphName is the graph's name: the network's, without a file's directory.
func graphName(arch string) string {
	if i := strings.LastIndexAny(arch, `/\`); i >= 0 {
		arch = arch[i+1:]
	}
	if arch == "" {
		return "vkcnn"
	}
	return arch
}
