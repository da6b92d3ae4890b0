package layers

import (
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/backend"
)

// easyData generates records a small CNN learns in a few hundred steps:
// class c is a noisy image whose mean colour is palette[c] in one half and
// its complement in the other (left/right for even classes, top/bottom for
// odd), so neither one pixel nor the mean colour alone gives the class.
func easyData(nTrain, nTest int, seed uint64) (train, test []byte) {
	rng := rand.New(rand.NewPCG(seed, 11))
	gen := func(n int) []byte {
		out := make([]byte, n*backend.RecordSize)
		for i := range n {
			rec := out[i*backend.RecordSize:]
			c := i % backend.NumClasses
			rec[0] = byte(c)
			for ch := range 3 {
				level := 40 + 170*((c*7+ch*3)%5)/4
				for y := range backend.ImageSide {
					for x := range backend.ImageSide {
						v := level
						if (c%2 == 0 && x >= 16) || (c%2 == 1 && y >= 16) {
							v = 255 - level
						}
						v += rng.IntN(81) - 40
						rec[1+ch*1024+y*32+x] = byte(min(255, max(0, v)))
					}
				}
			}
		}
		return out
	}
	return gen(nTrain), gen(nTest)
}
