package main

import (
	"github.com/vkcnn/vkcnn/internal/terminal"

	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/arch"
	"github.com/vkcnn/vkcnn/backend"
	"github.com/vkcnn/vkcnn/backend/cpu"
	"github.com/vkcnn/vkcnn/backend/vulkan"
	"github.com/vkcnn/vkcnn/layers"
	"github.com/vkcnn/vkcnn/perf"
)

// `vkcnn bench` times every kernel of the training step on a device (by
// timestamp queries) and on the CPU reference (by the wall clock), beside
// the device's own ceilings; `vkcnn bench train` measures images per second
// of whole training steps and of evaluation.

type benchFlags struct {
	device, filter string
	runs, warmup   int
	batches        []int
	large, json    bool
	seed           uint64
}

func benchCommand() *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time every kernel of the training step against the device's peak FLOP/s and bandwidth",
		Long: `Times every op of the seed model's training step at batch 32 and 256 (and a
few large shapes) on the device, by timestamp queries around the op's
dispatches, and on the CPU reference, by the wall clock around a one-op
program's Run. Each figure is the median of --runs runs after --warmup
warm-up runs, with the min-max spread. The device's ceilings come from the
same command: an FMA-throughput kernel (peak GFLOP/s) and a large buffer copy
(GB/s); each kernel is shown as a percentage of the ceiling that bounds it
(compute when its FLOPs per byte reach the ridge point, else memory).

On a CPU-type device (lavapipe, the CPU reference) the large shapes are scaled
down and run fewer times; the output says so.

JSON (--json): an object with "device" (null with --device cpu), "ceilings",
"notes" and "kernels", each kernel with its work and a "device" and/or "cpu"
timing in milliseconds.`,
		Example: `  vkcnn bench --device 0
  vkcnn bench --device 0 --filter 'conv|matmul' --runs 50
  vkcnn bench --device cpu --large=false --json
  vkcnn bench train --device 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return bench(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.device, "device", "auto", "auto, cpu, or a Vulkan device index (see `vkcnn devices`); auto takes the CPU reference where there is no GPU")
	fl.StringVar(&f.filter, "filter", "", "run only kernels whose name matches this regular expression (e.g. conv, 'relu|matmul', fc3)")
	fl.IntVar(&f.runs, "runs", 20, "timed runs of each kernel")
	fl.IntVar(&f.warmup, "warmup", 2, "untimed runs before them")
	fl.IntSliceVar(&f.batches, "batch", []int{32, 256}, "batch sizes of the seed model's kernels")
	fl.BoolVar(&f.large, "large", true, "also time the large shapes (a 4096³ matmul, 256-channel convolutions at batch 128; smaller on CPU-type devices)")
	fl.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the random operands")
	cmd.AddCommand(benchTrainCommand())
	return cmd
}

// Runs of the large shapes on CPU-type devices and of the CPU reference's
// full-size large shapes: a 4096³ matmul takes seconds there.
const (
	scaledLargeRuns = 5
	cpuLargeRuns    = 3
	// ceilingRuns bounds the runs of each peak kernel.
	ceilingRuns = 10
)

// benchReport is the JSON of `vkcnn bench`.
type benchReport struct {
	Device      *benchDevice   `json:"device"`
	CPU         benchCPU       `json:"cpu_reference"`
	Runs        int            `json:"runs"`
	Warmup      int            `json:"warmup"`
	Large       string         `json:"large"` // "full", "scaled" or "none"
	LargeShapes string         `json:"large_shapes"`
	Ceilings    *benchCeilings `json:"ceilings"`
	Notes       []string       `json:"notes"`
	Kernels     []benchKernel  `json:"kernels"`
}

type benchDevice struct {
	Backend    string `json:"backend"`
	DeviceType string `json:"device_type"`
	Index      int    `json:"index"`
}

type benchCPU struct {
	Backend string `json:"backend"`
	Workers int    `json:"workers"`
}

// benchCeilings are the device's ceilings: each the fastest of Runs runs
// (other load only slows runs down), with the FMA kernel's median beside it.
type benchCeilings struct {
	FMAGFLOPs        float64 `json:"fma_gflops"`
	FMAGFLOPsMedian  float64 `json:"fma_gflops_median"`
	CopyGBs          float64 `json:"copy_gbs"` // the faster of the two copies
	ShaderCopyGBs    float64 `json:"shader_copy_gbs"`
	TransferCopyGBs  float64 `json:"transfer_copy_gbs"`
	CopyBytes        float64 `json:"copy_bytes_moved"` // read plus written, per copy
	RidgeFLOPPerByte float64 `json:"ridge_flop_per_byte"`
	Runs             int     `json:"runs"`
}

type benchKernel struct {
	Name        string       `json:"name"`
	Op          string       `json:"op"`
	Shape       string       `json:"shape"`
	Batch       int          `json:"batch"`
	Large       bool         `json:"large"`
	FLOPs       float64      `json:"flops"`
	Bytes       float64      `json:"bytes"`
	FLOPPerByte float64      `json:"flop_per_byte"`
	Bound       string       `json:"bound,omitempty"` // "compute" or "memory", with ceilings
	Device      *benchTiming `json:"device,omitempty"`
	CPU         *benchTiming `json:"cpu,omitempty"`
}

type benchTiming struct {
	Timing   string  `json:"timing"` // "timestamps" or "wall-clock"
	Runs     int     `json:"runs"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	MaxMS    float64 `json:"max_ms"`
	Q1MS     float64 `json:"q1_ms"`
	Q3MS     float64 `json:"q3_ms"`
	GFLOPs   float64 `json:"gflops"`
	GBs      float64 `json:"gbs"`
	// PercentOfCeiling is of the FMA peak for compute-bound kernels, of
	// the copy bandwidth for memory-bound ones (device timings only).
	PercentOfCeiling *float64 `json:"percent_of_ceiling,omitempty"`
	Error            string   `json:"error,omitempty"`
}

func bench(cmd *cobra.Command, f *benchFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.runs < 1 || f.warmup < 0 {
		return fmt.Errorf("--runs %d, --warmup %d: need at least one run and no negative warm-up", f.runs, f.warmup)
	}
	for _, n := range f.batches {
		if n < 1 {
			return fmt.Errorf("--batch %d: batch sizes must be at least 1", n)
		}
	}
	filter, err := regexp.Compile(f.filter)
	if err != nil {
		return fmt.Errorf("--filter %q: %w", f.filter, err)
	}
	primary, err := openBackend(f.device, stderr)
	if err != nil {
		return err
	}
	defer primary.Close()
	dev, _ := primary.(*vulkan.Backend)
	var ref backend.Backend = primary
	if dev != nil {
		ref = cpu.New()
		defer ref.Close()
	}

	r := &benchReport{
		CPU:  benchCPU{Backend: ref.Name(), Workers: runtime.GOMAXPROCS(0)},
		Runs: f.runs, Warmup: f.warmup, Large: "none", Notes: []string{},
	}
	large := perf.NoLarge
	if f.large {
		large, r.Large = perf.FullLarge, "full"
		if perf.CPUType(primary) {
			large, r.Large = perf.ScaledLarge, "scaled"
		}
	}
	r.LargeShapes = perf.LargeShapes(large)
	var kernels []perf.Kernel
	for _, k := range perf.Kernels(f.batches, large) {
		if filter.MatchString(k.Name) {
			kernels = append(kernels, k)
		}
	}
	if len(kernels) == 0 {
		return fmt.Errorf("no kernel name matches --filter %q (names look like conv.conv2.forward, matmul.fc3.backward-data, relu.forward, sgd.fc3.weight)", f.filter)
	}
	largeRuns := func(device bool) int {
		switch {
		case large == perf.ScaledLarge:
			return min(f.runs, scaledLargeRuns)
		case !device:
			return min(f.runs, cpuLargeRuns)
		}
		return f.runs
	}
	hasLarge := false
	for _, k := range kernels {
		hasLarge = hasLarge || k.Large
	}
	if hasLarge {
		if large == perf.ScaledLarge {
			r.Notes = append(r.Notes, fmt.Sprintf("large shapes scaled down for a CPU-type device (%s), %d runs each", r.LargeShapes, largeRuns(true)))
		} else if dev != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the CPU reference runs the large shapes %d times each", largeRuns(false)))
		}
	}

	progress := newProgress(stderr)
	var ceilings perf.Ceilings
	if dev != nil {
		info := dev.Device().Info()
		r.Device = &benchDevice{Backend: dev.Name(), DeviceType: info.Type.String(), Index: info.Index}
		progress.say("measuring the device's ceilings")
		runs := min(f.runs, ceilingRuns)
		if ceilings, err = perf.MeasureCeilings(dev, runs); err != nil {
			return err
		}
		shader, transfer := ceilings, ceilings
		shader.TransferCopy, transfer.ShaderCopy = perf.Stats{}, perf.Stats{}
		r.Ceilings = &benchCeilings{
			FMAGFLOPs:        ceilings.GFLOPs(),
			FMAGFLOPsMedian:  ceilings.FMA.Rate(ceilings.FMAFLOPs),
			CopyGBs:          ceilings.GBs(),
			ShaderCopyGBs:    shader.GBs(),
			TransferCopyGBs:  transfer.GBs(),
			CopyBytes:        ceilings.CopyBytes,
			RidgeFLOPPerByte: ceilings.Ridge(),
			Runs:             runs,
		}
	} else {
		r.Notes = append(r.Notes, "the CPU reference alone: no device ceilings (use --device N for a Vulkan device)")
	}

	failed := 0
	for i, k := range kernels {
		bk := benchKernel{Name: k.Name, Op: k.Op, Shape: k.Shape, Batch: k.Batch, Large: k.Large,
			FLOPs: k.Work.FLOPs, Bytes: k.Work.Bytes, FLOPPerByte: k.Work.Intensity()}
		progress.say(fmt.Sprintf("[%d/%d] %s %s", i+1, len(kernels), k.Name, k.Shape))
		if dev != nil {
			runs := f.runs
			if k.Large {
				runs = largeRuns(true)
			}
			m, err := perf.Measure(dev, k, f.warmup, runs, f.seed)
			bk.Device = timing(k, m, err)
			if err == nil {
				bound, pct := ceilings.Bound(k.Work, m.Stats)
				bk.Bound, bk.Device.PercentOfCeiling = bound, &pct
			} else {
				failed++
			}
		}
		runs, warmup := f.runs, f.warmup
		if k.Large {
			runs, warmup = largeRuns(dev == nil), min(warmup, 1)
		}
		m, err := perf.Measure(ref, k, warmup, runs, f.seed)
		bk.CPU = timing(k, m, err)
		if err != nil {
			failed++
		}
		r.Kernels = append(r.Kernels, bk)
	}
	progress.done()

	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printBench(stdout, r)
	}
	if failed > 0 {
		return fmt.Errorf("%d kernel timings failed (see their errors above)", failed)
	}
	return nil
}

func timing(k perf.Kernel, m perf.Measurement, err error) *benchTiming {
	if err != nil {
		return &benchTiming{Error: err.Error()}
	}
	const ms = 1e3
	return &benchTiming{
		Timing: m.Timing, Runs: m.Runs,
		MedianMS: m.Median * ms, MinMS: m.Min * ms, MaxMS: m.Max * ms, Q1MS: m.Q1 * ms, Q3MS: m.Q3 * ms,
		GFLOPs: m.Rate(k.Work.FLOPs), GBs: m.Rate(k.Work.Bytes),
	}
}

// printBench writes the report as a table.
func printBench(w io.Writer, r *benchReport) {
	if d := r.Device; d != nil {
		fmt.Fprintf(w, "device %d: %s, type %s; CPU reference: gonum on %d workers\n", d.Index, d.Backend, d.DeviceType, r.CPU.Workers)
	} else {
		fmt.Fprintf(w, "CPU reference: gonum on %d workers\n", r.CPU.Workers)
	}
	if c := r.Ceilings; c != nil {
		fmt.Fprintf(w, "ceilings (fastest of %d runs): FMA %.1f GFLOP/s (median %.1f); copy %.1f GB/s read+written (vkCmdCopyBuffer %.1f, copy shader %.1f; %.0f MiB buffers); ridge %.2f FLOP/byte\n",
			c.Runs, c.FMAGFLOPs, c.FMAGFLOPsMedian, c.CopyGBs, c.TransferCopyGBs, c.ShaderCopyGBs, c.CopyBytes/2/(1<<20), c.RidgeFLOPPerByte)
	}
	how := "CPU reference by the wall clock around Program.Run(1)"
	if r.Device != nil {
		how = "device by timestamp queries around the op's dispatches, " + how
	}
	fmt.Fprintf(w, "times: ms, median [min-max] of %d runs after %d warm-up; %s\n", r.Runs, r.Warmup, how)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w)

	head := []string{"kernel", "shape", "FLOPs", "bytes"}
	if r.Device != nil {
		head = append(head, "device ms", "[min-max]", "GFLOP/s", "GB/s", "% of ceiling")
	}
	head = append(head, "CPU ref ms", "[min-max]", "GFLOP/s", "GB/s")
	rows := [][]string{head}
	for _, k := range r.Kernels {
		cells := []string{k.Name, k.Shape, si(k.FLOPs, ""), si(k.Bytes, "B")}
		if r.Device != nil {
			cells = append(cells, timingCells(k.Device, k.Bound)...)
		}
		cells = append(cells, timingCells(k.CPU, "")[:4]...)
		rows = append(rows, cells)
	}
	table(w, rows, 2)
	for _, k := range r.Kernels {
		for _, t := range []struct {
			where string
			t     *benchTiming
		}{{"device", k.Device}, {"CPU reference", k.CPU}} {
			if t.t != nil && t.t.Error != "" {
				fmt.Fprintf(w, "error: %s on the %s: %s\n", k.Name, t.where, t.t.Error)
			}
		}
	}
}

// table writes rows in columns, the first left ones aligned left and the
// others (numbers) right.
func table(w io.Writer, rows [][]string, left int) {
	width := make([]int, left)
	for _, r := range rows {
		for i := range min(left, len(r)) {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i < left {
				// tabwriter aligns every column one way: pad by hand.
				c += strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			}
			b.WriteString(c)
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
		io.WriteString(tw, b.String())
	}
	tw.Flush()
}

func timingCells(t *benchTiming, bound string) []string {
	if t == nil {
		return []string{"", "", "", "", ""}
	}
	if t.Error != "" {
		return []string{"error", "", "", "", ""}
	}
	pct := ""
	if t.PercentOfCeiling != nil {
		b := "mem"
		if bound == perf.ComputeBound {
			b = "FMA"
		}
		pct = fmt.Sprintf("%.1f%% %s", *t.PercentOfCeiling, b)
	}
	return []string{msString(t.MedianMS), "[" + msString(t.MinMS) + "-" + msString(t.MaxMS) + "]",
		fmt.Sprintf("%.2f", t.GFLOPs), fmt.Sprintf("%.2f", t.GBs), pct}
}

func msString(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v) // 0.0523, 0.000312
}

// si writes v with a metric prefix: 605M, 2.15G.
func si(v float64, unit string) string {
	for _, p := range []struct {
		s string
		f float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if v >= p.f {
			return fmt.Sprintf("%.3g%s%s", v/p.f, p.s, unit)
		}
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}

// progress shows what is being timed on a terminal (a line overwritten in
// place); elsewhere it is silent, so logs and JSON stay clean.
type progress struct {
	w    io.Writer
	on   bool
	last int
}

func newProgress(w io.Writer) *progress { return &progress{w: w, on: terminal.Is(w)} }

func (p *progress) say(msg string) {
	if !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r%s%s", msg, strings.Repeat(" ", max(0, p.last-len(msg))))
	p.last = len(msg)
}

func (p *progress) done() {
	if p.on && p.last > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.last))
		p.last = 0
	}
}

type benchTrainFlags struct {
	device  string
	batches []int
	images  int
	json    bool
	seed    uint64
	arch    string
	memory  bool
}

func benchTrainCommand() *cobra.Command {
	f := &benchTrainFlags{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Measure images per second of whole training steps and of evaluation",
		Long: `Trains a network (--arch; the seed model by default) on generated
CIFAR-shaped records: one warm-up epoch,
then one timed epoch of --images images (rounded up to whole batches) whose
every step is the recorded gather-through-SGD sequence replayed; then
evaluates a test set of as many images, once to warm up and once timed. On a
Vulkan device it measures the CPU reference as well, and reports the peak
device memory. --memory-only records the training step and evaluation
without running them and reports only the peak device memory (quick even
for large batches on a CPU Vulkan driver).

JSON (--json): an array of {"backend", "device_type", "what" ("train" or
"eval"), "arch", "batch", "images_per_second", "images", "seconds",
"peak_memory_bytes" (Vulkan only), "dispatches_per_step" and
"barriers_per_step" (training rows, Vulkan only)}; device_type is
"cpu-reference" for the CPU reference, else the Vulkan device's type
("discrete-gpu", "integrated-gpu", "virtual-gpu", "cpu").`,
		Example: `  vkcnn bench train --device 0 --batch 32 --images 320
  vkcnn bench train --device cpu --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return benchTrain(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.device, "device", "auto", "auto, cpu, or a Vulkan device index (see `vkcnn devices`); a Vulkan device is measured beside the CPU reference")
	fl.IntSliceVar(&f.batches, "batch", []int{32, 128}, "batch sizes")
	fl.IntVar(&f.images, "images", 0, fmt.Sprintf("training images per timed epoch, and test images (0: %d on a GPU, %d on a CPU Vulkan driver, %d on the CPU reference)",
		gpuImages, cpuDriverImages, cpuReferenceImages))
	fl.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the generated records, initialization and dropout")
	fl.BoolVar(&f.memory, "memory-only", false, "report only the peak device memory of training and evaluation, without running them")
	addArchFlag(cmd, &f.arch, arch.Default)
	return cmd
}

// Default images per timed epoch: a few seconds of work on each kind of device.
const (
	gpuImages          = 3200
	cpuDriverImages    = 320
	cpuReferenceImages = 1280
)

func benchTrain(cmd *cobra.Command, f *benchTrainFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.images < 0 {
		return fmt.Errorf("--images %d: must be at least 1 (0: the device's default)", f.images)
	}
	if len(f.batches) == 0 {
		return fmt.Errorf("--batch: give at least one batch size")
	}
	for _, n := range f.batches {
		if n < 1 {
			return fmt.Errorf("--batch %d: batch sizes must be at least 1", n)
		}
	}
	nw, err := arch.Load(f.arch, arch.CIFAR10)
	if err != nil {
		return err
	}
	net := perf.Net{Name: nw.Name, Model: func() *layers.Model {
		fresh, _ := arch.Build(nw.Name, nw.Source, arch.CIFAR10) // it built once already
		return fresh.Model
	}}
	primary, err := openBackend(f.device, stderr)
	if err != nil {
		return err
	}
	if f.memory {
		return benchMemory(stdout, primary, net, f)
	}
	// Every measurement gets a backend of its own, closed after it: a
	// Vulkan backend frees device memory only when it closes, and
	// evaluation allocates its activations anew on every pass.
	opens := []func() (backend.Backend, error){func() (backend.Backend, error) { return openBackend(f.device, io.Discard) }}
	if _, ok := primary.(*vulkan.Backend); ok {
		opens = append(opens, func() (backend.Backend, error) { return cpu.New(), nil })
	}
	progress := newProgress(stderr)
	defer progress.done()
	results := []perf.Throughput{}
	for i, open := range opens {
		for j, batch := range f.batches {
			b := primary
			if i > 0 || j > 0 {
				if b, err = open(); err != nil {
					return err
				}
			}
			images := f.images
			if images == 0 {
				switch {
				case perf.DeviceType(b) == perf.CPUReference:
					images = cpuReferenceImages
				case perf.CPUType(b):
					images = cpuDriverImages
				default:
					images = gpuImages
				}
			}
			progress.say(fmt.Sprintf("%s: batch %d, %d images", b.Name(), batch, perf.TrainImages(images, batch)))
			train, eval, err := perf.Train(b, net, batch, images, f.seed)
			if cerr := b.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("closing the device: %w", cerr)
			}
			if err != nil {
				return fmt.Errorf("%s, batch %d: %w", b.Name(), batch, batchHint(err, batch))
			}
			results = append(results, train, eval)
		}
	}
	progress.done()
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	rows := [][]string{{"backend", "type", "arch", "what", "batch", "images", "seconds", "images/s", "ms/step", "dispatches", "barriers", "peak memory"}}
	for _, t := range results {
		dispatches, barriers := "-", "-"
		if t.DispatchesPerStep > 0 {
			dispatches, barriers = fmt.Sprint(t.DispatchesPerStep), fmt.Sprint(t.BarriersPerStep)
		}
		rows = append(rows, []string{t.Backend, t.DeviceType, t.Arch, t.What, fmt.Sprint(t.Batch), fmt.Sprint(t.Images),
			fmt.Sprintf("%.2f", t.Seconds), fmt.Sprintf("%.1f", t.ImagesPerSecond),
			fmt.Sprintf("%.1f", 1000*float64(t.Batch)/t.ImagesPerSecond), dispatches, barriers, mib(t.PeakMemory)})
	}
	table(stdout, rows, 4)
	fmt.Fprintln(stdout, "train: one timed epoch after a warm-up epoch (the recorded step replayed); eval: one timed pass over the test set after a warm-up pass")
	fmt.Fprintln(stdout, "ms/step: per batch; dispatches, barriers: the compute dispatches and hazard barriers of one recorded training step (Vulkan)")
	return nil
}

// benchMemory reports the peak device memory of training and evaluating
// each batch size, each on a fresh backend.
func benchMemory(w io.Writer, primary backend.Backend, net perf.Net, f *benchTrainFlags) error {
	type row struct {
		Backend    string `json:"backend"`
		Arch       string `json:"arch"`
		Batch      int    `json:"batch"`
		PeakMemory int64  `json:"peak_memory_bytes"`
	}
	var rows []row
	for i, batch := range f.batches {
		b := primary
		if i > 0 {
			var err error
			if b, err = openBackend(f.device, io.Discard); err != nil {
				return err
			}
		}
		if _, ok := b.(*vulkan.Backend); !ok {
			b.Close()
			return fmt.Errorf("--memory-only measures a Vulkan device's memory: pass --device with a Vulkan device index (see vkcnn devices)")
		}
		peak, err := perf.Memory(b, net, batch, f.seed)
		if cerr := b.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s, batch %d: %w", net.Name, batch, batchHint(err, batch))
		}
		rows = append(rows, row{b.Name(), net.Name, batch, peak})
	}
	if f.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	t := [][]string{{"backend", "arch", "batch", "peak memory"}}
	for _, r := range rows {
		t = append(t, []string{r.Backend, r.Arch, fmt.Sprint(r.Batch), mib(r.PeakMemory)})
	}
	table(w, t, 3)
	return nil
}

// mib writes bytes in MiB, or "-" for none.
func mib(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
