#!/usr/bin/env bash
# Runs vkcnn's tests as CI does: installs what is missing (Mesa's lavapipe
# Vulkan driver, the Khronos validation layer, glslc, PyTorch), then go vet and go test
# with Vulkan validation on (synchronization validation included), so any
# validation error fails a test. Extra arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
# (grep reads all of ldconfig's output: with -q it could quit early, and
# pipefail would count ldconfig's SIGPIPE as the library missing.)
ldconfig -p 2>/dev/null | grep 'libvulkan.so.1 ' >/dev/null || need+=(libvulkan1)
ls /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json >/dev/null 2>&1 || need+=(vulkan-validationlayers)
command -v glslc >/dev/null || need+=(glslc)
# PyTorch checks that its load_state_dict takes vkcnn's weights and back
# (VKCNN_NO_TORCH=1 skips that test and this large install).
[ "${VKCNN_NO_TORCH:-}" = 1 ] || /usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
# The ONNX export test checks the exported models with Debian's ONNX checker
# and runs them in onnxruntime under node (VKCNN_NO_ONNX=1 skips that test,
# these installs and the npm one below).
if [ "${VKCNN_NO_ONNX:-}" != 1 ]; then
	/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
	{ command -v node && command -v npm; } >/dev/null || need+=(nodejs npm)
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# onnxruntime-node, at the version tools/package-lock.json pins, into the
# git-ignored tools/node_modules; ONNXRUNTIME_NODE_INSTALL=skip keeps its
# post-install from fetching CUDA files (its CPU library is in the package).
if [ "${VKCNN_NO_ONNX:-}" != 1 ] &&
	[ "$(node -p "require('./tools/node_modules/onnxruntime-node/package.json').version" 2>/dev/null)" != \
		"$(node -p "require('./tools/package.json').dependencies['onnxruntime-node']")" ]; then
	echo "installing onnxruntime-node into tools/node_modules"
	(cd tools && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

export VKCNN_VALIDATE=1
export VKCNN_REQUIRE_DEVICE=1
export VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT
go vet ./...
go test -count=1 "$@" ./...
# The CPU-side packages again under the race detector.
go test -count=1 -race -short ./backend/cpu ./cifar10 ./checkpoint ./metrics ./images
# The benchmark scripts, end to end with a fake vkcnn and a fake PyTorch.
if ! out=$(bash bench/test_scripts.sh 2>&1); then
	echo "$out"
	exit 1
fi
echo "ok  	bench/test_scripts.sh"
