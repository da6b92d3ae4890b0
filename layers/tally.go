package layers

import "github.com/vkcnn/vkcnn/backend"

// tally is what a recorded pass keeps on the device between runs: the step
// counters (backend.Counters) and the accumulated loss sum and correct count.
type tally struct {
	ctr, loss, correct backend.Tensor
}

func newTally(b backend.Backend) (*tally, error) {
	var t tally
	var err error
	if t.ctr, err = b.NewTensor(backend.U32, 2); err != nil {
		return nil, err
	}
	if t.loss, err = b.NewTensor(backend.F32, 1); err != nil {
		return nil, err
	}
	if t.correct, err = b.NewTensor(backend.U32, 1); err != nil {
		return nil, err
	}
	return &t, nil
}

// reset starts a pass at global step step, batch 0, with nothing accumulated.
func (t *tally) reset(b backend.Backend, step uint64) error {
	if err := t.restart(b, step); err != nil {
		return err
	}
	if err := b.Upload(t.loss, []float32{0}); err != nil {
		return err
	}
	return b.Upload(t.correct, []uint32{0})
}

// restart points the counters at batch 0 of another index list (the last,
// short batch) without touching what has accumulated.
func (t *tally) restart(b backend.Backend, step uint64) error {
	return b.Upload(t.ctr, []uint32{uint32(step), 0})
}

// read returns the loss sum and correct count accumulated so far.
func (t *tally) read(b backend.Backend) (loss float64, correct int, err error) {
	l := make([]float32, 1)
	c := make([]uint32, 1)
	if err := b.Download(t.loss, l); err != nil {
		return 0, 0, err
	}
	if err := b.Download(t.correct, c); err != nil {
		return 0, 0, err
	}
	return float64(l[0]), int(c[0]), nil
}
