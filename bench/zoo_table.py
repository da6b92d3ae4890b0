#!/usr/bin/env python3
"""Writes the model zoo's vkcnn vs PyTorch table into BENCHMARKS.md.

  zoo_table.py --spec ARCH:BATCH[:IMAGES],... --dir DIR [--out BENCHMARKS.md]
               [--pending] [--command CMD ...] [--note TEXT ...] [--print]

For each network of --spec it reads DIR/vkcnn-zoo-ARCH.json (the array of
`vkcnn bench train --arch ARCH --json`; its CPU reference records) and
DIR/pytorch-zoo-ARCH.json (`bench/pytorch_seed.py --arch ARCH --json`), and
builds one section, <!-- compare:zoo-cpu --> ... <!-- /compare:zoo-cpu -->,
with a row per network and measurement (train, eval) at the network's batch:
vkcnn's images/s, PyTorch's, and their ratio. A missing file leaves its cell
"–" (or "pending" with --pending: no vkcnn run yet). The section replaces the
one of the same name in --out (or is appended); `--out -` prints it.

Only the standard library; it uses bench/table.py's readers and writer.
"""

import argparse
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table  # noqa: E402

SECTION = "zoo-cpu"
ABOUT = {
    "seed": "the PyTorch tutorial's CNN (dropout)",
    "airbench-tiny": "airbench94 at widths 16, 32, 32",
    "airbench94": "airbench94's network (GELU, BatchNorm)",
    "resnet18": "the CIFAR ResNet-18",
}


def parse_spec(spec):
    """[(arch, batch, images or None)] of "seed:32:640,resnet18:32"."""
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        m = re.match(r"^([\w-]+):([1-9][0-9]*)(?::([1-9][0-9]*))?$", item)
        if not m:
            raise table.Error("--spec: %r is not ARCH:BATCH[:IMAGES] (e.g. airbench94:256:512)" % item)
        out.append((m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None))
    if not out:
        raise table.Error("--spec names no network")
    return out


def build(spec, folder, commands, notes, pending=False, now=None, machine=None):
    missing = "pending" if pending else "–"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    machine = machine or {"cpu": table.cpu_model(), "cores": table.cores(), "os": table.os_name()}
    rows, metas = [], []
    for arch, batch, _ in spec:
        vk, pt = {}, {}
        f = os.path.join(folder, "vkcnn-zoo-%s.json" % arch)
        if os.path.exists(f):
            vk = table.by_key(table.select_vkcnn(table.load(f)[0], "cpu"))
        f = os.path.join(folder, "pytorch-zoo-%s.json" % arch)
        if os.path.exists(f):
            recs, meta = table.load(f)
            pt = table.by_key([r for r in recs if r["backend"] == "pytorch-cpu"])
            if meta:
                metas.append(meta)
        for what in ("train", "eval"):
            v, p = vk.get((what, batch)), pt.get((what, batch))
            rows.append([arch, what, str(batch),
                         table.fmt_rate(v["images_per_second"]) if v else missing,
                         table.fmt_rate(p["images_per_second"]) if p else "–",
                         table.fmt_ratio(v["images_per_second"] / p["images_per_second"]) if v and p else "–"])
    lines = ["<!-- compare:%s -->" % SECTION,
             "## CPU: the model zoo, vkcnn's CPU reference vs PyTorch on the CPU — %s" % machine["cpu"], ""]
    lines.append("- Machine: %s, %d logical cores; %s" % (machine["cpu"], machine["cores"], machine["os"]))
    lines.append("- Date: %s UTC" % now.strftime("%Y-%m-%d %H:%M"))
    if metas:
        m = metas[0]
        libs = m.get("blas_libraries_resolved") or m.get("blas_libraries") or []
        lines.append("- PyTorch (cpu): torch %s; %s threads; BLAS: %s%s" % (
            m.get("torch_version", "?"), m.get("threads", "?"), m.get("blas_loaded", "?"),
            " (%s)" % ", ".join("`%s`" % l for l in libs) if libs else ""))
    lines.append("- Networks (bench/zoo.py, `--arch` of vkcnn): " + "; ".join(
        "%s: %s" % (a, ABOUT.get(a, "")) if ABOUT.get(a) else a for a, _, _ in spec))
    if commands:
        lines += ["- Commands:", "", "  ```"] + ["  " + c for c in commands] + ["  ```"]
    lines += ["", "| network | what | batch | vkcnn CPU reference images/s | PyTorch CPU images/s "
                  "| ratio (vkcnn/PyTorch CPU) |",
              "|---|---|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "Training: full steps (forward, cross-entropy, backward, SGD with momentum 0.9) in train "
                  "mode on random data of CIFAR-10's shape; eval: forward and argmax in eval mode. Each "
                  "network at one batch size, a few steps: figures for comparing the two, not for quoting "
                  "to a digit."]
    if notes:
        lines += ["", "Notes:", ""] + ["- " + n for n in notes]
    lines.append("<!-- /compare:%s -->" % SECTION)
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", required=True, help="ARCH:BATCH[:IMAGES],... as compare.sh's --zoo")
    p.add_argument("--dir", required=True, help="the folder of vkcnn-zoo-ARCH.json and pytorch-zoo-ARCH.json")
    p.add_argument("--out", default="BENCHMARKS.md", help="file to update, or - for stdout")
    p.add_argument("--pending", action="store_true", help="vkcnn's cells say pending where it has no file")
    p.add_argument("--command", action="append", default=[])
    p.add_argument("--note", action="append", default=[])
    p.add_argument("--print", action="store_true", help="also print the section")
    a = p.parse_args(argv)
    try:
        sec = build(parse_spec(a.spec), a.dir, a.command, a.note, pending=a.pending)
        if a.out == "-":
            sys.stdout.write(sec)
            return 0
        table.update(a.out, [(SECTION, sec)])
        if a.print:
            sys.stdout.write(sec)
        sys.stderr.write("zoo_table.py: wrote the %s section of %s\n" % (SECTION, a.out))
    except table.Error as e:
        sys.stderr.write("zoo_table.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
