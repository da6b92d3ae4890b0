// Package perf measures vkcnn's kernels and training throughput: every op of
// the training step at the seed model's shapes (and a few large ones), timed
// on a Vulkan device with timestamp queries and on the CPU reference with the
// wall clock; the device's own ceilings (FMA throughput, copy bandwidth); and
// images per second of whole training steps and of evaluation. `vkcnn bench`
// prints what it measures.
//
// Work is counted the same way for every op, so that figures compare:
//
//   - FLOPs: a multiply-add is 2; every other arithmetic operation or
//     comparison on an element is 1 (ReLU, max-pool's comparisons, a bias
//     add). Integer work (dropout's hash, index arithmetic) is not counted.
//     Convolutions count every (filter, input) product, zero padding
//     included: 2·N·K·OH·OW·C·R·S.
//   - Bytes: the compulsory traffic: every input read once, every output
//     written once (an output that is also read, such as SGD's parameter,
//     counts twice), float32 and uint32 at 4 bytes, uint8 records at 1.
//     Caches make real traffic differ; this is the floor a kernel cannot
//     go under.
package perf
