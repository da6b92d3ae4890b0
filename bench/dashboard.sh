#!/usr/bin/env bash
# Measures what watching costs: training images/s of `vkcnn train` with
# --serve and a headless Chromium showing the page, against the same run
# without either. The runs alternate in ABBA order (plain, watched, watched,
# plain, ...) so drift in the machine's load hits both alike; the figure of a
# run is its last epoch's images/s from metrics.jsonl, and the medians are
# compared.
#
#   bench/dashboard.sh [--data ARCHIVE] [--runs N] [-- extra train flags]
#
# Defaults: ../shared/data/cifar10/cifar-10-binary.tar.gz, 5 runs of each,
# the seed network on the CPU reference, 2 epochs of 5000 images. Needs
# chromium (apt-get install chromium). The page's weight is measured by the
# browser test: go test -run TestBrowserLive -v ./dashboard. $VKCNN_BINARY
# names a vkcnn to use instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

data=../shared/data/cifar10/cifar-10-binary.tar.gz
runs=5
extra=(--device cpu --limit-train 5000 --limit-test 1000 --epochs 2)
while [ $# -gt 0 ]; do
	case "$1" in
	--data) data=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "usage: $0 [--data ARCHIVE] [--runs N] [-- train flags]" >&2; exit 2 ;;
	esac
done
command -v chromium >/dev/null || { echo "chromium is not installed: apt-get install chromium" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ -n "${VKCNN_BINARY:-}" ]; then
	cp "$VKCNN_BINARY" "$tmp/vkcnn"
else
	go build -o "$tmp/vkcnn" ./cmd/vkcnn
fi

# ips prints the last epoch's images/s of a run directory.
ips() { tail -n 1 "$1/metrics.jsonl" | sed -E 's/.*"images_per_second":([0-9.e+-]+).*/\1/'; }

# Each process runs under GNU time, so the report also says what watching
# costs in CPU seconds: the train command's own (its server included) and the
# browser's, a figure that a busy machine's noise in images/s does not blur.
cpu() { awk '{ printf "%.1f", $1 + $2 }' "$1"; }
plain=() watched=() plaincpu=() watchedcpu=() browsercpu=() browserwall=()
run_plain() {
	/usr/bin/time -f "%U %S" -o "$tmp/tp$1" "$tmp/vkcnn" train --data "$data" --out "$tmp/plain$1" "${extra[@]}" >/dev/null 2>&1
	plain+=("$(ips "$tmp/plain$1")")
	plaincpu+=("$(cpu "$tmp/tp$1")")
}
run_watched() {
	local i=$1 url="" train timer port connected=0 start
	/usr/bin/time -f "%U %S" -o "$tmp/tw$i" "$tmp/vkcnn" train --data "$data" --out "$tmp/watched$i" --serve 127.0.0.1:0 "${extra[@]}" >/dev/null 2>"$tmp/err$i" &
	train=$!
	for _ in $(seq 600); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/err$i" || true)
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { cat "$tmp/err$i" >&2; exit 1; }
	start=$(date +%s.%N)
	/usr/bin/time -f "%U %S" -o "$tmp/tb$i" chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$tmp/profile$i" --remote-debugging-port=0 "$url" >/dev/null 2>&1 &
	timer=$!
	# The page is connected when the server has established connections
	# (the page's load, then its event stream).
	port=${url##*:}; port=${port%/}
	for _ in $(seq 100); do
		connected=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
		[ "$connected" -gt 0 ] && break
		sleep 0.1
	done
	wait "$train"
	# Stop the browser itself (time's child), so time reports its CPU.
	kill "$(pgrep -P "$timer")" 2>/dev/null || true
	wait "$timer" 2>/dev/null || true
	[ "$connected" -gt 0 ] || { echo "the browser never connected to $url" >&2; exit 1; }
	watched+=("$(ips "$tmp/watched$i")")
	watchedcpu+=("$(cpu "$tmp/tw$i")")
	browsercpu+=("$(cpu "$tmp/tb$i")")
	browserwall+=("$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')")
}
for i in $(seq "$runs"); do
	if [ $((i % 2)) = 1 ]; then run_plain "$i"; run_watched "$i"; else run_watched "$i"; run_plain "$i"; fi
	printf 'run %d: plain %.0f images/s (%s CPU s), watched %.0f images/s (%s CPU s; browser %s CPU s in %.0f s)\n' \
		"$i" "${plain[-1]}" "${plaincpu[-1]}" "${watched[-1]}" "${watchedcpu[-1]}" "${browsercpu[-1]}" "${browserwall[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p=$(median "${plain[@]}") w=$(median "${watched[@]}")
pc=$(median "${plaincpu[@]}") wc=$(median "${watchedcpu[@]}") bc=$(median "${browsercpu[@]}") bw=$(median "${browserwall[@]}")
awk -v p="$p" -v w="$w" -v pc="$pc" -v wc="$wc" -v bc="$bc" -v bw="$bw" 'BEGIN {
	printf "median images/s: plain %.0f, watched %.0f (%+.1f%%)\n", p, w, 100*(w-p)/p
	printf "median CPU seconds: train %.1f plain, %.1f watched (%+.1f%%); browser %.1f in %.0f s open (%.1f%% of the plain run)\n", pc, wc, 100*(wc-pc)/pc, bc, bw, 100*bc/pc
}'
