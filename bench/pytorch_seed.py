#!/usr/bin/env python3
"""PyTorch baseline for vkcnn: the CIFAR-10 tutorial's CNN on random data.

With --arch NAME it measures a network of vkcnn's model zoo instead
(bench/zoo.py: seed, airbench94, airbench-tiny, resnet18; the seed is the
default, the tutorial's CNN), and every record and the meta carry "arch".

Measures, on random data of CIFAR-10's shape (float32 [N,3,32,32] in [0,1],
int64 labels 0..9):

  train  full SGD steps (forward, CrossEntropyLoss, backward, optimizer.step,
         zero_grad) in train mode, at each --batches size (default 32 and 128)
  eval   forward passes and argmax under no_grad in eval mode at each
         --eval-batch size (default 1000)
  epoch  seconds for 50,000 images at batch 32: extrapolated from the train
         rate (extrapolated: true) or measured with --epoch

and prints records with the keys `vkcnn bench train --json` emits (backend,
device_type, what, batch, images_per_second, images, seconds). With --json
it prints {"meta": {...}, "results": [...]}, meta holding the torch version,
threads, what torch.__config__.show() says and which BLAS library is loaded
(from /proc/self/maps); without it, a readable summary.

On CUDA the data set lives on the GPU (a pre-generated pool; each step
indexes a random batch, no host transfer) and timing is bracketed by
torch.cuda.synchronize(). --compile also measures torch.compile (PyTorch 2.x;
reported as unavailable on older versions or when compiling fails).

Runs on Python 3.7+ and PyTorch 1.13+.
"""

import argparse
import json
import os
import platform
import sys
import time

EPOCH_IMAGES = 50000  # CIFAR-10's training set
# bench/zoo.py's ARCHES (that module imports torch, which must wait for --threads).
ZOO_ARCHES = ("seed", "airbench94", "airbench-tiny", "resnet18")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--arch", choices=ZOO_ARCHES, default=None,
                   help="a network of vkcnn's model zoo (bench/zoo.py); default: the seed, "
                        "the tutorial's CNN, without an \"arch\" key in the output")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (also OMP/OpenBLAS/MKL threads); default: all cores")
    p.add_argument("--compile", action="store_true",
                   help="also measure torch.compile (reported unavailable where torch has none)")
    p.add_argument("--no-eager", action="store_true",
                   help="with --compile: measure torch.compile alone (e.g. under its own timeout)")
    p.add_argument("--steps", type=int, default=0,
                   help="timed training steps per batch size (default: 100 on cpu, 300 on cuda)")
    p.add_argument("--warmup", type=int, default=0,
                   help="untimed steps before each measurement (default: 5 on cpu, 20 on cuda)")
    p.add_argument("--eval-images", type=int, default=0,
                   help="images per timed eval measurement, rounded up to whole batches "
                        "(default: 5000 on cpu, 50000 on cuda)")
    p.add_argument("--batches", default="32,128", help="training batch sizes, comma-separated")
    p.add_argument("--eval-batch", default="1000", help="eval batch sizes, comma-separated")
    p.add_argument("--pool", type=int, default=0,
                   help="random images generated up front (default: 4096 on cpu, 10000 on cuda)")
    p.add_argument("--epoch", action="store_true",
                   help="measure a full epoch (50,000 images, batch 32) instead of extrapolating")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help='print {"meta": ..., "results": [...]}')
    a = p.parse_args(argv)
    cuda = a.device == "cuda"
    a.steps = a.steps or (300 if cuda else 100)
    a.warmup = a.warmup or (20 if cuda else 5)
    a.eval_images = a.eval_images or (50000 if cuda else 5000)
    a.pool = a.pool or (10000 if cuda else 4096)
    try:
        a.batch_list = [int(b) for b in a.batches.split(",") if b.strip()]
        a.eval_list = [int(b) for b in a.eval_batch.split(",") if b.strip()]
    except ValueError:
        p.error("--batches, --eval-batch: comma-separated integers, e.g. 32,128")
    a.batch_list = sorted(set(a.batch_list), key=a.batch_list.index)
    a.eval_list = sorted(set(a.eval_list), key=a.eval_list.index)
    if not a.batch_list or not a.eval_list or min(a.batch_list + a.eval_list) < 1:
        p.error("batch sizes must be positive")
    if a.eval_images < 1:
        p.error("--eval-images must be positive")
    if a.threads < 0:
        p.error("--threads must be positive")
    return a


def blas_from_maps(path="/proc/self/maps"):
    """Shared libraries mapped into this process that provide BLAS/LAPACK."""
    keys = ("openblas", "libblas", "liblapack", "mkl", "blis", "atlas")
    found = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                lib = parts[-1]
                name = os.path.basename(lib).lower()
                if any(k in name for k in keys) or "openblas" in lib.lower():
                    if lib not in found:
                        found.append(lib)
    except OSError:
        return [], "unknown (no /proc/self/maps)"
    return found, classify_blas(found)


def classify_blas(libs):
    """A short name for the BLAS implementation among libs (paths)."""
    resolved = [os.path.realpath(l) for l in libs]
    text = " ".join(libs + resolved).lower()
    if "openblas" in text:
        kind = "OpenBLAS"
        if "pthread" in text:
            kind += " (pthread)"
        elif "openmp" in text:
            kind += " (openmp)"
        return kind
    if "mkl" in text:
        return "MKL"
    if "blis" in text:
        return "BLIS"
    if "atlas" in text:
        return "ATLAS"
    if "libblas" in text:
        return "reference BLAS (netlib)"
    return "none mapped (statically linked into libtorch, e.g. MKL in pip wheels)"


def main(argv=None):
    a = parse_args(argv)
    if a.json:
        # Only the JSON goes to stdout: anything torch, inductor or a compiler prints while
        # measuring (Python or C level) goes to stderr.
        sys.stdout.flush()
        json_fd = os.dup(1)
        os.dup2(2, 1)
        try:
            meta, results = run(a)
        finally:
            sys.stdout.flush()
            os.dup2(json_fd, 1)
            os.close(json_fd)
        json.dump({"meta": meta, "results": results}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    meta, results = run(a)
    if a.arch:
        print("network: %s (bench/zoo.py)" % a.arch)
    print("torch %s, %d threads, BLAS: %s" % (meta["torch_version"], meta["threads"], meta["blas_loaded"]))
    for l in meta["blas_libraries"]:
        print("  mapped: %s -> %s" % (l, os.path.realpath(l)))
    if a.compile:
        print("torch.compile: " + meta["compile"])
    print("%-22s %-6s %6s %12s %9s %9s" % ("backend", "what", "batch", "images/s", "images", "seconds"))
    for r in results:
        note = " (extrapolated)" if r.get("extrapolated") else ""
        print("%-22s %-6s %6d %12.1f %9d %9.2f%s" % (r["backend"], r["what"], r["batch"],
                                                     r["images_per_second"], r["images"],
                                                     r["seconds"], note))
    return 0


def run(a):
    """Measures; returns (meta, results)."""
    if a.device == "cpu" and not a.threads:
        try:
            a.threads = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            a.threads = os.cpu_count() or 1
    if a.threads:
        # Before importing torch, so OpenMP, OpenBLAS and MKL start with this many threads.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(a.threads))

    import torch
    import torch.nn as nn

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("pytorch_seed.py: --device cuda, but torch.cuda.is_available() is False "
                 "(torch %s, built with CUDA %s)" % (torch.__version__, torch.version.cuda))
    dev = torch.device(a.device)

    def make_model():
        if a.arch not in (None, "seed"):
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import zoo
            return zoo.make(a.arch).to(dev)
        # The PyTorch CIFAR-10 tutorial's network, attribute names as in its state_dict.
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1)
                self.act1 = nn.ReLU()
                self.drop1 = nn.Dropout(0.3)
                self.conv2 = nn.Conv2d(32, 32, kernel_size=3, stride=1, padding=1)
                self.act2 = nn.ReLU()
                self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
                self.flat = nn.Flatten()
                self.fc3 = nn.Linear(8192, 512)
                self.act3 = nn.ReLU()
                self.drop3 = nn.Dropout(0.5)
                self.fc4 = nn.Linear(512, 10)

            def forward(self, x):
                x = self.drop1(self.act1(self.conv1(x)))
                x = self.pool2(self.act2(self.conv2(x)))
                x = self.act3(self.fc3(self.flat(x)))
                return self.fc4(self.drop3(x))

        return Net().to(dev)

    # The data set: a pool of random images on the device, batches indexed from it.
    images = torch.rand(a.pool, 3, 32, 32, device=dev)
    labels = torch.randint(0, 10, (a.pool,), device=dev, dtype=torch.int64)
    gen = torch.Generator(device=dev)
    gen.manual_seed(a.seed)

    def batch(n):
        idx = torch.randint(0, a.pool, (n,), device=dev, generator=gen)
        return images.index_select(0, idx), labels.index_select(0, idx)

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    def timed(fn, steps, warmup):
        for _ in range(warmup):
            fn()
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        sync()
        return time.perf_counter() - t0

    def measure(backend, fwd_model, raw_model):
        crit = nn.CrossEntropyLoss()
        opt = torch.optim.SGD(raw_model.parameters(), lr=0.001, momentum=0.9)
        out = []

        def train_step(n):
            x, y = batch(n)
            loss = crit(fwd_model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()

        raw_model.train()
        rates = {}
        for b in a.batch_list:
            secs = timed(lambda: train_step(b), a.steps, a.warmup)
            rates[b] = b * a.steps / secs
            out.append(record(backend, "train", b, b * a.steps, secs))
            log("%s train batch %d: %.1f images/s" % (backend, b, rates[b]))

        if a.epoch:
            full, rest = divmod(EPOCH_IMAGES, 32)
            sync()
            t0 = time.perf_counter()
            for _ in range(full):
                train_step(32)
            if rest:
                train_step(rest)
            sync()
            secs = time.perf_counter() - t0
            r = record(backend, "epoch", 32, EPOCH_IMAGES, secs)
            r["extrapolated"] = False
            out.append(r)
            log("%s epoch (50,000 images, batch 32, measured): %.1f s" % (backend, secs))
        elif 32 in rates:
            r = record(backend, "epoch", 32, EPOCH_IMAGES, EPOCH_IMAGES / rates[32])
            r["extrapolated"] = True
            out.append(r)

        raw_model.eval()

        def eval_step(n):
            with torch.no_grad():
                x, _ = batch(n)
                fwd_model(x).argmax(1)

        for b in a.eval_list:
            steps = -(-a.eval_images // b)
            secs = timed(lambda: eval_step(b), steps, max(1, min(a.warmup, steps // 5)))
            out.append(record(backend, "eval", b, b * steps, secs))
            log("%s eval batch %d: %.1f images/s" % (backend, b, b * steps / secs))
        return out

    device_type, device_name = "cpu", cpu_model()
    if a.device == "cuda":
        device_type, device_name = "cuda", torch.cuda.get_device_name(0)

    def record(backend, what, b, n, secs):
        r = {
            "backend": backend,
            "device_type": device_type,
            "device_name": device_name,
            "what": what,
            "batch": b,
            "images_per_second": round(n / secs, 2),
            "images": n,
            "seconds": round(secs, 4),
        }
        if a.arch:
            r["arch"] = a.arch
        return r

    base = "pytorch-" + a.device
    results = []
    if not (a.no_eager and a.compile):
        model = make_model()
        results += measure(base, model, model)

    compile_note = None
    if a.compile:
        if not hasattr(torch, "compile"):
            compile_note = "unavailable: torch %s has no torch.compile" % torch.__version__
        else:
            try:
                torch.manual_seed(a.seed)
                m = make_model()
                # dynamic=False: a graph specialised to each batch size, as eager's kernels are.
                cm = torch.compile(m, dynamic=False)
                t0 = time.perf_counter()
                recs = measure(base + "-compile", cm, m)
                compile_note = "measured (torch.compile, default mode, dynamic=False; compiling in " \
                               "the warm-up steps; %.1f s for all its measurements)" % (time.perf_counter() - t0)
                results += recs
            except Exception as e:  # a missing compiler, triton, ... : report, don't fail
                msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
                compile_note = "unavailable: torch.compile failed: " + msg[:300]
                log("torch.compile failed: " + msg[:300])

    libs, blas = blas_from_maps()
    meta = {
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "device": a.device,
        "device_name": device_name,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas_loaded": blas,
        "blas_libraries": libs,
        "blas_libraries_resolved": sorted(set(os.path.realpath(l) for l in libs)),
        "torch_config": torch.__config__.show(),
        "compile": compile_note if a.compile else "not requested",
        "steps": a.steps,
        "warmup": a.warmup,
        "eval_images": a.eval_images,
        "pool_images": a.pool,
        "epoch": "measured" if a.epoch else "extrapolated from the train rate at batch 32",
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                if k in os.environ},
    }
    if a.arch:
        meta["arch"] = a.arch
    if a.device == "cuda":
        meta["cuda"] = torch.version.cuda
        meta["cudnn"] = torch.backends.cudnn.version()
        meta["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        meta["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        meta["tf32_cudnn"] = torch.backends.cudnn.allow_tf32

    return meta, results


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
