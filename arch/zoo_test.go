package arch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/layers"
)

// entry is one state_dict entry as a test expects it: name, shape, kind.
type entry struct {
	name  string
	shape []int
	kind  layers.Kind
}

func (e entry) String() string {
	return fmt.Sprintf("%s %v %s", e.name, e.shape, kindName(e.kind))
}

// kindName spells a layers.Kind for failure messages.
func kindName(k layers.Kind) string {
	switch k {
	case layers.Learnable:
		return "Learnable"
	case layers.Frozen:
		return "Frozen"
	case layers.Buffer:
		return "Buffer"
	case layers.Counter:
		return "Counter"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// stateDict lists a model's state_dict entries in order.
func stateDict(m *layers.Model) []entry {
	var out []entry
	for _, p := range m.Params() {
		out = append(out, entry{p.Name, slices.Clone(p.Shape), p.Kind})
	}
	return out
}

// weight is a learnable tensor entry.
func weight(name string, shape ...int) entry { return entry{name, shape, layers.Learnable} }

// convW is a Conv2d weight [out,in,k,k] named name.weight.
func convW(name string, out, in, k int) entry { return weight(name+".weight", out, in, k, k) }

// bn lists the five state_dict entries of a BatchNorm2d over c channels,
// in PyTorch's order; frozen says the affine weight does not train.
func bn(name string, c int, frozen bool) []entry {
	wk := layers.Learnable
	if frozen {
		wk = layers.Frozen
	}
	return []entry{
		{name + ".weight", []int{c}, wk},
		{name + ".bias", []int{c}, layers.Learnable},
		{name + ".running_mean", []int{c}, layers.Buffer},
		{name + ".running_var", []int{c}, layers.Buffer},
		{name + ".num_batches_tracked", []int{}, layers.Counter},
	}
}

// cat joins entries and lists of entries into one list.
func cat(parts ...any) []entry {
	var out []entry
	for _, p := range parts {
		switch p := p.(type) {
		case entry:
			out = append(out, p)
		case []entry:
			out = append(out, p...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return out
}

// equalEntries reports the first difference between two state_dicts.
func equalEntries(t *testing.T, what string, got, want []entry) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			t.Errorf("%s: state_dict entry %d is %q, want %q (%d entries, want %d)", what, i, g, w, len(got), len(want))
			return
		}
	}
}

// mustZoo builds a zoo network for in, failing the test on an error.
func mustZoo(t *testing.T, name string, in Input) *Network {
	t.Helper()
	text, ok := Zoo(name)
	if !ok {
		t.Fatalf("Zoo(%q): not found", name)
	}
	nw, err := Build(name, text, in)
	if err != nil {
		t.Fatalf("Build(%s, %+v): %v", name, in, err)
	}
	return nw
}

// airbenchWant is the state_dict of airbench94.py's network at widths w1, w2, w3.
func airbenchWant(w1, w2, w3, classes int) []entry {
	block := func(name string, in, out int) []entry {
		return cat(convW(name+".conv1", out, in, 3), bn(name+".norm1", out, true),
			convW(name+".conv2", out, out, 3), bn(name+".norm2", out, true))
	}
	return cat(convW("whiten", 24, 3, 2), weight("whiten.bias", 24),
		block("block1", 24, w1), block("block2", w1, w2), block("block3", w2, w3),
		weight("head.weight", classes, w3))
}

// resnet18Want builds, as kuangliu's ResNet.__init__ and BasicBlock do, the
// state_dict of the CIFAR ResNet-18: conv1, bn1, layer1..4 (two
// BasicBlocks each: conv1, bn1, conv2, bn2, then the shortcut where the
// shape changes), linear.
func resnet18Want(classes int) []entry {
	out := cat(convW("conv1", 64, 3, 3), bn("bn1", 64, false))
	in := 64
	for i, planes := range []int{64, 128, 256, 512} {
		stride := 1
		if i > 0 {
			stride = 2
		}
		for j := range 2 {
			p := fmt.Sprintf("layer%d.%d", i+1, j)
			out = cat(out, convW(p+".conv1", planes, in, 3), bn(p+".bn1", planes, false),
				convW(p+".conv2", planes, planes, 3), bn(p+".bn2", planes, false))
			if stride != 1 || in != planes {
				out = cat(out, convW(p+".shortcut.0", planes, in, 1), bn(p+".shortcut.1", planes, false))
			}
			in, stride = planes, 1
		}
	}
	return cat(out, weight("linear.weight", classes, 512), weight("linear.bias", classes))
}

// TestZooBuildsForCIFAR10 builds every zoo network for CIFAR-10 and checks
// it ends in ten logits and that its first comment line names it (vkcnn
// models lists that line).
func TestZooBuildsForCIFAR10(t *testing.T) {
	names := Names()
	if len(names) < 4 || !slices.Contains(names, Default) {
		t.Fatalf("Names() = %v: want the four zoo networks, %s among them", names, Default)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			nw := mustZoo(t, name, CIFAR10)
			if nw.Name != name || nw.Source == "" {
				t.Errorf("Name %q, %d bytes of source", nw.Name, len(nw.Source))
			}
			if len(nw.Model.Params()) == 0 || len(nw.Rows) == 0 {
				t.Errorf("%d params, %d rows", len(nw.Model.Params()), len(nw.Rows))
			}
			if !strings.HasPrefix(nw.Source, "# "+name+": ") {
				t.Errorf("the description's first line %q does not start with %q", strings.SplitN(nw.Source, "\n", 2)[0], "# "+name+": ")
			}
			via, err := Load(name, CIFAR10)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			equalEntries(t, "Load vs Build", stateDict(via.Model), stateDict(nw.Model))
		})
	}
}

// TestZooStateDict checks each zoo network's state_dict against the
// PyTorch module it reproduces: names, shapes and kinds, in order.
func TestZooStateDict(t *testing.T) {
	seed := []entry{
		convW("conv1", 32, 3, 3), weight("conv1.bias", 32),
		convW("conv2", 32, 32, 3), weight("conv2.bias", 32),
		weight("fc3.weight", 512, 8192), weight("fc3.bias", 512),
		weight("fc4.weight", 10, 512), weight("fc4.bias", 10),
	}
	airbench94 := cat(
		convW("whiten", 24, 3, 2), weight("whiten.bias", 24),
		convW("block1.conv1", 64, 24, 3),
		entry{"block1.norm1.weight", []int{64}, layers.Frozen},
		entry{"block1.norm1.bias", []int{64}, layers.Learnable},
		entry{"block1.norm1.running_mean", []int{64}, layers.Buffer},
		entry{"block1.norm1.running_var", []int{64}, layers.Buffer},
		entry{"block1.norm1.num_batches_tracked", []int{}, layers.Counter},
		convW("block1.conv2", 64, 64, 3), bn("block1.norm2", 64, true),
		convW("block2.conv1", 256, 64, 3), bn("block2.norm1", 256, true),
		convW("block2.conv2", 256, 256, 3), bn("block2.norm2", 256, true),
		convW("block3.conv1", 256, 256, 3), bn("block3.norm1", 256, true),
		convW("block3.conv2", 256, 256, 3), bn("block3.norm2", 256, true),
		weight("head.weight", 10, 256),
	)
	if got := airbenchWant(64, 256, 256, 10); !reflect.DeepEqual(got, airbench94) {
		t.Fatalf("airbenchWant disagrees with the literal list")
	}
	for _, tc := range []struct {
		name string
		want []entry
	}{
		{"seed", seed},
		{"airbench94", airbench94},
		{"airbench-tiny", airbenchWant(16, 32, 32, 10)},
		{"resnet18", resnet18Want(10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			equalEntries(t, tc.name, stateDict(mustZoo(t, tc.name, CIFAR10).Model), tc.want)
		})
	}
}

// TestZooSeedIsLayersSeed checks the zoo's seed is layers.Seed(), layer for
// layer: the same modules, parameters, dropout streams and probabilities.
func TestZooSeedIsLayersSeed(t *testing.T) {
	zoo := mustZoo(t, "seed", CIFAR10).Model
	goSeed := layers.Seed()
	equalEntries(t, "zoo seed vs layers.Seed", stateDict(zoo), stateDict(goSeed))
	var drops []layers.Dropout
	for _, l := range zoo.Layers {
		if d, ok := l.(*layers.Dropout); ok {
			drops = append(drops, *d)
		}
	}
	if want := []layers.Dropout{{P: 0.3, Stream: 1}, {P: 0.5, Stream: 2}}; !slices.Equal(drops, want) {
		t.Errorf("dropouts %+v, want %+v", drops, want)
	}
	if !reflect.DeepEqual(zoo, goSeed) {
		t.Errorf("the zoo's seed differs from layers.Seed():\n%#v\n%#v", zoo.Layers, goSeed.Layers)
	}
}

// TestResnet18 checks the ResNet-18's size and spot entries of its
// state_dict, written out independently of resnet18Want.
func TestResnet18(t *testing.T) {
	nw := mustZoo(t, "resnet18", CIFAR10)
	ps := nw.Model.Params()
	// 20 convolutions (stem, 16 in blocks, 3 shortcuts), 20 BatchNorms of
	// 5 entries, the linear layer's 2: 62 float tensors PyTorch's
	// parameters() has, 40 running statistics, 20 counters.
	kinds := map[layers.Kind]int{}
	trainable, values := 0, 0
	for _, p := range ps {
		kinds[p.Kind]++
		values += p.Len()
		if p.Trains() {
			trainable += p.Len()
		}
	}
	if len(ps) != 122 || kinds[layers.Learnable] != 62 || kinds[layers.Buffer] != 40 || kinds[layers.Counter] != 20 || kinds[layers.Frozen] != 0 {
		t.Errorf("%d entries (%v by kind), want 122: 62 learnable, 40 buffers, 20 counters", len(ps), kinds)
	}
	if trainable != 11_173_962 {
		t.Errorf("%d trainable parameters, want 11,173,962", trainable)
	}
	// 4800 BatchNorm channels, two running statistics each, and 20 counters.
	if values != 11_173_962+2*4800+20 {
		t.Errorf("%d state_dict values, want %d", values, 11_173_962+2*4800+20)
	}
	index := map[string]int{}
	for i, p := range ps {
		index[p.Name] = i
	}
	for _, e := range []entry{
		convW("conv1", 64, 3, 3),
		weight("bn1.weight", 64), weight("bn1.bias", 64),
		{"bn1.running_mean", []int{64}, layers.Buffer},
		{"bn1.num_batches_tracked", []int{}, layers.Counter},
		convW("layer1.0.conv1", 64, 64, 3),
		convW("layer2.0.shortcut.0", 128, 64, 1),
		{"layer2.0.shortcut.1.running_var", []int{128}, layers.Buffer},
		convW("layer3.0.conv1", 256, 128, 3),
		weight("layer4.1.bn2.bias", 512),
		weight("linear.weight", 10, 512), weight("linear.bias", 10),
	} {
		i, ok := index[e.name]
		if !ok {
			t.Errorf("no %s", e.name)
			continue
		}
		if got := (entry{ps[i].Name, ps[i].Shape, ps[i].Kind}); got.String() != e.String() {
			t.Errorf("got %v, want %v", got, e)
		}
	}
	for _, absent := range []string{"layer1.0.shortcut.0.weight", "layer2.1.shortcut.0.weight", "linear.running_mean"} {
		if _, ok := index[absent]; ok {
			t.Errorf("unexpected %s", absent)
		}
	}
	// A block's body comes before its shortcut, as BasicBlock registers them.
	order := []string{"layer2.0.conv1.weight", "layer2.0.bn1.weight", "layer2.0.conv2.weight",
		"layer2.0.bn2.num_batches_tracked", "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.weight",
		"layer2.0.shortcut.1.num_batches_tracked", "layer2.1.conv1.weight"}
	for i := 1; i < len(order); i++ {
		if index[order[i-1]]+1 > index[order[i]] || index[order[i]] == 0 {
			t.Errorf("%s (at %d) should come before %s (at %d)", order[i-1], index[order[i-1]], order[i], index[order[i]])
		}
	}
	if ps[0].Name != "conv1.weight" || ps[len(ps)-1].Name != "linear.bias" {
		t.Errorf("first %s, last %s", ps[0].Name, ps[len(ps)-1].Name)
	}
}

// TestZooNormalization checks each network's input normalization is its
// source's: airbench's CIFAR-10 statistics, kuangliu's deviations, none
// for the tutorial's seed.
func TestZooNormalization(t *testing.T) {
	cifarMean := []float32{0.4914, 0.4822, 0.4465}
	for _, tc := range []struct {
		name      string
		mean, std []float32
	}{
		{"seed", nil, nil},
		{"airbench94", cifarMean, []float32{0.2470, 0.2435, 0.2616}},
		{"airbench-tiny", cifarMean, []float32{0.2470, 0.2435, 0.2616}},
		{"resnet18", cifarMean, []float32{0.2023, 0.1994, 0.2010}},
	} {
		m := mustZoo(t, tc.name, CIFAR10).Model
		if !slices.Equal(m.Mean, tc.mean) || !slices.Equal(m.Std, tc.std) {
			t.Errorf("%s: mean %v std %v, want %v %v", tc.name, m.Mean, m.Std, tc.mean, tc.std)
		}
	}
}

// TestAirbenchModules checks what the state_dict does not show: airbench's
// BatchNorm settings, its 3x3 max-pool and the 1/9 logit scale.
func TestAirbenchModules(t *testing.T) {
	for _, name := range []string{"airbench94", "airbench-tiny"} {
		m := mustZoo(t, name, CIFAR10).Model
		var bns []*layers.BatchNorm2d
		var walk func([]layers.Layer)
		walk = func(ls []layers.Layer) {
			for _, l := range ls {
				switch l := l.(type) {
				case *layers.Sequential:
					walk(l.Layers)
				case *layers.BatchNorm2d:
					bns = append(bns, l)
				}
			}
		}
		walk(m.Layers)
		if len(bns) != 6 {
			t.Errorf("%s: %d BatchNorms, want 6", name, len(bns))
		}
		for _, n := range bns {
			if n.Eps != 1e-12 || n.Momentum != 0.4 || n.Weight.Kind != layers.Frozen {
				t.Errorf("%s: %s eps %g momentum %g weight %s", name, n.Weight.Name, n.Eps, n.Momentum, kindName(n.Weight.Kind))
			}
		}
		tail := m.Layers[len(m.Layers)-4:]
		want := []layers.Layer{layers.MaxPool2d{Kernel: 3, Stride: 3}, layers.Flatten{}}
		if !reflect.DeepEqual(tail[:2], want) {
			t.Errorf("%s: %#v before the head, want %#v", name, tail[:2], want)
		}
		if s, ok := tail[3].(layers.Scale); !ok || s.Factor != float32(1.0/9) {
			t.Errorf("%s: last layer %#v, want Scale 1/9", name, tail[3])
		}
	}
}

// TestInputDecides builds networks for other data: the input's channels,
// size and classes set the shapes of the first and last layers.
func TestInputDecides(t *testing.T) {
	mnist100 := Input{C: 1, H: 28, W: 28, Classes: 100}
	for _, tc := range []struct {
		name string
		in   Input
		want map[string][]int
	}{
		{"seed", mnist100, map[string][]int{
			"conv1.weight": {32, 1, 3, 3}, "fc3.weight": {512, 32 * 14 * 14}, "fc4.weight": {100, 512}, "fc4.bias": {100},
		}},
		{"airbench-tiny", Input{C: 3, H: 32, W: 32, Classes: 100}, map[string][]int{
			"whiten.weight": {24, 3, 2, 2}, "head.weight": {100, 32},
		}},
		{"resnet18", Input{C: 3, H: 32, W: 32, Classes: 100}, map[string][]int{
			"linear.weight": {100, 512}, "linear.bias": {100},
		}},
		// A 64x64 image leaves resnet18 an 8x8 map, which avgpool 4 makes 2x2.
		{"resnet18", Input{C: 3, H: 64, W: 64, Classes: 10}, map[string][]int{
			"linear.weight": {10, 2048},
		}},
	} {
		nw := mustZoo(t, tc.name, tc.in)
		got := map[string][]int{}
		for _, p := range nw.Model.Params() {
			got[p.Name] = p.Shape
		}
		for name, shape := range tc.want {
			if !slices.Equal(got[name], shape) {
				t.Errorf("%s for %+v: %s %v, want %v", tc.name, tc.in, name, got[name], shape)
			}
		}
		if last := nw.Rows[len(nw.Rows)-1].Out; !slices.Equal(last, []int{tc.in.Classes}) {
			t.Errorf("%s for %+v: ends with %v", tc.name, tc.in, last)
		}
	}
	// airbench's normalization has three channels: one-channel data cannot use it.
	text, _ := Zoo("airbench-tiny")
	if _, err := Build("airbench-tiny", text, mnist100); err == nil || !strings.Contains(err.Error(), "1 input channels") {
		t.Errorf("airbench-tiny on one channel: %v, want a normalize error", err)
	}
}
