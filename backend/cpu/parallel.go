package cpu

import "sync"

// team runs a fixed number of tasks concurrently, task w on range w of a
// fixed split. Both the split and the closures are made at record time: the
// split fixes every reduction's summation order (so results are bit-identical
// from run to run), and prebuilt closures keep Run free of allocations.
type team struct {
	wg    sync.WaitGroup
	tasks []func()
}

// newTeam prepares n tasks calling fn(w) for w < n.
func newTeam(n int, fn func(w int)) *team {
	t := &team{tasks: make([]func(), n)}
	t.tasks[0] = func() { fn(0) }
	for w := 1; w < n; w++ {
		t.tasks[w] = func() {
			defer t.wg.Done()
			fn(w)
		}
	}
	return t
}

// run starts tasks 1..n-1 on goroutines, runs task 0 on the caller, and
// waits for all of them.
func (t *team) run() {
	t.wg.Add(len(t.tasks) - 1)
	for _, f := range t.tasks[1:] {
		go f()
	}
	t.tasks[0]()
	t.wg.Wait()
}

// span is part w of n items split into parts contiguous, near-equal ranges.
func span(n, parts, w int) (lo, hi int) {
	return w * n / parts, (w + 1) * n / parts
}

// minChunk is the fewest elements worth a goroutine in elementwise ops; below
// it the start-up cost outweighs the work.
const minChunk = 1 << 15

// elementParts is how many workers an elementwise op over n elements uses.
func elementParts(workers, n int) int {
	return max(1, min(workers, n/minChunk))
}

// parallelFor returns a function that runs fn over [0,n) split among up to
// workers goroutines; it is the recorded form of an elementwise loop.
func parallelFor(workers, n int, fn func(lo, hi int)) func() {
	parts := elementParts(workers, n)
	if parts == 1 {
		return func() { fn(0, n) }
	}
	t := newTeam(parts, func(w int) {
		lo, hi := span(n, parts, w)
		fn(lo, hi)
	})
	return t.run
}
