#!/usr/bin/env python3
"""airbench94's training recipe in PyTorch, at any width: the reference vkcnn's recipe is compared with.

  /usr/bin/python3 bench/airbench.py --archive cifar-10-binary.tar.gz [--arch airbench-tiny]
      [--epochs 9.9] [--batch 1024] [--tta 2] [--seed 0] [--device cpu|cuda|cuda:N|auto]
      [--threads N] [--steps N] [--save-init W0.safetensors] [--save-final W.safetensors] [--json]

The network is bench/zoo.py's (airbench94: widths 64, 256, 256; airbench-tiny: 16, 32, 32), with
vkcnn's state_dict names. The recipe is Keller Jordan's airbench94 (legacy/airbench94.py),
written anew from its description:

- data: the CIFAR-10 binary archive (or its extracted folder); pixels / 255, then (x - mean) / std
  with mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616). Training set: data_batch_1..5
  in order; test set: test_batch.
- init: PyTorch's defaults, then every conv's first C_in filters the identity (dirac), conv biases
  zero, BatchNorm weight 1 (frozen) and bias 0; the whitening conv (2x2, 24 filters) from the
  first 5,000 training images: the eigenvectors V_k / sqrt(lambda_k + 5e-4) of the uncentred
  covariance of all their 2x2 patches, largest first, and their negatives; its weight is frozen,
  its bias trains for the first 3 epochs.
- training: batches of 1024 (the short last one dropped), ceil(steps_per_epoch * epochs) steps
  (476 at 9.9 epochs), cross-entropy with label smoothing 0.2 summed over the batch, SGD with
  Nesterov momentum 0.85 and coupled weight decay: lr = 11.5 / K, wd = 0.0153 * batch / K with
  K = 1024 * (1 + 1 / (1 - 0.85)), weight_decay = wd / lr; BatchNorm biases at lr * 64 (and
  weight_decay = wd / (lr * 64)). Learning-rate factor per step: 0.2 -> 1.0 over the first
  int(0.23 * steps), then 1.0 -> 0.07 at the last.
- lookahead: every 5 steps, over the whole float state (BatchNorm running statistics included),
  ema = lerp(ema, theta, 1 - decay), theta = ema, with decay = 0.95^5 * (step / steps)^3; ema
  starts as the model before the whitening init; after the last step theta = ema.
- augmentation: reflect-pad 2 and a random 32x32 crop per image and epoch; alternating flip (a
  random flip per image in epoch 0, the opposite one in odd epochs, the same in even ones); a
  fresh shuffle per epoch.
- evaluation: eval mode; per epoch without TTA; at the end with --tta (2: the image, its mirror,
  and the two one-pixel diagonal translates (reflect padding) with their mirrors, weights 0.25,
  0.25, 0.125 x 4; 1: the image and its mirror; 0: the image).

All random numbers (initialization, flips, crops, shuffles) come from PyTorch's CPU generator after
torch.manual_seed(--seed), so a CUDA run draws the same ones as a CPU run. The computation is
float32 (airbench runs its convolutions in float16 on the GPU).

Output: a line per epoch (train loss: the last batch's summed loss / batch; train accuracy of that
batch; test accuracy without TTA; the learning-rate factor of the epoch's last step; seconds), then
the TTA accuracy. --json prints one JSON object at the end instead (the lines go to stderr):
{"arch", "epochs", "batch", "seed", "device", "threads", "tta", "steps_per_epoch", "total_steps",
"steps", "rows": [{"epoch", "steps", "train_loss", "train_accuracy", "test_accuracy", "lr_factor",
"seconds", "elapsed"}], "tta_accuracy", "seconds", "tta_seconds", "hyperparameters", "torch"}.
Accuracies are percentages. "seconds" is the training time: the whitening init plus every
epoch's training loop (augmentation included), without the evaluations; airbench's own total adds
the final TTA evaluation, "tta_seconds".

--steps N stops after N steps of the full run's schedule (for quick comparisons; the final
theta = ema happens only at the run's last step). --save-init writes the state_dict after all
initialization (before step 1), --save-final the one after training, as safetensors with vkcnn's
names (float32, num_batches_tracked int64). Bad input ends in one line on stderr, exit status 1.
"""

import argparse
import json
import math
import os
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

ARCHES = ("airbench94", "airbench-tiny")
RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple("data_batch_%d.bin" % i for i in range(1, 6))
TEST_FILE = "test_batch.bin"
CLASSES = 10

HYP = {
    "batch": 1024,
    "epochs": 9.9,
    "lr": 11.5,              # per 1024 examples, before the momentum scaling
    "momentum": 0.85,
    "weight_decay": 0.0153,  # per 1024 examples
    "bias_scaler": 64.0,     # BatchNorm biases' learning rate factor
    "label_smoothing": 0.2,
    "whiten_bias_epochs": 3,
    "whiten_images": 5000,
    "whiten_eps": 5e-4,
    "warmup": 0.23,
    "lr_start": 0.2,
    "lr_end": 0.07,
    "lookahead_every": 5,
    "lookahead_decay": 0.95 ** 5,
    "translate": 2,
    "eval_batch": 2000,
}


def fail(msg):
    raise SystemExit("airbench.py: " + " ".join(str(msg).split()))


def _threads_env(argv):
    """Sets the BLAS/OpenMP thread variables from --threads before torch loads."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--threads", default="")
    a, _ = p.parse_known_args(argv)
    if a.threads.isdigit() and int(a.threads) > 0:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, a.threads)


if __name__ == "__main__":
    _threads_env(sys.argv[1:])

import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import zoo  # noqa: E402
from torch_zoo import positive  # noqa: E402  (the argument parsers are shared)


# ---------------------------------------------------------------- data

def read_files(source, names):
    """{name: bytes} of the CIFAR-10 binary files names, from cifar-10-binary.tar.gz (one pass) or
    an extracted cifar-10-batches-bin directory (or the folder above it)."""
    got = {}
    if os.path.isdir(source):
        for name in names:
            for p in (os.path.join(source, name), os.path.join(source, "cifar-10-batches-bin", name)):
                if os.path.isfile(p):
                    try:
                        with open(p, "rb") as f:
                            got[name] = f.read()
                    except OSError as e:
                        fail("cannot read %s: %s" % (p, e.strerror or e))
                    break
            else:
                fail("%s has no %s (nor cifar-10-batches-bin/%s): point --archive at "
                     "cifar-10-binary.tar.gz or its extracted cifar-10-batches-bin directory"
                     % (source, name, name))
        return got
    if not os.path.exists(source):
        fail("no such file or directory: %s (--archive: cifar-10-binary.tar.gz or a "
             "cifar-10-batches-bin directory)" % source)
    try:
        with tarfile.open(source, "r:*") as tar:
            for m in tar:
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and base in names and base not in got:
                    got[base] = tar.extractfile(m).read()
                    if len(got) == len(names):
                        break
    except (tarfile.TarError, OSError, EOFError) as e:
        fail("%s: not a readable tar archive (%s)" % (source, e))
    missing = [n for n in names if n not in got]
    if missing:
        fail("%s holds no %s: is it cifar-10-binary.tar.gz (the binary version)?"
             % (source, ", ".join(missing)))
    return got


def decode(raw, where):
    """(uint8 images [N,3,32,32], int64 labels [N]) of a CIFAR-10 binary file's bytes."""
    if not raw or len(raw) % RECORD:
        fail("%s: %d bytes is not a whole number of %d-byte records" % (where, len(raw), RECORD))
    n = len(raw) // RECORD
    rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, RECORD)
    labels = rec[:, 0].long()
    bad = (labels >= CLASSES).nonzero()
    if len(bad):
        i = int(bad[0])
        fail("%s: record %d has label %d (CIFAR-10's are 0-9)" % (where, i, int(labels[i])))
    return rec[:, 1:].reshape(n, 3, 32, 32).clone(), labels


def load_cifar(source):
    """((train images, labels), (test images, labels)): uint8 images, data_batch_1..5 in order."""
    files = read_files(source, TRAIN_FILES + (TEST_FILE,))
    train = [decode(files[n], "%s:%s" % (source, n)) for n in TRAIN_FILES]
    test = decode(files[TEST_FILE], "%s:%s" % (source, TEST_FILE))
    return (torch.cat([t[0] for t in train]), torch.cat([t[1] for t in train])), test


def normalize(images, arch="airbench94"):
    """uint8 (or [0,255] float) images [N,C,H,W] -> float32 (x / 255 - mean) / std, on their device."""
    mean, std = zoo.NORMALIZATION[arch]
    c = images.shape[1]
    mean = torch.tensor(mean[:c], device=images.device).view(1, c, 1, 1)
    std = torch.tensor(std[:c], device=images.device).view(1, c, 1, 1)
    return (images.float() / 255 - mean) / std


def flip_mask(base, epoch):
    """The alternating flip: base (bool [N], drawn in epoch 0) in even epochs, its opposite in odd."""
    return ~base if epoch % 2 else base.clone()


def augment(x, flips, shifts, pad):
    """x [N,C,H,W]: mirrored where flips, then reflect-padded by pad and cropped back to HxW at
    offset (pad + shifts[:, 0], pad + shifts[:, 1]) (shifts in -pad..pad: rows, columns)."""
    x = torch.where(flips.view(-1, 1, 1, 1), x.flip(-1), x)
    if pad == 0:
        return x
    n, c, h, w = x.shape
    p = F.pad(x, (pad,) * 4, mode="reflect")
    dev = x.device
    rows = (shifts[:, 0] + pad).view(n, 1, 1, 1) + torch.arange(h, device=dev).view(1, 1, h, 1)
    cols = (shifts[:, 1] + pad).view(n, 1, 1, 1) + torch.arange(w, device=dev).view(1, 1, 1, w)
    return p[torch.arange(n, device=dev).view(n, 1, 1, 1), torch.arange(c, device=dev).view(1, c, 1, 1),
             rows, cols]


class TrainLoader:
    """airbench's training loader: per epoch a fresh shuffle and crop, the alternating flip, the
    short last batch dropped. Random numbers from the CPU generator: the flip base when made, then
    per epoch the shifts [N,2] and the permutation."""

    def __init__(self, images, labels, batch, arch, device, translate=HYP["translate"]):
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch, self.arch, self.device, self.translate = batch, arch, device, translate
        self.base_flip = torch.rand(len(labels)) < 0.5

    def __len__(self):
        return len(self.labels) // self.batch

    def epoch(self, e):
        n, t = len(self.labels), self.translate
        shifts = torch.randint(-t, t + 1, (n, 2)).to(self.device)
        perm = torch.randperm(n).to(self.device)
        flips = flip_mask(self.base_flip, e).to(self.device)
        for i in range(len(self)):
            idx = perm[i * self.batch:(i + 1) * self.batch]
            x = normalize(self.images[idx], self.arch)
            yield augment(x, flips[idx], shifts[idx], t), self.labels[idx]


# ---------------------------------------------------------------- model and its initialization

def dirac_init(model):
    """Every conv: its first C_in filters the identity, bias zero; BatchNorm weight 1, bias 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.dirac_(m.weight[:m.in_channels])
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1)
                m.bias.zero_()


def whitening_filters(images, k=2, eps=HYP["whiten_eps"], chunk=500):
    """(eigenvalues, filters, covariance) of the uncentred covariance of every kxk patch (stride 1)
    of images [N,C,H,W], computed in float64: eigenvalues [C*k*k] in descending order, filters
    [C*k*k, C, k, k] = eigenvector_j / sqrt(eigenvalue_j + eps) (patch order c, row, column)."""
    c = images.shape[1]
    d = c * k * k
    cov = torch.zeros(d, d, dtype=torch.float64, device=images.device)
    count = 0
    for x in images.split(chunk):
        p = x.double().unfold(2, k, 1).unfold(3, k, 1)      # [n, c, H', W', k, k]
        p = p.permute(0, 2, 3, 1, 4, 5).reshape(-1, d)
        cov += p.T @ p
        count += p.shape[0]
    cov /= count
    lam, vec = torch.linalg.eigh(cov)                        # ascending
    lam, vec = lam.flip(0), vec.flip(1)
    filters = (vec.T / torch.sqrt(lam + eps).unsqueeze(1)).reshape(d, c, k, k)
    return lam, filters, cov


def init_whitening(conv, images):
    """conv.weight = cat(filters, -filters) of whitening_filters(images)."""
    _, filters, _ = whitening_filters(images, conv.kernel_size[0])
    if 2 * filters.shape[0] != conv.out_channels:
        raise ValueError("whitening: %d filters for a conv of %d" % (2 * filters.shape[0], conv.out_channels))
    with torch.no_grad():
        conv.weight.copy_(torch.cat((filters, -filters)).to(conv.weight.dtype))


def make_model(arch):
    """zoo.make(arch) with airbench's dirac init and its frozen whitening weight (not yet whitened)."""
    model = zoo.make(arch)
    dirac_init(model)
    model.whiten.weight.requires_grad_(False)
    return model


# ---------------------------------------------------------------- optimizer, schedules, lookahead

def hyperparameters(batch, momentum=HYP["momentum"]):
    """(lr, wd, lr_biases) as airbench computes them: PyTorch's weight_decay is then wd / lr."""
    kilostep = 1024 * (1 + 1 / (1 - momentum))
    lr = HYP["lr"] / kilostep
    return lr, HYP["weight_decay"] * batch / kilostep, lr * HYP["bias_scaler"]


def make_optimizer(model, batch):
    """SGD, Nesterov: BatchNorm biases (trainable params named *norm*) at lr * 64, the rest at lr."""
    lr, wd, lr_b = hyperparameters(batch)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [dict(params=[p for n, p in named if "norm" in n], lr=lr_b, weight_decay=wd / lr_b),
              dict(params=[p for n, p in named if "norm" not in n], lr=lr, weight_decay=wd / lr)]
    return torch.optim.SGD(groups, lr=lr, momentum=HYP["momentum"], nesterov=True)


def lr_factor(step, total):
    """The learning-rate factor of step (0-based) of total: 0.2 -> 1.0 over int(0.23 * total)
    steps, then 1.0 -> 0.07 at step total."""
    warmup = int(total * HYP["warmup"])
    if step < warmup:
        frac = step / warmup
        return HYP["lr_start"] * (1 - frac) + frac
    frac = (step - warmup) / (total - warmup)
    return (1 - frac) + HYP["lr_end"] * frac


def lookahead_decay(step, total):
    """decay = 0.95^5 * (step / total)^3, step counted after the step."""
    return HYP["lookahead_decay"] * (step / total) ** 3


class Lookahead:
    """A slow copy of every float state_dict entry; update: ema = lerp(ema, theta, 1 - decay), theta = ema."""

    def __init__(self, model):
        self.ema = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model, decay):
        for k, v in model.state_dict().items():
            if k in self.ema:
                self.ema[k].lerp_(v, 1 - decay)
                v.copy_(self.ema[k])


# ---------------------------------------------------------------- evaluation

def tta_logits(net, x, level):
    """Logits of x with test-time augmentation level 0, 1 or 2 (net: any callable)."""
    def mirror(v):
        return 0.5 * net(v) + 0.5 * net(v.flip(-1))
    if level == 0:
        return net(x)
    logits = mirror(x)
    if level == 1:
        return logits
    h, w = x.shape[-2:]
    p = F.pad(x, (1,) * 4, mode="reflect")
    translated = 0.5 * (mirror(p[:, :, 0:h, 0:w]) + mirror(p[:, :, 2:h + 2, 2:w + 2]))
    return 0.5 * logits + 0.5 * translated


def evaluate(model, images, labels, arch, level=0, batch=HYP["eval_batch"]):
    """Accuracy in percent, eval mode (running statistics), uint8 images on the model's device."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            x = normalize(images[i:i + batch], arch)
            correct += int((tta_logits(model, x, level).argmax(1) == labels[i:i + batch]).sum())
    return 100 * correct / len(labels)


# ---------------------------------------------------------------- the run

def save(path, model):
    import torch_zoo
    try:
        torch_zoo.save_safetensors(path, model.state_dict())
    except SystemExit as e:
        fail(str(e.code).replace("torch_zoo.py: ", "", 1))


def run(a, train, test, log=print):
    """Trains per the arguments a; returns the result object."""
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    (train_x, train_y), (test_x, test_y) = train, test
    if a.batch > len(train_y):
        fail("--batch %d is more than the %d training images" % (a.batch, len(train_y)))
    torch.manual_seed(a.seed)
    model = make_model(a.arch).to(dev)
    look = Lookahead(model)  # before the whitening init, as airbench
    seconds = 0.0
    sync()
    t = time.perf_counter()
    init_whitening(model.whiten, normalize(train_x[:HYP["whiten_images"]].to(dev), a.arch))
    sync()
    seconds += time.perf_counter() - t
    opt = make_optimizer(model, a.batch)
    loader = TrainLoader(train_x, train_y, a.batch, a.arch, dev)
    total = math.ceil(len(loader) * a.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total))
    stop = min(total, a.steps) if a.steps else total
    if a.save_init:
        save(a.save_init, model)
    test_x, test_y = test_x.to(dev), test_y.to(dev)
    log("%-5s %6s %10s %9s %9s %9s %9s" % ("epoch", "steps", "train_loss", "train_acc", "test_acc",
                                          "lr_factor", "seconds"))
    rows, step = [], 0
    for epoch in range(math.ceil(a.epochs)):
        if step >= stop:
            break
        model.whiten.bias.requires_grad_(epoch < HYP["whiten_bias_epochs"])
        model.train()
        sync()
        t = time.perf_counter()
        for x, y in loader.epoch(epoch):
            factor = lr_factor(step, total)
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=HYP["label_smoothing"], reduction="sum")
            opt.zero_grad(set_to_none=True)  # a frozen whitening bias keeps no stale gradient
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % HYP["lookahead_every"] == 0:
                look.update(model, lookahead_decay(step, total))
            if step == total:
                look.update(model, 1.0)
            if step >= stop:
                break
        sync()
        took = time.perf_counter() - t
        seconds += took
        train_loss = loss.item() / len(y)
        if not math.isfinite(train_loss):
            fail("the training loss is %s at epoch %d (step %d)" % (train_loss, epoch + 1, step))
        row = {"epoch": epoch + 1, "steps": step, "train_loss": train_loss,
               "train_accuracy": 100 * (out.detach().argmax(1) == y).float().mean().item(),
               "test_accuracy": evaluate(model, test_x, test_y, a.arch, 0),
               "lr_factor": factor, "seconds": took, "elapsed": seconds}
        rows.append(row)
        log("%-5d %6d %10.4f %9.2f %9.2f %9.4f %9.2f" % (
            row["epoch"], step, train_loss, row["train_accuracy"], row["test_accuracy"], factor, took))
    sync()
    t = time.perf_counter()
    tta = evaluate(model, test_x, test_y, a.arch, a.tta)
    sync()
    tta_seconds = time.perf_counter() - t
    log("tta%d accuracy %.2f%%; %.2f s training (whitening init and %d steps), %.2f s TTA eval"
        % (a.tta, tta, seconds, step, tta_seconds))
    if a.save_final:
        save(a.save_final, model)
    lr, wd, lr_b = hyperparameters(a.batch)
    return {"arch": a.arch, "epochs": a.epochs, "batch": a.batch, "seed": a.seed, "device": str(dev),
            "threads": torch.get_num_threads(), "tta": a.tta, "steps_per_epoch": len(loader),
            "total_steps": total, "steps": step, "rows": rows, "tta_accuracy": tta,
            "seconds": seconds, "tta_seconds": tta_seconds,
            "hyperparameters": {"lr": lr, "weight_decay": wd / lr, "lr_biases": lr_b,
                                "weight_decay_biases": wd / lr_b, "momentum": HYP["momentum"],
                                "nesterov": True, "label_smoothing": HYP["label_smoothing"],
                                "warmup_steps": int(total * HYP["warmup"])},
            "torch": torch.__version__}


# ---------------------------------------------------------------- arguments

class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message):
        fail("%s (see --help)" % message)


def parse_args(argv):
    p = Parser(prog="airbench.py", description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--archive", required=True,
                   help="cifar-10-binary.tar.gz or an extracted cifar-10-batches-bin directory")
    p.add_argument("--arch", default="airbench94", choices=ARCHES)
    p.add_argument("--epochs", type=positive(float), default=HYP["epochs"])
    p.add_argument("--batch", type=positive(int), default=HYP["batch"])
    p.add_argument("--tta", type=int, default=2, choices=(0, 1, 2))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, or auto (cuda where there is one)")
    p.add_argument("--threads", type=positive(int), default=0, help="torch CPU threads (default: every core)")
    p.add_argument("--steps", type=positive(int), default=0, help="stop after N steps")
    p.add_argument("--save-init", default="", help="write the initial state_dict (safetensors)")
    p.add_argument("--save-final", default="", help="write the final state_dict (safetensors)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    a = p.parse_args(argv)
    for f in ("save_init", "save_final"):
        v = getattr(a, f)
        if v and not os.path.isdir(os.path.dirname(os.path.abspath(v))):
            fail("--%s %s: no such directory %s" % (f.replace("_", "-"), v, os.path.dirname(os.path.abspath(v))))
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    threads = a.threads
    if not threads:
        try:
            threads = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(a.device)
    except RuntimeError as e:
        fail("--device %s: %s" % (a.device, e))
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            fail("--device %s: this torch (%s) sees no CUDA device" % (a.device, torch.__version__))
        torch.backends.cudnn.benchmark = True
    elif dev.type != "cpu":
        fail("--device %s: cpu, cuda, cuda:N or auto" % a.device)
    train, test = load_cifar(a.archive)
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if a.json else (lambda s: print(s, flush=True))
    result = run(a, train, test, log)
    if a.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
