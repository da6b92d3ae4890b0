// Package recipe holds the parts of training recipes that go beyond a
// model and an optimizer: airbench's data-dependent initialization (the
// whitening convolution and Dirac-initialized convolutions) and the
// defaults of its recipe.
package recipe

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// WhitenEps is airbench's regularizer of the whitening filters' eigenvalues.
const WhitenEps = 5e-4

// Whitening computes the filters of a k x k whitening convolution from
// images (n x c x h x w floats, normalized as the network sees them): the
// uncentred covariance of every k x k patch (stride 1), its eigenvectors in
// order of decreasing eigenvalue, each scaled by 1/sqrt(λ + eps), then the
// same filters negated: 2·c·k·k filters of shape [c,k,k], row-major.
func Whitening(images []float32, n, c, h, w, k int, eps float64) ([]float32, error) {
	if n < 1 || c < 1 || k < 1 || h < k || w < k || len(images) != n*c*h*w {
		return nil, fmt.Errorf("whitening: %d values for %d images of %dx%dx%d and a %dx%d kernel", len(images), n, c, h, w, k, k)
	}
	d := c * k * k
	cov := make([]float64, d*d)
	patch := make([]float64, d)
	count := 0
	for i := range n {
		img := images[i*c*h*w:]
		for y := 0; y+k <= h; y++ {
			for x := 0; x+k <= w; x++ {
				for ch := range c {
					for dy := range k {
						for dx := range k {
							patch[(ch*k+dy)*k+dx] = float64(img[(ch*h+y+dy)*w+x+dx])
						}
					}
				}
				// The upper triangle only: the matrix is symmetric.
				for a := range d {
					pa := patch[a]
					row := cov[a*d:]
					for b := a; b < d; b++ {
						row[b] += pa * patch[b]
					}
				}
				count++
			}
		}
	}
	sym := mat.NewSymDense(d, nil)
	for a := range d {
		for b := a; b < d; b++ {
			sym.SetSym(a, b, cov[a*d+b]/float64(count))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, fmt.Errorf("whitening: the patch covariance did not factorize")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	out := make([]float32, 2*d*d)
	for f, j := range order {
		scale := 1 / math.Sqrt(vals[j]+eps)
		for e := range d {
			v := vecs.At(e, j) * scale
			out[f*d+e] = float32(v)
			out[(d+f)*d+e] = float32(-v)
		}
	}
	return out, nil
}

// Dirac sets the first min(out, in) filters of a convolution weight
// [out,in,kh,kw] to the identity, as torch.nn.init.dirac_ does to
// weight[:in]: filter i is 1 at input channel i's centre (kh/2, kw/2) and 0
// elsewhere. The other filters are left as they are.
func Dirac(weight []float32, out, in, kh, kw int) {
	for f := range min(out, in) {
		filter := weight[f*in*kh*kw : (f+1)*in*kh*kw]
		clear(filter)
		filter[(f*kh+kh/2)*kw+kw/2] = 1
	}
}
