#!/bin/bash
# vkcnn against PyTorch, side by side, in one command:
#
#   bench/compare.sh [--root DIR] [--out FILE] [--skip-apt] [--no-blas-fix] [--steps N]
#                    [--vkcnn BIN] [--vkcnn-json FILE] [--pytorch-json FILE] [--pytorch-only]
#                    [--no-gpu] [--python PY] [--gpu-python PY] [--keep DIR]
#                    [--zoo ARCH:BATCH[:IMAGES],...] [--no-zoo] [--zoo-only]
#
# 1. installs what is missing with apt (python3-torch, libopenblas0-pthread) and checks that torch
#    really loads OpenBLAS (it reads /proc/self/maps); if Debian's libblas.so.3 alternative still
#    points at the reference BLAS, it points libblas.so.3 and liblapack.so.3 at OpenBLAS;
# 2. builds vkcnn (go build ./cmd/vkcnn into a temporary folder) and runs
#    `vkcnn bench train --device cpu --json`, and bench/pytorch_seed.py --device cpu with
#    --threads $(nproc);
# 3. the model zoo on the CPU: for each network of --zoo, `vkcnn bench train --device cpu --arch
#    ARCH --batch B --images N --json` beside bench/pytorch_seed.py --arch ARCH at the same batch
#    (N images: ceil(N/B) timed steps after one warm-up step, and N images of eval);
# 4. where a GPU is present (nvidia-smi works, or `vkcnn devices` lists a discrete or integrated
#    GPU): also `vkcnn bench train --device auto --json` and pytorch_seed.py --device cuda --compile;
# 5. writes the table(s) into BENCHMARKS.md with bench/table.py and bench/zoo_table.py, replacing the
#    section of the same name (<!-- compare:cpu -->, <!-- compare:zoo-cpu -->, <!-- compare:gpu -->)
#    if there is one.
#
# Options (and the environment variables that do the same):
#   --root DIR         the vkcnn repository (VKCNN_ROOT; default: the folder above bench/)
#   --out FILE         the file to update (BENCH_OUT; default: ROOT/BENCHMARKS.md; - prints only)
#   --skip-apt         install nothing (SKIP_APT=1); fails if torch is missing
#   --no-blas-fix      leave the libblas.so.3 alternative alone, only report it (NO_BLAS_FIX=1)
#   --steps N          timed training steps per batch size for PyTorch (BENCH_STEPS; default 100)
#   --vkcnn BIN        use this vkcnn binary instead of building one (VKCNN_BIN)
#   --vkcnn-json FILE  use these vkcnn CPU results instead of building and running vkcnn
#                      (VKCNN_JSON; for trying the script out: the table says where they came from)
#   --pytorch-json F   use these PyTorch CPU results instead of running PyTorch (PYTORCH_JSON)
#   --pytorch-only     no vkcnn: write the PyTorch figures with the vkcnn column pending
#   --no-gpu           skip the GPU comparison even where a GPU is present (NO_GPU=1)
#   --python PY        the Python with torch (PYTHON; default /usr/bin/python3, Debian's: the
#                      python3 on PATH may be a pyenv one without torch)
#   --gpu-python PY    the Python with a CUDA torch for the GPU run (GPU_PYTHON; default: --python;
#                      Debian's python3-torch has no CUDA)
#   --keep DIR         keep the raw JSON results in DIR (BENCH_KEEP; default: a temporary folder,
#                      removed at the end)
#   --zoo SPEC         the zoo networks, batch sizes and images per timed run (BENCH_ZOO; default
#                      seed:32:320,airbench-tiny:256:512,airbench94:256:256,resnet18:32:64: one to
#                      ten steps, each network under a minute on 2 cores; IMAGES defaults to 4
#                      batches)
#   --no-zoo           skip the zoo comparison (NO_ZOO=1)
#   --zoo-only         the zoo comparison alone: no seed CPU section, no GPU (ZOO_ONLY=1)
# A zoo run that fails leaves its cells empty, says why in the zoo section's notes, and makes
# compare.sh exit 1 after writing every table; a vkcnn without `bench train --arch` leaves the
# vkcnn column pending. BENCH_BUSY_SECONDS (default 2) is how long each load note samples the CPU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${VKCNN_ROOT:-$(cd "$here/.." && pwd)}
out=${BENCH_OUT:-}
skip_apt=${SKIP_APT:-0}
no_blas_fix=${NO_BLAS_FIX:-0}
steps=${BENCH_STEPS:-100}
vkcnn=${VKCNN_BIN:-}
vkcnn_json=${VKCNN_JSON:-}
pytorch_json=${PYTORCH_JSON:-}
pytorch_only=0
no_gpu=${NO_GPU:-0}
py=${PYTHON:-/usr/bin/python3}
gpu_py=${GPU_PYTHON:-}
keep=${BENCH_KEEP:-}
busy_secs=${BENCH_BUSY_SECONDS:-2}  # how long the load notes sample /proc/stat (the tests shorten it)
zoo=${BENCH_ZOO:-seed:32:320,airbench-tiny:256:512,airbench94:256:256,resnet18:32:64}
no_zoo=${NO_ZOO:-0}
zoo_only=${ZOO_ONLY:-0}
zoo_arches="seed airbench94 airbench-tiny resnet18"  # bench/zoo.py's ARCHES
invocation="bench/compare.sh${*:+ $*}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "compare.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }

while [ $# -gt 0 ]; do
  case $1 in
    --root) root=${2:?--root needs a folder}; shift ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --skip-apt) skip_apt=1 ;;
    --no-blas-fix) no_blas_fix=1 ;;
    --steps) steps=${2:?--steps needs a number}; shift ;;
    --vkcnn) vkcnn=${2:?--vkcnn needs a binary}; shift ;;
    --vkcnn-json) vkcnn_json=${2:?--vkcnn-json needs a file}; shift ;;
    --pytorch-json) pytorch_json=${2:?--pytorch-json needs a file}; shift ;;
    --pytorch-only) pytorch_only=1 ;;
    --no-gpu) no_gpu=1 ;;
    --python) py=${2:?--python needs an interpreter}; shift ;;
    --gpu-python) gpu_py=${2:?--gpu-python needs an interpreter}; shift ;;
    --keep) keep=${2:?--keep needs a folder}; shift ;;
    --zoo) zoo=${2:?--zoo needs ARCH:BATCH[:IMAGES],...}; shift ;;
    --no-zoo) no_zoo=1 ;;
    --zoo-only) zoo_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
gpu_py=${gpu_py:-$py}
root=$(cd "$root" 2>/dev/null && pwd) || die "no such folder: $root"
if [ ! -f "$root/go.mod" ] || [ ! -d "$root/cmd/vkcnn" ]; then
  die "$root is not the vkcnn repository (no go.mod, cmd/vkcnn)"
fi
out=${out:-$root/BENCHMARKS.md}
[ "$out" = - ] || out=$(abspath "$out")
if ! [[ $steps =~ ^[1-9][0-9]*$ ]]; then die "--steps: a positive number, not $steps"; fi
for f in "$vkcnn_json" "$pytorch_json"; do [ -z "$f" ] || [ -f "$f" ] || die "no such file: $f"; done
[ -z "$vkcnn_json" ] || vkcnn_json=$(abspath "$vkcnn_json")
[ -z "$pytorch_json" ] || pytorch_json=$(abspath "$pytorch_json")
[ -z "$vkcnn" ] || vkcnn=$(abspath "$vkcnn")
command -v "$py" >/dev/null || die "no $py (pass --python)"
[ "$no_zoo" = 0 ] || [ "$zoo_only" = 0 ] || die "--no-zoo and --zoo-only exclude each other"
zoo_items=()
if [ "$no_zoo" = 0 ]; then
  IFS=, read -r -a zoo_items <<<"$zoo"
  [ ${#zoo_items[@]} -gt 0 ] || die "--zoo names no network (or pass --no-zoo)"
  for item in "${zoo_items[@]}"; do
    [[ $item =~ ^([a-z0-9-]+):[1-9][0-9]*(:[1-9][0-9]*)?$ ]] ||
      die "--zoo: '$item' is not ARCH:BATCH[:IMAGES] (e.g. airbench94:256:512)"
    case " $zoo_arches " in *" ${BASH_REMATCH[1]} "*) ;;
      *) die "--zoo: no network '${BASH_REMATCH[1]}' (one of: $zoo_arches)" ;; esac
  done
fi

tmp=$(mktemp -d /tmp/vkcnn-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
res=$tmp
if [ -n "$keep" ]; then mkdir -p "$keep" && res=$(cd "$keep" && pwd); fi
notes=()     # lines for the Notes list under the CPU table
after_note=""  # the load after the CPU runs (the zoo section reuses it)
commands=()  # the commands behind the figures

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- 1. PyTorch and OpenBLAS (not needed when the PyTorch CPU figures are given)
blas_libs() {  # the BLAS/LAPACK libraries torch has mapped, space-separated, or "none"
  "$py" - <<'PY'
import torch
torch.mm(torch.rand(64, 64), torch.rand(64, 64))
libs = []
for line in open("/proc/self/maps"):
    p = line.split()
    if len(p) >= 6 and any(k in p[-1].lower() for k in ("openblas", "libblas", "liblapack", "mkl", "blis")):
        if p[-1] not in libs:
            libs.append(p[-1])
print(" ".join(libs) or "none")
PY
}

if [ -z "$pytorch_json" ]; then
  missing=()
  "$py" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep 'ok installed' >/dev/null || missing+=(libopenblas0-pthread)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$skip_apt" = 1 ]; then
      "$py" -c 'import torch' 2>/dev/null || die "$py cannot import torch and --skip-apt was given (apt-get install python3-torch)"
      notes+=("not installed (--skip-apt): ${missing[*]}")
    else
      command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get (install them, or pass --python)"
      say "apt-get install ${missing[*]} (python3-torch is about 200 MB: a few minutes)"
      export DEBIAN_FRONTEND=noninteractive
      if ! as_root apt-get install -y -q "${missing[@]}" >"$tmp/apt.log" 2>&1; then
        say "apt-get install failed; apt-get update and once more"
        { as_root apt-get update -q && as_root apt-get install -y -q "${missing[@]}"; } >>"$tmp/apt.log" 2>&1 ||
          { tail -20 "$tmp/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
      fi
      notes+=("installed with apt by this run: ${missing[*]}")
    fi
  fi
  "$py" -c 'import torch' 2>/dev/null ||
    die "$py cannot import torch (Debian's python3-torch is for /usr/bin/python3; pass --python)"

  libs=$(blas_libs)
  say "BLAS libraries torch maps: $libs"
  if ! grep -qi openblas <<<"$libs"; then
    msg="torch loaded no OpenBLAS ($libs)"
    alt=/usr/lib/x86_64-linux-gnu/openblas-pthread
    if [ "$no_blas_fix" = 1 ]; then
      notes+=("$msg; left so (--no-blas-fix): PyTorch's CPU figures are with that BLAS")
      say "$msg; --no-blas-fix: leaving it"
    elif [ -f "$alt/libblas.so.3" ] && command -v update-alternatives >/dev/null; then
      say "$msg: pointing the libblas.so.3 and liblapack.so.3 alternatives at OpenBLAS ($alt)"
      as_root update-alternatives --set libblas.so.3-x86_64-linux-gnu "$alt/libblas.so.3" >&2
      if [ -f "$alt/liblapack.so.3" ]; then
        as_root update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$alt/liblapack.so.3" >&2
      fi
      libs=$(blas_libs)
      grep -qi openblas <<<"$libs" || die "torch still loads no OpenBLAS after update-alternatives: $libs"
      notes+=("Debian's libblas.so.3/liblapack.so.3 alternatives pointed at the reference BLAS; this run set them to OpenBLAS ($alt) with update-alternatives --set")
      say "torch now maps: $libs"
    else
      notes+=("$msg, and there is no OpenBLAS to switch to: PyTorch's CPU figures are with that BLAS")
      say "$msg, and no $alt/libblas.so.3 to switch to"
    fi
  fi
fi

# ---- 2. vkcnn
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- cmd backend layers gpu shaders perf 2>/dev/null)" ]; then
  rev="$rev with uncommitted changes"
fi
if [ "$pytorch_only" = 0 ] && [ -z "$vkcnn" ] && [ -z "$vkcnn_json" ]; then
  command -v go >/dev/null || die "no go on PATH to build vkcnn (or pass --vkcnn BIN)"
  say "go build -o $tmp/vkcnn ./cmd/vkcnn  (in $root)"
  (cd "$root" && go build -o "$tmp/vkcnn" ./cmd/vkcnn) || die "go build ./cmd/vkcnn failed in $root"
  vkcnn=$tmp/vkcnn
fi
if [ -n "$vkcnn" ] && [ "$pytorch_only" = 0 ] && ! "$vkcnn" bench train --help 2>&1 | grep 'bench train' >/dev/null; then
  die "vkcnn (from $root at $rev) has no 'bench train' command yet; it said:
$("$vkcnn" bench train --help 2>&1 | head -3 | sed 's/^/    /')
Run bench/compare.sh again once cmd/vkcnn has it, or pass --pytorch-only for the PyTorch figures alone."
fi

valid_json() {  # file: a non-empty JSON array, or an object with non-empty "results"
  "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d.get("results") if isinstance(d, dict) else d
sys.exit(0 if isinstance(d, list) and d else 1)' "$1" 2>/dev/null
}
batches_of() {  # file what: the batch sizes of those records, comma-separated
  "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["results"] if isinstance(d, dict) else d
print(",".join(str(b) for b in sorted(set(int(r["batch"]) for r in d if r.get("what") == sys.argv[2]))))' "$1" "$2"
}
with1000() {  # batch sizes: them and 1000, the eval batch of the PyTorch figures
  case ",$1," in *,1000,*) echo "$1" ;; *) echo "${1:+$1,}1000" ;; esac
}
run_vkcnn() {  # device file
  local cmd="vkcnn bench train --device $1 --json"
  say "$cmd"
  commands+=("$cmd    # vkcnn $rev, go build ./cmd/vkcnn")
  "$vkcnn" bench train --device "$1" --json >"$2" || die "$cmd failed"
  valid_json "$2" || die "$cmd printed no JSON results: $(head -c 300 "$2")"
}

cpu_busy() {  # percent of all CPU time spent busy over the next $busy_secs seconds, from /proc/stat
  local a b
  a=$(head -1 /proc/stat); sleep "$busy_secs"; b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x); split(b, y); t = 0; idle = 0
    for (i = 2; i <= n; i++) { d = y[i] - x[i]; t += d; if (i == 5 || i == 6) idle += d }
    printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}
load_note() {  # when: a line on how busy the machine is
  local busy
  busy=$(ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null |
    awk '$1 >= 25 {printf "%s%s (%.0f%%)", sep, $2, $1; sep=", "}' || true)
  echo "load $1: load average $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) cores, CPU $(cpu_busy)% busy over $busy_secs s${busy:+; busy processes (CPU share over their lifetime): $busy}"
}
busy_warning() {  # percent: the note for a machine that busy
  echo "other work kept the CPU $1% busy before these runs: the figures are lower and noisier than a quiet machine's, and the load need not slow vkcnn and PyTorch alike; re-run on a quiet machine before quoting them"
}
if [ "$zoo_only" = 0 ]; then
  notes+=("$(load_note "before the runs")")
  busy_before=$(cpu_busy)
  if [ "$busy_before" -ge 25 ]; then notes+=("$(busy_warning "$busy_before")"); fi
fi

cpu_vk=$res/vkcnn-cpu.json
if [ "$pytorch_only" = 1 ] || [ "$zoo_only" = 1 ]; then
  rm -f "$cpu_vk"
elif [ -n "$vkcnn_json" ]; then
  [ "$vkcnn_json" = "$cpu_vk" ] || cp "$vkcnn_json" "$cpu_vk"
  valid_json "$cpu_vk" || die "$vkcnn_json holds no JSON results"
  commands+=("# vkcnn: the figures of $vkcnn_json (--vkcnn-json: not run by this invocation)")
  notes+=("vkcnn's figures come from $vkcnn_json, not from a run of this invocation")
else
  run_vkcnn cpu "$cpu_vk"
fi

# ---- 3. PyTorch on the CPU, at vkcnn's batch sizes
train_b=32,128 eval_b=1000
if [ -f "$cpu_vk" ]; then
  b=$(batches_of "$cpu_vk" train); train_b=${b:-$train_b}
  eval_b=$(with1000 "$(batches_of "$cpu_vk" eval)")
fi
cpu_pt=$res/pytorch-cpu.json
if [ "$zoo_only" = 1 ]; then
  :
elif [ -n "$pytorch_json" ]; then
  [ "$pytorch_json" = "$cpu_pt" ] || cp "$pytorch_json" "$cpu_pt"
  valid_json "$cpu_pt" || die "$pytorch_json holds no JSON results"
  commands+=("# PyTorch: the figures of $pytorch_json (--pytorch-json: not run by this invocation)")
else
  cmd=("$py" bench/pytorch_seed.py --device cpu --threads "$(nproc)" --compile
       --batches "$train_b" --eval-batch "$eval_b" --steps "$steps" --json)
  say "${cmd[*]}"
  commands+=("${cmd[*]}")
  (cd "$root" && "${cmd[@]}") >"$cpu_pt" || die "bench/pytorch_seed.py on the CPU failed"
fi

table() {  # kind vkcnn.json pytorch.json; uses commands[] and the notes given after
  local kind=$1 vk=$2 pt=$3; shift 3
  local args=(write --kind "$kind" --pytorch "$pt" --out "$out" --command "$invocation    # from the repository root; it ran:")
  if [ -f "$vk" ]; then args+=(--vkcnn "$vk"); else args+=(--pending); fi
  [ "$out" = - ] || args+=(--print)
  local c n
  for c in "${commands[@]}"; do args+=(--command "$c"); done
  for n in "$@"; do args+=(--note "$n"); done
  "$py" "$here/table.py" "${args[@]}" || die "bench/table.py failed"
}

if [ "$pytorch_only" = 1 ]; then
  notes+=("vkcnn's column is pending: this run measured PyTorch alone (--pytorch-only). Re-run bench/compare.sh to fill it in.")
fi
if [ "$zoo_only" = 0 ]; then
  if [ -z "$pytorch_json" ] || [ -z "$vkcnn_json" ]; then
    after_note=$(load_note "after the runs")
    notes+=("$after_note")
  fi
  echo >&2
  table cpu "$cpu_vk" "$cpu_pt" "${notes[@]}"
fi

# ---- 3b. the model zoo on the CPU: vkcnn bench train --arch beside pytorch_seed.py --arch
zoo_failed=0
if [ ${#zoo_items[@]} -gt 0 ]; then
  # The load before the zoo runs: the CPU section's "after" figure where there is one.
  before=${after_note:-$(load_note "before the zoo runs")}
  zoo_notes=("${before/#load after the runs/load before the zoo runs}")
  if [[ $before =~ CPU\ ([0-9]+)%\ busy ]] && [ "${BASH_REMATCH[1]}" -ge 25 ]; then
    zoo_notes+=("$(busy_warning "${BASH_REMATCH[1]}")")
  fi
  zoo_commands=("$invocation    # from the repository root; it ran:")
  zoo_pending=()
  vk_arch=0 batch_flag=--batch
  if [ "$pytorch_only" = 1 ]; then
    zoo_pending=(--pending)
    zoo_notes+=("vkcnn's column is pending: this run measured PyTorch alone (--pytorch-only)")
  elif [ -z "$vkcnn" ]; then
    zoo_pending=(--pending)
    zoo_notes+=("vkcnn's column is pending: --vkcnn-json gives the seed's figures only; run without it (or with --vkcnn BIN) to measure the zoo")
  else
    help=$("$vkcnn" bench train --help 2>&1 || true)
    if grep -q -- '--arch' <<<"$help"; then
      vk_arch=1
      # bench train's batch flag: --batch today; --batch-size where a vkcnn names it so.
      if grep -q -- '--batch-size' <<<"$help"; then batch_flag=--batch-size; fi
    else
      zoo_pending=(--pending)
      zoo_notes+=("vkcnn's column is pending: this vkcnn ($rev) has no \`bench train --arch\` yet")
      say "this vkcnn's bench train has no --arch: the zoo's vkcnn column stays pending"
    fi
  fi
  if [ -n "$pytorch_json" ] && ! "$py" -c 'import torch' 2>/dev/null; then
    die "$py cannot import torch, which the zoo comparison needs (apt-get install python3-torch, or pass --no-zoo)"
  fi
  for item in "${zoo_items[@]}"; do
    IFS=: read -r arch zb zi <<<"$item"
    zi=${zi:-$((4 * zb))}
    vk_file=$res/vkcnn-zoo-$arch.json pt_file=$res/pytorch-zoo-$arch.json
    rm -f "$vk_file" "$pt_file"
    if [ "$vk_arch" = 1 ]; then
      cmd=(bench train --device cpu --arch "$arch" "$batch_flag" "$zb" --images "$zi" --json)
      say "vkcnn ${cmd[*]}"
      zoo_commands+=("vkcnn ${cmd[*]}    # vkcnn $rev")
      if ! "$vkcnn" "${cmd[@]}" >"$vk_file" 2>"$tmp/zoo.err" || ! valid_json "$vk_file"; then
        zoo_failed=$((zoo_failed + 1))
        zoo_notes+=("FAILED: vkcnn ${cmd[*]}: $(grep -v '^ *$' "$tmp/zoo.err" | tail -1 | cut -c1-300)")
        say "vkcnn ${cmd[*]} failed: $(tail -3 "$tmp/zoo.err")"
        rm -f "$vk_file"
      fi
    fi
    cmd=("$py" bench/pytorch_seed.py --arch "$arch" --device cpu --threads "$(nproc)" --batches "$zb"
         --eval-batch "$zb" --steps $(((zi + zb - 1) / zb)) --warmup 1 --eval-images "$zi" --json)
    say "${cmd[*]}"
    zoo_commands+=("${cmd[*]}")
    if ! (cd "$root" && "${cmd[@]}") >"$pt_file" 2>"$tmp/zoo.err" || ! valid_json "$pt_file"; then
      zoo_failed=$((zoo_failed + 1))
      zoo_notes+=("FAILED: ${cmd[*]}: $(grep -v '^ *$' "$tmp/zoo.err" | tail -1 | cut -c1-300)")
      say "bench/pytorch_seed.py --arch $arch failed: $(tail -3 "$tmp/zoo.err")"
      rm -f "$pt_file"
    fi
  done
  zoo_notes+=("$(load_note "after the zoo runs")")
  args=(--spec "$zoo" --dir "$res" --out "$out" "${zoo_pending[@]}")
  [ "$out" = - ] || args+=(--print)
  for c in "${zoo_commands[@]}"; do args+=(--command "$c"); done
  for n in "${zoo_notes[@]}"; do args+=(--note "$n"); done
  echo >&2
  "$py" "$here/zoo_table.py" "${args[@]}" || die "bench/zoo_table.py failed"
fi

# ---- 4. GPU
gpu=""
if [ "$no_gpu" = 0 ] && [ "$zoo_only" = 0 ]; then
  # Whole outputs captured first: under pipefail, grep -q or head quitting early would let the
  # writer die of SIGPIPE and the pipeline count as failed, at random.
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    gpu=$(nvidia-smi -L | sed -n 1p)
  elif [ -n "$vkcnn" ]; then
    devs=$("$vkcnn" devices 2>/dev/null || true)
    gpu=$(grep -m1 -E 'discrete-gpu|integrated-gpu' <<<"$devs" || true)
  fi
fi
if [ "$zoo_only" = 1 ]; then
  :  # --zoo-only: no GPU comparison
elif [ -z "$gpu" ]; then
  say "no GPU here (no working nvidia-smi, no GPU in vkcnn devices): the CPU comparison only"
elif [ -z "$vkcnn" ]; then
  say "GPU: $gpu, but no vkcnn binary (--vkcnn-json or --pytorch-only): no GPU comparison"
else
  say "GPU: $gpu"
  commands=()
  gpu_vk=$res/vkcnn-gpu.json
  run_vkcnn auto "$gpu_vk"
  b=$(batches_of "$gpu_vk" train)
  cmd=("$gpu_py" bench/pytorch_seed.py --device cuda --compile --batches "${b:-32,128}"
       --eval-batch "$(with1000 "$(batches_of "$gpu_vk" eval)")" --json)
  say "${cmd[*]}"
  commands+=("${cmd[*]}")
  gpu_pt=$res/pytorch-cuda.json
  (cd "$root" && "${cmd[@]}") >"$gpu_pt" ||
    die "bench/pytorch_seed.py --device cuda failed (Debian's torch has no CUDA: pass --gpu-python with a CUDA torch); the CPU section is written"
  echo >&2
  table gpu "$gpu_vk" "$gpu_pt"
fi
if [ -n "$keep" ]; then say "raw results in $res"; fi
if [ "$zoo_failed" -gt 0 ]; then
  die "$zoo_failed zoo run(s) failed (their notes in the zoo section say why); the tables are written"
fi
exit 0
