package arch

import (
	"slices"
	"testing"
)

// FuzzBuild checks Build never panics on any text: it returns an error, or
// a network whose rows and model agree and that ends in one logit per class.
func FuzzBuild(f *testing.F) {
	for _, name := range Names() {
		text, _ := Zoo(name)
		f.Add(text, 3, 32, 32, 10)
	}
	for _, tc := range brokenCases {
		f.Add(tc.text, 3, 32, 32, 10)
	}
	f.Add("c: conv 8 kernel=3\nflatten\nfc: linear classes\n", 1, 5, 7, 2)
	f.Add("maxpool global\nflatten\nfc: linear classes\n", 2, 3, 3, 1)
	f.Add("  \f\nrelu\n", 3, 32, 32, 10)
	f.Add("c: conv 8 kernel=1 pad=1152921504606846976\nflatten\nfc: linear classes\n", 3, 32, 32, 10)
	f.Fuzz(func(t *testing.T, text string, c, h, w, classes int) {
		// Keep sizes small: a huge input only multiplies numbers.
		in := Input{C: c % 8, H: h % 80, W: w % 80, Classes: classes % 200}
		nw, err := Build("fuzz.net", text, in)
		if err != nil {
			if nw != nil {
				t.Errorf("both a network and an error: %v", err)
			}
			return
		}
		if len(nw.Rows) == 0 || len(nw.Model.Layers) == 0 {
			t.Fatalf("no rows or layers: %+v", nw)
		}
		if last := nw.Rows[len(nw.Rows)-1].Out; !slices.Equal(last, []int{in.Classes}) {
			// The last row may be a nested block's; the model's end is the top level's.
			top := -1
			for i, r := range nw.Rows {
				if r.Depth == 0 {
					top = i
				}
			}
			if top < 0 || !slices.Equal(nw.Rows[top].Out, []int{in.Classes}) {
				t.Errorf("ends with %v, want [%d]", last, in.Classes)
			}
		}
		params := 0
		for _, r := range nw.Rows {
			params += r.Params
		}
		for _, r := range nw.Rows {
			if r.Type != "residual" && r.Type != "sequential" && product(r.Out) < 1 {
				t.Errorf("row %+v: an empty or overflowing output", r)
			}
		}
		n := 0
		for _, p := range nw.Model.Params() {
			if l := p.Len(); l < 1 || l > maxElems {
				t.Errorf("%s %v: %d elements", p.Name, p.Shape, l)
			}
			n += p.Len()
		}
		if n != params {
			t.Errorf("rows count %d state_dict values, the model %d", params, n)
		}
	})
}
