"""One builder of a spec's mounts for `create` and `run` (issue #13, src/lib/sandbox/spec_mount.c
sbx_spec_mount): a data string longer than run's old 256-byte buffer reaches the filesystem
whole, and a cgroup v1 mount takes the recursive r* options (rro) like any other mount."""
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import world_tmpdir
from test_oci_features import mountinfo_by_dest
from test_oci_lifecycle import Runtime, reaper, rt  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

V1 = Path("/sys/fs/cgroup/memory").is_dir()

# > 256 bytes: the earlier sizes are overridden by the last, as mount(2) takes them
LONG_DATA = ["size=1k"] * 40 + ["size=3m", "nr_inodes=777", "mode=0750"]


def mount_options(text):
    """destination → the mount's own options (not its superblock's)."""
    return {f[4]: set(f[5].split(",")) for f in map(str.split, text.splitlines())}


def run_mountinfo(rt, edit, name="b", own=False):
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo"], name=name,
                  edit=edit)
    p = rt("run", "-b", b, "bwk-sm-" + uuid.uuid4().hex[:8], check=None)
    assert p.returncode == 0, p.stderr
    text = (b / "rootfs" / "mountinfo").read_text()
    return mount_options(text) if own else mountinfo_by_dest(text)


def writable_root(c):
    c["root"]["readonly"] = False


def test_create_long_data_string_reaches_the_tmpfs(rt):
    assert len(",".join(LONG_DATA)) > 256

    def edit(c):
        writable_root(c)
        c["mounts"].append({"destination": "/long", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid"] + LONG_DATA})
    mi = run_mountinfo(rt, edit)
    opts = mi["/long"][0]
    assert {"size=3072k", "nr_inodes=777", "mode=750", "nosuid"} <= opts, opts


@pytest.mark.skipif(not V1, reason="cgroup v1 hierarchies needed")
def test_create_cgroup_v1_mount_takes_rro(rt):
    """rro on the v1 cgroup mount reaches the hierarchies bound below it (it used to be
    dropped: the v1 path returned before the recursive options)."""
    def edit(c):
        writable_root(c)
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
        c["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup",
                            "source": "cgroup",
                            "options": ["nosuid", "noexec", "nodev", "relatime", "rro"]})
    mi = run_mountinfo(rt, edit, own=True)
    below = [d for d in mi if d.startswith("/sys/fs/cgroup/")]
    assert below, mi.keys()
    for d in ["/sys/fs/cgroup"] + below:
        assert {"ro", "nosuid", "nodev", "noexec"} <= mi[d], (d, mi[d])


def mountinfo_entries(text):
    """destination → (fstype, the mount's own options, the superblock's)."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        sep = f.index("-")
        # uid=/gid= of a tmpfs name its root's owner: run's container root is a mapped id,
        # the bundle's is the host's root (no user namespace)
        sb = {o for o in f[sep + 3].split(",") if not o.startswith(("uid=", "gid="))}
        out[f[4]] = (f[sep + 1], set(f[5].split(",")), sb)
    return out


def test_same_spec_mount_from_create_and_run(rt, tmp_path):
    """A tmpfs and a read-only volume given to `run` on its command line and to `create` in a
    config.json are the same spec mounts, made by the same function: the same filesystem
    type, mount options and superblock options in the container's mountinfo."""
    src = world_tmpdir()
    try:
        (src / "f").write_text("volume\n")
        rootfs = make_busybox_rootfs(src / "rootfs")
        p = subprocess.run([BULWARK, "run", "--tmpfs", "/vol:size=3m,mode=0750,noexec",
                            "-v", f"{src}:/bvol:ro", "--rootfs", str(rootfs), "--",
                            "cat", "/proc/self/mountinfo"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        by_run = mountinfo_entries(p.stdout)

        def edit(c):
            writable_root(c)
            c["mounts"] += [
                {"destination": "/vol", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "nodev", "noexec", "size=3m", "mode=0750"]},
                {"destination": "/bvol", "type": "bind", "source": str(src),
                 "options": ["bind", "ro", "nosuid", "nodev"]}]
        b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo"], edit=edit)
        p = rt("run", "-b", b, "bwk-sm-" + uuid.uuid4().hex[:8], check=None)
        assert p.returncode == 0, p.stderr
        by_create = mountinfo_entries((b / "rootfs" / "mountinfo").read_text())
        for d in ("/vol", "/bvol"):
            assert by_run[d] == by_create[d], (d, by_run[d], by_create[d])
        assert by_run["/vol"][0] == "tmpfs" and "size=3072k" in by_run["/vol"][2]
        assert {"ro", "nosuid", "nodev"} <= by_run["/bvol"][1], by_run["/bvol"]
    finally:
        shutil.rmtree(src, ignore_errors=True)


def test_create_bind_never_loosens_its_source(rt, tmp_path):
    """`rw` on a bind of a read-only mount turns nothing off: the bind stays read-only (as a
    bind under runc and crun); the flags asked for (nosuid) are set."""
    src = tmp_path / "ro-src"
    src.mkdir()
    (src / "f").write_text("x")
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(src)], check=True)

        def edit(c):
            writable_root(c)
            c["mounts"].append({"destination": "/vol", "type": "bind", "source": str(src),
                                "options": ["rbind", "rw", "nosuid"]})
        mi = run_mountinfo(rt, edit, own=True)
        assert {"ro", "nosuid"} <= mi["/vol"], mi["/vol"]
    finally:
        subprocess.run(["umount", "-l", str(src)], check=False)


STD = ("/proc", "/sys", "/dev", "/dev/pts", "/dev/shm")


def test_std_mounts_same_from_create_and_run(rt):
    """proc, sysfs, /dev, devpts and /dev/shm come from spec entries for `run` too (run_spec.c's
    table, the one `bulwark spec` writes), made by the same function as `create`'s: the same
    type, mount and superblock options. run's one extra: /dev made read-only once filled."""
    src = world_tmpdir()
    try:
        rootfs = make_busybox_rootfs(src / "rootfs")
        p = subprocess.run([BULWARK, "run", "--rootfs", str(rootfs), "--",
                            "cat", "/proc/self/mountinfo"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        by_run = mountinfo_entries(p.stdout)
    finally:
        shutil.rmtree(src, ignore_errors=True)
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo"],
                  edit=writable_root)
    p = rt("run", "-b", b, "bwk-sm-" + uuid.uuid4().hex[:8], check=None)
    assert p.returncode == 0, p.stderr
    by_create = mountinfo_entries((b / "rootfs" / "mountinfo").read_text())
    assert by_run["/dev"][1] - by_create["/dev"][1] == {"ro"}, (by_run["/dev"], by_create["/dev"])
    by_run["/dev"][1].discard("ro")
    by_run["/dev"][1].add("rw")
    for d in STD:
        assert by_run[d] == by_create[d], (d, by_run[d], by_create[d])
    assert by_run["/dev/shm"][0] == "tmpfs" and "size=65536k" in by_run["/dev/shm"][2]
    assert by_run["/dev/pts"][0] == "devpts" and "ptmxmode=666" in by_run["/dev/pts"][2]
    assert by_run["/sys"][0] == "sysfs" and "ro" in by_run["/sys"][1]


def test_run_tmpfs_size_sizes_dev_shm(tmp_path):
    """--tmpfs-size reaches /dev/shm through its spec entry's size option."""
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    p = subprocess.run([BULWARK, "run", "--tmpfs-size", "3m", "--rootfs", str(rootfs), "--",
                        "cat", "/proc/self/mountinfo"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    mi = mountinfo_entries(p.stdout)
    assert "size=3072k" in mi["/dev/shm"][2] and "size=3072k" in mi["/tmp"][2], mi["/dev/shm"]


def masked_dirs(text):
    """mount point → (device, mount options) of the empty tmpfs masks in mountinfo: full from
    the start (their one inode is their root), shared by every masked directory, so that a
    read-write remount finds no room (size=0 would mean no limit on tmpfs)."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        sep = f.index("-")
        if f[sep + 1] == "tmpfs" and f[4].startswith(("/proc/", "/sys/")) and \
                "nr_inodes=1" in f[sep + 3].split(","):
            out[f[4]] = (f[2], set(f[5].split(",")))
    return out


def test_masked_dirs_share_one_empty_tmpfs(rt, tmp_path):
    """run and create mask every directory with clones of one read-only empty tmpfs (crun's
    way, sbx_mask_at) rather than a new tmpfs each: one device, read-only, empty."""
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    p = subprocess.run([BULWARK, "run", "--rootfs", str(rootfs), "--", "sh", "-c",
                        "cat /proc/self/mountinfo; ls -A /sys/firmware | wc -l"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    text, count = p.stdout.rsplit("\n", 2)[0], p.stdout.split()[-1]
    by_run = masked_dirs(text)
    assert "/sys/firmware" in by_run and count == "0", (by_run, count)
    assert len({dev for dev, _ in by_run.values()}) == 1, by_run
    assert all({"ro", "nosuid", "nodev", "noexec"} <= o for _, o in by_run.values()), by_run
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo"],
                  edit=writable_root)
    p = rt("run", "-b", b, "bwk-sm-" + uuid.uuid4().hex[:8], check=None)
    assert p.returncode == 0, p.stderr
    by_create = masked_dirs((b / "rootfs" / "mountinfo").read_text())
    assert "/sys/firmware" in by_create, by_create
    assert len({dev for dev, _ in by_create.values()}) == 1, by_create
