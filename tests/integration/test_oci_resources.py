"""linux.resources properties of runtime-spec 1.1/1.2 that the OCI runtime applies or refuses,
never silently drops (#13): cpu.burst and cpu.idle (at create and `update`),
memory.checkBeforeUpdate on `update`, and `unified`, which cgroup v1 cannot apply; and
process.user.additionalGids beyond 64."""
import json
import os
import subprocess
import time
import uuid

import pytest

from test_oci_config import CG, V1, read, v1_only  # noqa: F401
from test_oci_lifecycle import BULWARK, Runtime, reaper, rt, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")


def with_resources(rel, **res):
    def edit(c):
        c["linux"]["cgroupsPath"] = rel
        c["linux"]["resources"].update(res)
    return edit


@v1_only
def test_cpu_burst_and_idle(rt):
    rel = "/bwk-res-" + uuid.uuid4().hex[:8]
    has = [(CG / "cpu" / f).exists() for f in ("cpu.cfs_burst_us", "cpu.idle")]
    cpu = {"quota": 50000, "period": 100000, "burst": 20000, "idle": 1}
    b = rt.bundle(["sleep", "30"], edit=with_resources(rel, cpu=cpu))
    if not all(has):  # a kernel without them: refused, naming the property
        _, p = rt.create(b, check=1)
        assert "linux.resources.cpu." in p.stderr, p.stderr
        return
    cid, pid = rt.create(b)
    try:
        assert read("cpu", rel, "cpu.cfs_quota_us") == "50000"
        assert read("cpu", rel, "cpu.cfs_burst_us") == "20000"
        assert read("cpu", rel, "cpu.idle") == "1"
        # update: idle back to 0 before the shares (the kernel refuses shares while idle),
        # a burst above the old quota after the new quota
        rt("update", "--cpu-idle", "0", "--cpu-shares", "256", "--cpu-quota", "90000",
           "--cpu-burst", "80000", cid)
        assert read("cpu", rel, "cpu.idle") == "0"
        assert read("cpu", rel, "cpu.shares") == "256"
        assert read("cpu", rel, "cpu.cfs_burst_us") == "80000"
        # a smaller quota with a smaller burst: the burst must go first
        p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "--resources", "-", cid],
                           input=json.dumps({"cpu": {"quota": 10000, "burst": 5000}}),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert read("cpu", rel, "cpu.cfs_quota_us") == "10000"
        assert read("cpu", rel, "cpu.cfs_burst_us") == "5000"
        # the merged config keeps them
        cfg = json.loads((rt.root / cid / "config.json").read_text())
        assert cfg["linux"]["resources"]["cpu"]["burst"] == 5000
        assert cfg["linux"]["resources"]["cpu"]["idle"] == 0
        # more than the quota: the kernel's refusal names the file
        p = rt("update", "--cpu-burst", "20000", cid, check=1)
        assert "cpu.cfs_burst_us" in p.stderr, p.stderr
    finally:
        rt("delete", "--force", cid)


@v1_only
def test_check_before_update_refuses_a_limit_below_usage(rt):
    rel = "/bwk-res-" + uuid.uuid4().hex[:8]
    mem = {"limit": 64 << 20, "checkBeforeUpdate": True}
    # 4 MiB in a tmpfs, charged to the container: no swap, so nothing the kernel can drop
    prog = ["sh", "-c", "head -c 4194304 /dev/zero >/dev/shm/x; sleep 30"]
    b = rt.bundle(prog, edit=with_resources(rel, memory=mem))
    cid, pid = rt.create(b)
    try:
        rt("start", cid)
        deadline = time.monotonic() + 20
        while int(read("memory", rel, "memory.usage_in_bytes")) < 3 << 20:
            assert time.monotonic() < deadline, read("memory", rel, "memory.usage_in_bytes")
            time.sleep(0.05)
        p = rt("update", "--memory", str(1 << 20), cid, check=2)
        assert "memory.checkBeforeUpdate" in p.stderr and str(1 << 20) in p.stderr, p.stderr
        assert read("memory", rel, "memory.limit_in_bytes") == str(64 << 20)
        # the unchanged limit is not checked, a higher one passes
        rt("update", "--pids-limit", "50", cid)
        rt("update", "--memory", str(128 << 20), cid)
        assert read("memory", rel, "memory.limit_in_bytes") == str(128 << 20)
    finally:
        rt("delete", "--force", cid)


@v1_only
def test_unified_is_refused_on_cgroup_v1(rt):
    rel = "/bwk-res-" + uuid.uuid4().hex[:8]
    b = rt.bundle(["sleep", "30"], edit=with_resources(rel, unified={"memory.high": "50000000"}))
    _, p = rt.create(b, check=1)
    assert "linux.resources.unified" in p.stderr and "cgroup v1" in p.stderr, p.stderr
    assert not (CG / "memory" / rel.lstrip("/")).exists()  # nothing left behind
    # nor by update
    cid, pid = rt.create(rt.bundle(["sleep", "30"], name="u", edit=with_resources(rel)))
    try:
        p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "--resources", "-", cid],
                           input=json.dumps({"unified": {"memory.high": "50000000"}}),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "cannot use unified on cgroup v1" in p.stderr, p.stderr
        assert "unified" not in json.loads((rt.root / cid / "config.json").read_text())[
            "linux"]["resources"]
    finally:
        rt("delete", "--force", cid)


def test_more_than_64_additional_gids(rt, tmp_path):
    """process.user.additionalGids up to the kernel's NGROUPS_MAX (was cut at 64)."""
    gids = list(range(1000, 1100))
    out = tmp_path / "out"

    def edit(c):
        c["process"]["user"]["additionalGids"] = gids

    b = rt.bundle(["id", "-G"], edit=edit)
    cid, pid = rt.create(b, out=out)
    try:
        rt("start", cid)
        assert wait_for(lambda: rt.state(cid)["status"] == "stopped", 20)
        got = {int(g) for g in out.read_text().split()}
        assert set(gids) <= got, out.read_text()
    finally:
        rt("delete", "--force", cid)
