#!/bin/sh
# podman:NAME read from Podman's local storage (tar-split reassembly) vs the same image through
# Podman's API service (podman:NAME with CONTAINER_HOST) vs the docker-archive `podman save`
# writes, on an image of ~300 MiB built locally from /usr (3 layers) and loaded into a store of
# the benchmark's own (storage.conf given as CONTAINERS_STORAGE_CONF, overlay or vfs: DRIVER).
# Prints wall seconds (best of RUNS) and ratios (other / store: > 1 means the store is faster).
# The archive is written once, before the runs: its figure leaves out `podman save` itself.
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-3}
DRIVER=${DRIVER:-overlay}
command -v podman >/dev/null 2>&1 || { echo "bench_podman: podman not installed, skipped"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-bench-podman.XXXXXX")
svc=""
cleanup() {
	[ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
	mountpoint -q "$work/root/overlay" 2>/dev/null && umount "$work/root/overlay"
	rm -rf "$work"
}
trap cleanup EXIT

printf '[storage]\ndriver = "%s"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' \
	"$DRIVER" "$work" "$work" >"$work/storage.conf"
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
unset CONTAINER_HOST
pm() { podman --tmpdir "$work/tmp" --cgroup-manager cgroupfs --events-backend file "$@"; }

echo "building the benchmark image in $work"
mkdir -p "$work/img"
i=0
for d in usr/include usr/lib/gcc usr/lib/python3.11; do
	[ -d "/$d" ] || continue
	i=$((i + 1))
	tar -C / -cf "$work/img/$i.tar" "$d" 2>/dev/null || true
done
/usr/bin/python3 - "$work/img" <<'PY'
import hashlib, json, os, sys
w = sys.argv[1]
L = sorted(f for f in os.listdir(w) if f.endswith(".tar"))
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return "sha256:" + h.hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha(f"{w}/{f}") for f in L]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
open(f"{w}/{cid}.json", "wb").write(cfg)
json.dump([{"Config": f"{cid}.json", "RepoTags": ["localhost/bench:1"], "Layers": L}],
          open(f"{w}/manifest.json", "w"))
PY
tar -C "$work/img" -cf "$work/in.tar" .
rm -rf "$work/img"
pm load -q -i "$work/in.tar" >/dev/null
rm -f "$work/in.tar"
pm save -q --format docker-archive -o "$work/saved.tar" localhost/bench:1
echo "image: $(du -m "$work/saved.tar" | cut -f1) MiB (docker-archive), driver $DRIVER"
pm system service --time 0 "unix://$work/podman.sock" >"$work/service.log" 2>&1 &
svc=$!
n=0
while [ ! -S "$work/podman.sock" ] && [ $n -lt 300 ]; do
	sleep 0.2
	n=$((n + 1))
done

# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"

for cmd in inspect scan; do
	[ $cmd = inspect ] && opt="" || opt="--fail-on none"
	S=""
	A=""
	D=""
	r=0
	while [ $r -lt "$RUNS" ]; do
		# shellcheck disable=SC2086
		S="$S $(time_of "$BULWARK" $cmd $opt podman:localhost/bench:1)"
		# shellcheck disable=SC2086
		A="$A $(time_of env CONTAINER_HOST="unix://$work/podman.sock" "$BULWARK" $cmd $opt podman:localhost/bench:1)"
		# shellcheck disable=SC2086
		D="$D $(time_of "$BULWARK" $cmd $opt "$work/saved.tar")"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086
	s=$(best $S)
	# shellcheck disable=SC2086
	a=$(best $A)
	# shellcheck disable=SC2086
	d=$(best $D)
	echo "$cmd: store ${s}s  API ${a}s (ratio $(ratio "$a" "$s")x)  docker-archive ${d}s (ratio $(ratio "$d" "$s")x)"
done
