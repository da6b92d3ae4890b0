package perf

import (
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/gpu"
)

func find(t *testing.T, ks []Kernel, name string, batch int) Kernel {
	t.Helper()
	for _, k := range ks {
		if k.Name == name && k.Batch == batch {
			return k
		}
	}
	t.Fatalf("no kernel %s at batch %d", name, batch)
	return Kernel{}
}

// TestPerfWork checks the FLOP and byte counts of a few kernels against
// numbers worked out by hand.
func TestPerfWork(t *testing.T) {
	ks := Kernels([]int{32, 256}, FullLarge)
	tests := []struct {
		name         string
		batch        int
		flops, bytes float64
	}{
		// 2·N·K·OH·OW·C·R·S = 2·32·32·1024·32·9, plus one bias add per
		// output (32·32·1024); x and y 32·32·32·32 floats, w 32·32·3·3, b 32.
		{"conv.conv2.forward", 32, 603979776 + 1048576, 4 * (1048576 + 9216 + 32 + 1048576)},
		// conv1 backward-data: 2·32·32·1024·3·9; dy 32·32·32·32, w 32·3·3·3, dx 32·3·32·32.
		{"conv.conv1.backward-data", 32, 56623104, 4 * (1048576 + 864 + 98304)},
		// 2·256·512·8192; x 256·8192, W 512·8192, y 256·512.
		{"matmul.fc3.forward", 256, 2147483648, 4 * (2097152 + 4194304 + 131072)},
		// dW = dYᵀ·X: 512x8192 output, inner 32.
		{"matmul.fc3.backward-weights", 32, 268435456, 4 * (16384 + 262144 + 4194304)},
		// 4 FLOPs and 5 floats an element of 512·8192.
		{"sgd.fc3.weight", 0, 16777216, 83886080},
		// 1 comparison an element; x read, y written.
		{"relu.forward", 32, 1048576, 8388608},
		// 3 comparisons per 2x2 window; x read, y and argmax written.
		{"maxpool.forward", 32, 3 * 262144, 4 * (1048576 + 2*262144)},
		// 32 records of 3073 bytes, 32 indices, 32·3072 floats, 32 labels, ctr.
		{"gather", 32, 98304, 98336 + 128 + 393216 + 128 + 8},
		{"matmul.large", 0, 2 * 4096 * 4096 * 4096, 3 * 4 * 4096 * 4096},
	}
	for _, tc := range tests {
		k := find(t, ks, tc.name, tc.batch)
		if k.Work.FLOPs != tc.flops || k.Work.Bytes != tc.bytes {
			t.Errorf("%s at batch %d: %v FLOPs, %v bytes; want %v, %v", tc.name, tc.batch, k.Work.FLOPs, k.Work.Bytes, tc.flops, tc.bytes)
		}
	}
	if in := find(t, ks, "matmul.fc3.forward", 256).Work.Intensity(); math.Abs(in-2147483648/25690112.0) > 1e-9 {
		t.Errorf("intensity %v", in)
	}
}

func TestPerfSummarize(t *testing.T) {
	tests := []struct {
		in   []float64
		want Stats
	}{
		{[]float64{5, 1, 4, 2, 3}, Stats{Runs: 5, Median: 3, Min: 1, Max: 5, Q1: 2, Q3: 4}},
		{[]float64{4, 1, 3, 2}, Stats{Runs: 4, Median: 2.5, Min: 1, Max: 4, Q1: 1.75, Q3: 3.25}},
		{[]float64{7}, Stats{Runs: 1, Median: 7, Min: 7, Max: 7, Q1: 7, Q3: 7}},
		{[]float64{1, 1, 1, 100}, Stats{Runs: 4, Median: 1, Min: 1, Max: 100, Q1: 1, Q3: 25.75}},
		{nil, Stats{}},
	}
	for _, tc := range tests {
		in := append([]float64(nil), tc.in...)
		if got := Summarize(tc.in); got != tc.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", in, got, tc.want)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("Summarize reordered its input: %v", tc.in)
		}
	}
	if r := (Stats{Median: 0.5}).Rate(3e9); r != 6 {
		t.Errorf("Rate: %v, want 6", r)
	}
	if r := (Stats{}).Rate(3e9); r != 0 {
		t.Errorf("Rate without a time: %v, want 0", r)
	}
}

// TestPerfKernelsCoverOps: every op of backend.Ops but Step (which only
// advances two counters) has a benchmark, so a new op without one fails.
func TestPerfKernelsCoverOps(t *testing.T) {
	covered := map[string]bool{}
	names := map[[2]any]bool{}
	for _, k := range Kernels([]int{32}, ScaledLarge) {
		covered[k.Op] = true
		key := [2]any{k.Name, k.Batch}
		if names[key] {
			t.Errorf("two kernels named %s at batch %d", k.Name, k.Batch)
		}
		names[key] = true
		if k.setup == nil || k.Work.Bytes <= 0 || k.Shape == "" {
			t.Errorf("%s: incomplete: %+v", k.Name, k)
		}
	}
	ops := reflect.TypeFor[backend.Ops]()
	for i := range ops.NumMethod() {
		name := ops.Method(i).Name
		if name != "Step" && !covered[name] {
			t.Errorf("backend.Ops.%s has no benchmark in perf.Kernels", name)
		}
		delete(covered, name)
	}
	for op := range covered {
		t.Errorf("a kernel claims to time %s, which backend.Ops does not have", op)
	}
}

func TestPerfKernelsLarge(t *testing.T) {
	count := func(ks []Kernel) (large int) {
		for _, k := range ks {
			if k.Large {
				large++
			}
		}
		return large
	}
	none, full, scaled := Kernels([]int{32}, NoLarge), Kernels([]int{32}, FullLarge), Kernels([]int{32}, ScaledLarge)
	if count(none) != 0 || count(full) != 4 || count(scaled) != 4 || len(full) != len(none)+4 {
		t.Errorf("large kernels: %d, %d, %d", count(none), count(full), count(scaled))
	}
	if f, s := find(t, full, "conv.large.forward", 128), find(t, scaled, "conv.large.forward", 4); s.Work.FLOPs*32 != f.Work.FLOPs {
		t.Errorf("scaled conv %v FLOPs, full %v", s.Work.FLOPs, f.Work.FLOPs)
	}
}

func TestPerfCeilingsBound(t *testing.T) {
	// 100 GFLOP/s and 10 GB/s: the ridge is at 10 FLOPs a byte.
	// Ceilings come from the fastest runs.
	c := Ceilings{FMAFLOPs: 100e9, FMA: Stats{Median: 2, Min: 1}, CopyBytes: 20e9,
		ShaderCopy: Stats{Median: 5, Min: 4}, TransferCopy: Stats{Median: 3, Min: 2}}
	if c.GFLOPs() != 100 || c.GBs() != 10 || c.Ridge() != 10 {
		t.Fatalf("ceilings %v GFLOP/s, %v GB/s, ridge %v", c.GFLOPs(), c.GBs(), c.Ridge())
	}
	tests := []struct {
		w     Work
		s     float64
		bound string
		pct   float64
	}{
		{Work{FLOPs: 50e9, Bytes: 1e9}, 1, ComputeBound, 50},   // 50 GFLOP/s of 100
		{Work{FLOPs: 10e9, Bytes: 1e9}, 0.5, ComputeBound, 20}, // at the ridge: compute
		{Work{FLOPs: 1e9, Bytes: 4e9}, 1, MemoryBound, 40},     // 4 GB/s of 10
		{Work{Bytes: 4e9}, 2, MemoryBound, 20},                 // no FLOPs at all
	}
	for _, tc := range tests {
		b, p := c.Bound(tc.w, Stats{Median: tc.s})
		if b != tc.bound || math.Abs(p-tc.pct) > 1e-9 {
			t.Errorf("Bound(%+v, %v s) = %s %v%%, want %s %v%%", tc.w, tc.s, b, p, tc.bound, tc.pct)
		}
	}
	if b, p := (Ceilings{}).Bound(Work{FLOPs: 1, Bytes: 1}, Stats{Median: 1}); b != MemoryBound || p != 0 {
		t.Errorf("without ceilings: %s %v%%", b, p)
	}
}

// measureAll times every kernel at a tiny batch once: each one's operands
// are valid for its op on b, and the times are positive.
func measureAll(t *testing.T, b backend.Backend, timing string) {
	for _, k := range Kernels([]int{2}, NoLarge) {
		m, err := Measure(b, k, 1, 2, 1)
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		if m.Timing != timing || m.Runs != 2 || !(m.Min > 0) || m.Min > m.Median || m.Median > m.Max {
			t.Errorf("%s: %+v", k.Name, m)
		}
	}
}

func TestPerfMeasureCPU(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	measureAll(t, b, WallClock)
	if DeviceType(b) != CPUReference || !CPUType(b) {
		t.Errorf("the CPU reference: type %s, CPU type %v", DeviceType(b), CPUType(b))
	}
	if _, err := Measure(b, ReLU(2, 3), 0, 0, 1); err == nil {
		t.Error("Measure with 0 runs returned no error")
	}
}

func vulkanBackend(t *testing.T) *vulkan.Backend {
	b, err := vulkan.New(gpu.Options{Index: -1, Validate: true})
	if err != nil {
		if os.Getenv("VKCNN_REQUIRE_DEVICE") == "1" {
			t.Fatalf("no Vulkan device, and VKCNN_REQUIRE_DEVICE=1: %v", err)
		}
		t.Skipf("no Vulkan device: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
	})
	return b
}

func TestPerfMeasureVulkan(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every kernel's pipeline")
	}
	b := vulkanBackend(t)
	measureAll(t, b, Timestamps)
	if DeviceType(b) != b.Device().Info().Type.String() {
		t.Errorf("device type %s", DeviceType(b))
	}
	c, err := MeasureCeilings(b, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(c.GFLOPs() > 0) || !(c.GBs() > 0) || !(c.Ridge() > 0) {
		t.Fatalf("ceilings %+v", c)
	}
}

func TestPerfTrain(t *testing.T) {
	b := cpu.New()
	defer b.Close()
	train, eval, err := Train(b, SeedNet, 4, 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Throughput{train, eval} {
		if r.Backend != "cpu" || r.DeviceType != CPUReference || r.Batch != 4 || r.Images != 8 ||
			!(r.Seconds > 0) || math.Abs(r.ImagesPerSecond-float64(r.Images)/r.Seconds) > 1e-9 {
			t.Errorf("%+v", r)
		}
	}
	if train.What != "train" || eval.What != "eval" {
		t.Errorf("what: %s, %s", train.What, eval.What)
	}
	if train.DispatchesPerStep != 0 || train.BarriersPerStep != 0 {
		t.Errorf("the CPU reference counts %d dispatches and %d barriers per step, want none", train.DispatchesPerStep, train.BarriersPerStep)
	}
	if _, _, err := Train(b, SeedNet, 0, 8, 1); err == nil {
		t.Error("batch 0 returned no error")
	}
}

// TestPerfTrainCommands: on Vulkan the training rows say how many
// dispatches and barriers a step records (the seed's: at most 30 since
// fusion), the evaluation rows nothing.
func TestPerfTrainCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the Vulkan device")
	}
	b := vulkanBackend(t)
	train, eval, err := Train(b, SeedNet, 4, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if train.DispatchesPerStep < 10 || train.DispatchesPerStep > 30 || train.BarriersPerStep < 1 || train.BarriersPerStep >= train.DispatchesPerStep {
		t.Errorf("training: %d dispatches, %d barriers per step", train.DispatchesPerStep, train.BarriersPerStep)
	}
	if eval.DispatchesPerStep != 0 {
		t.Errorf("evaluation: %d dispatches per step, want 0 (not reported)", eval.DispatchesPerStep)
	}
}
