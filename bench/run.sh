#!/bin/sh
# make bench: run every bench/bench_*.sh with the release binary; each prints its figures as
# ratios against the peer it measures, alternating A B A B in the same run.
set -eu
BIN=$(cd "$(dirname "${1:-build/release/bulwark}")" && pwd)/$(basename "${1:-build/release/bulwark}")
top=$(cd "$(dirname "$0")/.." && pwd)
export BULWARK="$BIN"
status=0
for b in "$top"/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b")"
	sh "$b" || status=1
done
exit $status
