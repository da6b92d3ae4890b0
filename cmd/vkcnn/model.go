package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/layers"
)

// Metadata keys of model.safetensors that record the architecture and the
// data it was trained on, so that eval, predict and export of vkcnn's own
// checkpoints need no --arch and know the class names and input shape.
// Checkpoints without the data keys are CIFAR-10's (vkcnn trained nothing
// else before it recorded them).
const (
	archNameKey   = "vkcnn.arch"
	archSourceKey = "vkcnn.arch_source"
	// classesKey is a JSON list of the class names, by label.
	classesKey = "vkcnn.classes"
	// inputKey is the image shape, "CxHxW" (e.g. 1x28x28).
	inputKey = "vkcnn.input"
	// normalizationKey is the input normalization, as a model file's
	// normalize line writes it ("mean=0.1307 std=0.3081"), or "none".
	normalizationKey = "vkcnn.normalization"
	// datasetKey is the data set's kind (dataset.Name): predict prepares an
	// image as that kind's reader did (centre crop for an image folder).
	datasetKey = "vkcnn.dataset"
)

// addArchFlag adds -a/--arch, the convention of PyTorch's reference
// training scripts.
func addArchFlag(cmd *cobra.Command, p *string, def string) {
	cmd.Flags().StringVarP(p, "arch", "a", def, fmt.Sprintf("architecture: a zoo network (%s; see vkcnn models) or a model file", strings.Join(arch.Names(), ", ")))
}

// archOf resolves the network for a weights file: --arch when given (the
// recorded description when it names the zoo network the file records),
// else the architecture the file records, else the default (foreign
// weights of the tutorial's network).
func archOf(flag, weights string, in arch.Input) (*arch.Network, error) {
	meta, err := checkpoint.Metadata(weights)
	if err != nil {
		return nil, err
	}
	src, recorded := meta[archSourceKey]
	// --arch naming the zoo network the checkpoint records takes the
	// recorded description, which adaptZoo may have fitted to its data.
	if _, zoo := arch.Zoo(flag); flag != "" && !(recorded && zoo && flag == meta[archNameKey]) {
		return arch.Load(flag, in)
	}
	if recorded {
		nw, err := arch.Build(meta[archNameKey], src, in)
		if err != nil {
			return nil, fmt.Errorf("%s records an architecture that does not build: %w", weights, err)
		}
		return nw, nil
	}
	return arch.Load(arch.Default, in)
}

// archMeta is what a checkpoint records of its architecture.
func archMeta(nw *arch.Network) map[string]string {
	return map[string]string{archNameKey: nw.Name, archSourceKey: nw.Source}
}

// modelMeta is what a checkpoint records of its architecture and of the
// data d it is trained on (d nil: the architecture alone).
func modelMeta(nw *arch.Network, d *dataset.Dataset) map[string]string {
	meta := archMeta(nw)
	if d == nil {
		return meta
	}
	names, _ := json.Marshal(d.Classes) // strings always marshal
	meta[classesKey] = string(names)
	meta[inputKey] = fmt.Sprintf("%dx%dx%d", d.Channels, d.Height, d.Width)
	meta[datasetKey] = d.Name
	meta[normalizationKey] = "none"
	if m := nw.Model; len(m.Std) > 0 {
		meta[normalizationKey] = "mean=" + floatList(m.Mean) + " std=" + floatList(m.Std)
	}
	return meta
}

// floatList writes float32 values as a model file does: comma-separated,
// each in the fewest digits that read back as the same float32.
func floatList(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return strings.Join(s, ",")
}

// modelInfo is what a checkpoint says of the data it was trained on.
type modelInfo struct {
	in      arch.Input
	classes []string
	dataset string // "" when the checkpoint does not say
	// recorded says the checkpoint records its input and classes; without
	// them (a checkpoint from before they were recorded, or weights from
	// elsewhere) they are CIFAR-10's.
	recorded bool
}

// readModelInfo reads a checkpoint's data keys (see the constants above),
// CIFAR-10's input and class names where it has none.
func readModelInfo(path string) (modelInfo, error) {
	meta, err := checkpoint.Metadata(path)
	if err != nil {
		return modelInfo{}, err
	}
	return infoFromMeta(meta, path)
}

// infoFromMeta is readModelInfo for metadata already read; what names the
// checkpoint in messages.
func infoFromMeta(meta map[string]string, what string) (modelInfo, error) {
	sv, hasInput := meta[inputKey]
	names, hasClasses := meta[classesKey]
	if !hasInput && !hasClasses {
		return modelInfo{in: arch.CIFAR10, classes: cifar10.ClassNames()}, nil
	}
	bad := func(key string) error {
		return fmt.Errorf("%s: its metadata has a damaged %s; pass --arch and --data to say what it is, or train it again", what, key)
	}
	var in arch.Input
	if n, err := fmt.Sscanf(sv, "%dx%dx%d", &in.C, &in.H, &in.W); err != nil || n != 3 || in.C < 1 || in.H < 1 || in.W < 1 {
		return modelInfo{}, bad(inputKey)
	}
	var classes []string
	if err := json.Unmarshal([]byte(names), &classes); err != nil || len(classes) == 0 {
		return modelInfo{}, bad(classesKey)
	}
	in.Classes = len(classes)
	return modelInfo{in: in, classes: classes, dataset: meta[datasetKey], recorded: true}, nil
}

// checkData refuses to use a checkpoint (what: how to name it) with data of
// another input shape or class count than it records, before a shape
// mismatch of some tensor would say it less clearly. Class names that
// differ only warn: the same shapes may be meant (relabelled classes).
func checkData(info modelInfo, what string, d *dataset.Dataset, log io.Writer) error {
	if !info.recorded {
		return nil
	}
	in := input(d)
	if in != info.in {
		return fmt.Errorf("%s was trained on %s; --data %s has %s: use the model's own data set, or train one for this data",
			what, describeInput(info.in), d.Source, describeInput(in))
	}
	if !slices.Equal(info.classes, d.Classes) {
		fmt.Fprintf(log, "warning: %s was trained with the classes %s; %s names them %s\n", what, shortList(info.classes), d.Source, shortList(d.Classes))
	}
	return nil
}

// describeInput says "1x28x28 images of 10 classes".
func describeInput(in arch.Input) string {
	return fmt.Sprintf("%dx%dx%d images of %d classes", in.C, in.H, in.W, in.Classes)
}

// shortList writes the first few names of a list, for messages.
func shortList(names []string) string {
	const most = 5
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, ... (%d)", strings.Join(names[:most], ", "), len(names))
}

// networkFor builds the network named archName (text its description) for
// data d. The zoo's networks adapt to the data (see adaptZoo); a model
// file is used as written. When resuming, meta is the run's checkpoint
// metadata (what names the run) and the data must be the run's; otherwise
// meta is nil.
func networkFor(archName, archText string, d *dataset.Dataset, meta map[string]string, what string, log io.Writer) (*arch.Network, error) {
	if meta != nil {
		info, err := infoFromMeta(meta, what)
		if err != nil {
			return nil, err
		}
		if err := checkData(info, what, d, log); err != nil {
			return nil, err
		}
	}
	nw, err := arch.Build(archName, adaptZoo(archName, archText, d), input(d))
	if err != nil && input(d) != arch.CIFAR10 {
		// A network that fits CIFAR-10 may not fit this data: say what it
		// was built for, and the flag that changes an image folder's size.
		hint := ""
		if d.Name == dataset.ImageFolder {
			hint = "; --image-size sets the image folder's size"
		}
		return nil, fmt.Errorf("%w (building it for the data's %s%s)", err, describeInput(input(d)), hint)
	}
	return nw, err
}

// adaptZoo fits a zoo network's description to data d. The zoo's networks
// were written for CIFAR-10: their normalize lines hold CIFAR-10's
// figures, and airbench's whitening convolution has 24 filters, 2·3·2·2
// for 3 channels. For CIFAR-10 the description is returned unchanged (so a
// run is bit for bit what it was); for other data the normalize line takes
// the data set's own figures and the whitening convolution 2·C·k² filters.
// Networks without a normalize line (seed) stay without: the tutorial
// trains on unnormalized pixels. Model files, and zoo descriptions already
// adapted (a resumed run's), are returned as they are: a model file's
// normalize line is its author's decision.
func adaptZoo(name, text string, d *dataset.Dataset) string {
	zoo, ok := arch.Zoo(name)
	if !ok || zoo != text || d.Name == dataset.CIFAR10 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "normalize":
			lines[i] = fmt.Sprintf("%snormalize mean=%s std=%s", indent, floatList(f32s(d.Mean)), floatList(f32s(d.Std)))
		case len(f) >= 4 && f[0] == "whiten:" && f[1] == "conv" && strings.HasPrefix(f[3], "kernel="):
			k, err := strconv.Atoi(strings.TrimPrefix(f[3], "kernel="))
			if err != nil {
				continue
			}
			f[2] = strconv.Itoa(2 * d.Channels * k * k)
			lines[i] = indent + strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// sameNetwork says whether --arch flag (text its description) names the
// network of a run whose metadata is meta: the same description, or the
// same zoo network (which adaptZoo may have fitted to the run's data).
func sameNetwork(flag, text string, meta map[string]string) bool {
	if meta[archSourceKey] == text {
		return true
	}
	_, zoo := arch.Zoo(flag)
	return zoo && flag == meta[archNameKey]
}

// openModel opens the backend and loads weights for the architecture (see
// archOf) onto it.
func openModel(device, path, archFlag string, in arch.Input, log io.Writer) (backend.Backend, *arch.Network, error) {
	nw, err := archOf(archFlag, path, in)
	if err != nil {
		return nil, nil, err
	}
	b, err := openBackend(device, log)
	if err != nil {
		return nil, nil, err
	}
	if err := nw.Model.Alloc(b); err != nil {
		b.Close()
		return nil, nil, err
	}
	if err := loadWeights(b, nw.Model, path); err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, nw, nil
}

// loadWeights reads a safetensors state_dict of the model: every entry
// with its shape, integer buffers as int64, as PyTorch saves them.
func loadWeights(b backend.Backend, m *layers.Model, path string) error {
	var specs []checkpoint.Spec
	for _, p := range m.Params() {
		specs = append(specs, checkpoint.Spec{Name: p.Name, Shape: p.Shape, Int64: p.Kind == layers.Counter})
	}
	w, err := checkpoint.Load(path, specs)
	if err != nil {
		return err
	}
	return m.SetWeights(b, w)
}

// stateTensors are the model's state_dict and the momenta of its trained
// parameters, as checkpoint tensors.
func stateTensors(b backend.Backend, m *layers.Model) (weights, momenta []checkpoint.Tensor, err error) {
	w, err := m.Weights(b)
	if err != nil {
		return nil, nil, err
	}
	mo, err := m.Momenta(b)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range m.Params() {
		weights = append(weights, checkpoint.Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Data: w[p.Name], Int64: p.Kind == layers.Counter})
		if p.Trains() {
			momenta = append(momenta, checkpoint.Tensor{Name: p.Name + ".momentum", Shape: slices.Clone(p.Shape), Data: mo[p.Name]})
		}
	}
	return weights, momenta, nil
}

// resumeMeta is the metadata of the run being resumed, nil for a new run.
func resumeMeta(s *checkpoint.State) map[string]string {
	if s == nil {
		return nil
	}
	return s.Meta
}
