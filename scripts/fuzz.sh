#!/bin/sh
# Run every libFuzzer target in BUILD_DIR for SECONDS on a scratch copy of its seed corpus
# (tests/fuzz/corpus/NAME) with its dictionary (tests/fuzz/NAME.dict) when there is one.
set -eu
dir=${1:?usage: fuzz.sh BUILD_DIR SECONDS}
secs=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
found=0
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	found=1
	name=$(basename "$bin")
	mkdir -p "$work/$name"
	if [ -d "$top/tests/fuzz/corpus/$name" ]; then
		cp -r "$top/tests/fuzz/corpus/$name/." "$work/$name/"
	fi
	# FUZZ_SEED (set by make check-all) makes the short CI runs repeatable: the same mutations each
	# time, so CI is a regression gate and `make fuzz` (random seeds, longer) explores.
	seed=""
	[ -n "${FUZZ_SEED:-}" ] && seed="-seed=$FUZZ_SEED"
	dict=""
	[ -f "$top/tests/fuzz/$name.dict" ] && dict="-dict=$top/tests/fuzz/$name.dict"
	printf '%s: ' "$name"
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$work/" $seed $dict "$work/$name" >"$work/$name.log" 2>&1; then
		echo "FAILED"
		tail -50 "$work/$name.log"
		mkdir -p "$top/tests/fuzz/artifacts"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* \
			"$top/tests/fuzz/artifacts/" 2>/dev/null || true
		exit 1
	fi
	grep -E '^Done|#[0-9]+.*DONE' "$work/$name.log" | tail -1 || echo ok
done
[ "$found" = 1 ] || { echo "fuzz.sh: no fuzz targets in $dir" >&2; exit 1; }
