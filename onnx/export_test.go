package onnx

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
)

var cifarClasses = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// weightsOf gives every state_dict entry distinct values, so a test can
// tell which tensor landed where.
func weightsOf(m *layers.Model) map[string][]float32 {
	w := map[string][]float32{}
	for k, p := range m.Params() {
		v := make([]float32, p.Len())
		for i := range v {
			v[i] = float32(k) + float32(i%97)/100
		}
		w[p.Name] = v
	}
	return w
}

// build builds a network description for CIFAR-10 and exports it, after a
// round trip through the wire format, as a reader would see it.
func build(t *testing.T, name, text string) (*arch.Network, *onnxpb.ModelProto) {
	t.Helper()
	nw, err := arch.Build(name, text, arch.CIFAR10)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := Export(nw.Model, weightsOf(nw.Model), Info{C: 3, H: 32, W: 32, Classes: cifarClasses, Arch: name, ArchSource: text, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	back := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(mp, back) {
		t.Fatal("the model decodes to something else than was encoded")
	}
	return nw, back
}

func zoo(t *testing.T, name string) (*arch.Network, *onnxpb.ModelProto) {
	t.Helper()
	text, ok := arch.Zoo(name)
	if !ok {
		t.Fatalf("no zoo network %s", name)
	}
	return build(t, name, text)
}

func opTypes(g *onnxpb.GraphProto) []string {
	var out []string
	for _, n := range g.Node {
		out = append(out, n.OpType)
	}
	return out
}

func nodeNames(g *onnxpb.GraphProto) []string {
	var out []string
	for _, n := range g.Node {
		out = append(out, n.Name)
	}
	return out
}

func node(t *testing.T, g *onnxpb.GraphProto, name string) *onnxpb.NodeProto {
	t.Helper()
	for _, n := range g.Node {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s among %v", name, nodeNames(g))
	return nil
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.Attribute {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// shapeOf writes a value's dimensions, the batch as its name.
func shapeOf(v *onnxpb.ValueInfoProto) []string {
	var out []string
	for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			out = append(out, p)
		} else {
			out = append(out, strconv.FormatInt(d.GetDimValue(), 10))
		}
	}
	return out
}

func floatsOf(t *testing.T, tp *onnxpb.TensorProto) []float32 {
	t.Helper()
	if tp.DataType != int32(onnxpb.TensorProto_FLOAT) || len(tp.RawData)%4 != 0 {
		t.Fatalf("%s: data type %d with %d raw bytes", tp.Name, tp.DataType, len(tp.RawData))
	}
	v := make([]float32, len(tp.RawData)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(tp.RawData[4*i:]))
	}
	return v
}

// TestSeed: the tutorial's network as a graph: its ops in order, PyTorch's
// names, a dynamic batch, the attributes of each op, the weights where
// their names say.
func TestSeed(t *testing.T) {
	nw, mp := zoo(t, "seed")
	g := mp.Graph
	if mp.IrVersion != IRVersion || len(mp.OpsetImport) != 1 || mp.OpsetImport[0].Domain != "" || mp.OpsetImport[0].Version != Opset {
		t.Errorf("IR %d, opsets %v: want IR %d and the default domain at %d", mp.IrVersion, mp.OpsetImport, IRVersion, Opset)
	}
	if got, want := opTypes(g), []string{"Conv", "Relu", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"}; !slices.Equal(got, want) {
		t.Errorf("ops %v, want %v", got, want)
	}
	if got, want := nodeNames(g), []string{"conv1", "relu_1", "conv2", "relu_4", "maxpool_5", "flatten_6", "fc3", "relu_8", "fc4"}; !slices.Equal(got, want) {
		t.Errorf("node names %v, want %v", got, want)
	}
	var inits []string
	w := weightsOf(nw.Model)
	for _, tp := range g.Initializer {
		inits = append(inits, tp.Name)
		if !slices.Equal(floatsOf(t, tp), w[tp.Name]) {
			t.Errorf("%s holds other values than the weights of that name", tp.Name)
		}
	}
	if want := []string{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"}; !slices.Equal(inits, want) {
		t.Errorf("initializers %v, want the state_dict's %v", inits, want)
	}
	if d := g.Initializer[0].Dims; !slices.Equal(d, []int64{32, 3, 3, 3}) {
		t.Errorf("conv1.weight dims %v", d)
	}
	if len(g.Input) != 1 || g.Input[0].Name != "input" || !slices.Equal(shapeOf(g.Input[0]), []string{"batch", "3", "32", "32"}) ||
		g.Input[0].Type.GetTensorType().ElemType != int32(onnxpb.TensorProto_FLOAT) {
		t.Errorf("inputs %v: want one float input [batch,3,32,32]", g.Input)
	}
	if len(g.Output) != 1 || g.Output[0].Name != "logits" || !slices.Equal(shapeOf(g.Output[0]), []string{"batch", "10"}) {
		t.Errorf("outputs %v: want logits [batch,10]", g.Output)
	}
	if in := node(t, g, "conv1").Input; !slices.Equal(in, []string{"input", "conv1.weight", "conv1.bias"}) {
		t.Errorf("conv1 reads %v", in)
	}
	if out := node(t, g, "fc4").Output; !slices.Equal(out, []string{"logits"}) {
		t.Errorf("the last node writes %v, want logits", out)
	}
	for _, tc := range []struct {
		node, attr string
		ints       []int64
	}{
		{"conv1", "kernel_shape", []int64{3, 3}}, {"conv1", "pads", []int64{1, 1, 1, 1}}, {"conv2", "strides", []int64{1, 1}},
		{"maxpool_5", "kernel_shape", []int64{2, 2}}, {"maxpool_5", "strides", []int64{2, 2}}, {"maxpool_5", "pads", []int64{0, 0, 0, 0}},
	} {
		if a := attr(node(t, g, tc.node), tc.attr); a == nil || !slices.Equal(a.Ints, tc.ints) {
			t.Errorf("%s.%s = %v, want %v", tc.node, tc.attr, a, tc.ints)
		}
	}
	if a := attr(node(t, g, "flatten_6"), "axis"); a == nil || a.I != 1 {
		t.Errorf("flatten axis %v", a)
	}
	if a := attr(node(t, g, "fc3"), "transB"); a == nil || a.I != 1 {
		t.Errorf("fc3 transB %v, want 1 (weights are [out,in])", a)
	}
	// Every intermediate tensor's shape is recorded, batch first.
	shapes := map[string][]string{}
	for _, v := range g.ValueInfo {
		shapes[v.Name] = shapeOf(v)
	}
	for name, want := range map[string][]string{"conv1": {"batch", "32", "32", "32"}, "maxpool_5": {"batch", "32", "16", "16"}, "flatten_6": {"batch", "8192"}, "fc3": {"batch", "512"}} {
		if !slices.Equal(shapes[name], want) {
			t.Errorf("%s's shape %v, want %v", name, shapes[name], want)
		}
	}
	meta := map[string]string{}
	for _, p := range mp.MetadataProps {
		meta[p.Key] = p.Value
	}
	var classes []string
	if err := json.Unmarshal([]byte(meta["classes"]), &classes); err != nil || !slices.Equal(classes, cifarClasses) {
		t.Errorf("metadata classes %q: %v", meta["classes"], err)
	}
	if meta["input_size"] != "3x32x32" || meta["arch"] != "seed" || meta["normalization"] != "none" || !strings.Contains(meta["arch_source"], "fc4: linear classes") || meta["vkcnn_version"] != "test" {
		t.Errorf("metadata %v", meta)
	}
}

// TestZoo: every zoo network exports to a well-formed graph: each node reads
// tensors defined before it, every state_dict entry but the counters is an
// initializer under its own name, the normalization comes first, and the
// last node writes the logits.
func TestZoo(t *testing.T) {
	for _, name := range arch.Names() {
		t.Run(name, func(t *testing.T) {
			nw, mp := zoo(t, name)
			g := mp.Graph
			defined := map[string]bool{"input": true}
			inits := map[string]*onnxpb.TensorProto{}
			for _, tp := range g.Initializer {
				defined[tp.Name] = true
				inits[tp.Name] = tp
			}
			names := map[string]bool{}
			for _, n := range g.Node {
				if names[n.Name] {
					t.Errorf("two nodes named %s", n.Name)
				}
				names[n.Name] = true
				for _, in := range n.Input {
					if !defined[in] {
						t.Errorf("node %s reads %s before anything writes it", n.Name, in)
					}
				}
				for _, out := range n.Output {
					if defined[out] {
						t.Errorf("node %s writes %s, which already exists", n.Name, out)
					}
					defined[out] = true
				}
			}
			if last := g.Node[len(g.Node)-1]; !slices.Equal(last.Output, []string{"logits"}) {
				t.Errorf("the last node %s writes %v", last.Name, last.Output)
			}
			for _, p := range nw.Model.Params() {
				tp, ok := inits[p.Name]
				if p.Kind == layers.Counter {
					if ok {
						t.Errorf("%s, a training counter, is in the graph", p.Name)
					}
					continue
				}
				if !ok {
					t.Errorf("state_dict entry %s is not an initializer", p.Name)
					continue
				}
				if !slices.Equal(tp.Dims, int64s(p.Shape...)) {
					t.Errorf("%s: dims %v, shape %v", p.Name, tp.Dims, p.Shape)
				}
			}
			if len(nw.Model.Std) > 0 {
				if ops := opTypes(g)[:2]; !slices.Equal(ops, []string{"Sub", "Div"}) {
					t.Errorf("the graph starts with %v, not the normalization", ops)
				}
				if mean := floatsOf(t, inits["normalize/mean"]); !slices.Equal(mean, nw.Model.Mean) || !slices.Equal(inits["normalize/mean"].Dims, []int64{1, 3, 1, 1}) {
					t.Errorf("normalize/mean %v %v, want %v as [1,3,1,1]", mean, inits["normalize/mean"].Dims, nw.Model.Mean)
				}
			}
			for _, n := range g.Node {
				if n.OpType == "BatchNormalization" {
					m := n.Name
					if want := []string{m + ".weight", m + ".bias", m + ".running_mean", m + ".running_var"}; !slices.Equal(n.Input[1:], want) {
						t.Errorf("%s reads %v, want %v", m, n.Input[1:], want)
					}
				}
			}
		})
	}
}

// TestResNet18: residual blocks are two branches joined by Add, the
// projection shortcut a Conv and BatchNormalization of its own.
func TestResNet18(t *testing.T) {
	_, mp := zoo(t, "resnet18")
	g := mp.Graph
	adds := 0
	for _, n := range g.Node {
		if n.OpType == "Add" {
			adds++
		}
	}
	if adds != 8 {
		t.Errorf("%d Add nodes, want one per BasicBlock (8)", adds)
	}
	add := node(t, g, "layer2.0/add")
	if !slices.Equal(add.Input, []string{"layer2.0.bn2", "layer2.0.shortcut.1"}) {
		t.Errorf("layer2.0/add adds %v, want the body's bn2 and the shortcut's BatchNorm", add.Input)
	}
	if sc := node(t, g, "layer2.0.shortcut.0"); sc.OpType != "Conv" || !slices.Equal(sc.Input, []string{"layer1/relu_3", "layer2.0.shortcut.0.weight"}) ||
		!slices.Equal(attr(sc, "strides").Ints, []int64{2, 2}) {
		t.Errorf("the shortcut conv: %v", sc)
	}
	// An identity shortcut adds the block's input itself.
	if in := node(t, g, "layer1.0/add").Input; !slices.Equal(in, []string{"layer1.0.bn2", "relu_2"}) {
		t.Errorf("layer1.0/add adds %v", in)
	}
	if n := node(t, g, "avgpool_7"); n.OpType != "GlobalAveragePool" {
		t.Errorf("the 4x4 average pool over a 4x4 map is %s, want GlobalAveragePool", n.OpType)
	}
}

// TestAirbench: GELU in its Erf form, BatchNorm's eps, the global max pool
// and the logit scale.
func TestAirbench(t *testing.T) {
	_, mp := zoo(t, "airbench-tiny")
	g := mp.Graph
	if ops := opTypes(g)[2:8]; !slices.Equal(ops, []string{"Conv", "Div", "Erf", "Add", "Mul", "Mul"}) {
		t.Errorf("whiten and its GELU: %v", ops)
	}
	if a := attr(node(t, g, "block1.norm1"), "epsilon"); a == nil || a.F != float32(1e-12) {
		t.Errorf("block1.norm1 epsilon %v, want 1e-12", a)
	}
	if n := node(t, g, "maxpool_5"); n.OpType != "GlobalMaxPool" {
		t.Errorf("maxpool 3 over the last 3x3 map is %s, want GlobalMaxPool", n.OpType)
	}
	if n := node(t, g, "block1/maxpool_1"); n.OpType != "MaxPool" {
		t.Errorf("block1's maxpool is %s", n.OpType)
	}
	scale := node(t, g, "scale_8")
	var factor float32
	for _, tp := range g.Initializer {
		if tp.Name == scale.Input[1] {
			factor = floatsOf(t, tp)[0]
		}
	}
	if scale.OpType != "Mul" || factor != float32(1.0/9) || !slices.Equal(scale.Output, []string{"logits"}) {
		t.Errorf("the logit scale: %v by %v", scale, factor)
	}
	if n := node(t, g, "head"); n.OpType != "Gemm" || len(n.Input) != 2 {
		t.Errorf("head, a linear layer without bias: %v", n)
	}
}

// TestReadmeModel: the README's model file, with nested blocks, a shortcut
// and GELU, names its nodes by their modules.
func TestReadmeModel(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- model file: this block is trained by cmd/vkcnn's tests -->\n```\n")
	text, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no marked model file block")
	}
	_, mp := build(t, "my.net", text)
	g := mp.Graph
	for _, name := range []string{"stem", "bn", "block.0.conv1", "block.0/relu_2", "block.0/add", "block/relu_1", "block.1/gelu_2", "block.1.shortcut.0", "block.1/add", "avgpool_4", "fc"} {
		node(t, g, name)
	}
	if in := node(t, g, "block.1/add").Input; !slices.Equal(in, []string{"block.1.bn2", "block.1.shortcut.1"}) {
		t.Errorf("block.1/add adds %v", in)
	}
	for _, n := range g.Node {
		if n.OpType == "Dropout" {
			t.Error("a Dropout node in an evaluation graph")
		}
	}
}

// unknown is a layer the exporter has never heard of.
type unknown struct{ p *layers.Param }

func (u unknown) Params() []*layers.Param {
	if u.p == nil {
		return nil
	}
	return []*layers.Param{u.p}
}

func (unknown) Bind(backend.Backend, backend.Tensor, backend.Tensor, layers.Mode) (layers.Bound, error) {
	return nil, nil
}

// TestRefused: what the export cannot express is refused with the layer's
// name and the reason.
func TestRefused(t *testing.T) {
	conv := func() *layers.Conv2d { return layers.NewConv2d("stem", 3, 4, 3, 1, 1) }
	head := func(in int) []layers.Layer {
		return []layers.Layer{layers.Flatten{}, layers.NewLinear("fc", in, 10)}
	}
	tests := []struct {
		name string
		m    *layers.Model
		want []string
	}{
		{"unknown layer with parameters", &layers.Model{Layers: []layers.Layer{conv(), &layers.Sequential{Layers: []layers.Layer{
			layers.ReLU{}, unknown{&layers.Param{Name: "block.odd.weight", Shape: []int{1}}}}}}},
			[]string{"layer block.odd", "unknown", "does not know this layer type"}},
		{"unknown layer without parameters", &layers.Model{Layers: []layers.Layer{conv(), &layers.Sequential{Layers: []layers.Layer{
			layers.NewConv2d("block.c", 4, 4, 1, 1, 0), unknown{}}}}},
			[]string{"layer block/layer_1", "does not know this layer type"}},
		{"linear before flatten", &layers.Model{Layers: []layers.Layer{conv(), layers.NewLinear("fc", 4, 10)}},
			[]string{"layer fc (linear)", "put flatten before it"}},
		{"global pool of a non-square map", &layers.Model{Layers: []layers.Layer{conv(), &layers.Sequential{Layers: []layers.Layer{
			layers.NewConv2d("b.c", 4, 4, 1, 1, 0), layers.AvgPool2d{Global: true}}}}},
			[]string{"layer b/avgpool_1 (avgpool global)", "32x16 map"}},
		{"residual branches that differ", &layers.Model{Layers: append([]layers.Layer{conv(), &layers.Residual{
			Body: []layers.Layer{layers.NewConv2d("res.conv", 4, 8, 1, 1, 0)}}}, head(8*32*32)...)},
			[]string{"layer res (residual)", "8x32x32", "4x32x32"}},
		{"no logits", &layers.Model{Layers: []layers.Layer{conv(), layers.ReLU{}}},
			[]string{"ends with shape 4x32x32", "flatten and a linear layer"}},
		{"nothing computed", &layers.Model{Layers: []layers.Layer{&layers.Dropout{P: 0.5}}},
			[]string{"computes nothing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := 32
			if strings.Contains(tc.name, "non-square") {
				w = 16
			}
			_, err := Export(tc.m, weightsOf(tc.m), Info{C: 3, H: 32, W: w, Classes: cifarClasses})
			if err == nil {
				t.Fatal("exported")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%q is not one line", err)
			}
		})
	}
	t.Run("weights missing", func(t *testing.T) {
		m := layers.Seed()
		w := weightsOf(m)
		delete(w, "conv2.bias")
		if _, err := Export(m, w, Info{C: 3, H: 32, W: 32, Classes: cifarClasses}); err == nil || !strings.Contains(err.Error(), "no weights for conv2.bias") {
			t.Errorf("got %v", err)
		}
	})
}

// TestWrite: the file is the encoded model, and a failed write leaves
// nothing behind.
func TestWrite(t *testing.T) {
	_, mp := zoo(t, "seed")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := Write(path, mp); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Marshal(mp)
	if !slices.Equal(got, want) {
		t.Error("the file differs from the encoded model")
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir.onnx"), mp); err == nil {
		t.Error("wrote into a missing directory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries after a failed write, want only m.onnx", len(entries))
	}
}
