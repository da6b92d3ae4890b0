#!/usr/bin/env bash
# Recompiles every compute shader in shaders/ to the SPIR-V committed beside it.
# Usage: tools/glslc.sh [DIR]   (DIR: where to write the .spv files, default shaders/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/shaders}
command -v glslc >/dev/null || { echo "glslc not found: apt-get install glslc" >&2; exit 1; }
mkdir -p "$out"
for src in "$root"/shaders/*.comp; do
	name=$(basename "${src%.comp}")
	glslc --target-env=vulkan1.1 -O -I "$root/shaders" -o "$out/$name.spv" "$src"
done
