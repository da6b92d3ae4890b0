#!/usr/bin/env python3
"""vkcnn's model zoo in PyTorch: weights and reference results for vkcnn's tests.

  torch_zoo.py init  --arch A --seed S --out W.safetensors [--classes 10]
  torch_zoo.py eval  --arch A --weights W.safetensors --archive DATA [--limit N]
                     [--out-logits F] [--batch 500] [--float64]
  torch_zoo.py train --arch A --archive DATA --steps K --batch B --lr LR --seed S
                     --out W.safetensors [--momentum 0.9] [--weights W0.safetensors]
  torch_zoo.py step  --arch A --weights W.safetensors --archive DATA --batch B --lr LR
                     --out W2.safetensors [--out-grads G.safetensors] [--float64]

Common: --threads N (default: every core; torch would otherwise use one here).
Archs: seed, airbench94, airbench-tiny, resnet18 (bench/zoo.py, which holds the
networks, their state_dict names and their input normalization).

init   PyTorch's default initialization after torch.manual_seed(S); writes every
       state_dict entry (parameters and buffers: BatchNorm running stats as F32,
       num_batches_tracked as I64), in state_dict order.
eval   load_state_dict(strict=True) of W, eval mode, on the CIFAR-10 test batch
       (test_batch.bin) of DATA: cifar-10-binary.tar.gz, or an extracted
       cifar-10-batches-bin directory (or the folder above it); pixels / 255, then
       the arch's (x - mean) / std. Prints one JSON line
       {"accuracy": percent, "correct": C, "n": N, "predictions": [class, ...]};
       --out-logits writes the logits [N, classes] as raw little-endian float32.
train  K steps of SGD (momentum 0.9 by default, no weight decay), train mode, from
       init --seed S (or --weights), on the first images of data_batch_1.bin in order
       (batch i holds records i*B .. i*B+B-1, wrapping at the end); writes the
       state_dict; prints {"losses": [...], "steps": K, "batch": B}.
step   ONE training step from W in train mode (BatchNorm normalizes with the batch's
       statistics and updates its running statistics and num_batches_tracked) on the
       first B images of data_batch_1.bin, loss = cross-entropy (--label-smoothing,
       --loss mean|sum), SGD with lr LR (--momentum from zero buffers, --nesterov,
       --weight-decay coupled, --bias-lr-scale for BatchNorm biases as airbench's
       second group, --freeze names; frozen parameters, airbench's BatchNorm
       weights, stay); writes the updated state_dict; prints {"loss": L (the
       mean or summed loss), "correct": C, "batch": B}.
       --out-grads writes the gradient of every trained parameter. The seed has
       dropout, so its step is random and is refused.

--float64 (eval, step) computes in float64 and writes float32 (logits, weights,
gradients): a reference closer to exact than PyTorch's float32 run. It matters for
BatchNorm biases in resnet18, whose gradients cancel: there PyTorch's float32 step
differs from the float64 one by ~1e-2 of the update, more than vkcnn's does.

Bad input ends in one line on stderr, exit status 1. safetensors is read and written
here with json and struct (F32, F64, F16, I64, I32, I16, I8, U8, BOOL): Debian's
python3-torch has no safetensors module.
"""

import argparse
import json
import math
import os
import struct
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))

RECORD = 1 + 3 * 32 * 32  # a CIFAR-10 binary record: label byte, then 3 planes of 32x32
IMAGE = 32
CLASSES = 10


def fail(msg):
    raise SystemExit("torch_zoo.py: " + msg.replace("\n", " "))


# ---------------------------------------------------------------- safetensors

def _dtypes():
    import torch
    return {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
            "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
            "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    """{name: tensor} in the file's header order (dtype kept)."""
    import torch
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail("cannot read %s: %s" % (path, e.strerror or e))
    if len(data) < 8:
        fail("%s: not safetensors (%d bytes, shorter than the 8-byte header length)" % (path, len(data)))
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        fail("%s: not safetensors or truncated (header length %d, file %d bytes)" % (path, n, len(data)))
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail("%s: not safetensors (the header is not JSON: %s)" % (path, e))
    if not isinstance(header, dict):
        fail("%s: not safetensors (the header is not a JSON object)" % path)
    base, size = 8 + n, len(data) - 8 - n
    dtypes = _dtypes()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], [int(d) for d in info["shape"]], info["data_offsets"]
            start, end = int(start), int(end)
        except (KeyError, TypeError, ValueError):
            fail("%s: tensor %s: a malformed entry %s" % (path, name, json.dumps(info)))
        if dtype not in dtypes:
            fail("%s: tensor %s has dtype %s; this reader takes %s" % (path, name, dtype, ", ".join(dtypes)))
        t = dtypes[dtype]
        numel = 1
        for d in shape:
            if d < 0:
                fail("%s: tensor %s has a negative dimension %s" % (path, name, shape))
            numel *= d
        want = numel * torch.empty((), dtype=t).element_size()
        if not 0 <= start <= end <= size or end - start != want:
            fail("%s: tensor %s: data_offsets [%d, %d] do not fit its %s %s (%d bytes) in %d bytes of data%s"
                 % (path, name, start, end, dtype, shape, want, size,
                    " (truncated file?)" if end > size else ""))
        if numel == 0:
            out[name] = torch.empty(shape, dtype=t)
        else:
            out[name] = torch.frombuffer(bytearray(data[base + start:base + end]), dtype=t).reshape(shape)
    return out


def save_safetensors(path, tensors):
    """Writes {name: tensor} in the given order, each in its own dtype, to a temporary
    file renamed to path."""
    names = {v: k for k, v in _dtypes().items()}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in names:
            fail("cannot write %s: dtype %s" % (name, t.dtype))
        raw = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        fail("cannot write %s: %s" % (path, e.strerror or e))


# ---------------------------------------------------------------- data

def read_batch(source, name):
    """The bytes of CIFAR-10's NAME (test_batch.bin, data_batch_1.bin) from an archive
    (.tar.gz or .tar) or a directory (cifar-10-batches-bin or the folder above it)."""
    if os.path.isdir(source):
        for p in (os.path.join(source, name), os.path.join(source, "cifar-10-batches-bin", name)):
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    return f.read(), p
        fail("%s has no %s (nor cifar-10-batches-bin/%s): point --archive at cifar-10-binary.tar.gz "
             "or its extracted cifar-10-batches-bin directory" % (source, name, name))
    if not os.path.exists(source):
        fail("no such file or directory: %s (--archive: cifar-10-binary.tar.gz or a "
             "cifar-10-batches-bin directory)" % source)
    try:
        with tarfile.open(source, "r:*") as tar:
            for m in tar:
                if m.isfile() and (m.name == name or m.name.endswith("/" + name)):
                    return tar.extractfile(m).read(), "%s:%s" % (source, m.name)
    except (tarfile.TarError, OSError, EOFError) as e:
        fail("%s: not a readable tar archive (%s)" % (source, e))
    fail("%s holds no %s: is it cifar-10-binary.tar.gz (the binary version)?" % (source, name))


def load_images(source, name, arch, limit=0):
    """(normalized float images [N,3,32,32], int64 labels [N]) of the batch file."""
    import torch
    import zoo
    raw, where = read_batch(source, name)
    if not raw or len(raw) % RECORD:
        fail("%s: %d bytes is not a whole number of %d-byte records" % (where, len(raw), RECORD))
    n = len(raw) // RECORD
    if limit:
        n = min(n, limit)
        raw = raw[:n * RECORD]
    rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, RECORD)
    labels = rec[:, 0].long()
    bad = (labels >= CLASSES).nonzero()
    if len(bad):
        i = int(bad[0])
        fail("%s: record %d has label %d (CIFAR-10's are 0-9)" % (where, i, int(labels[i])))
    images = rec[:, 1:].float().reshape(n, 3, IMAGE, IMAGE) / 255
    return zoo.normalize(images, arch), labels


# ---------------------------------------------------------------- models

def new_model(arch, seed, classes):
    import torch
    import zoo
    torch.manual_seed(seed)
    try:
        return zoo.make(arch, classes=classes)
    except ValueError as e:
        fail(str(e))


def load_weights(model, path, got):
    """load_state_dict(strict=True) of got (read from path), after checking names and
    shapes for a one-line error."""
    want = model.state_dict()
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    shapes = ["%s is %s, want %s" % (k, list(got[k].shape), list(want[k].shape))
              for k in want if k in got and got[k].shape != want[k].shape]
    def some(names):
        return ", ".join(names[:6]) + (" (and %d more)" % (len(names) - 6) if len(names) > 6 else "")
    problems = []
    if missing:
        problems.append("missing " + some(missing))
    if extra:
        problems.append("unexpected " + some(extra))
    if shapes:
        problems.append(some(shapes))
    if problems:
        fail("%s does not fit the %s network: %s" % (path, type(model).__name__, "; ".join(problems)))
    try:
        model.load_state_dict(got, strict=True)
    except RuntimeError as e:
        fail("%s: load_state_dict: %s" % (path, " ".join(str(e).split())))


def model_for(arch, path, seed=0):
    """A network of arch holding the weights of path; its class count is the rows of
    the file's last 2-D tensor (the head)."""
    got = load_safetensors(path)
    heads = [t for t in got.values() if t.dim() == 2]
    model = new_model(arch, seed, heads[-1].shape[0] if heads and heads[-1].shape[0] > 0 else CLASSES)
    load_weights(model, path, got)
    return model


# ---------------------------------------------------------------- commands

def cmd_init(a):
    model = new_model(a.arch, a.seed, a.classes)
    save_safetensors(a.out, model.state_dict())
    print(json.dumps({"arch": a.arch, "seed": a.seed, "tensors": len(model.state_dict()), "out": a.out}))


def float32(tensors):
    """{name: tensor} with float64 tensors as float32, the rest as they are."""
    import torch
    return {k: v.float() if v.dtype == torch.float64 else v for k, v in tensors.items()}


def cmd_eval(a):
    import torch
    model = model_for(a.arch, a.weights)
    model.eval()
    images, labels = load_images(a.archive, "test_batch.bin", a.arch, a.limit)
    if a.float64:
        model, images = model.double(), images.double()
    logits = []
    with torch.no_grad():
        for i in range(0, len(labels), a.batch):
            logits.append(model(images[i:i + a.batch]))
    logits = torch.cat(logits)
    pred = logits.argmax(1)
    correct = int((pred == labels).sum())
    if a.out_logits:
        try:
            with open(a.out_logits, "wb") as f:
                f.write(logits.to(torch.float32).contiguous().numpy().astype("<f4").tobytes())
        except OSError as e:
            fail("cannot write %s: %s" % (a.out_logits, e.strerror or e))
    n = len(labels)
    print(json.dumps({"accuracy": 100 * correct / n, "correct": correct, "n": n,
                      "predictions": pred.tolist()}))


def sgd(model, lr, momentum):
    import torch
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=0)


def cmd_train(a):
    import torch
    import torch.nn.functional as F
    if a.weights:
        model = model_for(a.arch, a.weights, a.seed)
    else:
        model = new_model(a.arch, a.seed, CLASSES)
    images, labels = load_images(a.archive, "data_batch_1.bin", a.arch, a.steps * a.batch)
    n = len(labels)
    opt = sgd(model, a.lr, a.momentum)
    model.train()
    losses = []
    for s in range(a.steps):
        idx = torch.arange(s * a.batch, (s + 1) * a.batch) % n
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not math.isfinite(loss.item()):
            fail("train: the loss is %s at step %d: lower --lr" % (loss.item(), s))
        losses.append(loss.item())
    save_safetensors(a.out, model.state_dict())
    print(json.dumps({"losses": losses, "steps": a.steps, "batch": a.batch}))


def is_batchnorm_bias(model, name):
    """Whether a parameter is a BatchNorm's bias (airbench's "norm biases" group)."""
    import torch
    module, _, field = name.rpartition(".")
    return field == "bias" and isinstance(model.get_submodule(module), torch.nn.BatchNorm2d)


def cmd_step(a):
    import torch
    import torch.nn.functional as F
    import zoo
    if zoo.has_dropout(a.arch):
        fail("step: --arch %s has dropout, so one training step is random and cannot be compared; "
             "use %s" % (a.arch, ", ".join(x for x in zoo.ARCHES if not zoo.has_dropout(x))))
    model = model_for(a.arch, a.weights)
    images, labels = load_images(a.archive, "data_batch_1.bin", a.arch, a.batch)
    if a.batch > len(labels):
        fail("step: --batch %d, but data_batch_1.bin has only %d images" % (a.batch, len(labels)))
    x, y = images[:a.batch], labels[:a.batch]
    if a.float64:
        model, x = model.double(), x.double()
    frozen = [n for n in a.freeze.split(",") if n]
    named = dict(model.named_parameters())
    for n in frozen:
        if n not in named:
            fail("step: --freeze %s: no such parameter" % n)
        named[n].requires_grad = False
    biases = [p for n, p in model.named_parameters()
              if p.requires_grad and is_batchnorm_bias(model, n)]
    others = [p for n, p in model.named_parameters()
              if p.requires_grad and not is_batchnorm_bias(model, n)]
    groups = [dict(params=others, lr=a.lr, weight_decay=a.weight_decay)]
    if biases:
        groups.append(dict(params=biases, lr=a.lr * a.bias_lr_scale,
                           weight_decay=a.weight_decay / a.bias_lr_scale))
    opt = torch.optim.SGD(groups, lr=a.lr, momentum=a.momentum, nesterov=a.nesterov)
    model.train()
    opt.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=a.label_smoothing, reduction=a.loss)
    loss.backward()
    if a.out_grads:
        save_safetensors(a.out_grads, float32({k: p.grad for k, p in model.named_parameters()
                                               if p.requires_grad and p.grad is not None}))
    opt.step()
    save_safetensors(a.out, float32(model.state_dict()))
    print(json.dumps({"loss": loss.item(), "correct": int((logits.argmax(1) == y).sum()),
                      "batch": a.batch}))


# ---------------------------------------------------------------- arguments

def positive(kind):
    def parse(s):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number" % s)
        if not (v > 0 and math.isfinite(v)):
            raise argparse.ArgumentTypeError("%s must be positive" % s)
        return v
    return parse


def non_negative_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % s)
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError("%s must be a finite number >= 0" % s)
    return v


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message):
        fail(("%s: %s (see --help)" % (self.prog.replace("torch_zoo.py", "").strip(), message)).lstrip(": "))


def parse_args(argv):
    import zoo
    p = Parser(prog="torch_zoo.py", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", metavar="{init,eval,train,step}")

    def common(s, archive=True):
        s.add_argument("--arch", required=True, choices=zoo.ARCHES)
        s.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
        if archive:
            s.add_argument("--archive", required=True,
                           help="cifar-10-binary.tar.gz or an extracted cifar-10-batches-bin directory")

    s = sub.add_parser("init", help="PyTorch's default initialization, as safetensors")
    common(s, archive=False)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--classes", type=positive(int), default=CLASSES)
    s.add_argument("--out", required=True)

    s = sub.add_parser("eval", help="accuracy and predictions on the test batch")
    common(s)
    s.add_argument("--weights", required=True)
    s.add_argument("--limit", type=positive(int), default=0, help="the first N test images only")
    s.add_argument("--out-logits", default="", help="write the logits as raw little-endian float32")
    s.add_argument("--batch", type=positive(int), default=500, help="images per forward pass")
    s.add_argument("--float64", action="store_true", help="compute in float64 (the logits written as float32)")

    s = sub.add_parser("train", help="a short SGD run on the first training images")
    common(s)
    s.add_argument("--steps", type=positive(int), required=True)
    s.add_argument("--batch", type=positive(int), required=True)
    s.add_argument("--lr", type=non_negative_float, required=True)
    s.add_argument("--momentum", type=non_negative_float, default=0.9)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--weights", default="", help="start from these weights instead of init --seed")
    s.add_argument("--out", required=True)

    s = sub.add_parser("step", help="one SGD step (lr, no momentum) from weights")
    common(s)
    s.add_argument("--weights", required=True)
    s.add_argument("--batch", type=positive(int), required=True)
    s.add_argument("--lr", type=non_negative_float, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--out-grads", default="", help="write the parameters' gradients as safetensors")
    s.add_argument("--float64", action="store_true",
                   help="compute in float64, write float32: a reference closer to exact")
    s.add_argument("--label-smoothing", type=non_negative_float, default=0.0)
    s.add_argument("--loss", choices=["mean", "sum"], default="mean")
    s.add_argument("--momentum", type=non_negative_float, default=0.0,
                   help="SGD momentum (one step from zero buffers)")
    s.add_argument("--nesterov", action="store_true")
    s.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                   help="PyTorch's coupled weight_decay")
    s.add_argument("--bias-lr-scale", type=positive(float), default=1.0,
                   help="BatchNorm biases in their own group: lr times this, weight_decay over it (airbench)")
    s.add_argument("--freeze", default="", help="comma-separated parameter names that do not train (e.g. whiten.weight)")

    a = p.parse_args(argv)
    if not a.cmd:
        p.error("give a command: init, eval, train or step")
    if a.threads < 0:
        p.error("--threads must be positive")
    if getattr(a, "momentum", 0) >= 1:
        p.error("--momentum must be in [0, 1)")
    for f in ("weights", "archive"):
        v = getattr(a, f, "")
        if v and not os.path.exists(v):
            fail("--%s %s: no such file or directory" % (f, v))
    for f in ("out", "out_logits", "out_grads"):
        v = getattr(a, f, "")
        if v and not os.path.isdir(os.path.dirname(os.path.abspath(v))):
            fail("--%s %s: no such directory %s" % (f.replace("_", "-"), v, os.path.dirname(os.path.abspath(v))))
    return a


def main(argv=None):
    a = parse_args(argv)
    threads = a.threads
    if not threads:
        try:
            threads = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            threads = os.cpu_count() or 1
    import torch
    torch.set_num_threads(threads)
    {"init": cmd_init, "eval": cmd_eval, "train": cmd_train, "step": cmd_step}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
