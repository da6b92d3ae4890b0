package cifar10

import (
	"math/rand/v2"
)

// synthColours are the five stripe colours of Synthetic (RGB).
var synthColours = [5][3]float64{
	{220, 40, 40},  // red
	{40, 200, 60},  // green
	{50, 80, 230},  // blue
	{230, 210, 40}, // yellow
	{200, 50, 210}, // magenta
}

// Synthetic returns a small generated data set with the layout and class
// names of CIFAR-10 that a small CNN learns within a few epochs, for tests.
//
// Class c is a grey, noisy image crossed by stripes of period 8 pixels in one
// of five colours (c mod 5: red, green, blue, yellow, magenta) and one of two
// orientations (c < 5: horizontal, else vertical). Each image draws its own
// stripe phase, background level, colour jitter, brightness and Gaussian pixel
// noise, so no single pixel tells the class: it takes both the colour and the
// orientation of the stripes. Labels are balanced (each run of ten records
// holds every class once, in random order).
//
// The result is deterministic for a seed. The test split does not depend on
// nTrain, and a larger nTrain extends the training split of a smaller one.
func Synthetic(nTrain, nTest int, seed uint64) *Dataset {
	return &Dataset{
		Train:   synthSplit(max(nTrain, 0), rand.New(rand.NewPCG(seed, 0x7261696e))),
		Test:    synthSplit(max(nTest, 0), rand.New(rand.NewPCG(seed, 0x74657374))),
		Classes: ClassNames(),
	}
}

func synthSplit(n int, rng *rand.Rand) Split {
	s := Split{Records: make([]byte, n*RecordSize), N: n}
	var perm [NumClasses]int
	for i := range n {
		if i%NumClasses == 0 {
			for k := range perm {
				perm[k] = k
			}
			rng.Shuffle(NumClasses, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		}
		c := perm[i%NumClasses]
		rec := s.Records[i*RecordSize : (i+1)*RecordSize]
		rec[0] = byte(c)
		synthImage(rec[1:], c, rng)
	}
	return s
}

func synthImage(img []byte, c int, rng *rand.Rand) {
	const period = 8
	vertical := c >= 5
	phase := rng.IntN(period)
	bg := 70 + 50*rng.Float64()
	bright := 0.75 + 0.25*rng.Float64()
	var col [3]float64
	for ch := range col {
		col[ch] = synthColours[c%5][ch]*bright + 30*(rng.Float64()-0.5)
	}
	for y := range ImageSide {
		for x := range ImageSide {
			t := y
			if vertical {
				t = x
			}
			on := (t+phase)%period < period/2
			for ch := range 3 {
				v := bg
				if on {
					v = col[ch]
				}
				v += 20 * rng.NormFloat64()
				img[ch*ImageSide*ImageSide+y*ImageSide+x] = byte(min(max(v+0.5, 0), 255))
			}
		}
	}
}
