// Package images turns image files into the network's input and CIFAR-10
// records into pictures a person can check: Decode prepares a PNG or JPEG for
// vkcnn predict the way torchvision's Resize and ToTensor would, and Grid
// draws a labelled batch, for eyeballing that the data loader and the labels
// agree.
package images
