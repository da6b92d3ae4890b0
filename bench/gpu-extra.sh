#!/bin/bash
# The benchmarks to run on the remote GPU machine (no Go, no network; python3 with a CUDA torch).
# ../shared/gpu/run.sh runs it last, from the project root, as .gpu/extra.sh:
#
#   ../shared/gpu/prepare.sh && cp bench/gpu-extra.sh .gpu/extra.sh
#   # then, on the GPU machine, with .gl and .gpu carried along:  bash .gpu/run.sh
#
# It runs .gpu/vkcnn bench (the per-op figures) and .gpu/vkcnn bench train on the GPU, the PyTorch
# baseline bench/pytorch_seed.py on CUDA (eager, then torch.compile in a process of its own), and
# writes the comparison section with bench/table.py into $OUT/BENCHMARKS-gpu.md, raw JSON next to
# it: the machine keeps nothing. Back here, put the section into BENCHMARKS.md with
#
#   python3 bench/table.py merge <files_at>/BENCHMARKS-gpu.md --out BENCHMARKS.md
#
# Order: bench train, PyTorch eager, the GPU table; the per-op bench; torch.compile and the table
# again; PyTorch on the CPU. Every step has its own time limit, all together at most EXTRA_BUDGET
# seconds (default 420: run.sh's tests come first, and a device call lasts 600 s at most), and a
# failed or skipped step does not stop the rest. Environment:
# OUT (default /tmp/vkcnn-out), PYTHON (default python3), VKCNN (default .gpu/vkcnn),
# BENCH_COMPILE=0 to skip torch.compile, BENCH_CPU=0 to skip PyTorch on the CPU (by default it
# also compares it with the CPU reference figures that bench train measures beside the GPU ones,
# in a section of its own, <!-- compare:cpu-gpu-machine -->, in BENCHMARKS-gpu.md too).
set -u
OUT=${OUT:-/tmp/vkcnn-out}
mkdir -p "$OUT"
py=${PYTHON:-python3}
vk=${VKCNN:-.gpu/vkcnn}
compile=${BENCH_COMPILE:-1}
cpu=${BENCH_CPU:-1}
bench=$(dirname "${BASH_SOURCE[0]}")
[ -f "$bench/table.py" ] || bench=bench   # as .gpu/extra.sh: the scripts are in bench/
status=0

deadline=$((SECONDS + ${EXTRA_BUDGET:-420}))
step() {  # seconds name outfile command...: runs it under a time limit, stdout to outfile
  local limit=$1 name=$2 file=$3; shift 3
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 20 ]; then
    echo "== $name: skipped, the time budget (EXTRA_BUDGET=${EXTRA_BUDGET:-420} s) is spent"
    status=1
    return 1
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== $name: $*"
  local t0=$SECONDS
  timeout -k 10 "$limit" "$@" >"$file"
  local rc=$?
  echo "   rc=$rc after $((SECONDS - t0)) s -> $file"
  if [ $rc != 0 ]; then
    status=1
    [ $rc = 124 ] && echo "   (stopped after $limit s)"
  fi
  return $rc
}
json_ok() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d else 1)' "$1" 2>/dev/null; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >"$OUT/nvidia-smi.csv" 2>&1
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tail -1

# Most important first: each step's results are written as soon as it ends.
step 180 "vkcnn bench train" "$OUT/vkcnn-train-gpu.json" "$vk" bench train --device auto --json
batches_of() {  # what: the batch sizes of vkcnn's GPU records, comma-separated
  "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(",".join(str(b) for b in sorted(set(int(r["batch"]) for r in d
                                          if r.get("what") == sys.argv[2] and r.get("device_type") != "cpu-reference"))))' \
    "$OUT/vkcnn-train-gpu.json" "$1" 2>/dev/null
}
batches=$(batches_of train); batches=${batches:-32,128}
evals=$(batches_of eval)
case ",$evals," in *,1000,*) ;; *) evals=${evals:+$evals,}1000 ;; esac

pt=("$py" "$bench/pytorch_seed.py" --device cuda --batches "$batches" --eval-batch "$evals" --json)
step 120 "PyTorch CUDA eager" "$OUT/pytorch-cuda.json" "${pt[@]}" --epoch
pytorch_files=(--pytorch "$OUT/pytorch-cuda.json")
commands=("${vk#.gpu/} bench train --device auto --json" "${pt[*]} --epoch")

md=$OUT/BENCHMARKS-gpu.md
gpu_table() {
  if json_ok "$OUT/vkcnn-train-gpu.json" && json_ok "$OUT/pytorch-cuda.json"; then
    local args=(--command "bench/gpu-extra.sh    # as .gpu/extra.sh of ../shared/gpu/run.sh; it ran:") c
    for c in "${commands[@]}"; do args+=(--command "$c"); done
    "$py" "$bench/table.py" write --kind gpu --vkcnn "$OUT/vkcnn-train-gpu.json" "${pytorch_files[@]}" \
      --out "$md" --print "${args[@]}" \
      --note "per-op figures of vkcnn bench: vkcnn-bench.json next to this file in \$OUT" || status=1
  else
    echo "== no GPU table: vkcnn bench train or PyTorch on CUDA gave no results (see above)"
    status=1
  fi
}
gpu_table

step 120 "vkcnn per-op bench" "$OUT/vkcnn-bench.json" "$vk" bench --device auto --json

if [ "$compile" = 1 ]; then
  commands+=("${pt[*]} --compile --no-eager")
  if step 240 "PyTorch CUDA torch.compile" "$OUT/pytorch-cuda-compile.json" "${pt[@]}" --compile --no-eager; then
    pytorch_files+=(--pytorch "$OUT/pytorch-cuda-compile.json")
    gpu_table
  fi
fi

# The CPU reference figures came with the GPU ones (bench train measures both); PyTorch on the CPU.
if [ "$cpu" = 1 ] && grep -q cpu-reference "$OUT/vkcnn-train-gpu.json" 2>/dev/null; then
  cpt=("$py" "$bench/pytorch_seed.py" --device cpu --threads "$(nproc)" --batches "$batches" --eval-batch "$evals" --json)
  if step 120 "PyTorch CPU" "$OUT/pytorch-cpu.json" "${cpt[@]}"; then
    "$py" "$bench/table.py" write --kind cpu --section cpu-gpu-machine --vkcnn "$OUT/vkcnn-train-gpu.json" \
      --pytorch "$OUT/pytorch-cpu.json" --out "$md" --print \
      --command "bench/gpu-extra.sh    # as .gpu/extra.sh of ../shared/gpu/run.sh; it ran:" \
      --command "${vk#.gpu/} bench train --device auto --json    # its cpu-reference records" \
      --command "${cpt[*]}" || status=1
  fi
fi
echo "== benchmarks: $([ $status = 0 ] && echo all ran || echo 'some step FAILED (see above)'); results in $OUT"
exit $status
