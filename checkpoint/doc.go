// Package checkpoint stores vkcnn's model weights and training state as
// safetensors files, the format PyTorch's safetensors.torch.load_file reads,
// so a model trained here can be loaded into the PyTorch CIFAR-10 tutorial
// network and back.
//
// Files are written by this package's own encoder, because the safetensors
// library orders tensors by dtype and name and this package keeps the order
// the caller gives (the model's layer order). Reading goes through
// github.com/nlpodyssey/safetensors, which validates the header and the data
// offsets.
//
// Every write is atomic: a temporary file in the target's directory is
// written, synced and renamed over the target, so a crash leaves either the
// old file or the new one, never a torn one.
package checkpoint
