package cpu

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
)

// Program is a recorded list of closures. Recording does all argument
// checking and allocates every buffer an op needs, so Run only executes.
// Its ops share scratch memory, so one program must not Run on two
// goroutines at once (two programs may).
type Program struct {
	workers int
	ops     []func() error
	err     error
	ran     bool
	closed  bool
	// scratch is one convolution buffer per worker, shared by every op of
	// the program: ops run one after another, so the largest need is enough.
	scratch [][]float32
}

var _ backend.Program = (*Program)(nil)

var errClosed = errors.New("cpu: program is closed")

// Run executes the recording times times. Errors found while running (an
// index past the record set, a label past the logits) stop the run and are
// returned, but are not remembered: the data, not the program, was wrong.
func (p *Program) Run(times int) error {
	if p.closed {
		return errClosed
	}
	if p.err != nil {
		return p.err
	}
	if times < 0 {
		return fmt.Errorf("cpu: Run: negative times %d", times)
	}
	p.ran = true
	for range times {
		for _, op := range p.ops {
			if err := op(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Err is the first error an op call reported while recording.
func (p *Program) Err() error { return p.err }

// Close drops the recording and scratch memory so that the garbage collector
// can take them even if the program value is kept around.
func (p *Program) Close() error {
	p.closed = true
	p.ops = nil
	p.scratch = nil
	return nil
}

// start is called first by every op: it refuses ops once the program has an
// error, has run, or is closed.
func (p *Program) start(op string) bool {
	switch {
	case p.err != nil:
		return false
	case p.closed:
		p.err = fmt.Errorf("cpu: %s: %w", op, errClosed)
		return false
	case p.ran:
		p.err = fmt.Errorf("cpu: %s: op added after the program's first Run", op)
		return false
	}
	return true
}

// fail remembers the first error; later ones are usually its consequences.
func (p *Program) fail(op, format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("cpu: "+op+": "+format, args...)
	}
}

// check records the error of a backend.Check function, the same argument
// rules the Vulkan backend applies, and says whether the op may go on.
func (p *Program) check(err error) bool {
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("cpu: %w", err)
	}
	return p.err == nil
}

// tensor converts an argument that the op's backend.Check function has
// accepted to this backend's tensor: a missing tensor, or one of another
// backend, is an error rather than a panic. It returns nil once the program
// has an error, so ops check p.err after fetching all their arguments.
func (p *Program) tensor(op, name string, t backend.Tensor) *Tensor {
	if p.err != nil {
		return nil
	}
	ct, err := own(t)
	if err != nil {
		p.fail(op, "%s: %v", name, err)
		return nil
	}
	return ct
}

// optTensor is tensor for an argument the op may go without: an absent one
// (nil, typed or not) gives nil.
func (p *Program) optTensor(op, name string, t backend.Tensor) *Tensor {
	if backend.Absent(t) {
		return nil
	}
	return p.tensor(op, name, t)
}

// distinct fails if an output shares storage with an input the op reads
// while writing it (GEMMs and windowed ops cannot work in place).
func (p *Program) distinct(op string, out string, o *Tensor, in string, i *Tensor) bool {
	if p.err != nil {
		return false
	}
	if o.sameStorage(i) {
		p.fail(op, "%s and %s share storage; this op cannot work in place", out, in)
		return false
	}
	return true
}

// add appends a recorded op.
func (p *Program) add(f func() error) { p.ops = append(p.ops, f) }

// reserve grows every worker's scratch buffer to at least n floats. Growing
// at record time is what keeps Run free of allocations.
func (p *Program) reserve(workers, n int) {
	for len(p.scratch) < workers {
		p.scratch = append(p.scratch, nil)
	}
	for w := range workers {
		if len(p.scratch[w]) < n {
			p.scratch[w] = make([]float32, n)
		}
	}
}
