package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// lookahead is the trainer's slow copy of the model state and the recorded
// update that pulls the two together.
type lookahead struct {
	m     *Model
	ema   map[*Param]backend.Tensor
	decay backend.Tensor // F32 [1], uploaded before each update
	p     backend.Program
}

// newLookahead copies the model's float state (parameters, frozen ones and
// buffers) as the slow copy and records the update.
func newLookahead(b backend.Backend, m *Model) (_ *lookahead, err error) {
	l := &lookahead{m: m, ema: map[*Param]backend.Tensor{}}
	if l.decay, err = b.NewTensor(backend.F32, 1); err != nil {
		return nil, err
	}
	w, err := m.Weights(b)
	if err != nil {
		return nil, err
	}
	l.p = b.NewProgram()
	for _, p := range m.Params() {
		if p.Kind == Counter {
			continue
		}
		e, err := b.NewTensor(backend.F32, p.Shape...)
		if err != nil {
			return nil, err
		}
		if err := b.Upload(e, w[p.Name]); err != nil {
			return nil, err
		}
		l.ema[p] = e
		l.p.Lookahead(p.Value, e, l.decay)
	}
	if err := l.p.Err(); err != nil {
		l.p.Close()
		return nil, fmt.Errorf("recording the lookahead update: %w", err)
	}
	return l, nil
}

// update runs ema = lerp(ema, θ, 1-decay), θ = ema over the whole state.
func (l *lookahead) update(b backend.Backend, decay float64) error {
	if err := b.Upload(l.decay, []float32{float32(decay)}); err != nil {
		return err
	}
	return l.p.Run(1)
}

// LookaheadState downloads the slow copy by state_dict name (nil without
// Lookahead), for a checkpoint.
func (t *Trainer) LookaheadState() (map[string][]float32, error) {
	if t.look == nil {
		return nil, nil
	}
	out := map[string][]float32{}
	for p, e := range t.look.ema {
		v := make([]float32, p.Len())
		if err := t.b.Download(e, v); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		out[p.Name] = v
	}
	return out, nil
}

// SetLookaheadState uploads a slow copy that LookaheadState saved.
func (t *Trainer) SetLookaheadState(w map[string][]float32) error {
	if t.look == nil {
		return fmt.Errorf("the recipe has no lookahead to restore")
	}
	for p, e := range t.look.ema {
		v, ok := w[p.Name]
		if !ok || len(v) != p.Len() {
			return fmt.Errorf("lookahead state of %s: missing or of the wrong size", p.Name)
		}
		if err := t.b.Upload(e, v); err != nil {
			return err
		}
	}
	return nil
}
