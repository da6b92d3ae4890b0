package checkpoint

import (
	"github.com/vkcnn/vkcnn/internal/atomicfile"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
)

// File names of the training state inside a run's --out directory, beside
// model.safetensors.
const (
	ModelFile     = "model.safetensors"
	StateFile     = "state.json"
	OptimizerFile = "optimizer.safetensors"
)

// stateVersion is bumped when state.json changes incompatibly, so an old
// binary refuses a newer state instead of misreading it.
const stateVersion = 1

// stepKey is the optimizer file's metadata entry that ties it to state.json:
// the two files are replaced one after the other, and a crash between the
// renames must not let a resume pair momenta with the wrong step.
const stepKey = "vkcnn.step"

// State is what vkcnn train --resume needs beyond the model weights to go on
// exactly where a run stopped.
type State struct {
	// Epoch counts the epochs completed.
	Epoch int
	// Step counts the optimizer steps taken; it also ties the two state
	// files together (see SaveState).
	Step uint64
	// Seed is the run's random seed.
	Seed uint64

	// The hyperparameters the run was started with, so a resume can refuse
	// or warn about changed ones.
	LR          float64
	Momentum    float64
	WeightDecay float64
	BatchSize   int
	Augment     bool

	// Momenta are the SGD momentum buffers, one per parameter, named after
	// it with a ".momentum" suffix (conv1.weight.momentum).
	Momenta []Tensor
	// Weights are the model's parameters, saved as ModelFile (a plain
	// state_dict that PyTorch and vkcnn eval read too).
	Weights []Tensor
	// Meta is more string metadata for ModelFile (the architecture).
	Meta map[string]string
	// Recipe is the run's training recipe, by flag name, so that a resumed
	// run goes on with the same one.
	Recipe map[string]string
}

// stateJSON is state.json's layout; its field names are the file format.
type stateJSON struct {
	Version     int               `json:"version"`
	Epoch       int               `json:"epoch"`
	Step        uint64            `json:"step"`
	Seed        uint64            `json:"seed"`
	LR          float64           `json:"lr"`
	Momentum    float64           `json:"momentum"`
	WeightDecay float64           `json:"weight_decay"`
	BatchSize   int               `json:"batch_size"`
	Augment     bool              `json:"augment"`
	Recipe      map[string]string `json:"recipe,omitempty"`
}

// SaveState writes s into the directory dir as model.safetensors (the
// weights), optimizer.safetensors (the momenta) and then state.json (the
// scalars), each atomically. All three record s.Step, so if a crash falls
// between the renames LoadState refuses the mismatched files instead of
// resuming with weights or momenta from another step.
func SaveState(dir string, s State) error {
	js, err := json.MarshalIndent(stateJSON{
		Version:     stateVersion,
		Epoch:       s.Epoch,
		Step:        s.Step,
		Seed:        s.Seed,
		LR:          s.LR,
		Momentum:    s.Momentum,
		WeightDecay: s.WeightDecay,
		BatchSize:   s.BatchSize,
		Augment:     s.Augment,
		Recipe:      s.Recipe,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode training state for %s: %w", dir, err)
	}
	js = append(js, '\n')

	meta := map[string]string{"format": "pt", stepKey: strconv.FormatUint(s.Step, 10)}
	modelMeta := maps.Clone(meta)
	maps.Copy(modelMeta, s.Meta)
	if err := save(filepath.Join(dir, ModelFile), s.Weights, modelMeta); err != nil {
		return fmt.Errorf("save the model: %w", err)
	}
	if err := save(filepath.Join(dir, OptimizerFile), s.Momenta, meta); err != nil {
		return fmt.Errorf("save optimizer state: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, StateFile), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	})
	if err != nil {
		return fmt.Errorf("save training state: %w", err)
	}
	return nil
}

// LoadState reads the training state SaveState wrote into dir.
func LoadState(dir string) (State, error) {
	statePath := filepath.Join(dir, StateFile)
	js, err := os.ReadFile(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, &hintError{
			msg: fmt.Sprintf("%s holds no training state (%s): pass a --out directory of an earlier vkcnn train run", dir, StateFile),
			err: err,
		}
	}
	if err != nil {
		return State{}, fmt.Errorf("read training state: %w", err)
	}
	var sj stateJSON
	if err := json.Unmarshal(js, &sj); err != nil {
		return State{}, fmt.Errorf("%s is damaged (%v): start a fresh run or restore the file", statePath, err)
	}
	if sj.Version != stateVersion {
		return State{}, fmt.Errorf("%s has format version %d, this vkcnn reads version %d: resume with the vkcnn that wrote it", statePath, sj.Version, stateVersion)
	}

	optPath := filepath.Join(dir, OptimizerFile)
	buf, err := os.ReadFile(optPath)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, &hintError{
			msg: fmt.Sprintf("%s has %s but no %s: the run's directory is incomplete; start a fresh run", dir, StateFile, OptimizerFile),
			err: err,
		}
	}
	if err != nil {
		return State{}, fmt.Errorf("read optimizer state: %w", err)
	}
	momenta, _, err := stepTensors(optPath, buf, sj.Step, statePath)
	if err != nil {
		return State{}, err
	}
	modelPath := filepath.Join(dir, ModelFile)
	buf, err = os.ReadFile(modelPath)
	if err != nil {
		return State{}, fmt.Errorf("read the model of the run: %w", err)
	}
	weights, modelMeta, err := stepTensors(modelPath, buf, sj.Step, statePath)
	if err != nil {
		return State{}, err
	}
	// Meta is what the caller added; the format and step are this package's.
	meta := map[string]string{}
	for k, v := range modelMeta {
		if k != "format" && k != stepKey {
			meta[k] = v
		}
	}
	return State{
		Weights:     weights,
		Meta:        meta,
		Epoch:       sj.Epoch,
		Step:        sj.Step,
		Seed:        sj.Seed,
		LR:          sj.LR,
		Momentum:    sj.Momentum,
		WeightDecay: sj.WeightDecay,
		BatchSize:   sj.BatchSize,
		Augment:     sj.Augment,
		Recipe:      sj.Recipe,
		Momenta:     momenta,
	}, nil
}

// stepTensors parses a safetensors file that SaveState wrote and checks it
// is from step, the step state.json records; it returns the tensors and the
// file's metadata.
func stepTensors(path string, buf []byte, step uint64, statePath string) ([]Tensor, map[string]string, error) {
	f, err := parse(path, buf)
	if err != nil {
		return nil, nil, err
	}
	if got, want := f.meta[stepKey], strconv.FormatUint(step, 10); got != want {
		return nil, nil, fmt.Errorf("%s is from step %q but %s from step %s: a save was interrupted; start a fresh run",
			path, got, statePath, want)
	}
	out := make([]Tensor, 0, len(f.tensors))
	for _, t := range f.tensors {
		i64 := t.dtype == "I64"
		if err := t.checkDType(path, i64); err != nil {
			return nil, nil, err
		}
		shape, err := t.intShape(path)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, Tensor{Name: t.name, Shape: shape, Data: t.float32s(), Int64: i64})
	}
	return out, f.meta, nil
}
