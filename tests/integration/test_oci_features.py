"""`bulwark features` against what create does (issue #13): every mount option it advertises is
taken by create and shows in the container's mountinfo, every seccomp action it advertises
acts as the spec says, and every hook kind it advertises runs (test_oci_hooks.py drives each).
SCMP_ACT_NOTIFY needs a listener agent: test_oci_seccomp_notify.py. Every seccomp flag it
advertises as supported loads with a filter (WAIT_KILLABLE_RECV with a listener, the only way the
kernel takes it), and it advertises exactly those this kernel has; linux.intelRdt, which it does
not advertise, is refused by create."""
import glob
import json
import os
import subprocess
import uuid

import pytest

from conftest import BULWARK
from test_oci_lifecycle import Runtime, reaper, rt, wait_exit, wait_for  # noqa: F401 (fixtures)
from test_oci_seccomp_notify import SCRIPT, agent, notify  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")


def features():
    p = subprocess.run([BULWARK, "features"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# what each option leaves in /proc/self/mountinfo: (in the options, not in them, in the
# optional fields); options with no visible trace only need create to take them
FLAG = {"ro": ("ro", None), "rw": ("rw", None), "nosuid": ("nosuid", None),
        "suid": (None, "nosuid"), "nodev": ("nodev", None), "dev": (None, "nodev"),
        "noexec": ("noexec", None), "exec": (None, "noexec"), "sync": ("sync", None),
        "async": (None, "sync"), "dirsync": ("dirsync", None), "noatime": ("noatime", None),
        "atime": (None, "noatime"), "nodiratime": ("nodiratime", None),
        "diratime": (None, "nodiratime"), "relatime": ("relatime", None),
        "strictatime": (None, "relatime"), "nosymfollow": ("nosymfollow", None),
        "symfollow": (None, "nosymfollow"),
        # the recursive ones (mount_setattr AT_RECURSIVE) on the mount itself; below it:
        # test_recursive_options_reach_submounts
        "rro": ("ro", None), "rrw": ("rw", None), "rnosuid": ("nosuid", None),
        "rsuid": (None, "nosuid"), "rnodev": ("nodev", None), "rdev": (None, "nodev"),
        "rnoexec": ("noexec", None), "rexec": (None, "noexec"),
        "rnodiratime": ("nodiratime", None), "rdiratime": (None, "nodiratime"),
        "rnoatime": ("noatime", None), "ratime": ("relatime", "noatime"),
        "rstrictatime": (None, "relatime"), "rrelatime": ("relatime", None),
        "rnorelatime": ("relatime", None), "rnostrictatime": ("relatime", None),
        "rnosymfollow": ("nosymfollow", None), "rsymfollow": (None, "nosymfollow")}
PROP = {"shared": "shared:", "rshared": "shared:", "unbindable": "unbindable"}
NO_PROP = ("private", "rprivate")


def mountinfo_by_dest(text):
    out = {}
    for line in text.splitlines():
        f = line.split()
        sep = f.index("-")
        # the mount's options and the superblock's (sync, dirsync, mand are these)
        out[f[4]] = (set(f[5].split(",")) | set(f[sep + 3].split(",")), f[6:sep])
    return out


# need uidMappings/gidMappings or a user namespace: test_oci_idmap_mounts.py drives them
IDMAP = ("idmap", "ridmap")


def test_advertised_mount_options_are_honoured(rt, tmp_path):
    opts = [o for o in features()["mountOptions"] if o not in IDMAP]
    assert {"ro", "nosuid", "bind", "rbind", "rprivate"} <= set(opts)
    src = tmp_path / "src"
    src.mkdir()
    (src / "marker").write_text("here")
    dests = {}

    def edit(c):
        for i, o in enumerate(opts):
            d = f"/m{i}"
            dests[o] = d
            if o in ("bind", "rbind"):
                c["mounts"].append({"destination": d, "type": "bind", "source": str(src),
                                    "options": [o]})
            else:
                c["mounts"].append({"destination": d, "type": "tmpfs", "source": "tmpfs",
                                    "options": [o]})
        c["root"]["readonly"] = False
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo; "
                   "cat /m*/marker > /markers 2>/dev/null; true"], edit=edit)
    cid = "bwk-feat-" + uuid.uuid4().hex[:8]
    p = rt("run", "-b", b, cid, check=None)
    assert p.returncode == 0, p.stderr  # create took every advertised option
    mi = mountinfo_by_dest((b / "rootfs" / "mountinfo").read_text())
    for o, d in dests.items():
        assert d in mi, (o, d)
        flags, optional = mi[d]
        if o in FLAG:
            want, unwanted = FLAG[o]
            assert want is None or want in flags, (o, flags)
            assert unwanted is None or unwanted not in flags, (o, flags)
        if o in PROP:
            assert any(x.startswith(PROP[o]) for x in optional), (o, optional)
        if o in NO_PROP:
            assert not any(x.startswith(("shared:", "master:")) for x in optional), (o, optional)
    assert (b / "rootfs" / "markers").read_text() == "here" * 2  # bind and rbind


def test_recursive_options_reach_submounts(rt):
    """rro, rnosuid, rnoexec on an rbind reach the mounts below it (mount_setattr with
    AT_RECURSIVE); a plain ro leaves them writable, as the kernel's bind remount does."""
    def edit(c):
        root = str(rt.base / "b" / "rootfs")
        c["mounts"] += [
            {"destination": "/a", "type": "tmpfs", "source": "tmpfs", "options": ["rw"]},
            {"destination": "/a/sub", "type": "tmpfs", "source": "tmpfs", "options": ["rw"]},
            {"destination": "/rec", "type": "bind", "source": root + "/a",
             "options": ["rbind", "rro", "rnosuid", "rnoexec"]},
            {"destination": "/flat", "type": "bind", "source": root + "/a",
             "options": ["rbind", "ro"]}]
        c["root"]["readonly"] = False
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/mountinfo > /mountinfo; "
                   "touch /rec/sub/x 2>/dev/null && echo rec-writable > /result; "
                   "touch /flat/sub/x && echo flat-writable >> /result; true"], edit=edit)
    cid = "bwk-feat-" + uuid.uuid4().hex[:8]
    p = rt("run", "-b", b, cid, check=None)
    assert p.returncode == 0, p.stderr
    mi = mountinfo_by_dest((b / "rootfs" / "mountinfo").read_text())
    assert {"ro", "nosuid", "noexec"} <= mi["/rec"][0], mi["/rec"]
    assert {"ro", "nosuid", "noexec"} <= mi["/rec/sub"][0], mi["/rec/sub"]
    assert "ro" in mi["/flat"][0] and "rw" in mi["/flat/sub"][0], (mi["/flat"], mi["/flat/sub"])
    assert (b / "rootfs" / "result").read_text() == "flat-writable\n"


def test_tmpcopyup_copies_the_image_content(rt):
    """tmpcopyup (crun's): the tmpfs starts with the image's directory (a file, a link, a
    subdirectory with its mode), writes land in the tmpfs, not in the image; with ro the copy
    is made first and the mount is then read-only. Without it the tmpfs is empty."""
    def edit(c):
        c["mounts"] += [
            {"destination": "/data", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "tmpcopyup", "size=1m"]},
            {"destination": "/rodata", "type": "tmpfs", "source": "tmpfs",
             "options": ["tmpcopyup", "ro"]},
            {"destination": "/plain", "type": "tmpfs", "source": "tmpfs", "options": []}]
        c["root"]["readonly"] = False
    b = rt.bundle(["/bin/sh", "-c",
                   "{ cat /data/file /data/sub/inner; readlink /data/link; "
                   "busybox stat -c %a /data/sub; ls /plain | wc -l; cat /rodata/file; "
                   "touch /rodata/new 2>/dev/null || echo ro; "
                   "echo new > /data/new && cat /data/new; } > /out 2>&1; true"], edit=edit)
    root = b / "rootfs"
    for d in ("data", "rodata", "plain"):
        (root / d / "sub").mkdir(parents=True)
        (root / d / "file").write_text("image\n")
        (root / d / "sub" / "inner").write_text("inner\n")
        (root / d / "link").symlink_to("file")
        os.chmod(root / d / "sub", 0o710)
    cid = "bwk-feat-" + uuid.uuid4().hex[:8]
    p = rt("run", "-b", b, cid, check=None)
    assert p.returncode == 0, p.stderr
    assert (root / "out").read_text() == "image\ninner\nfile\n710\n0\nimage\nro\nnew\n"
    assert not (root / "data" / "new").exists()  # written in the tmpfs only


# an action on mkdir: what `run` of /bin/mkdir then exits with
ACTION_EXIT = {"SCMP_ACT_ALLOW": 0, "SCMP_ACT_LOG": 0, "SCMP_ACT_ERRNO": 1,
               "SCMP_ACT_TRACE": 1,  # no tracer: the call fails with ENOSYS
               "SCMP_ACT_KILL": 128 + 31, "SCMP_ACT_KILL_THREAD": 128 + 31,
               "SCMP_ACT_KILL_PROCESS": 128 + 31, "SCMP_ACT_TRAP": 128 + 31}


def test_advertised_seccomp_actions_act(rt):
    actions = features()["linux"]["seccomp"]["actions"]
    assert set(actions) - {"SCMP_ACT_NOTIFY"} == set(ACTION_EXIT), actions
    for i, a in enumerate(sorted(ACTION_EXIT)):
        def edit(c, a=a):
            c["root"]["readonly"] = False
            c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": a}]}
        b = rt.bundle(["/bin/mkdir", "/probe"], name=f"b{i}", edit=edit)
        cid = "bwk-feat-" + uuid.uuid4().hex[:8]
        p = rt("run", "-b", b, cid, check=None)
        assert p.returncode == ACTION_EXIT[a], (a, p.returncode, p.stderr)
        assert (b / "rootfs" / "probe").exists() == (ACTION_EXIT[a] == 0), a


def test_advertised_hooks_are_the_six():
    assert features()["hooks"] == ["prestart", "createRuntime", "createContainer",
                                   "startContainer", "poststart", "poststop"]


def test_schema_of_runc_features():
    """The properties of runtime-spec features.md / features-linux.md that runc 1.1/1.2 print,
    with their types."""
    f = features()
    assert isinstance(f["potentiallyUnsafeConfigAnnotations"], list)
    lx = f["linux"]
    assert set(lx["cgroup"]) == {"v1", "v2", "systemd", "systemdUser", "rdma"}, lx["cgroup"]
    assert lx["cgroup"]["rdma"] is True  # linux.resources.rdma is applied (or refused)
    assert set(lx["seccomp"]) == {"enabled", "actions", "operators", "archs", "knownFlags",
                                  "supportedFlags"}, lx["seccomp"]
    for k in ("apparmor", "selinux", "intelRdt"):
        assert isinstance(lx[k]["enabled"], bool), (k, lx[k])
    # process.apparmorProfile is applied, never dropped (refused where AppArmor is off:
    # test_oci_config.py::test_apparmor_profile_is_applied_or_refused)
    assert lx["apparmor"]["enabled"] is True
    assert lx["selinux"]["enabled"] is False and lx["intelRdt"]["enabled"] is False


# the kernel release that brought each flag
FLAG_SINCE = {"SECCOMP_FILTER_FLAG_TSYNC": (3, 17), "SECCOMP_FILTER_FLAG_LOG": (4, 14),
              "SECCOMP_FILTER_FLAG_SPEC_ALLOW": (4, 17),
              "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": (5, 19)}


def kernel():
    return tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])


def test_advertised_seccomp_flags_load(rt, agent):
    sc = features()["linux"]["seccomp"]
    known, supported = sc["knownFlags"], sc["supportedFlags"]
    assert set(known) == set(FLAG_SINCE), known
    # exactly those this kernel takes, in knownFlags' order
    assert supported == [f for f in known if kernel() >= FLAG_SINCE[f]], (supported, kernel())
    sock, _ = agent
    for i, flag in enumerate(supported):
        if flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
            # with a listener: the agent answers the first mkdir with its errno
            b = rt.bundle(["sh", "-c", SCRIPT], name=f"f{i}", edit=notify(sock, flags=[flag]))
            out = rt.base / f"out{i}"
            cid, pid = rt.create(b, out=out)
            rt("start", cid)
            wait_for(lambda: "Seccomp_filters" in out.read_text())
            assert "No message of desired type" in out.read_text(), (flag, out.read_text())
            rt("delete", "--force", cid)
            continue

        def edit(c, flag=flag):
            c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "flags": [flag],
                                     "syscalls": [{"names": ["mkdir", "mkdirat"],
                                                   "action": "SCMP_ACT_ERRNO"}]}
        b = rt.bundle(["/bin/sh", "-c", "grep ^Seccomp: /proc/self/status; "
                       "mkdir /tmp/x || echo denied"], name=f"f{i}", edit=edit)
        p = rt("run", "-b", b, "bwk-feat-" + uuid.uuid4().hex[:8], check=None)
        assert p.returncode == 0, (flag, p.stderr)
        assert "Seccomp:\t2" in p.stdout and "denied" in p.stdout, (flag, p.stdout)


def test_intel_rdt_is_refused(rt):
    """features says intelRdt is not enabled (no resctrl here): create refuses a bundle that
    asks for it, in one line naming the property, and leaves nothing behind."""
    assert features()["linux"]["intelRdt"] == {"enabled": False}
    b = rt.bundle(["/bin/true"], edit=lambda c: c["linux"].__setitem__(
        "intelRdt", {"closID": "bwk", "l3CacheSchema": "L3:0=ff"}))
    cid, p = rt.create(b, check=1)
    assert "linux.intelRdt" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (rt.root / cid).exists()
    # null is no request
    b = rt.bundle(["/bin/true"], name="null", edit=lambda c: c["linux"].__setitem__(
        "intelRdt", None))
    rt.create(b)


def rdma_hosted():
    """The rdma controller where create puts the container: a v1 hierarchy, else cgroup2's."""
    if os.path.isdir("/sys/fs/cgroup/memory"):  # v1 hierarchies (a hybrid host included)
        return os.path.isdir("/sys/fs/cgroup/rdma")
    try:
        return "rdma" in open("/sys/fs/cgroup/cgroup.controllers").read().split()
    except OSError:
        return False


def test_rdma_limits_are_applied_or_refused(rt):
    """features says cgroup.rdma is true: create writes each device's limits to rdma.max
    (read back) where the host has the controller, and refuses them in one line naming the
    property and the controller where it does not; an empty rdma object is no request; a
    device name with blanks (it would be another rdma.max word) is refused by the parser."""
    assert features()["linux"]["cgroup"]["rdma"] is True
    def rdma(value, rel=None):
        def edit(c):
            c["linux"].setdefault("resources", {})["rdma"] = value
            if rel:
                c["linux"]["cgroupsPath"] = rel
        return edit
    devs = sorted(os.listdir("/sys/class/infiniband")) if os.path.isdir(
        "/sys/class/infiniband") else []
    dev = devs[0] if devs else "mlx5_0"
    rel = "/bwk-rdma-" + uuid.uuid4().hex[:8]
    b = rt.bundle(["sleep", "30"], edit=rdma({dev: {"hcaHandles": 3, "hcaObjects": 10000}}, rel))
    if rdma_hosted() and devs:
        cid, _ = rt.create(b)
        where = glob.glob(f"/sys/fs/cgroup/rdma{rel}/rdma.max") + glob.glob(
            f"/sys/fs/cgroup{rel}/rdma.max")
        assert where, rel
        assert f"{dev} hca_handle=3 hca_object=10000" in open(where[0]).read()
        rt("delete", "--force", cid)
    elif rdma_hosted():  # the controller, no device: the kernel's refusal, naming rdma.max
        cid, p = rt.create(b, check=1)
        assert "rdma.max" in p.stderr, p.stderr
    else:
        cid, p = rt.create(b, check=1)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "linux.resources.rdma" in lines[0] and "rdma" in \
            lines[0].split("linux.resources.rdma", 1)[1], p.stderr
        assert not (rt.root / cid).exists()
        assert not os.path.isdir(f"/sys/fs/cgroup/memory{rel}")  # nothing left behind
    # update: the same limits for a running container, applied or refused alike
    b = rt.bundle(["sleep", "30"], name="upd")
    cid, _ = rt.create(b)
    rt("start", cid)
    upd = json.dumps({"rdma": {dev: {"hcaHandles": 2}}})
    p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "--resources", "-", cid],
                       input=upd, capture_output=True, text=True)
    if rdma_hosted() and devs:
        assert p.returncode == 0, p.stderr
    elif rdma_hosted():
        assert p.returncode == 1 and "rdma.max" in p.stderr, p.stderr
    else:
        assert p.returncode == 1 and "linux.resources.rdma" in p.stderr, p.stderr
    b = rt.bundle(["/bin/true"], name="empty", edit=rdma({}))
    rt.create(b)
    b = rt.bundle(["/bin/true"], name="blank", edit=rdma({"mlx5_0 x": {"hcaHandles": 1}}))
    cid, p = rt.create(b, check=1)
    assert 'linux.resources.rdma["mlx5_0 x"]' in p.stderr, p.stderr
