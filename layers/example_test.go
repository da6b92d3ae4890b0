package layers_test

import (
	"context"
	"fmt"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/cifar10"
	"github.com/vkcnn/vkcnn/layers"
)

// A network of your own in a few lines: a convolution, BatchNorm, a
// residual block, global average pooling and a linear classifier, with
// PyTorch's state_dict names, trained with SGD on the CPU reference (pass
// a Vulkan backend from backend/vulkan to train on a GPU).
func Example() {
	m := &layers.Model{Layers: []layers.Layer{
		layers.NewConv2dNoBias("conv1", 3, 16, 3, 2, 1),
		layers.NewBatchNorm2d("bn1", 16, 1e-5, 0.1, false),
		layers.ReLU{},
		&layers.Residual{Body: []layers.Layer{
			layers.NewConv2dNoBias("block.conv", 16, 16, 3, 1, 1),
			layers.NewBatchNorm2d("block.bn", 16, 1e-5, 0.1, false),
		}},
		layers.ReLU{},
		layers.AvgPool2d{Global: true},
		layers.Flatten{},
		layers.NewLinear("fc", 16, 10),
	}}
	b := cpu.New()
	defer b.Close()
	if err := m.Alloc(b); err != nil {
		panic(err)
	}
	if err := m.Init(b, 1); err != nil {
		panic(err)
	}
	data := cifar10.Synthetic(2000, 500, 1) // CIFAR-10 records: cifar10.Load reads the real ones
	cfg := layers.Config{BatchSize: 32, SGD: backend.SGDParams{LR: 0.05, Momentum: 0.9}, Seed: 1}
	t, err := layers.NewTrainer(b, m, cfg, data.Train.Records, data.Test.Records)
	if err != nil {
		panic(err)
	}
	defer t.Close()
	for epoch := range 3 {
		if _, err := t.Epoch(context.Background(), epoch, nil); err != nil {
			panic(err)
		}
	}
	_, acc, _, err := t.Evaluate()
	if err != nil {
		panic(err)
	}
	names, _ := m.Shapes()
	fmt.Println(names[:6])
	fmt.Println("test accuracy above 80%:", acc > 0.8)
	// Output:
	// [conv1.weight bn1.weight bn1.bias bn1.running_mean bn1.running_var bn1.num_batches_tracked]
	// test accuracy above 80%: true
}
