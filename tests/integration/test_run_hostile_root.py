"""`bulwark run` on hostile root filesystems (security issue #10): an image's symlinks must
never send a mount, a mkdir or a device node to the host; the masks must hold whatever the
image's /proc or /sys is; a -v source swapped for a link between check and use must never
be mounted; an image repeating one layer must run with the right content.

Every case checks the HOST side: a directory the image's links point at (on the host, the same
path exists) must be exactly as it was, and nothing under it may be owned by the container's
ids. Where the image is refused: exit 125 and one clear line naming the path."""
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs

sys.path.insert(0, str(Path(__file__).parent))
from image_util import D, F, L, Layer, W, docker_save  # noqa: E402
from run_util import world_tmpdir  # noqa: E402


def bulwark_run(*args, cmd=("true",), user_cmd=(), timeout=120, preexec=None):
    e = {"PATH": os.environ["PATH"], "NO_COLOR": "1"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    p = subprocess.run([*user_cmd, BULWARK, "run", *map(str, args), "--", *cmd],
                       capture_output=True, text=True, env=e, timeout=timeout, cwd="/",
                       preexec_fn=preexec)
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    return p


def snapshot(d: Path):
    """Everything under `d` on the host: names, types, owners, sizes."""
    out = {}
    for dirpath, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, d)] = (st.st_mode, st.st_uid, st.st_size)
    return out


@pytest.fixture(scope="module")
def base():
    d = world_tmpdir()
    root = make_busybox_rootfs(d / "rootfs")
    for a in ("readlink", "find", "stat", "tr"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    yield root
    shutil.rmtree(d, ignore_errors=True)


class Hostile:
    """A copy of the base rootfs, and a host directory (with the same absolute path present
    in the image too, like /var/tmp in the original report) that its links aim at."""

    def __init__(self, base: Path, tmp: Path):
        self.root = tmp / "rootfs"
        shutil.copytree(base, self.root, symlinks=True)
        self.host = Path(tempfile.mkdtemp(prefix="bwk-hostile-", dir="/var/tmp"))
        (self.host / "host-file").write_text("host side, must stay as it is\n")
        self.before = snapshot(self.host)
        # the same path inside the image: a link to it resolves in the image, not the host
        self.in_image = self.root / str(self.host).lstrip("/")
        self.in_image.mkdir(parents=True)

    def link(self, name: str, target: str):
        p = self.root / name.lstrip("/")
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(target)

    def absolute(self):
        return str(self.host)

    def relative(self, name: str):
        """A relative link from `name` that climbs out of any root it is resolved under."""
        depth = name.strip("/").count("/")
        return "../" * (depth + 4) + str(self.host).lstrip("/")

    def assert_host_unchanged(self):
        assert snapshot(self.host) == self.before, (self.before, snapshot(self.host))

    def cleanup(self):
        shutil.rmtree(self.host, ignore_errors=True)


@pytest.fixture
def hostile(base):
    d = world_tmpdir()  # readable by the unprivileged runs too
    h = Hostile(base, d)
    yield h
    h.cleanup()
    shutil.rmtree(d, ignore_errors=True)


def assert_refused(p, path):
    assert p.returncode == 125, (p.returncode, p.stdout, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, p.stderr  # one clear line
    assert lines[0].startswith("bulwark: ") and f" {path} " in lines[0], lines[0]
    assert "symbolic link in the image" in lines[0], lines[0]


KINDS = ["absolute", "relative"]
UNPRIVILEGED = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


# ---- 1. system directories the runtime mounts on: refused when they are links ---------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sysdir", ["/dev", "/proc", "/sys", "/tmp", "/run"])
def test_system_dir_symlink_refused_host_unchanged(hostile, sysdir, kind):
    target = hostile.absolute() if kind == "absolute" else hostile.relative(sysdir)
    hostile.link(sysdir, target)
    p = bulwark_run("--rootfs", hostile.root)
    assert_refused(p, sysdir)
    assert target in p.stderr  # says where the link points
    hostile.assert_host_unchanged()
    assert not any(hostile.in_image.iterdir())  # nor written inside the image


@pytest.mark.parametrize("sysdir", ["/dev", "/proc", "/sys", "/tmp"])
def test_system_dir_symlink_refused_unprivileged(hostile, sysdir):
    """Same refusal when the run has no privileges (the child binds by path, no id-mapped
    mounts): a different code path to the same mount points."""
    hostile.link(sysdir, hostile.relative(sysdir))
    os.chmod(hostile.root.parent, 0o755)
    p = bulwark_run("-q", "--rootfs", hostile.root, user_cmd=UNPRIVILEGED)
    assert_refused(p, sysdir)
    hostile.assert_host_unchanged()


@pytest.mark.parametrize("sysdir", ["/proc", "/sys", "/dev"])
def test_system_dir_not_a_directory_refused(hostile, sysdir):
    p = hostile.root / sysdir.lstrip("/")
    shutil.rmtree(p)
    p.write_text("a file where a directory belongs\n")
    r = bulwark_run("--rootfs", hostile.root)
    assert r.returncode == 125, r.stderr
    assert f"{sysdir} is not a directory in the image" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_dev_symlink_original_report(hostile):
    """The report's exact shape: /dev -> /var/tmp with /var/tmp present in the image. The host's
    /var/tmp is shared with other users, so only what appeared there owned by the container's
    ids (100000+) counts."""
    hostile.link("/dev", "/var/tmp")
    before = {n: os.lstat(f"/var/tmp/{n}").st_uid for n in os.listdir("/var/tmp")}
    p = bulwark_run("--rootfs", hostile.root)
    assert_refused(p, "/dev")
    for n in os.listdir("/var/tmp"):
        if n not in before:
            assert os.lstat(f"/var/tmp/{n}").st_uid < 100000, n
    for n in ("null", "zero", "full", "random", "pts", "shm", "stdin", "ptmx"):
        assert n not in os.listdir("/var/tmp") or n in before, n


# ---- 2. links below directories the runtime owns: our tmpfs hides them ----------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sub", ["/dev/shm", "/dev/pts", "/run/secrets"])
def test_links_below_runtime_mounts_are_hidden(hostile, tmp_path, sub, kind):
    hostile.link(sub, hostile.absolute() if kind == "absolute" else hostile.relative(sub))
    secret = tmp_path / "tok"
    secret.write_text("s3cr3t")
    p = bulwark_run("--secret", f"api={secret}", "--rootfs", hostile.root,
                    cmd=("/bin/sh", "-c", "grep -E ' /dev/(shm|pts) | /run/secrets ' "
                         "/proc/mounts | wc -l; cat /run/secrets/api; echo; ls /dev/pts /dev/shm"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[:2] == ["3", "s3cr3t"], p.stdout
    hostile.assert_host_unchanged()


# ---- 3. /etc and the working directory: written only inside the root ------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_etc_symlink_writes_stay_in_root(hostile, kind):
    """With --net slirp the runtime binds its resolv.conf on /etc/resolv.conf, -w creates the
    working directory and a volume under /etc creates its mount point: through an /etc link
    all of that lands in the image's tree, never in the host directory of the same name."""
    etc = hostile.root / "etc"
    for n in ("passwd", "group"):
        shutil.copy2(etc / n, hostile.in_image / n)
    shutil.rmtree(etc)
    hostile.link("/etc", hostile.absolute() if kind == "absolute" else hostile.relative("/etc"))
    vol = hostile.root.parent / "vol"
    vol.mkdir()
    (vol / "v").write_text("vol")
    args = ["-w", "/etc/workdir", "-v", f"{vol}:/etc/vol"]
    if shutil.which("slirp4netns"):
        args += ["--net", "slirp"]
    p = bulwark_run(*args, "--rootfs", hostile.root,
                    cmd=("/bin/sh", "-c", "pwd; cat /etc/vol/v; echo; ls /etc; "
                         "grep -c nameserver /etc/resolv.conf || true"))
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    # the kernel names the working directory by where the link led: the image's copy of
    # the host path (the host's own directory of that name stays untouched, below)
    assert out[:2] == [f"{hostile.host}/workdir", "vol"], p.stdout
    assert {"passwd", "vol", "workdir"} <= set(out), p.stdout
    if "--net" in args:
        assert "resolv.conf" in out and out[-1] == "1", p.stdout
    hostile.assert_host_unchanged()


@pytest.mark.parametrize("kind", KINDS)
def test_workdir_through_symlink_stays_in_root(hostile, kind):
    hostile.link("/work", hostile.absolute() if kind == "absolute" else hostile.relative("/work"))
    p = bulwark_run("-w", "/work/deep/er", "--rootfs", hostile.root, cmd=("/bin/sh", "-c", "pwd"))
    assert p.returncode == 0 and p.stdout.strip() == f"{hostile.host}/deep/er", p.stderr
    hostile.assert_host_unchanged()


# ---- 4. volume destinations ------------------------------------------------------------------
@pytest.mark.parametrize("target", ["/etc", "../../../../etc", "HOST_ABS", "HOST_REL"])
def test_volume_destination_symlink_refused(hostile, target):
    vol = hostile.root.parent / "vol"
    vol.mkdir()
    (vol / "from-volume").write_text("x")
    t = {"HOST_ABS": hostile.absolute(), "HOST_REL": hostile.relative("/data")}.get(target,
                                                                                  target)
    hostile.link("/data", t)
    etc_before = snapshot(hostile.root / "etc")
    p = bulwark_run("-v", f"{vol}:/data", "--rootfs", hostile.root)
    assert_refused(p, "/data")
    assert "volume destination" in p.stderr
    hostile.assert_host_unchanged()
    assert snapshot(hostile.root / "etc") == etc_before
    assert sorted(os.listdir(vol)) == ["from-volume"]


def test_volume_file_destination_symlink_refused(hostile):
    f = hostile.root.parent / "cfg"
    f.write_text("config\n")
    hostile.link("/etc/app.conf", str(hostile.host / "host-file"))
    p = bulwark_run("-v", f"{f}:/etc/app.conf", "--rootfs", hostile.root)
    assert_refused(p, "/etc/app.conf")
    hostile.assert_host_unchanged()


def test_volume_destination_below_symlink_resolves_in_root(hostile):
    """A link in a parent of the destination is followed inside the image (Docker's rule),
    so the mount point is created in the image's tree, not on the host."""
    vol = hostile.root.parent / "vol"
    vol.mkdir()
    (vol / "v").write_text("vol")
    hostile.link("/data", hostile.relative("/data"))
    p = bulwark_run("-v", f"{vol}:/data/sub", "--rootfs", hostile.root,
                    cmd=("/bin/cat", f"/{hostile.host.relative_to('/')}/sub/v"))
    assert p.returncode == 0 and p.stdout == "vol", (p.stdout, p.stderr)
    hostile.assert_host_unchanged()


# ---- 5. masks ---------------------------------------------------------------------------------
MASK_PROBE = ("n=$(cat /proc/kallsyms 2>/dev/null | wc -c); echo kallsyms=$n; "
              "n=$(cat /proc/keys 2>/dev/null | wc -c); echo keys=$n; "
              "n=$(cat /proc/kcore 2>/dev/null | head -c 16 | wc -c); echo kcore=$n; "
              "n=$(ls -A /sys/firmware 2>/dev/null | wc -l); echo firmware=$n; "
              "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo SYS_WRITABLE; "
              "grep -c ' /proc/sys proc ro' /proc/mounts")


def host_has_mask_targets():
    try:
        return (os.path.getsize("/proc/kallsyms") >= 0 and
                len(Path("/proc/kallsyms").read_bytes()) > 0 and
                len(Path("/proc/keys").read_bytes()) > 0 and os.listdir("/sys/firmware"))
    except OSError:
        return False


@pytest.mark.parametrize("net", ["none", "host"])
def test_masks_hold_in_a_normal_image(hostile, net):
    # the negative control: on the host these are readable, so empty output means masked
    if not host_has_mask_targets():
        pytest.skip("this host has no /proc/kallsyms, /proc/keys or /sys/firmware content")
    args = ["--net", "host"] if net == "host" else []
    p = bulwark_run(*args, "--rootfs", hostile.root, cmd=("/bin/sh", "-c", MASK_PROBE))
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert {"kallsyms=0", "keys=0", "kcore=0", "firmware=0"} <= set(out), p.stdout
    assert "SYS_WRITABLE" not in out and out[-1] == "1", p.stdout


@pytest.mark.parametrize("sysdir", ["/proc", "/sys"])
@pytest.mark.parametrize("target", ["/p", "p", "../../../p"])
def test_proc_sys_symlink_cannot_turn_masks_off(hostile, sysdir, target):
    """The report: /proc -> /p made every mask find nothing. Now the image is refused, and
    even a decoy directory at the link's target changes nothing."""
    (hostile.root / "p").mkdir()
    (hostile.root / "p" / "kallsyms").write_text("decoy\n")
    hostile.link(sysdir, target)
    p = bulwark_run("--rootfs", hostile.root, cmd=("/bin/sh", "-c", MASK_PROBE))
    assert_refused(p, sysdir)
    assert "kallsyms=" not in p.stdout


# ---- 6. -v sources: opened once, judged on the fd --------------------------------------------
def test_volume_source_pseudo_filesystem_refused_under_any_name(hostile, tmp_path):
    """procfs, sysfs or cgroup bound elsewhere on the host is still refused (fstatfs of the
    opened source), and a link to /proc given as the source is judged by what it names."""
    link = tmp_path / "looks-harmless"
    link.symlink_to("/proc")
    p = bulwark_run("-v", f"{link}:/data", "--rootfs", hostile.root)
    assert p.returncode == 125 and "sensitive host path" in p.stderr, p.stderr
    mnt = hostile.host / "mnt"
    cgroup = next((c for c in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory",
                               "/sys/fs/cgroup")
                   if subprocess.run(["stat", "-f", "-c", "%T", c], capture_output=True,
                                     text=True).stdout.strip() in ("cgroupfs", "cgroup2fs")),
                  None)
    for fs, src in (("procfs", "/proc"), ("sysfs", "/sys"), ("cgroup", cgroup)):
        if src is None:
            continue
        script = (f"mkdir -p {mnt} && mount --bind {src} {mnt} && "
                  f"{BULWARK} run -v {mnt}:/data --rootfs {hostile.root} -- ls /data; "
                  f"echo rc=$?")
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120, cwd="/")
        assert "rc=125" in r.stdout, (fs, r.stdout, r.stderr)
        assert "sensitive host path" in r.stderr and fs in r.stderr, (fs, r.stderr)
    os.rmdir(mnt)


def test_volume_source_given_through_symlink_still_works(hostile, tmp_path):
    """A link in the path the caller gives is resolved once, then the canonical path is
    opened without links: a legitimate link to a data directory keeps working."""
    real = hostile.root.parent / "realvol"
    real.mkdir()
    (real / "v").write_text("through a link")
    link = tmp_path / "vol-link"
    link.symlink_to(real)
    p = bulwark_run("-v", f"{link}:/data", "--rootfs", hostile.root, cmd=("/bin/cat", "/data/v"))
    assert p.returncode == 0 and p.stdout == "through a link", (p.stdout, p.stderr)


def _renameat2():
    libc = ctypes.CDLL(None, use_errno=True)
    f = libc.renameat2
    f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return f


RENAME_EXCHANGE = 2
AT_FDCWD = -100


@pytest.mark.parametrize("who,target", [("root", "/proc"), ("root", "/etc"),
                                        ("unprivileged", "/etc")])
def test_volume_source_swap_race(hostile, who, target):
    """A user who controls an entry of a volume path swaps a directory and a link to /proc
    (or /etc) with rename(RENAME_EXCHANGE) in a tight loop while root starts `run -v`
    repeatedly: no run may ever mount the link's target. Bounded: 200 runs or 20 s. Run
    unprivileged, the child opens the source again itself (no id-mapped mounts): that second
    open must be of the object the host side checked."""
    d = hostile.root.parent / "share"
    d.mkdir()
    os.chmod(d, 0o755)
    (d / "vol").mkdir()
    (d / "vol" / "benign-marker").write_text("ok")
    (d / "other").symlink_to(target)
    a, b = str(d / "vol").encode(), str(d / "other").encode()
    rn = _renameat2()
    stop = threading.Event()
    swaps = [0]

    def swapper():
        while not stop.is_set():
            if rn(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
                swaps[0] += 1

    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    outcomes = {"ok": 0, "refused": 0}
    host_markers = ("self", "kallsyms", "passwd", "hostname")
    deadline = time.time() + 20
    runs = 0
    try:
        while runs < 200 and time.time() < deadline:
            runs += 1
            p = bulwark_run("-q", "-v", f"{d}/vol:/data", "--rootfs", hostile.root,
                            cmd=("/bin/ls", "-A", "/data"), timeout=60,
                            user_cmd=[] if who == "root" else UNPRIVILEGED)
            seen = set(p.stdout.split())
            assert not seen & set(host_markers), (runs, p.stdout[:500], p.stderr)
            if p.returncode == 0:
                assert seen == {"benign-marker"}, (p.stdout, p.stderr)
                outcomes["ok"] += 1
            else:
                assert p.returncode == 125, (p.returncode, p.stderr)
                outcomes["refused"] += 1
    finally:
        stop.set()
        t.join()
    print(f"{who} -> {target}: {runs} runs, {swaps[0]} swaps, {outcomes}")
    assert swaps[0] > runs, swaps  # the race really ran during the runs
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0, outcomes
    hostile.assert_host_unchanged()


# ---- 7. an image repeating a layer ------------------------------------------------------------
def repeated_layer_image(path: Path):
    bb = Path("/bin/busybox").read_bytes()
    base = Layer([D("bin"), F("bin/busybox", bb, 0o755), L("bin/sh", "busybox"),
                  L("bin/cat", "busybox"), L("bin/ls", "busybox"), L("bin/echo", "busybox"),
                  D("etc"), F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                  F("etc/group", "root:x:0:\n"), F("f", "base"), F("g", "base")], comp="gzip")
    a = Layer([F("f", "A"), W("g"), D("d"), F("d/a", "A")])
    b = Layer([F("f", "B"), F("g", "B"), D("d"), F("d/b", "B")])
    # base, A, B, A (then A once more, back to back): applied in order, A's second copy wins
    layers = [base, a, b, a, a]
    assert len({l.diff_id for l in layers}) == 3
    cfg = {"Cmd": ["/bin/sh", "-c", "cat /f; echo; ls /g 2>/dev/null || echo no-g; ls /d"],
           "Env": ["PATH=/bin"]}
    return docker_save(path, layers, config=cfg)


def expected_merge(img: Path, tmp: Path):
    """The reference: `bulwark unpack` applies the layers one after the other."""
    out = tmp / "unpacked"
    p = subprocess.run([BULWARK, "unpack", "-q", str(img), str(out)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("who", ["root", "unprivileged"])
def test_repeated_layer_runs_with_topmost_content(who):
    d = world_tmpdir()
    os.chmod(d, 0o777)
    try:
        img = repeated_layer_image(d / "img.tar")
        os.chmod(img, 0o644)
        ref = expected_merge(img, d)
        assert (ref / "f").read_text() == "A" and not (ref / "g").exists()
        assert sorted(os.listdir(ref / "d")) == ["a", "b"]
        user = [] if who == "root" else UNPRIVILEGED
        p = subprocess.run([*user, BULWARK, "run", "-q", "--cache", str(d / "cache"), str(img)],
                           capture_output=True, text=True, cwd="/")
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["A", "no-g", "a", "b"], p.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- 8. the same, where openat2 is refused ---------------------------------------------------
SYS_OPENAT2, ENOSYS = 437, 38
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}.get(os.uname().machine)


def block_openat2():
    """preexec_fn: a seccomp filter answering ENOSYS to openat2, as an old kernel or an outer
    runtime's profile does; bulwark and everything it starts inherit it."""
    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]
    allow, ld, jeq, ret = 0x7FFF0000, 0x20, 0x15, 0x06
    insns = (Insn * 7)(Insn(ld, 0, 0, 4), Insn(jeq, 1, 0, AUDIT_ARCH), Insn(ret, 0, 0, allow),
                       Insn(ld, 0, 0, 0), Insn(jeq, 0, 1, SYS_OPENAT2),
                       Insn(ret, 0, 0, 0x00050000 | ENOSYS), Insn(ret, 0, 0, allow))
    prog = Prog(7, insns)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, MODE_FILTER
        os._exit(99)


def openat2_blocked_works():
    r = subprocess.run([sys.executable, "-c", "import ctypes,os; l=ctypes.CDLL(None, "
                        "use_errno=True); print(l.syscall(437, -100, b'/', 0, 0), "
                        "ctypes.get_errno())"], capture_output=True, text=True,
                       preexec_fn=block_openat2)
    return r.stdout.split() == ["-1", str(ENOSYS)]


@pytest.mark.skipif(AUDIT_ARCH is None, reason="seccomp filter written for x86_64/aarch64")
def test_without_openat2_same_results(hostile):
    """The fallback resolver (component by component, checked by the fd's name) gives the same
    answers end to end: a normal run with its masks, the refusals, writes through /etc."""
    assert openat2_blocked_works()
    if not host_has_mask_targets():
        pytest.skip("this host has no /proc/kallsyms, /proc/keys or /sys/firmware content")
    p = bulwark_run("--rootfs", hostile.root, cmd=("/bin/sh", "-c", MASK_PROBE),
                    preexec=block_openat2)
    assert p.returncode == 0, p.stderr
    assert {"kallsyms=0", "firmware=0"} <= set(p.stdout.split()), p.stdout
    # /work -> ../../…/host dir: the working directory is created in the image's copy
    hostile.link("/work", hostile.relative("/work"))
    p = bulwark_run("-w", "/work/deep", "--rootfs", hostile.root, cmd=("/bin/sh", "-c", "pwd"),
                    preexec=block_openat2)
    assert p.returncode == 0 and p.stdout.strip() == f"{hostile.host}/deep", p.stderr
    hostile.assert_host_unchanged()
    vol = hostile.root.parent / "vol"
    vol.mkdir()
    hostile.link("/data", hostile.absolute())
    p = bulwark_run("-v", f"{vol}:/data", "--rootfs", hostile.root, preexec=block_openat2)
    assert_refused(p, "/data")
    hostile.link("/dev", hostile.relative("/dev"))
    p = bulwark_run("--rootfs", hostile.root, preexec=block_openat2)
    assert_refused(p, "/dev")
    hostile.assert_host_unchanged()
