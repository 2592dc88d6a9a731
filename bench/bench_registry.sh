#!/bin/sh
# Scanning by registry reference vs scanning the same image from a local OCI layout: a
# docker-registry (distribution 2.8) on loopback serves an image of gzip layers built from
# /usr, pushed through the distribution API. Prints the ratio (layout time / registry time:
# > 1 means the registry scan is faster; the target is >= 0.83, i.e. within 1.2x), measured
# A B A B in the same run, median of RUNS. `bench_registry.sh serve` sets the same up, prints
# the commands and keeps the registry until killed, for an outside timer.
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x /usr/bin/docker-registry ]; then
	echo "bench_registry: docker-registry not installed (scripts/deps.sh), skipped"
	exit 0
fi
# shellcheck source=bench/registry_lib.sh
. "$top/bench/registry_lib.sh"
registry_up bwk-bench-registry
ref="127.0.0.1:$port/bench/img:1"

# the image: two gzip layers from /usr, pushed through the distribution API; the same image
# is then pulled into an OCI layout by bulwark itself
/usr/bin/python3 "$top/bench/image_lib.py" push "http://127.0.0.1:$port" bench/img 1 \
	usr/include usr/share/perl5
"$BULWARK" registry pull -q "$ref" -o "$work/oci"

# for --scan-all: 50 small images (two gzip layers each: /etc/ssl and /usr/share/zoneinfo/Europe,
# and a file of its own)
/usr/bin/python3 - "$top" "$port" <<'PY'
import sys
top, port = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, top + "/bench")
from image_lib import host_tar, iu
import registry_util as ru
base = host_tar(("etc/ssl", "usr/share/zoneinfo/Europe"))
c = ru.Client(f"http://127.0.0.1:{port}")
for i in range(50):
    own = iu.Layer([iu.D("app"), iu.F("app/id", f"image {i}\n")], comp="gzip")
    c.push_image(f"many/img{i // 10}", f"v{i % 10}",
                 [iu.Layer(raw_tar=base, comp="gzip"), own])
print(f"--scan-all: 50 images of 2 gzip layers ({len(base) >> 10} KiB tar each)")
PY

# `bench_registry.sh serve`: keep the registry and the layout for an outside timer, print the
# commands to time, and wait (Ctrl-C or a signal ends it and removes everything)
if [ "${1:-}" = serve ]; then
	echo "serving until killed (pid $$):"
	echo "  scan by reference: $BULWARK scan --fail-on none $ref"
	echo "  scan of the layout: $BULWARK scan --fail-on none $work/oci"
	echo "  --scan-all: $BULWARK audit registry 127.0.0.1:$port --scan-all --repo many/img0 … --repo many/img4 --jobs N --fail-on none"
	trap 'exit 0' INT TERM
	wait "$regpid"
	exit 0
fi

# shellcheck source=bench/timing.sh
. "$top/bench/timing.sh"

scan_reg() { "$BULWARK" scan --fail-on none "$ref"; }
scan_oci() { "$BULWARK" scan --fail-on none "$work/oci"; }
scan_reg >/dev/null 2>&1 || { echo "bench_registry: scan by reference failed" >&2; exit 1; }
A=""
B=""
r=0
while [ $r -lt "$RUNS" ]; do
	A="$A $(time_of scan_oci)"
	B="$B $(time_of scan_reg)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
a=$(median $A)
# shellcheck disable=SC2086
b=$(median $B)
echo "scan: OCI layout ${a}s  registry reference (loopback) ${b}s  ratio $(ratio "$a" "$b")x (target >= 0.83: within 1.2x)"

# --scan-all over the 50 small images (the issue's case: their five repositories named with
# --repo, so the big image above, which alone keeps both cores busy, is not among them), all
# cores (--jobs 2) against one image at a time (--jobs 1), A B A B; target: >= 1.6x faster
small="--repo many/img0 --repo many/img1 --repo many/img2 --repo many/img3 --repo many/img4"
# shellcheck disable=SC2086
all_j1() { "$BULWARK" audit registry "127.0.0.1:$port/" --scan-all $small --jobs 1 --fail-on none; }
# shellcheck disable=SC2086
all_j2() { "$BULWARK" audit registry "127.0.0.1:$port/" --scan-all $small --jobs 2 --fail-on none; }
# shellcheck disable=SC2086
n=$("$BULWARK" audit registry "127.0.0.1:$port" --scan-all $small -f json --fail-on none |
	/usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["targets"]) - 1)')
[ "$n" -eq 50 ] || { echo "bench_registry: --scan-all listed $n images, not 50" >&2; exit 1; }
A=""
B=""
r=0
while [ $r -lt "$RUNS" ]; do
	A="$A $(time_of all_j1)"
	B="$B $(time_of all_j2)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
a=$(median $A)
# shellcheck disable=SC2086
b=$(median $B)
echo "--scan-all of $n images: --jobs 1 ${a}s  --jobs 2 ${b}s  ratio $(ratio "$a" "$b")x (target >= 1.6)"
