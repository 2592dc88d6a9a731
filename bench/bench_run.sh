#!/bin/sh
# bulwark run start-to-exit latency of /bin/true from a cached busybox image, against crun and
# runc (runc-spec OCI bundles of the same rootfs), bubblewrap and a bare `unshare`, alternating A B C D in
# the same run; medians and ratios. Then bulwark's own memory while a container runs.
# crun refuses this hybrid-cgroup host unless /sys/fs/cgroup/unified is unmounted, so every
# runtime runs inside one `unshare -m --propagation private` with it unmounted (anchors.md).
# Needs root. N=rounds (default 30); SETTLE_MS=pause before each run (default 50, see drive.py).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BULWARK=${BULWARK:-$top/build/release/bulwark}
N=${N:-30}
[ "$(id -u)" = 0 ] || { echo "bench_run: needs root (crun/runc bundles)"; exit 0; }
work=$(mktemp -d /tmp/bwk-bench-run.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# one busybox root filesystem, as an image (docker-save) and as an OCI bundle
python3 - "$work" "$top" <<'PY'
import json, os, shutil, subprocess, sys
work, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
from image_util import D, F, L, Layer, docker_save
bb = open("/bin/busybox", "rb").read()
apps = ["sh", "true", "sleep", "cat"]
layer = Layer([D("bin"), F("bin/busybox", bb, 0o755)] + [L("bin/" + a, "busybox") for a in apps]
              + [D("etc"), F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                 F("etc/group", "root:x:0:\n"), D("tmp", 0o1777), D("proc"), D("sys"), D("dev")]
              # /var's state directories, as a real image has them: bulwark makes them writable
              + [D("var")] + [D("var/" + d) for d in ("cache", "lib", "log", "spool")]
              + [D("var/tmp", 0o1777)],
              comp="gzip")
docker_save(os.path.join(work, "busybox.tar"), [layer], config={"Cmd": ["/bin/true"]})
root = os.path.join(work, "bundle", "rootfs")
os.makedirs(root)
subprocess.run(["tar", "-xf", "-", "-C", root], input=layer.tar, check=True)
subprocess.run(["crun", "spec"], cwd=os.path.join(work, "bundle"), check=True)
p = os.path.join(work, "bundle", "config.json")
cfg = json.load(open(p))
cfg["process"]["args"] = ["/bin/true"]
cfg["process"]["terminal"] = False
json.dump(cfg, open(p, "w"))
PY
cache="$work/cache"
"$BULWARK" run -q --cache "$cache" "$work/busybox.tar" /bin/true # warm the layer cache

cat >"$work/drive.py" <<'PY'
import os, resource, statistics, subprocess, sys, time
work, bulwark, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
settle = int(os.environ.get("SETTLE_MS", "50")) / 1000
b = os.path.join(work, "bundle")
cmds = {
    "bulwark": [bulwark, "run", "-q", "--cache", os.path.join(work, "cache"),
                os.path.join(work, "busybox.tar"), "/bin/true"],
    "bulwark-rootfs": [bulwark, "run", "-q", "--rootfs", os.path.join(b, "rootfs"),
                       "/bin/true"],
    "crun": ["crun", "run", "-b", b, "ID"],
    "runc": ["runc", "run", "-b", b, "ID"],
    # bubblewrap: namespaces and mounts only (no seccomp, cgroups or user namespace as root)
    "bwrap": ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind",
              os.path.join(b, "rootfs"), "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"],
    "unshare": ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--net", "--fork",
                "/bin/true"],
}
t = {k: [] for k in cmds}
cpu = {k: [] for k in cmds}  # user + system of the run's whole process tree (every process is
dead = set()                 # reaped by its parent, so RUSAGE_CHILDREN counts them all)
for i in range(n):
    for k, c in cmds.items():
        if k in dead:
            continue
        c = [x.replace("ID", f"bwkbench{os.getpid()}-{i}") for x in c]
        # Let the kernel settle between runs: a cgroup.procs write right after another
        # one's skips the RCU grace period the first one waited for (~6-14 ms here), so
        # without a pause a runtime would ride on the previous runtime's migration.
        time.sleep(settle)
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        s = time.perf_counter()
        r = subprocess.run(c, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        e = time.perf_counter() - s
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            print(f"{k}: failed ({r.stderr.decode().strip()[:200]}); left out", flush=True)
            dead.add(k)
            continue
        t[k].append(e * 1000)
        cpu[k].append((u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime) * 1000)
med = {k: statistics.median(v) for k, v in t.items() if v}
for k, v in med.items():
    print(f"{k:14s} median {v:7.1f} ms  cpu (user+sys) {statistics.median(cpu[k]):5.1f} ms  "
          f"(n={len(t[k])})")
for mine in ("bulwark", "bulwark-rootfs"):
    for k in ("crun", "runc", "bwrap", "unshare"):
        if mine in med and k in med:
            print(f"ratio {mine}/{k}: {med[mine] / med[k]:.2f}")
if "bulwark" in med and "crun" in med:  # CPU is steadier than wall on a shared machine
    c = {k: statistics.median(cpu[k]) for k in ("bulwark", "crun")}
    print(f"cpu ratio bulwark/crun: {c['bulwark'] / c['crun']:.2f}" if c["crun"] else "")
PY
echo "start-to-exit of /bin/true, $N rounds alternating (bulwark: cached docker-save image, and"
echo "bulwark-rootfs: the bundle's rootfs directory; both with user namespace + seccomp + cgroups"
echo "+ overlay + init; crun/runc: runc-spec bundle of the same rootfs; bwrap: the same rootfs,"
echo "namespaces and mounts only)"
unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
	python3 '$work/drive.py' '$work' '$BULWARK' '$N'"

# Cold start from the docker-save tarball: bulwark (verify + unpack into an empty cache + run)
# against `docker load` + `docker run --rm` on a private dockerd (skipped without dockerd).
if command -v dockerd >/dev/null 2>&1 && [ "${BWK_BENCH_DOCKER:-1}" = 1 ]; then
	d="$work/d"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	dockerd --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/sock" \
		--config-file "$d/daemon.json" --bridge=none --iptables=false --ip-masq=false \
		>"$d/log" 2>&1 &
	dpid=$!
	i=0
	while ! docker -H "unix://$d/sock" version >/dev/null 2>&1 && [ $i -lt 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	python3 - "$work" "$BULWARK" "unix://$d/sock" <<'PY' || echo "cold start: docker part failed"
import shutil, statistics, subprocess, sys, time
work, bulwark, host = sys.argv[1:4]
tar = f"{work}/busybox.tar"
dk = ["docker", "-H", host]
b, d = [], []
for i in range(5):
    shutil.rmtree(f"{work}/cold", ignore_errors=True)
    s = time.perf_counter()
    subprocess.run([bulwark, "run", "-q", "--cache", f"{work}/cold", tar, "/bin/true"],
                   check=True)
    b.append((time.perf_counter() - s) * 1000)
    s = time.perf_counter()
    subprocess.run(dk + ["load", "-q", "-i", tar], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(dk + ["run", "--rm", "--network", "none", "demo:latest", "/bin/true"],
                   check=True)
    d.append((time.perf_counter() - s) * 1000)
    subprocess.run(dk + ["rmi", "-f", "demo:latest"], stdout=subprocess.DEVNULL)
mb, md = statistics.median(b), statistics.median(d)
print(f"cold start from docker-save: bulwark {mb:.1f} ms, docker load+run {md:.1f} ms, "
      f"ratio {mb / md:.3f}")
PY
	kill "$dpid" 2>/dev/null || true
	wait "$dpid" 2>/dev/null || true
	umount -R "$d/root" 2>/dev/null || true
fi

# Memory while a container runs: bulwark's host-side process and its pid 1, against crun's
# waiting process (same rootfs, /bin/sleep). RSS counts library pages shared with every other
# process; "private" (Private_Clean + Private_Dirty) is what the runtime alone costs.
rss() {
	awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} END{printf "%d KiB RSS (%d KiB anonymous", r, a}' \
		"/proc/$1/status"
	awk '/^Pss:/{p=$2} /^Private_(Clean|Dirty):/{u+=$2}
	     END{printf ", %d KiB private, %d KiB proportional)", u, p}' "/proc/$1/smaps_rollup"
}
"$BULWARK" run -q --cache "$cache" "$work/busybox.tar" /bin/sleep 2 &
bpid=$!
sleep 1
child=$(cat /proc/$bpid/task/$bpid/children 2>/dev/null | awk '{print $1}')
echo "memory: bulwark (host side) $(rss $bpid); container init $(rss "$child")"
wait $bpid || true
python3 - "$work" <<'PY'
import json, os, sys
b = os.path.join(sys.argv[1], "bundle")
cfg = json.load(open(os.path.join(b, "config.json")))
cfg["process"]["args"] = ["/bin/sleep", "2"]
json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
PY
unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
	crun run -b '$work/bundle' bwkbench-mem-$$" &
sleep 1
cpid=$(pgrep -n -x crun)
[ -n "$cpid" ] && echo "memory: crun (waiting process) $(rss "$cpid")"
wait || true
