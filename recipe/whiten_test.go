package recipe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWhitening checks the filters against a covariance computed here by
// hand: the positive half W satisfies W·Cov·Wᵀ = diag(λ/(λ+eps)) with λ in
// decreasing order, and the second half is its negative.
func TestWhitening(t *testing.T) {
	for _, tc := range []struct{ n, c, h, w, k int }{{2, 1, 3, 3, 2}, {3, 3, 5, 4, 2}, {3, 2, 6, 6, 3}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
		imgs := make([]float32, tc.n*tc.c*tc.h*tc.w)
		for i := range imgs {
			imgs[i] = float32(rng.NormFloat64())
		}
		const eps = 0.05
		f, err := Whitening(imgs, tc.n, tc.c, tc.h, tc.w, tc.k, eps)
		if err != nil {
			t.Fatal(err)
		}
		d := tc.c * tc.k * tc.k
		if len(f) != 2*d*d {
			t.Fatalf("%+v: %d values, want %d", tc, len(f), 2*d*d)
		}
		// The covariance by hand, from the patches listed one by one.
		var patches [][]float64
		at := func(i, ch, y, x int) float64 { return float64(imgs[((i*tc.c+ch)*tc.h+y)*tc.w+x]) }
		for i := range tc.n {
			for y := 0; y <= tc.h-tc.k; y++ {
				for x := 0; x <= tc.w-tc.k; x++ {
					var p []float64
					for ch := range tc.c {
						for dy := range tc.k {
							for dx := range tc.k {
								p = append(p, at(i, ch, y+dy, x+dx))
							}
						}
					}
					patches = append(patches, p)
				}
			}
		}
		cov := func(a, b int) float64 {
			s := 0.0
			for _, p := range patches {
				s += p[a] * p[b]
			}
			return s / float64(len(patches))
		}
		prev := math.Inf(1)
		for i := range d {
			for j := range d {
				// (W·Cov·Wᵀ)[i][j]
				s := 0.0
				for a := range d {
					for b := range d {
						s += float64(f[i*d+a]) * cov(a, b) * float64(f[j*d+b])
					}
				}
				if i != j && math.Abs(s) > 1e-4 {
					t.Errorf("%+v: filters %d and %d are correlated on the patches (%.3g)", tc, i, j, s)
				}
				if i == j {
					// s = λ/(λ+eps), so λ = eps·s/(1-s).
					lam := eps * s / (1 - s)
					if !(s > 0 && s < 1) || lam > prev*(1+1e-6) {
						t.Errorf("%+v: filter %d: W·Cov·Wᵀ = %.4g, eigenvalue %.4g after %.4g: want (0,1) and decreasing", tc, i, s, lam, prev)
					}
					prev = lam
				}
			}
		}
		for i := range d * d {
			if f[d*d+i] != -f[i] {
				t.Fatalf("%+v: the second half is not the negated first", tc)
			}
		}
	}
	if _, err := Whitening(make([]float32, 10), 1, 1, 3, 3, 2, 1e-3); err == nil {
		t.Error("a wrong number of values was accepted")
	}
}

func TestDirac(t *testing.T) {
	w := make([]float32, 4*2*3*3)
	for i := range w {
		w[i] = 7
	}
	Dirac(w, 4, 2, 3, 3)
	for o := range 4 {
		for i := range 2 {
			for y := range 3 {
				for x := range 3 {
					got := w[((o*2+i)*3+y)*3+x]
					want := float32(7)
					if o < 2 {
						want = 0
						if o == i && y == 1 && x == 1 {
							want = 1
						}
					}
					if got != want {
						t.Errorf("w[%d,%d,%d,%d] = %v, want %v", o, i, y, x, got, want)
					}
				}
			}
		}
	}
}
