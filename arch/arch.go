// Package arch describes networks in plain text: the model files users
// write and the zoo of built-in networks, which are written in the same
// format and embedded. Build turns a description into a layers.Model for
// the input the data decides (channels, image size, classes), checking
// every shape on the way, and summarizes it (output shape, parameters and
// FLOPs of every layer).
//
// The format, one layer per line, "#" starting a comment:
//
//	normalize mean=0.4914,0.4822,0.4465 std=0.2470,0.2435,0.2616
//	conv1: conv 32 kernel=3 pad=1       # name: layer settings
//	relu                                # layers without parameters need no name
//	block1:                             # a nested module: its layers indented
//	    conv1: conv 64 kernel=3 pad=1 bias=false
//	    norm1: batchnorm eps=1e-12 momentum=0.4 weight=frozen
//	flatten
//	fc: linear classes                  # "classes": the data set's class count
//
// A name is a PyTorch module name: parameters are saved as
// block1.conv1.weight. A "residual" block adds its body's output to its
// input; a block named "shortcut" inside it replaces the identity path.
// Because blocks nest rather than refer to each other by name, a
// description cannot contain a cycle.
package arch
