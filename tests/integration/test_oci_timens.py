"""linux.timeOffsets (runtime-spec 1.1): the offsets of the container's new time namespace,
written before its first process enters it; refused without a new time namespace (#13)."""
import os

import pytest

from test_oci_lifecycle import Runtime, reaper, rt, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/proc/self/ns/time"),
                                reason="the OCI lifecycle needs root, and time namespaces")

TEN_DAYS = 864000


def offsets(c, ns=({"type": "time"},)):
    c["linux"]["namespaces"] += list(ns)
    c["linux"]["timeOffsets"] = {"monotonic": {"secs": TEN_DAYS, "nanosecs": 5},
                                 "boottime": {"secs": TEN_DAYS}}


def test_time_offsets_apply_in_the_container(rt, tmp_path):
    out = tmp_path / "out"
    b = rt.bundle(["sh", "-c", "cat /proc/uptime /proc/self/timens_offsets"], edit=offsets)
    cid, pid = rt.create(b, out=out)
    try:
        rt("start", cid)
        assert wait_for(lambda: rt.state(cid)["status"] == "stopped", 20)
        lines = out.read_text().splitlines()
        assert float(lines[0].split()[0]) >= TEN_DAYS, lines
        assert any(ln.split() == ["monotonic", str(TEN_DAYS), "5"] for ln in lines[1:]), lines
        assert any(ln.split() == ["boottime", str(TEN_DAYS), "0"] for ln in lines[1:]), lines
    finally:
        rt("delete", "--force", cid)


def test_time_offsets_need_a_new_time_namespace(rt):
    for name, ns in (("none", ()), ("joined", ({"type": "time", "path": "/proc/1/ns/time"},))):
        b = rt.bundle(["true"], name=name, edit=lambda c, ns=ns: offsets(c, ns))
        _, p = rt.create(b, check=None)
        assert p.returncode != 0
        assert "linux.timeOffsets.monotonic: offsets need a new time namespace" in p.stderr, \
            p.stderr
