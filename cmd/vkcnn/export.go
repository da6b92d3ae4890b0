package main

import (
	// Aliased: the tests of this package name the built command "binary".
	endian "encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/onnx"
)

func exportCommand() *cobra.Command {
	var model, archFlag, out string
	cmd := &cobra.Command{
		Use:   "export --model FILE --out model.onnx",
		Short: "Write trained weights as an ONNX model for inference (onnxruntime, Netron, ...)",
		Long: fmt.Sprintf(`Export writes the network with its weights as an ONNX model (opset %d, float32)
in evaluation mode: BatchNorm uses its running statistics and dropout is gone.
Its input %q is [batch,3,32,32] RGB pixels scaled to [0,1] (value/255, as
torchvision's ToTensor gives them), with any batch size; the architecture's
normalization is inside the graph. Its output %q is [batch,classes].
The metadata records the class names, the input size, the normalization and
the architecture. Weights keep their PyTorch state_dict names.`, onnx.Opset, onnx.InputName, onnx.OutputName),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return fmt.Errorf("--model is required: the model.safetensors of a vkcnn train run")
			}
			if out == "" {
				return fmt.Errorf("--out is required: the ONNX file to write, e.g. --out model.onnx")
			}
			if err := checkExportOut(out, model); err != nil {
				return err
			}
			// The input and class names the checkpoint records (CIFAR-10's
			// for one that records none).
			info, err := readModelInfo(model)
			if err != nil {
				return err
			}
			in := info.in
			// The weights are only read, so the CPU reference serves whatever
			// the machine has.
			b, nw, err := openModel("cpu", model, archFlag, in, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer b.Close()
			w, err := nw.Model.Weights(b)
			if err != nil {
				return err
			}
			mp, err := onnx.Export(nw.Model, w, onnx.Info{
				C: in.C, H: in.H, W: in.W, Classes: info.classes,
				Arch: nw.Name, ArchSource: nw.Source, Version: version(),
			})
			if err != nil {
				return fmt.Errorf("cannot export %s to ONNX: %w", nw.Name, err)
			}
			if err := onnx.Write(out, mp); err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s, ONNX opset %d, %d nodes; input %q [batch,%d,%d,%d] in [0,1], output %q [batch,%d]\n",
				out, nw.Name, onnx.Opset, len(mp.Graph.Node), onnx.InputName, in.C, in.H, in.W, onnx.OutputName, in.Classes)
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "weights to export (model.safetensors)")
	cmd.Flags().StringVar(&out, "out", "", "the ONNX file to write (e.g. model.onnx)")
	addArchFlag(cmd, &archFlag, "")
	return cmd
}

// checkExportOut refuses, before any work, an --out that cannot be written
// or that would replace the weights being exported.
func checkExportOut(out, model string) error {
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("--out %s is a directory: name the file to write, e.g. %s", out, filepath.Join(out, "model.onnx"))
		}
		if ms, err := os.Stat(model); err == nil && os.SameFile(st, ms) {
			return fmt.Errorf("--out %s is the --model file itself: name another file, e.g. model.onnx", out)
		}
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: no directory %s to write into: create it first", out, dir)
	}
	return nil
}

// version is vkcnn's module version and source revision, as far as the
// build recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += " " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "+modified"
		}
	}
	return v
}

// writeLogits writes eval --logits: the model's evaluation-mode logits of
// every image of the split, in order, as little-endian float32 values
// (images × classes), computed from the pixels scaled to [0,1] as an
// exported ONNX model takes them, so the two can be compared.
func writeLogits(path string, b backend.Backend, m *layers.Model, s dataset.Split, in arch.Input) error {
	const batch = 100 // bounds the memory of a large test set
	per := in.C * in.H * in.W
	var logits []float32
	for lo := 0; lo < s.N; lo += batch {
		n := min(batch, s.N-lo)
		pixels := make([]float32, 0, n*per)
		for i := lo; i < lo+n; i++ {
			for _, v := range s.Image(i) {
				pixels = append(pixels, float32(v)/255)
			}
		}
		out, err := m.Logits(b, pixels, n, in.C, in.H, in.W)
		if err != nil {
			return fmt.Errorf("--logits: images %d-%d: %w", lo, lo+n-1, err)
		}
		logits = append(logits, out...)
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		buf := make([]byte, 4*len(logits))
		for i, v := range logits {
			endian.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing --logits %s: %w", path, err)
	}
	return nil
}
