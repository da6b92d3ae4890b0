package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/checkpoint"
	"github.com/vkcnn/vkcnn/layers"
)

// Metadata keys of model.safetensors that record the architecture, so that
// eval and predict of vkcnn's own checkpoints need no --arch.
const (
	archNameKey   = "vkcnn.arch"
	archSourceKey = "vkcnn.arch_source"
)

// addArchFlag adds -a/--arch, the convention of PyTorch's reference
// training scripts.
func addArchFlag(cmd *cobra.Command, p *string, def string) {
	cmd.Flags().StringVarP(p, "arch", "a", def, fmt.Sprintf("architecture: a zoo network (%s; see vkcnn models) or a model file", strings.Join(arch.Names(), ", ")))
}

// archOf resolves the network for a weights file: --arch when given, else
// the architecture the file records, else the default (foreign weights of
// the tutorial's network).
func archOf(flag, weights string, in arch.Input) (*arch.Network, error) {
	if flag != "" {
		return arch.Load(flag, in)
	}
	meta, err := checkpoint.Metadata(weights)
	if err != nil {
		return nil, err
	}
	if src, ok := meta[archSourceKey]; ok {
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
