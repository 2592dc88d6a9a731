"""Escape tests: the probe runs inside `bulwark run` (as root and as an unprivileged user)
and every check must be blocked; the same probe under `docker run` shows what Docker's
defaults leave open, written side by side to docs/run-vs-docker.md."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BULWARK as BULWARK_BIN, BUILD, TOP
from run_util import CHECKS, HostBait, parse_probe, probe_rootfs, run_probe_bulwark, \
    world_tmpdir, write_comparison

RESULTS = {}


@pytest.fixture(scope="module")
def rootfs():
    d = world_tmpdir()
    root = probe_rootfs(d)
    yield root
    shutil.rmtree(d, ignore_errors=True)


def assert_all_blocked(res, p):
    missing = [c for c in CHECKS if c not in res]
    assert not missing, (missing, p.stdout, p.stderr)
    open_ = {c: res[c]["detail"] for c in CHECKS if not res[c]["blocked"]}
    assert not open_, (open_, p.stderr)


def test_escape_probe_as_root(rootfs):
    with HostBait() as bait:
        p, res = run_probe_bulwark(rootfs, bait)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert_all_blocked(res, p)
    # the limits that did the blocking are the documented defaults
    assert "then EAGAIN" in res["fork_bomb"]["detail"]
    assert res["disk_fill_tmp"]["detail"].startswith("64 MiB")
    # a 65536-id slice of bulwark's own subuid range, never the first login user's 100000
    inside, start, count = map(int, res["uid_map_host_root"]["detail"].split()[:3])
    etc = os.environ.get("BWK_ETC_DIR") or "/etc"
    own = [l.split(":") for l in open(f"{etc}/subuid") if l.startswith("bulwark:")][0]
    assert (inside, count) == (0, 65536) and start != 100000, res["uid_map_host_root"]
    assert int(own[1]) <= start and start + count <= int(own[1]) + int(own[2]), own
    RESULTS["bulwark"] = res


def test_escape_probe_unprivileged(rootfs):
    with HostBait() as bait:
        p, res = run_probe_bulwark(
            rootfs, bait, user_cmd=["setpriv", "--reuid", "65534", "--regid", "65534",
                                    "--clear-groups"])
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert "mapping container root to your uid only" in p.stderr
    assert_all_blocked(res, p)
    assert res["uid_map_host_root"]["detail"] == "0 65534 1"


def test_escape_probe_with_relaxed_flags_shows_holes(rootfs):
    """The probe is not a rubber stamp: relaxing defaults opens exactly what they guard."""
    with HostBait() as bait:
        p, res = run_probe_bulwark(
            rootfs, bait, extra=["--seccomp", "unconfined", "--read-write", "--pids",
                                 "unlimited", "--cap-add", "NET_RAW"])
    assert p.returncode == 0, p.stderr
    assert "seccomp disabled" in p.stderr
    assert "--cap-add CAP_NET_RAW" in p.stderr
    for c in ("seccomp_filter", "write_rootfs", "raw_socket", "dangerous_caps", "io_uring",
              "fork_bomb"):
        assert not res[c]["blocked"], (c, res[c])
    with HostBait() as bait:
        p, res = run_probe_bulwark(rootfs, bait, extra=["--net", "host"])
    assert "--net host" in p.stderr
    assert not res["host_loopback"]["blocked"]


def test_escape_probe_under_docker(rootfs, dockerd):
    img = dockerd.import_rootfs(rootfs, "bwk-probe:latest")
    with HostBait() as bait:
        p = dockerd.docker("run", "--rm", img, "/bin/bwk_probe", *bait.probe_args(),
                           check=False, timeout=600)
    out = p.stdout.decode()
    res = parse_probe(out)
    assert res, (p.returncode, out, p.stderr.decode()[-2000:])
    # Docker's defaults: no user namespace, no no_new_privs, a writable root, no pids limit
    for c in ("uid_map_host_root", "no_new_privs", "write_rootfs", "fork_bomb"):
        assert not res[c]["blocked"], (c, res[c])
    bw = RESULTS.get("bulwark")
    if bw is None:
        pytest.skip("bulwark column missing (root test did not run)")
    out_dir = Path(os.environ.get("BWK_DOCS_DIR", BUILD))
    write_comparison(bw, res, out_dir / "run-vs-docker.md")
    if os.environ.get("BWK_UPDATE_DOCS"):
        write_comparison(bw, res, TOP / "docs" / "run-vs-docker.md")


def test_escape_probe_unprivileged_with_subuids(rootfs):
    from run_util import SUBID_BASE, subid_user
    uid, gid = subid_user()
    with HostBait() as bait:
        p, res = run_probe_bulwark(
            rootfs, bait, user_cmd=["setpriv", "--reuid", str(uid), "--regid", str(gid),
                                    "--clear-groups"])
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert "mapping container root to your uid only" not in p.stderr
    assert_all_blocked(res, p)
    assert res["uid_map_host_root"]["detail"] == f"0 {uid} 1"
    # the second line of the map is the subordinate range, written by newuidmap
    p = subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
                        BULWARK_BIN, "run", "-q", "--rootfs", str(rootfs), "--", "/bin/cat",
                        "/proc/self/uid_map"], capture_output=True, text=True, cwd="/")
    assert p.stdout.split()[3:6] == ["1", str(SUBID_BASE), "65535"], (p.stdout, p.stderr)


def test_sealed_memfd_reexec_for_unprivileged(rootfs):
    """CVE-2019-5736: run by a user whose ids are mapped into the container, bulwark runs from
    a sealed memfd copy; run by root from a root-owned binary no mapped id can write, it skips
    the copy (docs/run.md explains why that is equivalent)."""
    import time
    for user_cmd, want_memfd in ((["setpriv", "--reuid", "65534", "--regid", "65534",
                                   "--clear-groups"], True), ([], False)):
        proc = subprocess.Popen([*user_cmd, BULWARK_BIN, "run", "-q", "--rootfs", str(rootfs),
                                 "--", "/bin/sleep", "2"], cwd="/")
        try:
            exe = ""
            for _ in range(50):
                try:
                    exe = os.readlink(f"/proc/{proc.pid}/exe")
                except OSError:
                    pass
                if ("memfd:" in exe) == want_memfd and exe:
                    break
                time.sleep(0.05)
            assert ("memfd:bulwark" in exe) == want_memfd, exe
        finally:
            proc.wait(timeout=30)
