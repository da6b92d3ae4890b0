#!/bin/bash
# The zoo's weights in both frameworks on the real test set, image by image:
#   bench/interop.sh [--data DIR] [--arches "seed airbench-tiny airbench94 resnet18"]
#                    [--limit-train N] [--python PY] [--keep DIR]
# For each network, three kinds of weights: trained by vkcnn (vkcnn train --limit-train N
# --epochs 1 on the CPU reference), initialized by PyTorch (tools/torch_zoo.py init) and
# trained by PyTorch (torch_zoo.py train, 4 steps of 64). Each is evaluated by vkcnn
# (vkcnn eval --tta 0 --predictions) and by PyTorch (torch_zoo.py eval, load_state_dict
# strict), and one markdown row per pair says both accuracies and on how many of the
# 10,000 test images the two predictions are the same. Needs python3 with torch (Debian's
# python3-torch) and Go; runs on the CPU (minutes per network; resnet18 the longest).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
data=$root/../shared/data/cifar10
arches="seed airbench-tiny airbench94 resnet18"
limit=5000
py=${PYTHON:-/usr/bin/python3}
keep=""
die() { echo "interop.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --data) data=${2:?--data needs a directory}; shift ;;
    --arches) arches=${2:?--arches needs names}; shift ;;
    --limit-train) limit=${2:?--limit-train needs a number}; shift ;;
    --python) py=${2:?--python needs an interpreter}; shift ;;
    --keep) keep=${2:?--keep needs a directory}; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[ -d "$data" ] || die "no data set at $data (pass --data DIR: CIFAR-10's binary layout)"
"$py" -c 'import torch' 2>/dev/null || die "$py has no torch (apt-get install python3-torch, or pass --python)"
archive=$data
[ -f "$data/cifar-10-binary.tar.gz" ] && archive=$data/cifar-10-binary.tar.gz

work=${keep:-$(mktemp -d /tmp/vkcnn-interop.XXXXXX)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/vkcnn" ./cmd/vkcnn) || die "go build ./cmd/vkcnn failed"
zoo() { "$py" "$root/tools/torch_zoo.py" "$@"; }

# row ARCH KIND WEIGHTS: both evaluations and the markdown row.
row() {
  local arch=$1 kind=$2 w=$3 d=$work/$1-$2
  "$work/vkcnn" eval --arch "$arch" --model "$w" --data "$archive" --device cpu --tta 0 \
    --predictions "$d-vk.csv" >"$d-vk.out" 2>&1 || { sed 's/^/    | /' "$d-vk.out" >&2; die "vkcnn eval $arch $kind failed"; }
  zoo eval --arch "$arch" --weights "$w" --archive "$archive" >"$d-pt.json" ||
    die "torch_zoo.py eval $arch $kind failed"
  "$py" - "$d-vk.csv" "$d-pt.json" "$arch" "$kind" <<'EOF'
import csv, json, sys
vk = [int(r["prediction"]) for r in csv.DictReader(open(sys.argv[1]))]
labels = [int(r["label"]) for r in csv.DictReader(open(sys.argv[1]))]
pt = json.load(open(sys.argv[2]))["predictions"]
if len(vk) != len(pt):
    sys.exit(f"interop.sh: {len(vk)} vkcnn predictions, {len(pt)} PyTorch ones")
acc = lambda p: 100 * sum(a == b for a, b in zip(p, labels)) / len(labels)
same = sum(a == b for a, b in zip(vk, pt))
print(f"| {sys.argv[3]} | {sys.argv[4]} | {acc(pt):.2f}% | {acc(vk):.2f}% | {same}/{len(vk)} |", flush=True)
EOF
}

echo "| network | weights | PyTorch accuracy | vkcnn accuracy | same prediction |"
echo "| --- | --- | ---: | ---: | ---: |"
for arch in $arches; do
  "$work/vkcnn" train --arch "$arch" --device cpu --data "$archive" --limit-train "$limit" --epochs 1 \
    --out "$work/$arch-run" >"$work/$arch-train.out" 2>&1 ||
    { sed 's/^/    | /' "$work/$arch-train.out" >&2; die "vkcnn train $arch failed"; }
  row "$arch" vkcnn-trained "$work/$arch-run/model.safetensors"
  zoo init --arch "$arch" --seed 0 --out "$work/$arch-init.safetensors" >/dev/null
  row "$arch" PyTorch-initialized "$work/$arch-init.safetensors"
  zoo train --arch "$arch" --archive "$archive" --steps 4 --batch 64 --lr 0.01 --seed 0 \
    --out "$work/$arch-pt.safetensors" >/dev/null
  row "$arch" PyTorch-trained "$work/$arch-pt.safetensors"
done
