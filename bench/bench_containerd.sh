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

/usr/bin/python3 - "$top" "$work/img.tar" <<'PY'
import io, os, sys, tarfile
from pathlib import Path
top, out = Path(sys.argv[1]), sys.argv[2]
sys.path.insert(0, str(top / "tests" / "integration"))
import image_util as iu
layers = []
for d in ("usr/include", "usr/share/perl5"):
    if not os.path.isdir("/" + d):
        continue
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add("/" + d, arcname=d)
    layers.append(iu.Layer(raw_tar=buf.getvalue(), comp="gzip"))
iu.docker_save(out, layers, tags=["bench:1"])
size = sum(len(l.blob) for l in layers) >> 20
unc = sum(len(l.tar) for l in layers) >> 20
print(f"image: {len(layers)} gzip layers, {size} MiB compressed, {unc} MiB uncompressed")
PY
/usr/bin/ctr images import "$work/img.tar" >/dev/null
ref=containerd:docker.io/library/bench:1

now() { date +%s.%N; }
time_of() {
	t0=$(now)
	rc=0
	"$@" >/dev/null 2>&1 || rc=$?
	t1=$(now)
	[ $rc -le 1 ] || { echo "bench: command failed ($rc): $*" >&2; exit 1; }
	echo "$t1 - $t0" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { # label, then A command (the store scan) and B command separated by --
	label=$1
	shift
	: >"$work/r"
	n=0
	while [ $n -lt "$RUNS" ]; do
		ta=$(time_of "$BULWARK" scan --fail-on none "$ref")
		tb=$(time_of "$@")
		echo "$tb / $ta" | bc -l >>"$work/r"
		n=$((n + 1))
	done
	printf '%s: %.2f (median of %s, > 1: the store scan is faster)\n' "$label" \
		"$(median <"$work/r")" "$RUNS"
}
ratio "containerd store vs docker-save archive" "$BULWARK" scan --fail-on none "$work/img.tar"
if [ -n "${BULWARK_OLD:-}" ]; then
	ratio "containerd store vs $BULWARK_OLD (ctr export)" "$BULWARK_OLD" scan --fail-on none "$ref"
fi
