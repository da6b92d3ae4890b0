package layers

import (
	"fmt"
	"strings"

	"github.com/vkcnn/vkcnn/backend"
)

// Sequential runs its layers one after another, as torch.nn.Sequential.
// Names are not its business: each layer's parameters carry their full
// dotted names from construction.
type Sequential struct {
	Layers []Layer
}

// Params lists the children's state_dict entries in order.
func (s *Sequential) Params() []*Param { return params(s.Layers) }

func params(ls []Layer) []*Param {
	var ps []*Param
	for _, l := range ls {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Bind binds every layer in order, each to the previous one's output.
func (s *Sequential) Bind(b backend.Backend, x, dx backend.Tensor, m Mode) (Bound, error) {
	c, err := bindChain(b, s.Layers, x, dx, m)
	if err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return identity{x, dx}, nil
	}
	return c, nil
}

// chain is layers bound one after another.
type chain []Bound

// bindChain binds ls in order to input x (gradient dx).
func bindChain(b backend.Backend, ls []Layer, x, dx backend.Tensor, m Mode) (chain, error) {
	var c chain
	in, din := x, dx
	for i, l := range ls {
		bl, err := l.Bind(b, in, din, m)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, describe(l), err)
		}
		c = append(c, bl)
		in, din = bl.Out(), bl.DOut()
	}
	if m.unfused {
		return c, nil
	}
	return fuseChain(c), nil
}

// describe names a layer for messages: the module its parameters share
// (a block's name for a block), or its type.
func describe(l Layer) string {
	ps := l.Params()
	if len(ps) == 0 {
		return fmt.Sprintf("%T", l)
	}
	common := moduleOf(ps[0].Name)
	for _, p := range ps[1:] {
		for common != "" && !strings.HasPrefix(p.Name, common+".") {
			common, _, _ = cutLast(common)
		}
	}
	if common == "" {
		return fmt.Sprintf("%T", l)
	}
	return common
}

// moduleOf strips the last component of a dotted parameter name.
func moduleOf(name string) string {
	if m, _, ok := cutLast(name); ok {
		return m
	}
	return name
}

// cutLast splits a dotted name before its last dot ("" and false without one).
func cutLast(name string) (before, after string, found bool) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:], true
	}
	return "", name, false
}

func (c chain) Out() backend.Tensor  { return c[len(c)-1].Out() }
func (c chain) DOut() backend.Tensor { return c[len(c)-1].DOut() }

func (c chain) Forward(o backend.Ops) {
	for _, l := range c {
		l.Forward(o)
	}
}

func (c chain) Backward(o backend.Ops) {
	for i := len(c) - 1; i >= 0; i-- {
		c[i].Backward(o)
	}
}

// identity passes its input through (dropout in evaluation, an empty
// Sequential): its output is its input, and so are the gradients.
type identity struct{ x, dx backend.Tensor }

func (i identity) Out() backend.Tensor  { return i.x }
func (i identity) DOut() backend.Tensor { return i.dx }
func (identity) Forward(backend.Ops)    {}
func (identity) Backward(backend.Ops)   {}

// Walk calls f on every layer of the tree in order, containers before
// their children (a residual block's body before its shortcut).
func Walk(ls []Layer, f func(Layer)) {
	for _, l := range ls {
		f(l)
		switch c := l.(type) {
		case *Sequential:
			Walk(c.Layers, f)
		case *Residual:
			Walk(c.Body, f)
			Walk(c.Shortcut, f)
		}
	}
}
