package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
)

// seedModel is the seed network's full training step (without Gather):
// conv 3->32, relu, dropout, conv 32->32, relu, maxpool 2, linear 8192->512,
// relu, dropout, linear 512->10, softmax cross-entropy, backward, SGD, Step.
type seedModel struct {
	b              *Backend
	prog           backend.Program
	x, labels, ctr backend.Tensor
	loss, correct  backend.Tensor
	params, bufs   []backend.Tensor
	initParams     [][]float32
}

func newSeedModel(t testing.TB, b *Backend, n int, seed uint64) *seedModel {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &seedModel{b: b}
	f := func(shape ...int) backend.Tensor { return newF32(t, b, nil, shape...) }
	param := func(scale float32, shape ...int) backend.Tensor {
		p := f(shape...)
		v := uniform(rng, p.Len())
		for i := range v {
			v[i] *= scale
		}
		upload(t, b, p, v)
		m.params = append(m.params, p)
		m.initParams = append(m.initParams, v)
		buf := f(shape...)
		m.bufs = append(m.bufs, buf)
		return p
	}
	view := func(x backend.Tensor, shape ...int) backend.Tensor {
		v, err := b.View(x, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	m.x = newF32(t, b, uniform(rng, n*3*32*32), n, 3, 32, 32)
	lv := make([]uint32, n)
	for i := range lv {
		lv[i] = uint32(rng.IntN(10))
	}
	m.labels = newU32(t, b, lv, n)
	m.ctr = newU32(t, b, []uint32{0, 0}, 2)
	m.loss = newF32(t, b, []float32{0}, 1)
	m.correct = newU32(t, b, []uint32{0}, 1)

	w1, b1 := param(0.2, 32, 3, 3, 3), param(0.1, 32)
	w2, b2 := param(0.06, 32, 32, 3, 3), param(0.1, 32)
	w3, b3 := param(0.01, 512, 8192), param(0.1, 512)
	w4, b4 := param(0.04, 10, 512), param(0.1, 10)
	dw1, db1 := f(32, 3, 3, 3), f(32)
	dw2, db2 := f(32, 32, 3, 3), f(32)
	dw3, db3 := f(512, 8192), f(512)
	dw4, db4 := f(10, 512), f(10)
	a1, a2 := f(n, 32, 32, 32), f(n, 32, 32, 32)
	pool, arg := f(n, 32, 16, 16), newU32(t, b, nil, n, 32, 16, 16)
	flat := view(pool, n, 8192)
	h, logits := f(n, 512), f(n, 10)
	dlogits, dh := f(n, 10), f(n, 512)
	dflat := f(n, 8192)
	dpool := view(dflat, n, 32, 16, 16)
	da1, da2 := f(n, 32, 32, 32), f(n, 32, 32, 32)

	p := b.NewProgram()
	p.Conv2d(m.x, w1, b1, a1, 1, 1)
	p.ReLU(a1, a1)
	p.Dropout(a1, a1, m.ctr, 0.25, 42, 1)
	p.Conv2d(a1, w2, b2, a2, 1, 1)
	p.ReLU(a2, a2)
	p.MaxPool2d(a2, pool, arg, 2, 2)
	p.MatMul(flat, w3, h, false, true)
	p.AddBias(h, b3)
	p.ReLU(h, h)
	p.Dropout(h, h, m.ctr, 0.5, 42, 2)
	p.MatMul(h, w4, logits, false, true)
	p.AddBias(logits, b4)
	p.SoftmaxCrossEntropy(logits, m.labels, dlogits, m.loss, m.correct, backend.LossParams{})

	p.MatMul(dlogits, h, dw4, true, false)
	p.BiasGrad(dlogits, db4)
	p.MatMul(dlogits, w4, dh, false, false)
	p.DropoutBackward(dh, dh, m.ctr, 0.5, 42, 2)
	p.ReLUBackward(h, dh, dh)
	p.MatMul(dh, flat, dw3, true, false)
	p.BiasGrad(dh, db3)
	p.MatMul(dh, w3, dflat, false, false)
	p.MaxPool2dBackward(dpool, arg, da2, 2, 2)
	p.ReLUBackward(a2, da2, da2)
	p.Conv2dBackwardWeights(a1, da2, dw2, db2, 1, 1)
	p.Conv2dBackwardData(da2, w2, da1, 1, 1)
	p.DropoutBackward(da1, da1, m.ctr, 0.25, 42, 1)
	p.ReLUBackward(a1, da1, da1)
	p.Conv2dBackwardWeights(m.x, da1, dw1, db1, 1, 1)

	o := backend.SGDParams{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-4}
	for i, g := range []backend.Tensor{dw1, db1, dw2, db2, dw3, db3, dw4, db4} {
		p.SGD(m.params[i], g, m.bufs[i], o)
	}
	p.Step(m.ctr)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	m.prog = p
	return m
}

// reset puts parameters, momentum, counters and accumulators back to their
// initial values so the same steps can be replayed.
func (m *seedModel) reset(t testing.TB) {
	for i, p := range m.params {
		upload(t, m.b, p, m.initParams[i])
		upload(t, m.b, m.bufs[i], make([]float32, p.Len()))
	}
	upload(t, m.b, m.ctr, []uint32{0, 0})
	upload(t, m.b, m.loss, []float32{0})
	upload(t, m.b, m.correct, []uint32{0})
}

// TestDeterminism replays three training steps of the seed model from the
// same state and requires bit-identical loss sums and weights: every
// reduction has a fixed order, whatever the goroutine scheduling. Four
// workers on a batch of 6 force uneven splits and partial-sum merging.
func TestDeterminism(t *testing.T) {
	m := newSeedModel(t, testBackend(4), 6, 77)
	var losses [2][]float32
	var weights [2][]float32
	for rep := range 2 {
		m.reset(t)
		for range 3 {
			run(t, m.prog)
			losses[rep] = append(losses[rep], getF32(t, m.b, m.loss)[0])
		}
		weights[rep] = getF32(t, m.b, m.params[2])
	}
	if !equalF32(losses[0], losses[1]) {
		t.Errorf("loss sums differ between replays: %v vs %v", losses[0], losses[1])
	}
	if !equalF32(weights[0], weights[1]) {
		t.Error("conv2 weights differ between replays")
	}
	if losses[0][1] == 2*losses[0][0] {
		t.Error("loss did not change between steps; the step is not training")
	}
}

// BenchmarkSeedStep times the seed model's training step at batch 32 and
// reports images per second.
func BenchmarkSeedStep(b *testing.B) {
	const batch = 32
	m := newSeedModel(b, New(), batch, 1)
	run(b, m.prog) // warm up caches and the goroutine pool
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := m.prog.Run(1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}
