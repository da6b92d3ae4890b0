package layers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vkcnn/vkcnn/backend"
)

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
	total       int    // steps of the whole run (0: no limit)
	flips       []bool // epoch 0's mirror decision per image (AlternatingFlip)
	look        *lookahead
	batch       backend.Tensor // the full batches' input, for Batch

	// Step counts the training steps taken so far; it seeds dropout and
	// augmentation, so a resumed run continues with the same draws.
	Step uint64
}

// dataset is a set of records on the device: a label byte, then an image
// of the model's input shape.
type dataset struct {
	records backend.Tensor
	n       int
	labels  []uint8
}

// upload puts raw records of m's input shape on b.
func upload(b backend.Backend, m *Model, raw []byte) (*dataset, error) {
	if err := m.checkInput(); err != nil {
		return nil, err
	}
	c, h, w := m.InputShape()
	size := 1 + c*h*w
	n := len(raw) / size
	if n == 0 || len(raw)%size != 0 {
		return nil, fmt.Errorf("%d bytes are not whole records of %d bytes (a label byte and a %dx%dx%d image, the model's input)", len(raw), size, c, h, w)
	}
	t, err := b.NewTensor(backend.U8, n, size)
	if err != nil {
		return nil, fmt.Errorf("%d records: %w", n, err)
	}
	if err := b.Upload(t, raw); err != nil {
		return nil, err
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = raw[i*size]
	}
	return &dataset{records: t, n: n, labels: labels}, nil
}

// NewTrainer uploads the records and records the training step. A record
// is a label byte and then an image of the model's input shape
// (Model.InputShape), channel-major: CIFAR-10's binary records for a model
// built for 3x32x32. The model's parameters must be allocated on b.
func NewTrainer(b backend.Backend, m *Model, c Config, train, test []byte) (_ *Trainer, err error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	t := &Trainer{b: &owned{Backend: b}, m: m, c: c, chunk: max(1, c.StepsPerRun)}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if t.train, err = upload(t.b, m, train); err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	if t.test, err = upload(t.b, m, test); err != nil {
		return nil, fmt.Errorf("test set: %w", err)
	}
	if t.c.BatchSize > t.train.n {
		return nil, fmt.Errorf("batch size %d is larger than the training set (%d images)", c.BatchSize, t.train.n)
	}
	if c.Epochs > 0 {
		t.total = c.TotalSteps(t.train.n)
	}
	if c.Augment.Flip == AlternatingFlip {
		rng := rand.New(rand.NewPCG(c.Seed, 0xf11b))
		t.flips = make([]bool, t.train.n)
		for i := range t.flips {
			t.flips[i] = rng.IntN(2) == 1
		}
	}
	if t.tally, err = newTally(t.b); err != nil {
		return nil, err
	}
	sgd, err := t.optimizer()
	if err != nil {
		return nil, err
	}
	full := t.train.n / c.BatchSize
	if t.indices, err = t.b.NewTensor(backend.U32, full*c.BatchSize); err != nil {
		return nil, err
	}
	if t.full, err = t.recordStep(c.BatchSize, t.indices, sgd); err != nil {
		return nil, fmt.Errorf("batch size %d: %w", c.BatchSize, err)
	}
	// The last short batch, as PyTorch's DataLoader keeps it (drop_last=False).
	if r := t.train.n % c.BatchSize; r > 0 && !c.DropLast {
		if t.tailIndices, err = t.b.NewTensor(backend.U32, r); err != nil {
			return nil, err
		}
		if t.tail, err = t.recordStep(r, t.tailIndices, sgd); err != nil {
			return nil, err
		}
	}
	if c.Lookahead != nil {
		if t.look, err = newLookahead(t.b, m); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// optimizer gives every trained parameter its SGD hyperparameters: the
// base ones or its group's, and a learning-rate schedule on the device
// when the recipe has one or freezes the parameter part-way.
func (t *Trainer) optimizer() (map[*Param]backend.SGDParams, error) {
	out := map[*Param]backend.SGDParams{}
	tables := map[int]backend.Tensor{} // by the step the parameter freezes at (-1: never)
	per := t.c.stepsPerEpoch(t.train.n)
	for _, p := range t.m.Trainable() {
		o := t.c.SGD
		if t.c.GroupSGD != nil {
			o = t.c.GroupSGD(p, o)
		}
		freeze := -1
		if e, ok := t.c.FreezeAfter[p.Name]; ok {
			freeze = e * per
		}
		if t.c.Schedule != nil || freeze >= 0 {
			table, ok := tables[freeze]
			if !ok {
				var err error
				if table, err = t.scheduleTable(freeze); err != nil {
					return nil, err
				}
				tables[freeze] = table
			}
			o.Schedule, o.Ctr = table, t.tally.ctr
		}
		out[p] = o
	}
	for name := range t.c.FreezeAfter {
		if !slices.ContainsFunc(t.m.Params(), func(p *Param) bool { return p.Name == name }) {
			return nil, fmt.Errorf("no parameter %s to freeze", name)
		}
	}
	return out, nil
}

// scheduleTable uploads the learning-rate factor of every step: the
// schedule's, zero from step freeze on (freeze < 0: never).
func (t *Trainer) scheduleTable(freeze int) (backend.Tensor, error) {
	n := t.total
	if n == 0 {
		n = freeze + 1 // the last entry holds for every later step
	}
	f := make([]float32, n)
	for s := range f {
		f[s] = 1
		if t.c.Schedule != nil {
			f[s] = float32(t.c.Schedule(s, t.total))
		}
		if freeze >= 0 && s >= freeze {
			f[s] = 0
		}
	}
	table, err := t.b.NewTensor(backend.F32, n)
	if err != nil {
		return nil, err
	}
	return table, t.b.Upload(table, f)
}

func (t *Trainer) gatherParams() (backend.GatherParams, error) {
	g, err := t.m.normalization()
	a := t.c.Augment
	g.Seed, g.Pad, g.Reflect = uint32(t.c.Seed), a.Pad, a.Reflect
	g.Flip, g.IndexFlip = a.Flip == RandomFlip, a.Flip == AlternatingFlip
	return g, err
}

// recordStep records gather → forward → loss → backward → SGD → Step for a
// batch of n images drawn from indices.
func (t *Trainer) recordStep(n int, indices backend.Tensor, sgd map[*Param]backend.SGDParams) (backend.Program, error) {
	x, labels, err := batchTensors(t.b, t.m, n)
	if err != nil {
		return nil, err
	}
	if indices == t.indices {
		t.batch = x
	}
	nt, err := t.m.bind(t.b, x, true, t.tally.ctr, uint32(t.c.Seed))
	if err != nil {
		return nil, err
	}
	g, err := t.gatherParams()
	if err != nil {
		return nil, err
	}
	p := t.b.NewProgram()
	p.Gather(t.train.records, indices, t.tally.ctr, x, labels, g)
	nt.Forward(p)
	p.SoftmaxCrossEntropy(nt.Out(), labels, nt.DOut(), t.tally.loss, t.tally.correct, t.c.Loss)
	nt.Backward(p)
	t.m.recordUpdate(p, sgd, t.tally.ctr) // SGD on every parameter, then Step
	if err := p.Err(); err != nil {
		p.Close()
		return nil, fmt.Errorf("recording the training step (batch %d): %w", n, err)
	}
	return p, nil
}

// batchTensors allocates a batch of n images of m's input shape and their
// labels.
func batchTensors(b backend.Backend, m *Model, n int) (x, labels backend.Tensor, err error) {
	c, h, w := m.InputShape()
	if x, err = b.NewTensor(backend.F32, n, c, h, w); err != nil {
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
// from the seed and epoch, calling progress every few steps. A run of
// fractional epochs (Config.Epochs) stops part-way through its last one;
// Done says when the run is over. When ctx ends it stops between steps and
// returns ctx's error: the parameters are then part-way through the epoch,
// so keep the last epoch's checkpoint.
func (t *Trainer) Epoch(ctx context.Context, epoch int, progress func(Progress)) (_ EpochResult, err error) {
	defer func() {
		// Say where a failed device call left the run; an interrupt and a
		// divergence already do.
		if err != nil && !errors.Is(err, ctx.Err()) && !errors.Is(err, ErrDiverged) {
			err = fmt.Errorf("epoch %d, step %d: %w", epoch, t.Step, err)
		}
	}()
	start := time.Now()
	order := t.order(epoch)
	bs := t.c.BatchSize
	full := t.train.n / bs
	if t.total > 0 {
		full = max(0, min(full, t.total-int(t.Step)))
	}
	if err := t.b.Upload(t.indices, order[:t.indices.Len()]); err != nil {
		return EpochResult{}, err
	}
	if err := t.tally.reset(t.b, t.Step); err != nil {
		return EpochResult{}, err
	}
	total := t.train.n
	if t.c.DropLast || full < t.train.n/bs {
		total = full * bs
	}
	report := func(images int) (Progress, error) {
		loss, correct, err := t.tally.read(t.b)
		pr := Progress{Images: images, Total: total, Loss: loss / float64(max(images, 1)), Correct: correct}
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
		if t.look != nil {
			// Stop at the next Lookahead update.
			every := t.c.Lookahead.Every
			k = min(k, every-int(t.Step)%every)
		}
		began := time.Now()
		if err := t.full.Run(k); err != nil {
			return EpochResult{}, err
		}
		t.tune(k, time.Since(began))
		done += k
		if err := t.stepped(k); err != nil {
			return EpochResult{}, err
		}
		if _, err := report(done * bs); err != nil {
			return EpochResult{}, err
		}
	}
	if t.tail != nil && total == t.train.n {
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
		if err := t.stepped(1); err != nil {
			return EpochResult{}, err
		}
	}
	pr, err := report(total)
	if err != nil {
		return EpochResult{}, err
	}
	return EpochResult{
		Loss:     pr.Loss,
		Accuracy: float64(pr.Correct) / float64(max(total, 1)),
		Images:   total,
		Seconds:  time.Since(start).Seconds(),
	}, nil
}

// order is epoch's index list: the shuffled order, with each image's
// mirror decision in bit 31 under AlternatingFlip.
func (t *Trainer) order(epoch int) []uint32 {
	order := Order(t.train.n, t.c.Seed, epoch)
	if t.flips != nil {
		odd := epoch%2 == 1
		for i, img := range order {
			if t.flips[img] != odd {
				order[i] |= 1 << 31
			}
		}
	}
	return order
}

// stepped counts k steps just run and applies what follows a step: the
// BatchNorm step counts and, on its steps, Lookahead.
func (t *Trainer) stepped(k int) error {
	t.Step += uint64(k)
	t.m.advance(k)
	if t.look == nil {
		return nil
	}
	step := int(t.Step)
	if step%t.c.Lookahead.Every == 0 {
		if err := t.look.update(t.b, t.c.Lookahead.Decay(step, t.total)); err != nil {
			return fmt.Errorf("lookahead: %w", err)
		}
	}
	if step == t.total {
		// The run ends on the slow weights.
		return t.look.update(t.b, 1)
	}
	return nil
}

// Done says whether the run has taken all its steps (never without Epochs).
func (t *Trainer) Done() bool { return t.total > 0 && int(t.Step) >= t.total }

// TotalSteps is the length of the run in steps (0: no limit).
func (t *Trainer) TotalSteps() int { return t.total }

// LR is the learning rate of the base parameter group at the current step.
func (t *Trainer) LR() float64 {
	lr := float64(t.c.SGD.LR)
	if t.c.Schedule != nil {
		lr *= t.c.Schedule(min(int(t.Step), t.total-1), t.total)
	}
	return lr
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
	if t.look != nil {
		t.look.p.Close()
	}
	t.b.free()
	return nil
}

// TestSet is the number of test images and their labels.
func (t *Trainer) TestSet() (n int, labels []uint8) { return t.test.n, t.test.labels }
