#!/bin/bash
# Tests of the bench scripts with fakes (no torch, GPU or vkcnn build needed; python3 only):
#   bench/test_scripts.sh
# the table writer's unit tests, then compare.sh and gpu-extra.sh end to end with a fake vkcnn
# binary and a fake CUDA PyTorch, checking the markdown they write. Exits 1 on any failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
py=${PYTHON:-python3}
t=$(mktemp -d /tmp/vkcnn-bench-test.XXXXXX)
export BENCH_BUSY_SECONDS=0.1  # compare.sh samples the CPU load for 2 s per note otherwise
trap 'rm -rf "$t"' EXIT
fails=0
check() {  # description command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}

quiet() {  # log command...: runs it with its output in log, shown only if it fails
  local log=$1; shift
  "$@" >"$log" 2>&1 || { local rc=$?; sed 's/^/    | /' "$log"; return $rc; }
}

echo "== table.py unit tests"
check "test_table.py" quiet "$t/unit.out" "$py" "$here/test_table.py"

echo "== shell syntax"
for f in "$here"/*.sh; do check "bash -n $(basename "$f")" bash -n "$f"; done
if command -v shellcheck >/dev/null; then
  for f in "$here"/*.sh; do check "shellcheck $(basename "$f")" shellcheck "$f"; done
fi
for f in "$here"/*.py; do
  check "py_compile $(basename "$f")" "$py" -c \
    'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)' "$f" "$t/c.pyc"
done
before=$(ls -A "$root" "$here")

# A fake vkcnn: bench train prints CPU or GPU records, and per zoo network with --arch (recording
# its arguments in vkcnn-args; FAKE_FAIL_ARCH=NAME makes that network fail, FAKE_NO_ARCH=1 hides
# --arch from its help, FAKE_BATCH_SIZE=1 names the batch flag --batch-size); devices lists a
# discrete GPU.
cat >"$t/vkcnn" <<EOF
#!/bin/bash
echo "\$*" >>"$t/vkcnn-args"
EOF
cat >>"$t/vkcnn" <<'EOF'
r() { printf '{"backend": "%s", "device_type": "%s", "what": "%s", "batch": %s, "images_per_second": %s, "images": 3200, "seconds": 1.5}' "$@"; }
case "$*" in
  "bench train --help")
    echo "Usage:"; echo "  vkcnn bench train [flags]"; echo "Flags:"
    [ "${FAKE_NO_ARCH:-0}" = 1 ] || echo "      --arch string   the network: seed, airbench94, airbench-tiny, resnet18"
    if [ "${FAKE_BATCH_SIZE:-0}" = 1 ]; then echo "      --batch-size ints"; else echo "      --batch ints"; fi ;;
  "bench train --device cpu --arch "*)
    arch=$6 b=$8
    [ "$arch" != "${FAKE_FAIL_ARCH:-}" ] || { echo "vkcnn: $arch: out of fake memory" >&2; exit 1; }
    case $arch in seed) v=300 ;; airbench-tiny) v=900 ;; airbench94) v=60 ;; *) v=10 ;; esac
    echo "[$(r cpu cpu-reference train "$b" $v), $(r cpu cpu-reference eval "$b" $((3 * v)))]" ;;
  "bench train --device cpu --json")
    echo "[$(r cpu cpu-reference train 32 300), $(r cpu cpu-reference train 128 350), $(r cpu cpu-reference eval 500 1000)]" ;;
  "bench train --device auto --json")
    echo "[$(r vulkan discrete-gpu train 32 40000), $(r vulkan discrete-gpu train 128 90000), $(r vulkan discrete-gpu eval 1000 300000),"
    echo " $(r cpu cpu-reference train 32 3000), $(r cpu cpu-reference train 128 3500), $(r cpu cpu-reference eval 1000 9000)]" ;;
  "bench --device auto --json") echo '[{"op": "conv1", "ms": 0.1}]' ;;
  devices) echo "0  Fake GPU  discrete-gpu  fake 1.3"; echo "--device auto picks 0 (Fake GPU)" ;;
  *) echo "fake vkcnn: unexpected $*" >&2; exit 2 ;;
esac
EOF
# A fake python: pytorch_seed.py prints canned records (recording its arguments); the rest is real.
cat >"$t/python" <<EOF
#!/bin/bash
if [ "\$1" = -c ] && [ "\$2" = "import torch" ]; then exit 0; fi
if [[ "\$1" == *pytorch_seed.py ]]; then
  echo "\$*" >>"$t/pytorch-args"
  if [[ "\$*" == *--arch* ]]; then
    arch= b=
    while [ \$# -gt 0 ]; do case \$1 in --arch) arch=\$2 ;; --batches) b=\$2 ;; esac; shift; done
    case \$arch in seed) v=400 ;; airbench-tiny) v=1000 ;; airbench94) v=120 ;; *) v=20 ;; esac
    rec() { echo "{\"backend\": \"pytorch-cpu\", \"device_type\": \"cpu\", \"what\": \"\$1\", \"batch\": \$b, \"images_per_second\": \$2, \"images\": 512, \"seconds\": 1, \"arch\": \"\$arch\"}"; }
    echo "{\"meta\": {\"torch_version\": \"1.13.1\", \"device\": \"cpu\", \"threads\": 2, \"blas_loaded\": \"OpenBLAS (pthread)\", \"arch\": \"\$arch\"}, \"results\": [\$(rec train \$v), \$(rec eval \$((4 * v)))]}"
    exit 0
  fi
  eager='{"backend": "pytorch-cuda", "device_type": "cuda", "what": "train", "batch": 32, "images_per_second": 5000, "images": 9600, "seconds": 1.9}, {"backend": "pytorch-cuda", "device_type": "cuda", "what": "epoch", "batch": 32, "images_per_second": 5000, "images": 50000, "seconds": 10.0, "extrapolated": false}'
  comp='{"backend": "pytorch-cuda-compile", "device_type": "cuda", "what": "train", "batch": 32, "images_per_second": 8000, "images": 9600, "seconds": 1.2}'
  case "\$*" in
    *--no-eager*) res=\$comp ;;
    *--compile*) res="\$eager, \$comp" ;;
    *cuda*) res=\$eager ;;
    *) echo '{"meta": {"torch_version": "1.13.1", "device": "cpu", "threads": 2, "blas_loaded": "OpenBLAS (pthread)"}, "results": [{"backend": "pytorch-cpu", "device_type": "cpu", "what": "train", "batch": 32, "images_per_second": 400, "images": 3200, "seconds": 8}, {"backend": "pytorch-cpu", "device_type": "cpu", "what": "eval", "batch": 500, "images_per_second": 2000, "images": 2500, "seconds": 1.25}]}'; exit 0 ;;
  esac
  echo "{\"meta\": {\"torch_version\": \"2.5.0\", \"device\": \"cuda\", \"cuda\": \"12.4\"}, \"results\": [\$res]}"
  exit 0
fi
exec $py "\$@"
EOF
chmod +x "$t/vkcnn" "$t/python"

echo "== compare.sh, fake vkcnn with a GPU, fake PyTorch"
printf '# Benchmarks\n\nintro\n' >"$t/B.md"
"$t/python" "$root/bench/pytorch_seed.py" --device cpu >"$t/pt-cpu.json"
rm -f "$t/pytorch-args"
for run in 1 2; do
  check "compare.sh run $run" quiet "$t/compare.out" "$here/compare.sh" --vkcnn "$t/vkcnn" \
    --pytorch-json "$t/pt-cpu.json" --python "$t/python" --gpu-python "$t/python" --out "$t/B.md" --skip-apt
done
b=$(cat "$t/B.md")
check "intro kept" grep -q '^intro$' "$t/B.md"
check "one cpu section" [ "$(grep -c '<!-- compare:cpu -->' "$t/B.md")" = 1 ]
check "one gpu section" [ "$(grep -c '<!-- compare:gpu -->' "$t/B.md")" = 1 ]
check "cpu row 32: 300 vs 400" grep -qF '| train | 32 | 300 | 400 | 0.75× |' <<<"$b"
check "cpu target met" grep -qF '≥ 0.5× PyTorch CPU: **met** (0.75×' <<<"$b"
check "gpu row 32 with compile" grep -qF '| train | 32 | 40000 | 5000 | 8.00× | 8000 | 5.00× |' <<<"$b"
check "gpu epoch 1.2 s vs 10 s measured" grep -qF '| epoch (50k images), seconds | 32 | 1.2* | 10.0 | 8.00× |' <<<"$b"
check "gpu target met" grep -qF 'PyTorch eager on the same GPU: **met** (8.00×' <<<"$b"
check "PyTorch CUDA at vkcnn's batches" grep -q -- '--device cuda --compile --batches 32,128 --eval-batch 1000 --json' "$t/pytorch-args"

echo "== compare.sh: the model zoo, side by side"
check "one zoo section" [ "$(grep -c '<!-- compare:zoo-cpu -->' "$t/B.md")" = 1 ]
check "sections in order: cpu, zoo-cpu, gpu" [ "$(grep -o '<!-- compare:[a-z-]* -->' "$t/B.md" | tr '\n' ' ')" = \
  "<!-- compare:cpu --> <!-- compare:zoo-cpu --> <!-- compare:gpu --> " ]
check "zoo row seed train 32: 300 vs 400" grep -qF '| seed | train | 32 | 300 | 400 | 0.75× |' <<<"$b"
check "zoo row airbench-tiny train 256" grep -qF '| airbench-tiny | train | 256 | 900 | 1000 | 0.90× |' <<<"$b"
check "zoo row airbench94 train 256" grep -qF '| airbench94 | train | 256 | 60.0 | 120 | 0.50× |' <<<"$b"
check "zoo row airbench94 eval 256" grep -qF '| airbench94 | eval | 256 | 180 | 480 | 0.38× |' <<<"$b"
check "zoo row resnet18 train 32" grep -qF '| resnet18 | train | 32 | 10.0 | 20.0 | 0.50× |' <<<"$b"
check "vkcnn bench train --arch at the zoo's batch and images" \
  grep -qxF 'bench train --device cpu --arch airbench94 --batch 256 --images 256 --json' "$t/vkcnn-args"
check "PyTorch --arch at the same batch, ceil(images/batch) steps" \
  grep -qF "bench/pytorch_seed.py --arch resnet18 --device cpu --threads $(nproc) --batches 32 --eval-batch 32 --steps 2 --warmup 1 --eval-images 64 --json" "$t/pytorch-args"
check "zoo commands listed" grep -qF 'vkcnn bench train --device cpu --arch resnet18 --batch 32 --images 64 --json' <<<"$b"

echo "== compare.sh --zoo-only: a vkcnn without --arch, --batch-size, a failing run, bad specs"
FAKE_NO_ARCH=1 check "--zoo-only, no --arch in vkcnn" quiet "$t/z1.out" "$here/compare.sh" --zoo-only \
  --vkcnn "$t/vkcnn" --pytorch-json "$t/pt-cpu.json" --python "$t/python" --out "$t/Z.md" --skip-apt \
  --zoo airbench-tiny:128
check "only the zoo section" [ "$(grep -c '<!-- compare:' "$t/Z.md")" = 1 ]
check "vkcnn pending" grep -qF '| airbench-tiny | train | 128 | pending | 1000 | – |' "$t/Z.md"
check "says why" grep -qF 'has no `bench train --arch` yet' "$t/Z.md"
check "IMAGES defaults to 4 batches" grep -qF -- '--batches 128 --eval-batch 128 --steps 4 --warmup 1 --eval-images 512' "$t/pytorch-args"
: >"$t/vkcnn-args"
FAKE_BATCH_SIZE=1 check "--batch-size where vkcnn names it so" quiet "$t/z2.out" "$here/compare.sh" --zoo-only \
  --vkcnn "$t/vkcnn" --pytorch-json "$t/pt-cpu.json" --python "$t/python" --out "$t/Z.md" --skip-apt \
  --zoo seed:64:64
check "  used --batch-size" grep -qxF 'bench train --device cpu --arch seed --batch-size 64 --images 64 --json' "$t/vkcnn-args"
if FAKE_FAIL_ARCH=airbench94 "$here/compare.sh" --zoo-only --vkcnn "$t/vkcnn" --pytorch-json "$t/pt-cpu.json" \
  --python "$t/python" --out "$t/Z.md" --skip-apt >"$t/z3.out" 2>&1; then
  check "compare.sh fails when a zoo run fails" false
else
  check "compare.sh says a zoo run failed" grep -qF '1 zoo run(s) failed' "$t/z3.out"
  check "  its cell empty" grep -qF '| airbench94 | train | 256 | – | 120 | – |' "$t/Z.md"
  check "  the others there" grep -qF '| resnet18 | train | 32 | 10.0 | 20.0 | 0.50× |' "$t/Z.md"
  check "  the failure in the notes" grep -qF 'out of fake memory' "$t/Z.md"
fi
for spec in vgg:32 airbench94 airbench94:0; do
  if "$here/compare.sh" --zoo-only --zoo "$spec" --vkcnn "$t/vkcnn" --pytorch-json "$t/pt-cpu.json" \
    --python "$t/python" --out "$t/Y.md" --skip-apt >"$t/z4.out" 2>&1; then
    check "--zoo '$spec' refused" false
  else
    check "--zoo '$spec' refused in one line: $(tail -1 "$t/z4.out")" [ "$(wc -l <"$t/z4.out")" = 1 ]
  fi
done

echo "== compare.sh refuses a vkcnn without bench train"
printf '#!/bin/sh\necho "vkcnn: unknown command \\"bench\\" for \\"vkcnn\\"" >&2; exit 1\n' >"$t/old-vkcnn"
chmod +x "$t/old-vkcnn"
if "$here/compare.sh" --vkcnn "$t/old-vkcnn" --pytorch-json "$t/pt-cpu.json" --python "$py" \
  --out "$t/C.md" --skip-apt >"$t/old.out" 2>&1; then
  check "compare.sh fails" false
else
  check "compare.sh fails with a clear message" grep -q "has no 'bench train' command yet" "$t/old.out"
  check "and writes nothing" [ ! -e "$t/C.md" ]
fi

echo "== compare.sh --pytorch-only: the vkcnn column pending"
check "compare.sh --pytorch-only" quiet "$t/po.out" "$here/compare.sh" --pytorch-only \
  --pytorch-json "$t/pt-cpu.json" --python "$py" --out "$t/D.md" --skip-apt --no-gpu --no-zoo
check "pending column" grep -qF '| train | 32 | pending | 400 | – |' "$t/D.md"
check "--no-zoo: no zoo section" [ "$(grep -c 'compare:zoo-cpu' "$t/D.md")" = 0 ]
check "compare.sh --pytorch-only with the zoo" quiet "$t/po2.out" "$here/compare.sh" --pytorch-only \
  --pytorch-json "$t/pt-cpu.json" --python "$t/python" --out "$t/D.md" --skip-apt --no-gpu
check "zoo pending column" grep -qF '| airbench94 | train | 256 | pending | 120 | – |' "$t/D.md"

echo "== gpu-extra.sh with the fakes"
mkdir -p "$t/out"
check "gpu-extra.sh" quiet "$t/extra.out" env OUT="$t/out" PYTHON="$t/python" VKCNN="$t/vkcnn" \
  bash "$here/gpu-extra.sh"
check "BENCHMARKS-gpu.md written" grep -qF '| train | 32 | 40000 | 5000 | 8.00× | 8000 | 5.00× |' "$t/out/BENCHMARKS-gpu.md"
check "per-op JSON kept" grep -q conv1 "$t/out/vkcnn-bench.json"
check "GPU machine's CPU section" grep -qF '| train | 32 | 3000 | 400 | 7.50× |' "$t/out/BENCHMARKS-gpu.md"
check "its own markers" grep -qF '<!-- /compare:cpu-gpu-machine -->' "$t/out/BENCHMARKS-gpu.md"
check "PyTorch CUDA at vkcnn's eval batches" grep -q -- '--eval-batch 1000 --json' "$t/pytorch-args"
mkdir -p "$t/out0"
if OUT="$t/out0" PYTHON="$t/python" VKCNN="$t/vkcnn" EXTRA_BUDGET=0 bash "$here/gpu-extra.sh" >"$t/extra0.out" 2>&1; then
  check "gpu-extra.sh fails when its time budget is spent" false
else
  check "gpu-extra.sh skips steps past its time budget" grep -q "skipped, the time budget" "$t/extra0.out"
fi
printf '# Benchmarks\n\n<!-- compare:gpu -->\nold\n<!-- /compare:gpu -->\n' >"$t/E.md"
check "merge into BENCHMARKS.md" "$py" "$here/table.py" merge "$t/out/BENCHMARKS-gpu.md" --out "$t/E.md"
check "merged" grep -qF '| train | 32 | 40000 |' "$t/E.md"

check "no stray files left in the repository" [ "$(ls -A "$root" "$here")" = "$before" ]

echo
if [ $fails = 0 ]; then echo "all bench script tests passed"; else echo "$fails FAILED"; exit 1; fi
