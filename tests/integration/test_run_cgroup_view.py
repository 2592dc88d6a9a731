"""`bulwark run` shows the container its own cgroup at /sys/fs/cgroup, read-only and in its own
cgroup namespace, as Docker does: runtimes size themselves from it (the JVM's heap is a
quarter of the memory limit it finds there, else of the host's RAM, and the container is then
OOM-killed). The view must never show the host's cgroup tree nor be writable; every check is
made inside the container and compared with what the host has."""
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import subid_user, world_tmpdir

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
MiB = 1 << 20
# the controllers of a v1 hierarchy the container may see: those it has a cgroup of its own in
OWN_V1 = {"memory", "pids", "cpu", "cpuacct", "cpuset"}


def env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1",
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", ""),
            **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}  # make coverage: libgcov quiet


def clean(p):
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    return p


@pytest.fixture(scope="module")
def rfs():
    root = make_busybox_rootfs(world_tmpdir() / "rootfs")
    for a in ("find", "sed", "tr"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    return root


def run(rfs, *flags, script, user=None):
    cmd = [BULWARK, "run", *flags, "--rootfs", str(rfs), "--", "/bin/sh", "-c", script]
    if user:
        cmd = [shutil.which("setpriv"), "--reuid", str(user[0]), "--regid", str(user[1]),
               "--clear-groups", *cmd]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env(), cwd="/") as p:
        out, err = p.communicate(timeout=120)
    res = clean(subprocess.CompletedProcess(cmd, p.returncode, out, err))
    res.pid = p.pid  # bulwark's (setpriv execs it): its cgroups are named run-PID@…
    return res


def limit_file(v2, v1):
    return f"cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}"


def test_limits_are_visible(rfs):
    # what the JVM, Go and .NET read: memory, CPU quota, pids, each the container's own
    p = run(rfs, "--memory", "256m", "--cpus", "0.5", "--pids", "100", script="; ".join([
        "echo mem=$(" + limit_file("memory.max", "memory/memory.limit_in_bytes") + ")",
        "echo cpu=$(" + limit_file("cpu.max", "cpu/cpu.cfs_quota_us") + ")",
        "echo pids=$(" + limit_file("pids.max", "pids/pids.max") + ")"]))
    assert p.returncode == 0, p.stderr
    assert f"mem={256 * MiB}\n" in p.stdout, p.stdout
    assert "cpu=50000" in p.stdout, p.stdout  # v2 "50000 100000", v1 the quota
    assert "pids=100\n" in p.stdout, p.stdout
    # another limit, another value: nothing is read from somewhere fixed
    p = run(rfs, "--memory", "300m", script="echo mem=$(" +
            limit_file("memory.max", "memory/memory.limit_in_bytes") + ")")
    assert f"mem={300 * MiB}\n" in p.stdout, (p.stdout, p.stderr)


VIEW = ("echo ==cgroup; cat /proc/self/cgroup; echo ==mounts; "
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo ==dirs; "
        "find /sys/fs/cgroup -mindepth 1 -type d; echo ==agent; "
        "find /sys/fs/cgroup -name release_agent; echo ==writes; "
        "mkdir /sys/fs/cgroup/x 2>&1; mkdir /sys/fs/cgroup/memory/x 2>&1; "
        "{ echo 1 > /sys/fs/cgroup/memory.max; } 2>&1; "
        "{ echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; } 2>&1; echo ==end")


def sections(out):
    parts = re.split(r"^==(\w+)\n", out, flags=re.M)
    return {parts[i]: parts[i + 1].splitlines() for i in range(1, len(parts) - 1, 2)}


def check_own_view(out, expect_view=True):
    s = sections(out)
    assert set(s) >= {"cgroup", "mounts", "dirs", "agent", "writes"}, out
    # no hierarchy's root: the v1 release_agent (CVE-2022-0492) is not even there
    assert not s["agent"], s["agent"]
    # in its own cgroup namespace: every hierarchy is rooted at the container's cgroup
    assert s["cgroup"] and all(l.endswith(":/") for l in s["cgroup"]), s["cgroup"]
    # what is reachable at /sys/fs/cgroup: the last mount there and the mounts on it
    mounts = [(a.split(), b.split()) for a, b in (l.split(" - ") for l in s["mounts"])]
    tops = [a[0] for a, _ in mounts if a[4] == "/sys/fs/cgroup"]
    top = tops[-1] if tops else None
    cg = [(a, b) for a, b in mounts if b[0] in ("cgroup", "cgroup2") and
          (a[0] == top or a[1] == top)]
    if expect_view:
        assert cg, out
    for a, b in cg:
        assert a[3] == "/", a  # the mount's root is the namespace's root, nothing above
        assert a[5].split(",")[0] == "ro", a
        if b[0] == "cgroup":  # v1: only hierarchies the container has a cgroup of its own in
            ctls = set(b[2].split(",")) - {"ro", "rw"}
            assert ctls and ctls <= OWN_V1, b
    # nothing of the host's tree: no cgroup below the container's (v2: none at all; v1: the
    # hierarchies' directories only)
    depth = 0 if V2 else 1
    deep = [d for d in s["dirs"] if d.count("/") > 3 + depth]
    assert not deep, deep
    # read-only: four attempts, four refusals, nothing created
    writes = s["writes"]
    assert not any("x" == Path(d).name for d in s["dirs"]), s["dirs"]
    assert len(writes) == 4 and all(re.search(
        "Read-only file system|No such file|nonexistent directory", w) for w in writes), writes
    if expect_view:
        assert sum("Read-only file system" in w for w in writes) >= 2, writes
    return cg


def host_has_subcgroups():
    top = "/sys/fs/cgroup" if V2 else "/sys/fs/cgroup/memory"
    return [d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d))]


def run_cgroups(pid):
    return glob.glob(f"/sys/fs/cgroup/*/bulwark/run-{pid}@*") + glob.glob(
        f"/sys/fs/cgroup/bulwark/run-{pid}@*")


def test_view_is_the_containers_own_and_read_only(rfs):
    # the host's side has a tree below the hierarchy roots (bulwark's own parent at least):
    # a view of the host's root would list it
    assert host_has_subcgroups()
    p = run(rfs, "--memory", "256m", script=VIEW)
    assert p.returncode == 0, p.stderr
    cg = check_own_view(p.stdout)
    if not V2:  # memory, pids and cpu with their limits; cpuacct, cpuset for the JVM
        names = {c for _, b in cg for c in b[2].split(",")}
        assert {"memory", "pids", "cpu"} <= names, cg
    # the cgroups made for the view alone (v1 cpuacct, cpuset) are removed with the others
    assert not run_cgroups(p.pid), run_cgroups(p.pid)


@pytest.mark.skipif(V2 or not os.path.isdir("/sys/fs/cgroup/cpuset"), reason="v1 cpuset only")
def test_view_hides_other_containers_cgroups(rfs):
    """An OCI container's cgroup sits at bulwark/ID (its default cgroupsPath): the shared v1
    cpuset of `run` containers is bulwark/run, so their view never lists another container."""
    sib = Path("/sys/fs/cgroup/cpuset/bulwark/bwk-view-sibling")
    sib.mkdir(parents=True, exist_ok=True)
    try:
        p = run(rfs, "--memory", "256m", script=VIEW)
        assert p.returncode == 0, p.stderr
        assert not [d for d in sections(p.stdout)["dirs"] if "bwk-view-sibling" in d]
        check_own_view(p.stdout)
    finally:
        sib.rmdir()


def test_net_host_hides_the_hosts_tree(rfs):
    # with --net host the container's /sys is the host's (a fresh sysfs needs its own
    # network namespace) without the host's submounts: its cgroup mounts are not even listed
    # below the view, where the JVM would take them for the container's (test_run_software)
    p = run(rfs, "--net", "host", "--memory", "256m", script=VIEW)
    assert p.returncode == 0, p.stderr
    check_own_view(p.stdout)
    mounts = [l.split(" - ") for l in sections(p.stdout)["mounts"]]
    assert [a for a, _ in mounts if a.split()[4] == "/sys/fs/cgroup"][1:] == [], mounts
    assert all(a.split()[3] == "/" for a, b in mounts if b.split()[0].startswith("cgroup")), mounts


def test_unprivileged_without_a_cgroup_still_runs(rfs):
    # a normal user without a delegated subtree has no cgroup of its own: no view, nothing
    # of the host's either (with --net host the host's /sys is hidden there too)
    uid, gid = subid_user()
    for flags in ((), ("--net", "host")):
        p = run(rfs, *flags, script=VIEW, user=(uid, gid))
        assert p.returncode == 0, p.stderr
        check_own_view(p.stdout, expect_view=False)


def jvm_rootfs(base: Path):
    """A busybox rootfs with the host's JRE and the libraries it loads, hard-linked (copied
    across filesystems)."""
    java = shutil.which("java")
    if not java:
        return None, None
    java = os.path.realpath(java)
    home = Path(java).parents[1]
    root = make_busybox_rootfs(base / "rootfs")

    def put(src, keep_links=True):
        dst = root / str(src).lstrip("/")
        if os.path.lexists(dst):
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        if keep_links and os.path.islink(src) and not os.path.isabs(os.readlink(src)):
            os.symlink(os.readlink(src), dst)
            return
        real = os.path.realpath(src)
        if os.path.isdir(real):
            dst.mkdir()
            return
        try:
            os.link(real, dst)
        except OSError:
            shutil.copy2(real, dst)

    for dirpath, dirs, files in os.walk(home):
        for n in dirs + files:
            put(os.path.join(dirpath, n))
    sos = [java, *glob.glob(f"{home}/lib/*.so"), *glob.glob(f"{home}/lib/server/*.so")]
    for f in sos:
        out = subprocess.run(["ldd", f], capture_output=True, text=True).stdout
        for w in out.split():
            if w.startswith("/") and os.path.exists(w):
                put(w, keep_links=False)
    return root, java


def test_jvm_sizes_its_heap_from_the_limit(tmp_path):
    root, java = jvm_rootfs(tmp_path)  # hard links: pytest removes them with tmp_path
    if not root:
        pytest.skip("no JRE installed (openjdk-17-jre-headless)")
    p = clean(subprocess.run(
        [BULWARK, "run", "--memory", "256m", "--rootfs", str(root), "--", java,
         "-XshowSettings:system", "-XX:+PrintFlagsFinal", "-version"],
        capture_output=True, text=True, env=env(), cwd="/", timeout=180))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "Memory Limit: 256.00M" in out, out[-3000:]
    # the heap fits the limit (a quarter of it, half below 512 MiB), never a quarter of the
    # host's RAM; this host has far more than 1 GiB
    heap = int(re.search(r"\bMaxHeapSize\s*=\s*(\d+)", out).group(1))
    assert os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") > 1024 * MiB
    assert heap <= 128 * MiB, heap
