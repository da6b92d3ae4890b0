#!/usr/bin/env python3
"""Writes the vkcnn vs PyTorch comparison table into BENCHMARKS.md.

  table.py write --kind cpu|gpu --vkcnn V.json [...] --pytorch P.json [...] \\
                 [--out BENCHMARKS.md] [--command CMD ...] [--note TEXT ...]
  table.py merge SECTIONS.md [--out BENCHMARKS.md]

`write` builds one section (machine, date, commands, the table, the targets)
between the markers <!-- compare:KIND --> and <!-- /compare:KIND -->, and
replaces the section of the same kind in --out (or appends it), writing a
temporary file and renaming it. `--out -` prints the section instead.
`merge` copies every marked section of SECTIONS.md (e.g. the BENCHMARKS-gpu.md
that bench/gpu-extra.sh leaves in $OUT) into --out the same way.

vkcnn files: the JSON array of `vkcnn bench train --json`. PyTorch files: the
{"meta": ..., "results": [...]} of `bench/pytorch_seed.py --json` (a bare
array works too). Records: {"backend", "device_type", "what": "train" |
"eval" | "epoch", "batch", "images_per_second", "images", "seconds"}.

Only the standard library; Python 3.7+.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

EPOCH_IMAGES = 50000
CPU_TARGET = 0.5  # CPU reference training at batch 32 >= 0.5x PyTorch CPU
GPU_TARGET = 5.0  # seed-model epoch on a GPU >= 5x faster than PyTorch eager, same GPU

HEADER = """# Benchmarks

vkcnn against PyTorch on the PyTorch CIFAR-10 tutorial's model (conv 3->32, conv 32->32,
max-pool, linear 8192->512, linear 512->10, dropout; SGD with momentum), on random data of
CIFAR-10's shape. Training figures are full steps (forward, loss, backward, optimizer step).
`bench/compare.sh` writes the sections below (and replaces its own on a re-run);
`bench/gpu-extra.sh` does the same on the remote GPU machine. See bench/README.md.
"""


class Error(Exception):
    pass


# ---------------------------------------------------------------- input

def load(path):
    """(records, meta) from a vkcnn array or a pytorch_seed.py object."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise Error("cannot read %s: %s" % (path, e))
    try:
        data = json.loads(text)
    except ValueError as e:
        raise Error("%s is not JSON (%s); it starts: %r" % (path, e, text[:200]))
    meta = {}
    if isinstance(data, dict):
        meta = data.get("meta") or {}
        data = data.get("results")
    if not isinstance(data, list):
        raise Error("%s: expected a JSON array of records or {\"results\": [...]}" % path)
    recs = []
    for i, r in enumerate(data):
        if not isinstance(r, dict):
            raise Error("%s: record %d is not an object" % (path, i))
        missing = [k for k in ("backend", "what", "batch", "images_per_second") if k not in r]
        if missing:
            raise Error("%s: record %d lacks %s: %s" % (path, i, ", ".join(missing), json.dumps(r)))
        try:
            r = dict(r, batch=int(r["batch"]), images_per_second=float(r["images_per_second"]))
        except (TypeError, ValueError):
            raise Error("%s: record %d: batch and images_per_second must be numbers: %s"
                        % (path, i, json.dumps(r)))
        if r["images_per_second"] <= 0:
            raise Error("%s: record %d: images_per_second must be positive" % (path, i))
        recs.append(r)
    return recs, meta


def load_all(paths):
    recs, metas = [], []
    for p in paths:
        r, m = load(p)
        recs += r
        if m:
            metas.append(m)
    return recs, metas


def select_vkcnn(recs, kind):
    """vkcnn's records for this kind: the CPU reference, or the Vulkan GPU ones."""
    def is_cpu(r):
        return r["backend"] == "cpu" or r.get("device_type") == "cpu-reference"
    chosen = [r for r in recs if is_cpu(r) == (kind == "cpu")]
    if not chosen:
        have = sorted(set("%s/%s" % (r["backend"], r.get("device_type", "?")) for r in recs))
        raise Error("no vkcnn %s records among %s" % (
            "CPU reference" if kind == "cpu" else "GPU", ", ".join(have) or "nothing"))
    return chosen


def by_key(recs):
    """{(what, batch): record}; a later record for the same key wins."""
    out = {}
    for r in recs:
        out[(r["what"], r["batch"])] = r
    return out


def epoch_seconds(table):
    """(seconds for 50,000 images at batch 32, how) from an epoch record or the train rate."""
    r = table.get(("epoch", 32))
    if r is not None:
        secs = r.get("seconds")
        if r.get("images") == EPOCH_IMAGES and secs:
            how = "extrapolated" if r.get("extrapolated", False) else "measured"
            return float(secs), how
        return EPOCH_IMAGES / r["images_per_second"], "extrapolated"
    r = table.get(("train", 32))
    if r is not None:
        return EPOCH_IMAGES / r["images_per_second"], "extrapolated"
    return None, None


# ---------------------------------------------------------------- machine

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def cpu_model():
    m = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.M)
    return m.group(1).strip() if m else (platform.processor() or platform.machine())


def cores():
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 0
    return n


def os_name():
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', read("/etc/os-release"), re.M)
    name = m.group(1) if m else platform.system()
    return "%s, Linux %s" % (name, platform.release()) if platform.system() == "Linux" else name


def gpus():
    """nvidia-smi's GPUs: ["NVIDIA H100 80GB HBM3 (driver 550.54, 81559 MiB)"], or []."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
            timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    res = []
    for line in out.strip().splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) >= 3:
            res.append("%s (driver %s, %s)" % (f[0], f[1], f[2]))
        elif f and f[0]:
            res.append(f[0])
    return res


# ---------------------------------------------------------------- section

def fmt_rate(x):
    return "%.1f" % x if x < 100 else "%.0f" % x


def fmt_ratio(x):
    return "%.2f×" % x


def build_section(kind, vk, pts, metas, commands, notes, now=None, machine=None, pending=False,
                  name=None):
    """The markdown section (markers included). vk: vkcnn records; pts: PyTorch records.
    pending: vkcnn has no figures yet (vk empty); its column says so. name: the markers'
    name (default: kind)."""
    name = name or kind
    missing = "pending" if pending else "–"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    machine = machine or {"cpu": cpu_model(), "cores": cores(), "gpus": gpus(), "os": os_name()}
    vkt = by_key(vk)
    if kind == "cpu":
        columns = [("pytorch-cpu", "PyTorch CPU"), ("pytorch-cpu-compile", "PyTorch CPU torch.compile")]
    else:
        columns = [("pytorch-cuda", "PyTorch eager"), ("pytorch-cuda-compile", "PyTorch torch.compile")]
    ptt = {b: by_key([r for r in pts if r["backend"] == b]) for b, _ in columns}
    if not ptt[columns[0][0]]:
        have = sorted(set(r["backend"] for r in pts))
        raise Error("no %s records among the PyTorch results (%s)"
                    % (columns[0][0], ", ".join(have) or "nothing"))
    columns = [c for c in columns if ptt[c[0]]]

    keys = set(k for k in vkt if k[0] != "epoch")
    for b, _ in columns:
        keys |= set(k for k in ptt[b] if k[0] != "epoch")
    order = {"train": 0, "eval": 1}
    keys = sorted(keys, key=lambda k: (order.get(k[0], 2), k[0], k[1]))

    vk_name = "vkcnn CPU reference" if kind == "cpu" else "vkcnn Vulkan"
    head = ["what", "batch", "%s images/s" % vk_name]
    for _, label in columns:
        head += ["%s images/s" % label, "ratio (vkcnn/%s)" % label]
    rows = []
    for what, batch in keys:
        v = vkt.get((what, batch))
        row = [what, str(batch), fmt_rate(v["images_per_second"]) if v else missing]
        for b, _ in columns:
            p = ptt[b].get((what, batch))
            row.append(fmt_rate(p["images_per_second"]) if p else "–")
            row.append(fmt_ratio(v["images_per_second"] / p["images_per_second"]) if v and p else "–")
        rows.append(row)

    # The epoch row: seconds for 50,000 images at batch 32 (ratio = PyTorch seconds / vkcnn seconds).
    vk_epoch, vk_how = epoch_seconds(vkt)
    extrapolated = vk_how == "extrapolated"
    epoch_row = ["epoch (50k images), seconds", "32",
                 "%.1f%s" % (vk_epoch, "*" if extrapolated else "") if vk_epoch else missing]
    pt_epochs = {}
    for b, _ in columns:
        s, how = epoch_seconds(ptt[b])
        pt_epochs[b] = s
        extrapolated = extrapolated or how == "extrapolated"
        epoch_row.append("%.1f%s" % (s, "*" if how == "extrapolated" else "") if s else "–")
        epoch_row.append(fmt_ratio(s / vk_epoch) if s and vk_epoch else "–")
    if vk_epoch or any(pt_epochs.values()):
        rows.append(epoch_row)

    # Targets.
    targets = []
    if kind == "cpu":
        v, p = vkt.get(("train", 32)), ptt["pytorch-cpu"].get(("train", 32))
        goal = "CPU reference training at batch 32 ≥ %.1f× PyTorch CPU" % CPU_TARGET
        if v and p:
            r = v["images_per_second"] / p["images_per_second"]
            targets.append("%s: **%s** (%s: %s vs %s images/s)" % (
                goal, "met" if r >= CPU_TARGET else "not met", fmt_ratio(r),
                fmt_rate(v["images_per_second"]), fmt_rate(p["images_per_second"])))
        else:
            targets.append("%s: not measured (%s)" % (
                goal, ("vkcnn figures pending" if pending else "no vkcnn figure") if not v else "no PyTorch figure"))
    else:
        goal = ("seed-model epoch (50,000 images, batch 32) on the GPU ≥ %.0f× faster than "
                "PyTorch eager on the same GPU" % GPU_TARGET)
        pe = pt_epochs.get("pytorch-cuda")
        if vk_epoch and pe:
            r = pe / vk_epoch
            targets.append("%s: **%s** (%s: %.1f s vs %.1f s)" % (
                goal, "met" if r >= GPU_TARGET else "not met", fmt_ratio(r), vk_epoch, pe))
        else:
            targets.append("%s: not measured%s" % (goal, " (vkcnn figures pending)" if pending else ""))
        pc = pt_epochs.get("pytorch-cuda-compile")
        if vk_epoch and pc:
            targets.append("for reference, against torch.compile: %s (%.1f s vs %.1f s)"
                           % (fmt_ratio(pc / vk_epoch), vk_epoch, pc))

    # Header lines.
    title = ("CPU: vkcnn's CPU reference vs PyTorch on the CPU" if kind == "cpu"
             else "GPU: vkcnn on Vulkan vs PyTorch CUDA")
    lines = ["<!-- compare:%s -->" % name, "## %s — %s" % (title, machine["cpu"] if kind == "cpu"
                                                          else (machine["gpus"] or ["GPU"])[0].split(" (")[0]), ""]
    lines.append("- Machine: %s, %d logical cores; GPU: %s; %s" % (
        machine["cpu"], machine["cores"], "; ".join(machine["gpus"]) or "none (no nvidia-smi)", machine["os"]))
    vk_devices = sorted(set(r.get("device_name") or r.get("device") or r.get("device_type", "")
                            for r in vk) - {""})
    if vk_devices:
        lines.append("- vkcnn device: %s" % ", ".join(vk_devices))
    lines.append("- Date: %s UTC" % now.strftime("%Y-%m-%d %H:%M"))
    for m in metas:
        bits = ["torch %s" % m.get("torch_version", "?")]
        if m.get("device") == "cpu":
            bits.append("%s threads" % m.get("threads", "?"))
            libs = m.get("blas_libraries_resolved") or m.get("blas_libraries") or []
            bits.append("BLAS: %s%s" % (m.get("blas_loaded", "?"),
                                        " (%s)" % ", ".join("`%s`" % l for l in libs) if libs else ""))
        if m.get("cuda"):
            bits.append("CUDA %s, cuDNN %s" % (m.get("cuda"), m.get("cudnn")))
            bits.append("TF32 matmul %s, TF32 cuDNN %s" % (
                "on" if m.get("tf32_matmul") else "off", "on" if m.get("tf32_cudnn") else "off"))
        if m.get("compile") and m.get("compile") != "not requested":
            bits.append("torch.compile: %s" % m["compile"])
        lines.append("- PyTorch (%s): %s" % (m.get("device", "?"), "; ".join(bits)))
    if commands:
        lines += ["- Commands:", "", "  ```"] + ["  " + c for c in commands] + ["  ```"]
    lines.append("")
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    if extrapolated:
        lines.append("\\* extrapolated from the training rate at batch 32 (50,000 / images/s), not a "
                     "timed epoch. The epoch row's ratio is PyTorch seconds / vkcnn seconds.")
        lines.append("")
    lines.append("Targets:")
    lines.append("")
    lines += ["- " + t for t in targets]
    if notes:
        lines += ["", "Notes:", ""] + ["- " + n for n in notes]
    lines.append("<!-- /compare:%s -->" % name)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- file

MARK = re.compile(r"<!-- compare:([\w-]+) -->\n.*?<!-- /compare:\1 -->\n?", re.S)


def sections(text):
    """[(kind, section text)] of the marked sections in text, in order."""
    return [(m.group(1), m.group(0)) for m in MARK.finditer(text)]


def replace_section(text, kind, section):
    if not section.endswith("\n"):
        section += "\n"
    pat = re.compile(r"<!-- compare:%s -->\n.*?<!-- /compare:%s -->\n?" % (re.escape(kind), re.escape(kind)), re.S)
    if pat.search(text):
        # A function replacement: the section may contain backslashes.
        return pat.sub(lambda _: section, text, count=1)
    if not text.strip():
        text = HEADER
    if not text.endswith("\n"):
        text += "\n"
    return text + "\n" + section


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def update(path, new_sections):
    text = read(path) if os.path.exists(path) else ""
    for kind, sec in new_sections:
        text = replace_section(text, kind, sec)
    write_atomic(path, text)


# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    w = sub.add_parser("write", help="build a section from JSON results and put it into --out")
    w.add_argument("--kind", choices=["cpu", "gpu"], required=True)
    w.add_argument("--vkcnn", action="append", default=[], metavar="JSON")
    w.add_argument("--pending", action="store_true",
                   help="no vkcnn figures yet: the vkcnn column says pending (no --vkcnn needed)")
    w.add_argument("--pytorch", action="append", default=[], metavar="JSON", required=True)
    w.add_argument("--section", default="",
                   help="the markers' name, <!-- compare:NAME --> (default: the kind)")
    w.add_argument("--out", default="BENCHMARKS.md", help="file to update, or - for stdout")
    w.add_argument("--command", action="append", default=[], help="a command that produced the figures")
    w.add_argument("--note", action="append", default=[], help="a line for the Notes list")
    w.add_argument("--print", action="store_true", help="also print the section")
    m = sub.add_parser("merge", help="copy the marked sections of a file into --out")
    m.add_argument("sections")
    m.add_argument("--out", default="BENCHMARKS.md")
    a = p.parse_args(argv)
    try:
        if a.cmd == "write":
            if not a.vkcnn and not a.pending:
                raise Error("write: --vkcnn JSON is required (or --pending)")
            vk, _ = load_all(a.vkcnn)
            vk = select_vkcnn(vk, a.kind) if vk or not a.pending else []
            pts, metas = load_all(a.pytorch)
            name = a.section or a.kind
            if not re.match(r"^[\w-]+$", name):
                raise Error("--section: letters, digits, - and _ only")
            sec = build_section(a.kind, vk, pts, metas, a.command, a.note, pending=a.pending, name=name)
            if a.out == "-":
                sys.stdout.write(sec)
                return 0
            update(a.out, [(name, sec)])
            if a.print:
                sys.stdout.write(sec)
            sys.stderr.write("table.py: wrote the %s section of %s\n" % (name, a.out))
        elif a.cmd == "merge":
            secs = sections(read(a.sections))
            if not secs:
                raise Error("no <!-- compare:KIND --> sections in %s" % a.sections)
            update(a.out, secs)
            sys.stderr.write("table.py: merged %s into %s\n" % (", ".join(k for k, _ in secs), a.out))
        else:
            p.print_help()
            return 2
    except Error as e:
        sys.stderr.write("table.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
