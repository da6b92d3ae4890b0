#!/usr/bin/env bash
# Runs vkcnn's tests as CI does: installs what is missing (Mesa's lavapipe
# Vulkan driver, the Khronos validation layer, glslc, PyTorch, Chromium for its
# SwiftShader Vulkan driver), then go vet and go test with Vulkan validation
# on (synchronization validation included), so any validation error fails a
# test, and the Vulkan tests again on SwiftShader. Extra arguments go to the
# main go test.
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
# The dashboard's browser tests drive Debian's Chromium headless
# (VKCNN_NO_BROWSER=1 skips them and this install).
if [ "${VKCNN_NO_BROWSER:-}" != 1 ]; then
	command -v chromium >/dev/null || need+=(chromium)
	export VKCNN_REQUIRE_BROWSER=1
fi
# A second Vulkan implementation for the Vulkan tests: Google's SwiftShader,
# which Debian's chromium package ships (VKCNN_NO_SWIFTSHADER=1 skips its
# runs below and this install).
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
[ "${VKCNN_NO_SWIFTSHADER:-}" = 1 ] || [ -e "$swiftshader" ] || need+=(chromium)
# The training window (train --window) builds with -tags window: GLFW needs
# the X11 headers, its tests Xvfb (VKCNN_NO_WINDOW=1 skips them and these).
x11=(libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl-dev)
if [ "${VKCNN_NO_WINDOW:-}" != 1 ]; then
	command -v Xvfb >/dev/null || need+=(xvfb)
	dpkg -s "${x11[@]}" >/dev/null 2>&1 || need+=("${x11[@]}")
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
# The dashboard's browser tests run after the rest: two headless Chromiums
# at once on two cores (these and cmd/vkcnn's) have dropped a page's event
# stream (TestTrainServe failed in 2 of 5 runs of this script).
go test -count=1 -timeout 45m "$@" $(go list ./... | grep -v '/dashboard$')
go test -count=1 -timeout 10m "$@" ./dashboard
# The runtime's tests, the kernel cross-checks and a short training again on
# SwiftShader: another shader compiler, subgroup size 4, workgroups of at most
# 256 invocations, other limits. It is slower than lavapipe, so -short gives
# the slowest tests smaller shapes or fewer rounds.
if [ "${VKCNN_NO_SWIFTSHADER:-}" != 1 ]; then
	start=$SECONDS
	VK_ICD_FILENAMES=$swiftshader go test -count=1 -short ./gpu ./backend/vulkan
	VK_ICD_FILENAMES=$swiftshader go test -count=1 -short -run 'TestBackendsAgree|TestGraphBackendsAgree' ./layers
	echo "SwiftShader: $((SECONDS - start)) s"
fi
# The window, built with its tag: short trainings with it open under Xvfb
# (each test starts its own, to read its screen), screenshots compared with
# what the tensors should show; its two goroutines under the race detector.
if [ "${VKCNN_NO_WINDOW:-}" != 1 ]; then
	go vet -tags window ./window ./cmd/vkcnn
	go test -count=1 -race -tags window -run Window ./window
	go test -count=1 -tags window -run Window ./cmd/vkcnn
fi
# The CPU-side packages (and the dashboard's goroutines) again under the race detector.
go test -count=1 -race -short ./backend/cpu ./cifar10 ./dataset ./checkpoint ./metrics ./images ./dashboard
# The benchmark scripts, end to end with a fake vkcnn and a fake PyTorch.
if ! out=$(bash bench/test_scripts.sh 2>&1); then
	echo "$out"
	exit 1
fi
echo "ok  	bench/test_scripts.sh"
# The PyTorch side of the comparisons: the zoo's definitions and the airbench
# recipe's parts on tiny inputs.
if [ "${VKCNN_NO_TORCH:-}" != 1 ]; then
	for t in tools/test_torch_zoo.py bench/test_airbench.py; do
		if ! out=$(/usr/bin/python3 "$t" 2>&1); then
			echo "$out"
			exit 1
		fi
		echo "ok  	$t"
	done
fi
