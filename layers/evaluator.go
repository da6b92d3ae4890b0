package layers

import (
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Evaluate runs the model in evaluation mode over the test set, with the
// recipe's test-time augmentation, and returns the mean loss, the accuracy
// (0-1) and each image's predicted class. Its programs are recorded on the
// first call and replayed after.
func (t *Trainer) Evaluate() (loss, accuracy float64, pred []uint32, err error) {
	if err := t.RecordEvaluation(); err != nil {
		return 0, 0, nil, err
	}
	return t.eval.Evaluate()
}

// RecordEvaluation records the evaluation programs if Evaluate has not yet
// (it allocates what evaluation needs, so a memory measure can see it).
func (t *Trainer) RecordEvaluation() (err error) {
	if t.eval == nil {
		t.eval, err = newEvaluator(t.b.Backend, t.m, t.test, t.c.EvalBatch, t.c.TTA)
	}
	return err
}

// Evaluator evaluates a model on a test set resident on the device, with
// one recorded program for the full batches and one for the last, short one.
type Evaluator struct {
	b                  *owned
	test               *dataset
	batch              int
	tally              *tally
	full, tail         backend.Program
	fullPred, tailPred backend.Tensor
	views              []ttaView
}

// ttaView is one test-time view of every image and its weight in the mean of
// the logits.
type ttaView struct {
	g backend.GatherParams // only the view's fields: Pad, Reflect, Fixed, DX, DY, Mirror
	w float32
}

// ttaViews are the views of each test-time augmentation level, airbench's:
// level 1 the image and its mirror, level 2 also the image translated one
// pixel up-left and down-right (reflect-padded), each with its mirror.
var ttaViews = func() [][]ttaView {
	plain := func(mirror bool, w float32) ttaView {
		return ttaView{backend.GatherParams{Fixed: true, Mirror: mirror}, w}
	}
	shifted := func(d int, mirror bool) ttaView {
		return ttaView{backend.GatherParams{Pad: 1, Reflect: true, Fixed: true, DX: d, DY: d, Mirror: mirror}, 0.125}
	}
	return [][]ttaView{
		{{w: 1}},
		{plain(false, 0.5), plain(true, 0.5)},
		{plain(false, 0.25), plain(true, 0.25), shifted(0, false), shifted(0, true), shifted(2, false), shifted(2, true)},
	}
}()

// NewEvaluator uploads test records (a label byte and an image of the
// model's input shape each, as NewTrainer takes them) and records
// evaluation in batches of batch images (0: DefaultEvalBatch) with test-time
// augmentation level tta (see Config.TTA).
func NewEvaluator(b backend.Backend, m *Model, records []byte, batch, tta int) (*Evaluator, error) {
	o := &owned{Backend: b}
	d, err := upload(o, m, records)
	if err != nil {
		o.free()
		return nil, err
	}
	e, err := newEvaluator(o, m, d, batch, tta)
	if err != nil {
		o.free()
	}
	return e, err
}

// newEvaluator records evaluation over d; it frees what it allocates
// through b on Close (b may already be an owned backend).
func newEvaluator(b backend.Backend, m *Model, d *dataset, batch, tta int) (_ *Evaluator, err error) {
	if batch <= 0 {
		batch = DefaultEvalBatch
	}
	if tta < 0 || tta >= len(ttaViews) {
		return nil, fmt.Errorf("test-time augmentation level %d: must be 0, 1 or 2", tta)
	}
	o, ok := b.(*owned)
	if !ok {
		o = &owned{Backend: b}
	}
	e := &Evaluator{b: o, test: d, batch: min(batch, d.n), views: ttaViews[tta]}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.tally, err = newTally(o); err != nil {
		return nil, err
	}
	full := d.n / e.batch
	order := make([]uint32, d.n)
	for i := range order {
		order[i] = uint32(i)
	}
	if e.full, e.fullPred, err = e.record(m, e.batch, order[:full*e.batch]); err != nil {
		return nil, err
	}
	if r := d.n % e.batch; r > 0 {
		if e.tail, e.tailPred, err = e.record(m, r, order[full*e.batch:]); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// record records gather → forward → loss and argmax for batches of n images
// drawn in order from the index list idx.
func (e *Evaluator) record(m *Model, n int, idx []uint32) (p backend.Program, pred backend.Tensor, err error) {
	b := e.b
	x, labels, err := batchTensors(b, m, n)
	if err != nil {
		return nil, nil, err
	}
	indices, err := b.NewTensor(backend.U32, len(idx))
	if err != nil {
		return nil, nil, err
	}
	if err := b.Upload(indices, idx); err != nil {
		return nil, nil, err
	}
	if pred, err = b.NewTensor(backend.U32, n); err != nil {
		return nil, nil, err
	}
	nt, err := m.bind(b, x, false, e.tally.ctr, 0)
	if err != nil {
		return nil, nil, err
	}
	norm, err := m.normalization()
	if err != nil {
		return nil, nil, err
	}
	p = b.NewProgram()
	logits := nt.Out()
	var sum, scaled backend.Tensor
	if len(e.views) > 1 {
		if sum, err = b.NewTensor(backend.F32, logits.Shape()...); err != nil {
			return nil, nil, err
		}
		if scaled, err = b.NewTensor(backend.F32, logits.Shape()...); err != nil {
			return nil, nil, err
		}
	}
	for i, v := range e.views {
		g := v.g
		g.Mean, g.Std = norm.Mean, norm.Std
		p.Gather(e.test.records, indices, e.tally.ctr, x, labels, g)
		nt.Forward(p)
		switch {
		case sum == nil:
		case i == 0:
			p.Scale(logits, sum, v.w)
		default:
			p.Scale(logits, scaled, v.w)
			p.Add(sum, scaled, sum)
		}
	}
	if sum != nil {
		logits = sum
	}
	p.SoftmaxCrossEntropy(logits, labels, nil, e.tally.loss, e.tally.correct, backend.LossParams{})
	p.Argmax(logits, pred)
	p.Step(e.tally.ctr)
	if err := p.Err(); err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("recording evaluation (batch %d): %w", n, err)
	}
	return p, pred, nil
}

// Evaluate runs the model over every test image and returns the mean loss,
// the accuracy (0-1) and each image's predicted class.
func (e *Evaluator) Evaluate() (loss, accuracy float64, pred []uint32, err error) {
	if err := e.tally.reset(e.b, 0); err != nil {
		return 0, 0, nil, err
	}
	pred = make([]uint32, 0, e.test.n)
	run := func(p backend.Program, predT backend.Tensor) error {
		if err := p.Run(1); err != nil {
			return fmt.Errorf("evaluating images %d-: %w", len(pred), err)
		}
		got := make([]uint32, predT.Len())
		if err := e.b.Download(predT, got); err != nil {
			return err
		}
		pred = append(pred, got...)
		return nil
	}
	for range e.test.n / e.batch {
		if err := run(e.full, e.fullPred); err != nil {
			return 0, 0, nil, err
		}
	}
	if e.tail != nil {
		// The short batch reads its own index list from position 0.
		if err := e.tally.restart(e.b, 0); err != nil {
			return 0, 0, nil, err
		}
		if err := run(e.tail, e.tailPred); err != nil {
			return 0, 0, nil, err
		}
	}
	sum, correct, err := e.tally.read(e.b)
	if err != nil {
		return 0, 0, nil, err
	}
	return sum / float64(e.test.n), float64(correct) / float64(e.test.n), pred, nil
}

// Labels are the test images' labels, in order.
func (e *Evaluator) Labels() []uint8 { return e.test.labels }

// Close frees the recorded programs and the tensors the evaluator made.
func (e *Evaluator) Close() error {
	for _, p := range []backend.Program{e.full, e.tail} {
		if p != nil {
			p.Close()
		}
	}
	e.b.free()
	return nil
}
