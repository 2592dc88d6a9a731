"""Idmapped mounts from the spec (#13): mounts[] with uidMappings/gidMappings, or `idmap`
without maps of its own (the container's user namespace's), applied with
mount_setattr(MOUNT_ATTR_IDMAP) by the create process. A host directory owned by uid 1000 is
seen as root's by a container without a user namespace, and as uid 1000's (not nobody's) by a
container in a user namespace; what the container writes there lands on disk with the mapped
owner. Without the feature the mounts are plain binds and these owners differ."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from run_util import world_tmpdir
from test_oci_lifecycle import Runtime, reaper, rt, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

SCRIPT = "stat -c '%u:%g' /data /data/f; touch /data/new; stat -c '%u:%g' /data/new"


@pytest.fixture
def shared():
    """A host directory owned by 1000:1000 with a file of the same owner, under a 0755 path (a
    container root in a user namespace must reach it)."""
    base = world_tmpdir()
    data = base / "data"
    data.mkdir()
    (data / "f").write_text("x")
    for p in (data, data / "f"):
        os.chown(p, 1000, 1000)
    try:
        yield base, data
    finally:
        shutil.rmtree(base, ignore_errors=True)


def mount(data, options, maps=True):
    m = {"destination": "/data", "type": "bind", "source": str(data), "options": options}
    if maps:
        m["uidMappings"] = [{"containerID": 1000, "hostID": 0, "size": 1}]
        m["gidMappings"] = [{"containerID": 1000, "hostID": 0, "size": 1}]
    return m


def run(rt, b, data, harden=False):
    p = rt(*(["--harden"] if harden else []), "run", "-b", b, "bwk-idm-" + os.urandom(4).hex(),
           check=None)
    if p.returncode != 0 and "refuses idmapped mounts" in p.stderr:
        pytest.skip(f"this kernel refuses idmapped mounts of {data}: {p.stderr.strip()}")
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


def test_mount_maps_a_host_owner_to_the_containers_root(rt, shared):
    base, data = shared
    b = rt.bundle(["sh", "-c", SCRIPT], name=base / "b",
                  edit=lambda c: c["mounts"].append(mount(data, ["rbind", "rw", "idmap"])))
    assert run(rt, b, data) == ["0:0", "0:0", "0:0"]
    st = os.stat(data / "new")  # root's file in the container is 1000's on disk
    assert (st.st_uid, st.st_gid) == (1000, 1000)


def test_mount_of_a_tmpfs_directory(rt, tmp_path):
    """The same from a tmpfs (/dev/shm): Linux 6.3 and later idmap tmpfs; an older kernel's
    refusal names the filesystem, and the test skips with it."""
    if not os.path.isdir("/dev/shm") or os.statvfs("/dev/shm").f_bavail == 0:
        pytest.skip("no writable /dev/shm")
    data = Path(tempfile.mkdtemp(prefix="bwk-idm-", dir="/dev/shm"))
    try:
        (data / "f").write_text("x")
        for p in (data, data / "f"):
            os.chown(p, 1000, 1000)
        b = rt.bundle(["sh", "-c", SCRIPT], edit=lambda c: c["mounts"].append(
            mount(data, ["bind", "idmap"])))
        assert run(rt, b, data) == ["0:0", "0:0", "0:0"]
        assert os.stat(data / "new").st_uid == 1000
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test_mount_maps_compose_with_the_hardening_user_namespace(rt, shared):
    """--harden adds a user namespace (container 0 = host S): the mount's host id 0 becomes S,
    so the container still sees its root as the owner."""
    base, data = shared
    b = rt.bundle(["sh", "-c", SCRIPT + "; cat /proc/self/uid_map"], name=base / "b",
                  edit=lambda c: c["mounts"].append(mount(data, ["rbind", "rw", "idmap"])))
    (b / "rootfs" / "data").mkdir()
    out = run(rt, b, data, harden=True)
    if out[3:5] == ["0", "0"]:
        pytest.skip("the hardening policy added no user namespace here (no subordinate ids)")
    assert out[:3] == ["0:0", "0:0", "0:0"] and out[3] == "0" and out[4] != "0", out
    st = os.stat(data / "new")
    assert (st.st_uid, st.st_gid) == (1000, 1000)


def test_idmap_without_maps_takes_the_user_namespaces(rt, shared):
    base, data = shared

    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 65536}]
        c["mounts"].append(mount(data, ["bind", "ridmap"], maps=False))
    b = rt.bundle(["sh", "-c", SCRIPT], name=base / "b", edit=edit)
    (b / "rootfs" / "data").mkdir()  # the container's root may not create it in a host root's
    # (a plain bind would show host 1000, outside the namespace's ids, as the overflow id 65534)
    assert run(rt, b, data) == ["1000:1000", "1000:1000", "0:0"]
    st = os.stat(data / "new")  # the container's root writes on-disk root's file
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_refusals(rt, shared):
    base, data = shared
    tmpfs = {"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
             "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
             "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}
    cases = [(tmpfs, "idmapped mounts are bind mounts only"),
             (mount(data, ["bind", "idmap"], maps=False), "'idmap' needs uidMappings")]
    for i, (m, msg) in enumerate(cases):
        b = rt.bundle(["true"], name=base / f"r{i}", edit=lambda c, m=m: c["mounts"].append(m))
        _, p = rt.create(b, check=1)
        assert msg in p.stderr, (msg, p.stderr)


def test_features_advertise_idmapped_mounts(rt):
    f = json.loads(rt("features").stdout)
    assert f["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    assert {"idmap", "ridmap"} <= set(f["mountOptions"])
    assert "SCMP_ACT_NOTIFY" in f["linux"]["seccomp"]["actions"]


def test_a_filesystem_that_refuses_is_named(rt, shared):
    """overlayfs refuses to be idmapped: create fails naming the mount and the filesystem."""
    base, _ = shared
    ov = base / "ov"
    for d in ("lower", "upper", "work", "ov"):
        (base / d).mkdir()
    opts = f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(ov)], check=True)
    try:
        b = rt.bundle(["true"], name=base / "b", edit=lambda c: c["mounts"].append(
            mount(ov, ["bind", "idmap"])))
        _, p = rt.create(b, check=1)
        assert "mounts[" in p.stderr and "(/data)" in p.stderr, p.stderr
        assert "(overlay) that refuses idmapped mounts" in p.stderr, p.stderr
    finally:
        subprocess.run(["umount", "-l", str(ov)], check=False)
