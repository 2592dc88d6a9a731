#!/bin/sh
# Scanning containerd:NAME (read straight from containerd's content store) vs scanning the same
# image from the docker-save archive it was imported from: a private containerd (own root,
# state and socket, the CRI plugin off) is given an image of two gzip layers built from /usr
# with `ctr image import`. Prints the ratio (archive time / store time: > 1 means the store
# scan is faster), measured A B A B in the same run, median of RUNS. BULWARK_OLD=PATH adds a
# second ratio against another bulwark binary scanning containerd:NAME (e.g. one that still
# ran `ctr images export`). Needs root and containerd.
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ] || [ ! -x /usr/bin/containerd ] || [ ! -x /usr/bin/ctr ]; then
	echo "bench_containerd: needs root and containerd (scripts/deps.sh), skipped"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-bench-ctd.XXXXXX")
ctdpid=""
cleanup() {
	if [ -n "$ctdpid" ]; then
		kill "$ctdpid" 2>/dev/null || true
		wait "$ctdpid" 2>/dev/null || true
	fi
	umount -R "$work/root" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
EOF
/usr/bin/containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctdpid=$!
export CONTAINERD_ADDRESS="$work/c.sock" CONTAINERD_NAMESPACE=bwk-bench
i=0
until /usr/bin/ctr version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "bench_containerd: containerd did not start" >&2; exit 1; }
	sleep 0.1
done

/usr/bin/python3 "$top/bench/image_lib.py" docker-save "$work/img.tar" bench:1 \
	usr/include usr/share/perl5
/usr/bin/ctr images import "$work/img.tar" >/dev/null
ref=containerd:docker.io/library/bench:1

# shellcheck source=bench/timing.sh
. "$top/bench/timing.sh"

compare() { # label, then the B command (A is the store scan)
	label=$1
	shift
	R=""
	n=0
	while [ $n -lt "$RUNS" ]; do
		ta=$(time_of "$BULWARK" scan --fail-on none "$ref")
		tb=$(time_of "$@")
		R="$R $(ratio "$tb" "$ta" 4)"
		n=$((n + 1))
	done
	# shellcheck disable=SC2086
	printf '%s: %.2f (median of %s, > 1: the store scan is faster)\n' "$label" "$(median $R)" \
		"$RUNS"
}
compare "containerd store vs docker-save archive" "$BULWARK" scan --fail-on none "$work/img.tar"
if [ -n "${BULWARK_OLD:-}" ]; then
	compare "containerd store vs $BULWARK_OLD (ctr export)" "$BULWARK_OLD" scan --fail-on none "$ref"
fi
