package perf

// arithKernels lists the benchmarks of the arith ops at batch n, at the shapes the zoo
// networks use them.
func arithKernels(n int) []Kernel { return nil }
