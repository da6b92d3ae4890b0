package layers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vkcnn/vkcnn/backend"
)

// Config is a training recipe.
type Config struct {
	BatchSize int
	SGD       backend.SGDParams
	// Augment takes random 32x32 crops of images padded by 4 pixels and
	// flips half of them.
	Augment bool
	// Seed drives initialization, shuffling, dropout and augmentation.
	Seed uint64
	// EvalBatch is the batch size of evaluation (0: 1000).
	EvalBatch int
	// StepsPerRun fixes how many steps one submit runs (0: tuned to about
	// a quarter of a second); 1 reports progress after every step.
	StepsPerRun int
}

// Trainer trains a model on a data set resident on the backend: the records
// are uploaded once, each epoch uploads only its shuffled index list, and a
// training step is recorded once and replayed.
type Trainer struct {
	b     *owned
	m     *Model
	c     Config
	train *dataset
	test  *dataset

	tally       *tally
	indices     backend.Tensor // the epoch's order, full batches
	tailIndices backend.Tensor // the last, short batch's indices
	full, tail  backend.Program
	chunk       int // steps per Run, tuned to keep submits short
	eval        *Evaluator

	// Step counts the training steps taken so far; it seeds dropout and
	// augmentation, so a resumed run continues with the same draws.
	Step uint64
}

// dataset is a set of CIFAR-10 records on the device.
type dataset struct {
	records backend.Tensor
	n       int
	labels  []uint8
}

func upload(b backend.Backend, raw []byte) (*dataset, error) {
	n := len(raw) / backend.RecordSize
	if n == 0 || len(raw)%backend.RecordSize != 0 {
		return nil, fmt.Errorf("%d bytes are not whole CIFAR-10 records of %d bytes", len(raw), backend.RecordSize)
	}
	t, err := b.NewTensor(backend.U8, n, backend.RecordSize)
	if err != nil {
		return nil, fmt.Errorf("%d records: %w", n, err)
	}
	if err := b.Upload(t, raw); err != nil {
		return nil, err
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = raw[i*backend.RecordSize]
	}
	return &dataset{records: t, n: n, labels: labels}, nil
}

// NewTrainer uploads the records (raw CIFAR-10 binary records) and records
// the training step. The model's parameters must be allocated on b.
func NewTrainer(b backend.Backend, m *Model, c Config, train, test []byte) (_ *Trainer, err error) {
	if c.BatchSize < 1 {
		return nil, fmt.Errorf("batch size %d: must be at least 1", c.BatchSize)
	}
	t := &Trainer{b: &owned{Backend: b}, m: m, c: c, chunk: max(1, c.StepsPerRun)}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if t.train, err = upload(t.b, train); err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	if t.test, err = upload(t.b, test); err != nil {
		return nil, fmt.Errorf("test set: %w", err)
	}
	if t.c.BatchSize > t.train.n {
		return nil, fmt.Errorf("batch size %d is larger than the training set (%d images)", c.BatchSize, t.train.n)
	}
	if t.tally, err = newTally(t.b); err != nil {
		return nil, err
	}
	full := t.train.n / c.BatchSize
	if t.indices, err = t.b.NewTensor(backend.U32, full*c.BatchSize); err != nil {
		return nil, err
	}
	if t.full, err = t.recordStep(c.BatchSize, t.indices); err != nil {
		return nil, fmt.Errorf("batch size %d: %w", c.BatchSize, err)
	}
	// The last short batch, as PyTorch's DataLoader keeps it (drop_last=False).
	if r := t.train.n % c.BatchSize; r > 0 {
		if t.tailIndices, err = t.b.NewTensor(backend.U32, r); err != nil {
			return nil, err
		}
		if t.tail, err = t.recordStep(r, t.tailIndices); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Trainer) gatherParams(augment bool) (backend.GatherParams, error) {
	g, err := t.m.normalization()
	g.Seed = uint32(t.c.Seed)
	if augment {
		g.Pad, g.Flip = 4, true
	}
	return g, err
}

// recordStep records gather → forward → loss → backward → SGD → Step for a
// batch of n images drawn from indices.
func (t *Trainer) recordStep(n int, indices backend.Tensor) (backend.Program, error) {
	x, labels, err := batchTensors(t.b, n)
	if err != nil {
		return nil, err
	}
	nt, err := t.m.bind(t.b, x, true, t.tally.ctr, uint32(t.c.Seed))
	if err != nil {
		return nil, err
	}
	g, err := t.gatherParams(t.c.Augment)
	if err != nil {
		return nil, err
	}
	p := t.b.NewProgram()
	p.Gather(t.train.records, indices, t.tally.ctr, x, labels, g)
	nt.Forward(p)
	p.SoftmaxCrossEntropy(nt.Out(), labels, nt.DOut(), t.tally.loss, t.tally.correct, backend.LossParams{})
	nt.Backward(p)
	for _, prm := range t.m.Trainable() {
		p.SGD(prm.Value, prm.Grad, prm.Momentum, t.c.SGD)
	}
	p.Step(t.tally.ctr)
	if err := p.Err(); err != nil {
		p.Close()
		return nil, fmt.Errorf("recording the training step (batch %d): %w", n, err)
	}
	return p, nil
}

func batchTensors(b backend.Backend, n int) (x, labels backend.Tensor, err error) {
	if x, err = b.NewTensor(backend.F32, n, 3, backend.ImageSide, backend.ImageSide); err != nil {
		return nil, nil, fmt.Errorf("batch of %d images: %w", n, err)
	}
	labels, err = b.NewTensor(backend.U32, n)
	return x, labels, err
}

// Progress is reported during an epoch.
type Progress struct {
	Images, Total int     // images trained so far this epoch, of Total
	Loss          float64 // mean loss over those images
	Correct       int     // how many of them the model got right
}

// EpochResult sums up a training epoch.
type EpochResult struct {
	Loss     float64 // mean training loss
	Accuracy float64 // training accuracy, 0-1
	Images   int
	Seconds  float64
}

// ErrDiverged means the loss became NaN, infinite, or absurdly large.
var ErrDiverged = errors.New("training diverged")

// explodedLoss is a mean cross-entropy no working classifier comes near
// (chance over 10 classes is 2.3): the logits have blown up, and a model in
// that state rarely comes back, though float32 may stay finite for a while.
const explodedLoss = 1e4

func diverged(meanLoss float64) bool {
	return math.IsNaN(meanLoss) || math.IsInf(meanLoss, 0) || meanLoss > explodedLoss
}

// Order is the shuffled order of epoch's training images.
func Order(n int, seed uint64, epoch int) []uint32 {
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)))
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// Epoch trains one pass over the training set in a shuffled order drawn
// from the seed and epoch, calling progress every few steps. When ctx ends
// it stops between steps and returns ctx's error: the parameters are then
// part-way through the epoch, so keep the last epoch's checkpoint.
func (t *Trainer) Epoch(ctx context.Context, epoch int, progress func(Progress)) (_ EpochResult, err error) {
	defer func() {
		// Say where a failed device call left the run; an interrupt and a
		// divergence already do.
		if err != nil && !errors.Is(err, ctx.Err()) && !errors.Is(err, ErrDiverged) {
			err = fmt.Errorf("epoch %d, step %d: %w", epoch, t.Step, err)
		}
	}()
	start := time.Now()
	order := Order(t.train.n, t.c.Seed, epoch)
	bs := t.c.BatchSize
	full := t.train.n / bs
	if err := t.b.Upload(t.indices, order[:full*bs]); err != nil {
		return EpochResult{}, err
	}
	if err := t.tally.reset(t.b, t.Step); err != nil {
		return EpochResult{}, err
	}
	report := func(images int) (Progress, error) {
		loss, correct, err := t.tally.read(t.b)
		pr := Progress{Images: images, Total: t.train.n, Loss: loss / float64(images), Correct: correct}
		if err == nil && diverged(pr.Loss) {
			err = fmt.Errorf("%w at epoch %d, step %d (mean loss %.4g): lower the learning rate", ErrDiverged, epoch, t.Step, pr.Loss)
		}
		if err == nil && progress != nil {
			progress(pr)
		}
		return pr, err
	}
	for done := 0; done < full; {
		if err := ctx.Err(); err != nil {
			return EpochResult{}, err
		}
		k := min(t.chunk, full-done)
		began := time.Now()
		if err := t.full.Run(k); err != nil {
			return EpochResult{}, err
		}
		t.tune(k, time.Since(began))
		done += k
		t.Step += uint64(k)
		t.m.advance(k)
		if _, err := report(done * bs); err != nil {
			return EpochResult{}, err
		}
	}
	if t.tail != nil {
		if err := t.b.Upload(t.tailIndices, order[full*bs:]); err != nil {
			return EpochResult{}, err
		}
		// The short batch reads its own index list from position 0.
		if err := t.tally.restart(t.b, t.Step); err != nil {
			return EpochResult{}, err
		}
		if err := t.tail.Run(1); err != nil {
			return EpochResult{}, err
		}
		t.Step++
		t.m.advance(1)
	}
	pr, err := report(t.train.n)
	if err != nil {
		return EpochResult{}, err
	}
	return EpochResult{
		Loss:     pr.Loss,
		Accuracy: float64(pr.Correct) / float64(t.train.n),
		Images:   t.train.n,
		Seconds:  time.Since(start).Seconds(),
	}, nil
}

// tune sets how many steps one Run takes: about a quarter of a second of
// work, so progress stays lively and no submit runs long enough for a
// driver's watchdog.
func (t *Trainer) tune(k int, took time.Duration) {
	if t.c.StepsPerRun > 0 {
		t.chunk = t.c.StepsPerRun
		return
	}
	per := took.Seconds() / float64(k)
	if per <= 0 {
		return
	}
	t.chunk = max(1, min(64, int(0.25/per)))
}

// Close frees the recorded programs and every tensor the trainer made (not
// the model's parameters).
func (t *Trainer) Close() error {
	for _, p := range []backend.Program{t.full, t.tail} {
		if p != nil {
			p.Close()
		}
	}
	if t.eval != nil {
		t.eval.Close()
	}
	t.b.free()
	return nil
}

// TestSet is the number of test images and their labels.
func (t *Trainer) TestSet() (n int, labels []uint8) { return t.test.n, t.test.labels }

// Evaluate runs the model without dropout over the test set and returns
// the mean loss, the accuracy (0-1) and each image's predicted class. Its
// programs are recorded on the first call and replayed after.
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
		t.eval, err = newEvaluator(t.b.Backend, t.m, t.test, t.c.EvalBatch)
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
}

// NewEvaluator uploads test records and records evaluation in batches of
// batch images (0: 1000).
func NewEvaluator(b backend.Backend, m *Model, records []byte, batch int) (*Evaluator, error) {
	o := &owned{Backend: b}
	d, err := upload(o, records)
	if err != nil {
		o.free()
		return nil, err
	}
	e, err := newEvaluator(o, m, d, batch)
	if err != nil {
		o.free()
	}
	return e, err
}

// newEvaluator records evaluation over d; it frees what it allocates
// through b on Close (b may already be an owned backend).
func newEvaluator(b backend.Backend, m *Model, d *dataset, batch int) (_ *Evaluator, err error) {
	if batch <= 0 {
		batch = 1000
	}
	o, ok := b.(*owned)
	if !ok {
		o = &owned{Backend: b}
	}
	e := &Evaluator{b: o, test: d, batch: min(batch, d.n)}
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
	x, labels, err := batchTensors(b, n)
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
	g, err := m.normalization()
	if err != nil {
		return nil, nil, err
	}
	p = b.NewProgram()
	p.Gather(e.test.records, indices, e.tally.ctr, x, labels, g)
	nt.Forward(p)
	p.SoftmaxCrossEntropy(nt.Out(), labels, nil, e.tally.loss, e.tally.correct, backend.LossParams{})
	p.Argmax(nt.Out(), pred)
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
