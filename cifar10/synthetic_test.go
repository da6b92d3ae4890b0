package cifar10

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSyntheticShape(t *testing.T) {
	for _, tc := range []struct{ nTrain, nTest int }{{0, 0}, {1, 1}, {25, 13}, {200, 100}} {
		d := Synthetic(tc.nTrain, tc.nTest, 1)
		if d.Train.N != tc.nTrain || d.Test.N != tc.nTest || len(d.Train.Records) != tc.nTrain*RecordSize || len(d.Test.Records) != tc.nTest*RecordSize {
			t.Errorf("Synthetic(%d, %d): sizes %d/%d records, %d/%d bytes", tc.nTrain, tc.nTest, d.Train.N, d.Test.N, len(d.Train.Records), len(d.Test.Records))
		}
		if len(d.Classes) != NumClasses || d.Classes[6] != "frog" {
			t.Errorf("classes %q", d.Classes)
		}
		for _, s := range []Split{d.Train, d.Test} {
			if _, err := ParseBatch("synthetic", s.Records); err != nil {
				t.Error(err)
			}
			var counts [NumClasses]int
			for i := range s.N {
				counts[s.Label(i)]++
			}
			for c, n := range counts {
				if want := s.N / NumClasses; n != want && n != want+1 {
					t.Errorf("Synthetic(%d, %d): class %d has %d records, want %d or %d", tc.nTrain, tc.nTest, c, n, want, want+1)
				}
			}
		}
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	a, b := Synthetic(40, 20, 42), Synthetic(40, 20, 42)
	if diff := sameDataset(a, b); diff != "" {
		t.Errorf("same seed: %s", diff)
	}
	if c := Synthetic(40, 20, 43); bytes.Equal(a.Train.Records, c.Train.Records) || bytes.Equal(a.Test.Records, c.Test.Records) {
		t.Error("different seeds give the same data")
	}
	longer := Synthetic(80, 20, 42)
	if !bytes.Equal(longer.Train.Limit(40).Records, a.Train.Records) || !bytes.Equal(longer.Test.Records, a.Test.Records) {
		t.Error("a larger nTrain changed the first records or the test split")
	}
	if bytes.Equal(a.Train.Limit(20).Records, a.Test.Records) {
		t.Error("test split repeats the training split")
	}
}

// TestSyntheticNotTrivial checks that neither one pixel nor the per-class
// mean image tells the classes apart: it takes the stripe orientation.
func TestSyntheticNotTrivial(t *testing.T) {
	d := Synthetic(2000, 1000, 7)
	// Nearest mean image (on raw pixels).
	var means [NumClasses][ImageSize]float64
	var counts [NumClasses]float64
	for i := range d.Train.N {
		c := d.Train.Label(i)
		counts[c]++
		for j, v := range d.Train.Image(i) {
			means[c][j] += float64(v)
		}
	}
	for c := range means {
		for j := range means[c] {
			means[c][j] /= counts[c]
		}
	}
	correct := 0
	for i := range d.Test.N {
		best, bestD := -1, math.Inf(1)
		for c := range means {
			dist := 0.0
			for j, v := range d.Test.Image(i) {
				e := float64(v) - means[c][j]
				dist += e * e
			}
			if dist < bestD {
				best, bestD = c, dist
			}
		}
		if best == d.Test.Label(i) {
			correct++
		}
	}
	if acc := float64(correct) / float64(d.Test.N); acc > 0.65 {
		t.Errorf("nearest mean image reaches %.1f%%; the classes are too easy", 100*acc)
	} else {
		t.Logf("nearest mean image: %.1f%%", 100*acc)
	}
	// Best single pixel and channel: the majority class of each of its
	// values, fitted on the training split.
	bestAcc := 0.0
	for j := range ImageSize {
		var table [256][NumClasses]int
		for i := range d.Train.N {
			table[d.Train.Image(i)[j]][d.Train.Label(i)]++
		}
		var pick [256]int
		for v := range table {
			for c := range table[v] {
				if table[v][c] > table[v][pick[v]] {
					pick[v] = c
				}
			}
		}
		correct := 0
		for i := range d.Test.N {
			if pick[d.Test.Image(i)[j]] == d.Test.Label(i) {
				correct++
			}
		}
		bestAcc = max(bestAcc, float64(correct)/float64(d.Test.N))
	}
	if bestAcc > 0.4 {
		t.Errorf("one pixel reaches %.1f%%; the classes are too easy", 100*bestAcc)
	} else {
		t.Logf("best single pixel: %.1f%%", 100*bestAcc)
	}
}

// TestSyntheticLearnable trains a very small CNN (one 3x3 convolution of 8
// filters with stride 2, ReLU, global average pooling, a linear layer) on
// 1000 records for a few epochs and checks its held-out accuracy.
func TestSyntheticLearnable(t *testing.T) {
	const (
		nf, k, stride = 8, 3, 2
		out           = (ImageSide-k)/stride + 1
		plane         = ImageSide * ImageSide
		epochs, batch = 4, 10
		lr, mom       = 0.05, 0.9
	)
	d := Synthetic(1000, 500, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	var w, dw, vw [nf][3][k][k]float64
	var b, db, vb [nf]float64
	var v, dv, vv [NumClasses][nf]float64
	var c, dc, vc [NumClasses]float64
	for f := range w {
		for ch := range w[f] {
			for y := range w[f][ch] {
				for x := range w[f][ch][y] {
					w[f][ch][y][x] = rng.NormFloat64() * math.Sqrt(2.0/27)
				}
			}
		}
		for j := range v {
			v[j][f] = rng.NormFloat64() * math.Sqrt(1.0/nf)
		}
	}
	var in [3 * plane]float64
	var pre [nf][out][out]float64
	var pool [nf]float64
	var logits [NumClasses]float64
	forward := func(img []byte) int {
		for j, p := range img {
			in[j] = (float64(p)/255 - 0.45) / 0.25
		}
		for f := range nf {
			pool[f] = 0
			for oy := range out {
				for ox := range out {
					s := b[f]
					for ch := range 3 {
						for y := range k {
							row := in[ch*plane+(oy*stride+y)*ImageSide+ox*stride:]
							for x := range k {
								s += w[f][ch][y][x] * row[x]
							}
						}
					}
					pre[f][oy][ox] = s
					pool[f] += max(s, 0) / (out * out)
				}
			}
		}
		best := 0
		for j := range logits {
			logits[j] = c[j]
			for f := range nf {
				logits[j] += v[j][f] * pool[f]
			}
			if logits[j] > logits[best] {
				best = j
			}
		}
		return best
	}
	backward := func(label int) {
		m, sum := logits[0], 0.0
		for _, l := range logits {
			m = max(m, l)
		}
		var p [NumClasses]float64
		for j, l := range logits {
			p[j] = math.Exp(l - m)
			sum += p[j]
		}
		var dpool [nf]float64
		for j := range p {
			g := p[j] / sum
			if j == label {
				g--
			}
			dc[j] += g
			for f := range nf {
				dv[j][f] += g * pool[f]
				dpool[f] += g * v[j][f]
			}
		}
		for f := range nf {
			g := dpool[f] / (out * out)
			for oy := range out {
				for ox := range out {
					if pre[f][oy][ox] <= 0 {
						continue
					}
					db[f] += g
					for ch := range 3 {
						for y := range k {
							row := in[ch*plane+(oy*stride+y)*ImageSide+ox*stride:]
							for x := range k {
								dw[f][ch][y][x] += g * row[x]
							}
						}
					}
				}
			}
		}
	}
	step := func() {
		const s = lr / batch
		for f := range nf {
			for ch := range 3 {
				for y := range k {
					for x := range k {
						vw[f][ch][y][x] = mom*vw[f][ch][y][x] - s*dw[f][ch][y][x]
						w[f][ch][y][x] += vw[f][ch][y][x]
						dw[f][ch][y][x] = 0
					}
				}
			}
			vb[f] = mom*vb[f] - s*db[f]
			b[f] += vb[f]
			db[f] = 0
			for j := range NumClasses {
				vv[j][f] = mom*vv[j][f] - s*dv[j][f]
				v[j][f] += vv[j][f]
				dv[j][f] = 0
			}
		}
		for j := range NumClasses {
			vc[j] = mom*vc[j] - s*dc[j]
			c[j] += vc[j]
			dc[j] = 0
		}
	}
	order := make([]int, d.Train.N)
	for i := range order {
		order[i] = i
	}
	var acc float64
	for e := range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for n, i := range order {
			forward(d.Train.Image(i))
			backward(d.Train.Label(i))
			if (n+1)%batch == 0 {
				step()
			}
		}
		correct := 0
		for i := range d.Test.N {
			if forward(d.Test.Image(i)) == d.Test.Label(i) {
				correct++
			}
		}
		acc = float64(correct) / float64(d.Test.N)
		t.Logf("epoch %d: held-out accuracy %.1f%%", e+1, 100*acc)
	}
	if acc < 0.9 {
		t.Errorf("a small CNN reaches %.1f%% held-out accuracy after %d epochs, want > 90%%", 100*acc, epochs)
	}
}
