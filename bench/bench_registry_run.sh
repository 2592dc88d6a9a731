#!/bin/sh
# A cold `bulwark run REGISTRY/REPO:TAG /bin/true` (an empty cache: pull the blobs into the
# cache, verify, extract, run) vs `podman pull` + `podman run --rm` of the same image from the
# same loopback docker-registry (distribution 2.8), podman with a fresh storage each time
# (--root/--runroot in a new directory) so that it is cold too, plain HTTP (--tls-verify=false)
# and no network for the container (bulwark's default); runc, as crun refuses this machine's
# hybrid cgroup layout, and ulimits below the hard limits here (podman's defaults for root are
# above them). Two images: "small", one busybox layer (1 MiB), and "large", the busybox layer
# and a layer of /usr/lib/python3/dist-packages (many small files, as a distribution has).
# Prints the ratio podman / bulwark (> 1: bulwark is faster), median of RUNS pairs measured A B
# A B in the same run. Needs root (podman's storage).
#
# `bench_registry_run.sh cold-bulwark REF` and `cold-podman REF` run one cold start each (what
# is timed here), for an outside timer.
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-5}
top=$(cd "$(dirname "$0")/.." && pwd)

# one cold start: a new cache (or storage) directory, removed afterwards (inside the timing,
# for both: a cold start leaves its pulled image behind, and both leave about as much)
cold_bulwark() {
	d=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-cold.XXXXXX")
	rc=0
	"$BULWARK" run -q --cache "$d" "$1" /bin/true || rc=$?
	rm -rf "$d"
	return $rc
}
podman_in() {
	d=$1
	shift
	podman --root "$d/root" --runroot "$d/run" --storage-driver overlay \
		--cgroup-manager cgroupfs --events-backend none --runtime runc "$@"
}
cold_podman() {
	d=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-cold.XXXXXX")
	rc=0
	podman_in "$d" pull -q --tls-verify=false "$1" >/dev/null &&
		podman_in "$d" run --rm --network none --ulimit nofile=1024:1024 \
			--ulimit nproc=1024:1024 "$1" /bin/true || rc=$?
	umount "$d/root/overlay" 2>/dev/null || true
	rm -rf "$d"
	return $rc
}
case "${1:-}" in
cold-bulwark)
	cold_bulwark "$2"
	exit
	;;
cold-podman)
	cold_podman "$2"
	exit
	;;
esac

[ "$(id -u)" = 0 ] || { echo "bench_registry_run: needs root (podman's storage)"; exit 0; }
for p in /usr/bin/docker-registry /usr/bin/podman; do
	if [ ! -x "$p" ]; then
		echo "bench_registry_run: $p not installed (scripts/deps.sh), skipped"
		exit 0
	fi
done
# shellcheck source=bench/registry_lib.sh
. "$top/bench/registry_lib.sh"
registry_up bwk-bench-regrun
reg="127.0.0.1:$port"

/usr/bin/python3 - "$top" "$port" <<'PY'
import sys
from pathlib import Path
top, port = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, top + "/bench")
from image_lib import host_layers, iu
import registry_util as ru
bb = Path("/bin/busybox").read_bytes()
base = iu.Layer([iu.D("bin"), iu.F("bin/busybox", bb, 0o755)] +
                [iu.L(f"bin/{a}", "busybox") for a in ("sh", "true", "ls", "cat")] +
                [iu.D("etc"), iu.F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                 iu.F("etc/group", "root:x:0:\n"), iu.D("tmp", 0o1777), iu.D("proc"),
                 iu.D("sys"), iu.D("dev")], comp="gzip")
layers = [base] + host_layers(["usr/lib/python3/dist-packages"])
for name, ls in (("small", [base]), ("large", layers)):
    cfg = iu.config_for(ls, config={"Cmd": ["/bin/true"], "Env": ["PATH=/bin"]})
    ru.Client(f"http://127.0.0.1:{port}").push_image(f"bench/{name}", "1", ls,
                                                      config_bytes=cfg, docker_types=True)
    size = sum(len(l.blob) for l in ls) / (1 << 20)
    unc = sum(len(l.tar) for l in ls) / (1 << 20)
    print(f"image {name}: {len(ls)} gzip layers, {size:.1f} MiB compressed, "
          f"{unc:.1f} MiB uncompressed")
PY

# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"

for name in small large; do
	ref="$reg/bench/$name:1"
	cold_bulwark "$ref" >/dev/null 2>&1 || { echo "bench_registry_run: bulwark run failed" >&2; exit 1; }
	cold_podman "$ref" >/dev/null 2>&1 || { echo "bench_registry_run: podman failed" >&2; exit 1; }
	A=""
	B=""
	r=0
	while [ $r -lt "$RUNS" ]; do
		A="$A $(time_of cold_bulwark "$ref")"
		B="$B $(time_of cold_podman "$ref")"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086
	a=$(median $A)
	# shellcheck disable=SC2086
	b=$(median $B)
	echo "cold run of $name from a loopback registry: bulwark ${a}s  podman pull + run ${b}s  ratio $(ratio "$b" "$a")x (podman / bulwark; target > 1)"
done
