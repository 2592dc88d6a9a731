"""`bulwark run` as root: each container gets its own host id slice of bulwark's /etc/subuid
and /etc/subgid range (created when missing, never overlapping another entry), released when
the container ends, even when bulwark is SIGKILLed; --userns-range picks one explicitly.

The subordinate-id files and the claim lock live in private directories (BWK_ETC_DIR,
BWK_RUN_DIR): the host's /etc and other runs on this machine are never involved. Every map is
read from the host side (/proc/PID/uid_map of the container's pid 1)."""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import world_tmpdir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

LO, HI, SLICE = 0x70000000, 0x7FFE0000, 65536
# Debian's adduser gives the first login user 100000:65536: no container may ever get it
FIRST_USER = "alice:100000:65536\n"


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    return make_busybox_rootfs(tmp_path_factory.mktemp("userns") / "rootfs")


@pytest.fixture
def ids(tmp_path):
    """Private /etc (subuid, subgid) and /run/bulwark for one test."""
    etc, run = tmp_path / "etc", tmp_path / "run"
    etc.mkdir()
    os.chmod(etc, 0o755)
    (etc / "subuid").write_text(FIRST_USER)
    (etc / "subgid").write_text(FIRST_USER)
    env = {"PATH": os.environ["PATH"], "NO_COLOR": "1", "BWK_ETC_DIR": str(etc),
           "BWK_RUN_DIR": str(run), **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}  # make coverage: libgcov quiet
    return etc, env


def check_stderr(err):
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err


def run(rfs, env, *args, cmd=("cat", "/proc/self/uid_map"), check=None):
    p = subprocess.run([BULWARK, "run", *args, "--rootfs", str(rfs), "--", *cmd],
                       capture_output=True, text=True, env=env, timeout=120)
    check_stderr(p.stderr)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def inside_map(p):
    """(host start, count) of a run that printed its /proc/self/uid_map."""
    inside, start, count = p.stdout.split()[:3]
    assert inside == "0", p.stdout
    return int(start), int(count)


class Sleeper:
    """A container that runs until stopped; its pid 1 as seen from the host."""

    def __init__(self, rfs, env, *args):
        self.proc = subprocess.Popen(
            [BULWARK, "run", "-q", *args, "--rootfs", str(rfs), "--", "sh", "-c",
             "echo up; exec sleep 120"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        assert line == "up\n", (line, self.proc.stderr.read() if self.proc.poll() else "")
        kids = set()
        for t in os.listdir(f"/proc/{self.proc.pid}/task"):
            kids |= {int(x) for x in
                     Path(f"/proc/{self.proc.pid}/task/{t}/children").read_text().split()}
        assert len(kids) == 1, kids
        self.init = kids.pop()

    def idmap(self, which="uid"):
        """The host side's view: (inside, outside, count) lines of the container's map."""
        return [tuple(map(int, l.split()))
                for l in Path(f"/proc/{self.init}/{which}_map").read_text().splitlines()]

    def host_uid(self):
        for l in Path(f"/proc/{self.init}/status").read_text().splitlines():
            if l.startswith("Uid:"):
                return int(l.split()[1])
        raise AssertionError("no Uid line")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        check_stderr(self.proc.stderr.read())
        deadline = time.time() + 10
        while os.path.exists(f"/proc/{self.init}") and time.time() < deadline:
            time.sleep(0.02)
        assert not os.path.exists(f"/proc/{self.init}")


def entries(path):
    """name -> (start, count) of the well-formed decimal lines of a subuid file."""
    out = {}
    for l in Path(path).read_bytes().split(b"\n"):
        f = l.split(b":")
        if len(f) == 3 and f[1].isdigit() and f[2].isdigit():
            out.setdefault(f[0].decode(), (int(f[1]), int(f[2])))
    return out


def overlaps(a, b):
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def test_concurrent_containers_get_disjoint_slices(rfs, ids):
    etc, env = ids
    # another user's range at the very start of the window bulwark reserves from
    (etc / "subuid").write_text(FIRST_USER + "bob:1879048192:65536\n")
    a, b = Sleeper(rfs, env), Sleeper(rfs, env)
    try:
        own = entries(etc / "subuid")["bulwark"]
        assert entries(etc / "subgid")["bulwark"] == own
        maps = []
        for c in (a, b):
            (u,), (g,) = c.idmap("uid"), c.idmap("gid")
            assert u == g and u[0] == 0 and u[2] == SLICE, (u, g)
            rng = (u[1], u[2])
            assert own[0] <= rng[0] and rng[0] + rng[1] <= own[0] + own[1], (rng, own)
            for name in ("alice", "bob"):
                assert not overlaps(rng, entries(etc / "subuid")[name]), (rng, name)
            assert c.host_uid() == rng[0]  # container root is that id on the host
            maps.append(rng)
        assert not overlaps(maps[0], maps[1]), maps
    finally:
        a.stop()
        b.stop()


def test_slice_released_when_the_container_ends(rfs, ids):
    _, env = ids
    first = inside_map(run(rfs, env, check=0))
    assert inside_map(run(rfs, env, check=0)) == first  # released at exit: the same again
    a = Sleeper(rfs, env)
    try:
        assert (a.idmap()[0][1], SLICE) == first
        busy = inside_map(run(rfs, env, check=0))
        assert busy != first and not overlaps(busy, first)  # held while it runs
    finally:
        a.stop()
    assert inside_map(run(rfs, env, check=0)) == first


def test_slice_released_when_bulwark_is_sigkilled(rfs, ids):
    _, env = ids
    a = Sleeper(rfs, env)
    held = (a.idmap()[0][1], SLICE)
    assert inside_map(run(rfs, env, check=0)) != held  # the claim is real
    a.stop(signal.SIGKILL)  # no cleanup code runs: the kernel drops the lock
    assert inside_map(run(rfs, env, check=0)) == held


def test_files_on_a_volume_belong_to_the_slice(rfs, ids, tmp_path):
    _, env = ids
    vol = tmp_path / "vol"
    vol.mkdir()
    os.chmod(vol, 0o777)  # host root owns it: container root is nobody special to it
    p = run(rfs, env, "-q", "-v", f"{vol}:/data:rw",
            cmd=("sh", "-c", "touch /data/f && cat /proc/self/uid_map"), check=0)
    start, _ = inside_map(p)
    st = os.stat(vol / "f")
    assert (st.st_uid, st.st_gid) == (start, start)
    assert not overlaps((st.st_uid, 1), (100000, 65536))


def test_entry_created_once_keeping_the_files(rfs, ids):
    etc, env = ids
    (etc / "subuid").write_text("")
    (etc / "subgid").unlink()
    p = run(rfs, env, check=0)
    assert "added 'bulwark:1879048192:268304384'" in p.stderr
    want = b"bulwark:1879048192:268304384\n"
    assert (etc / "subuid").read_bytes() == want
    assert (etc / "subgid").read_bytes() == want
    st = os.stat(etc / "subgid")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o644)
    assert inside_map(p) == (LO, SLICE)
    before = {f: (etc / f).stat().st_mtime_ns for f in ("subuid", "subgid")}
    p = run(rfs, env, check=0)
    assert "added" not in p.stderr
    assert before == {f: (etc / f).stat().st_mtime_ns for f in ("subuid", "subgid")}
    assert sorted(os.listdir(etc)) == [".pwd.lock", "subgid", "subuid"]  # no temp file left


def test_entry_avoids_every_honoured_line_of_a_hostile_file(rfs, ids):
    etc, env = ids
    honoured = {  # lines shadow-utils' newuidmap would grant, however they are written
        "erin": (0x70000000, 0x10000),	 # hex, as strtoul base 0 reads it
        "frank": (1879113728, 131072),	 # overlapping the next one
        "grace": (1879179264, 65536),
        "heidi": (1879310336, 65536),	 # before a NUL
        "ivan": (0x7FF00000, 0x7FFFFFFF),  # past 2^32: clipped, covers the window's end
    }
    old = (b"alice:100000:65536\n"
           + b"x" * 300000 + b"\n"  # a huge line
           + b"carol:abc:65536\ndave:-5:65536\nmallory:1879048192:65536:extra\n"
           + b"erin:0x70000000:0x10000\nfrank:1879113728:131072\ngrace:1879179264:65536\n"
           + b"heidi:1879310336:65536\0junk\n"
           + b"ivan:2146435072:2147483647\n"
           + b"judy:99999999999999999999999:65536\n"
           + b"no newline at the end:1:1")
    (etc / "subuid").write_bytes(old)
    os.chown(etc / "subuid", 0, 42)
    os.chmod(etc / "subuid", 0o640)
    run(rfs, env, "-q", check=0)
    new = (etc / "subuid").read_bytes()
    assert new.startswith(old + b"\n") and new.count(b"\n") == old.count(b"\n") + 2
    st = os.stat(etc / "subuid")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 42, 0o640)
    own = entries(etc / "subuid")["bulwark"]
    assert entries(etc / "subgid")["bulwark"] == own
    assert LO <= own[0] and own[0] + own[1] <= HI and own[0] % SLICE == 0, own
    for name, rng in honoured.items():
        assert not overlaps(own, rng), (name, own)
    # the largest free gap: after heidi, up to ivan
    assert own == (0x70000000 + 5 * SLICE, 0x7FF00000 - 0x70000000 - 5 * SLICE)


def test_shadow_utils_users_before_and_after(rfs, tmp_path):
    """Real useradd (shadow-utils, on a private copy of /etc through --prefix): the first login
    user's range is avoided, and a user added later gets a range clear of bulwark's."""
    prefix = tmp_path / "root"
    etc = prefix / "etc"
    etc.mkdir(parents=True)
    os.chmod(etc, 0o755)
    for f in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        shutil.copy2(f"/etc/{f}", etc / f)
    for f in ("subuid", "subgid"):
        (etc / f).write_text("")
    env = {"PATH": os.environ["PATH"], "NO_COLOR": "1", "BWK_ETC_DIR": str(etc),
           "BWK_RUN_DIR": str(tmp_path / "run"), **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}

    def useradd(name):
        subprocess.run(["useradd", "--prefix", str(prefix), "-M", "-s", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
        return entries(etc / "subuid")[name], entries(etc / "subgid")[name]

    first = useradd("bwkfirst")
    slice_ = inside_map(run(rfs, env, "-q", check=0))
    own = entries(etc / "subuid")["bulwark"], entries(etc / "subgid")["bulwark"]
    for f in (0, 1):
        assert not overlaps(own[f], first[f]), (own, first)
    assert not overlaps(slice_, first[0])
    later = useradd("bwklater")  # shadow-utils reads bulwark's lines and keeps clear of them
    for f in (0, 1):
        assert not overlaps(own[f], later[f]), (own, later)
    assert inside_map(run(rfs, env, "-q", check=0)) == slice_


def test_own_entry_refused_when_it_overlaps_or_is_malformed(rfs, ids):
    etc, env = ids
    for text, msg in (
            (FIRST_USER + "bulwark:100000:65536\n", "overlaps the subordinate ids of 'alice'"),
            ("bulwark:1879048192:100\n", "malformed bulwark entry")):
        (etc / "subuid").write_text(text)
        p = run(rfs, env, cmd=("echo", "ran"), check=125)
        assert msg in p.stderr and "ran" not in p.stdout, p.stderr
        assert (etc / "subuid").read_text() == text


def test_full_window_refused_files_unchanged(rfs, ids):
    etc, env = ids
    text = FIRST_USER + "big:1879048192:268304384\n"
    (etc / "subuid").write_text(text)
    p = run(rfs, env, cmd=("echo", "ran"), check=125)
    assert "no free range" in p.stderr and "ran" not in p.stdout, p.stderr
    assert (etc / "subuid").read_text() == text
    assert (etc / "subgid").read_text() == FIRST_USER


def test_entry_written_under_the_password_file_lock(rfs, ids):
    """While useradd (here: this test) holds lckpwdf's lock, bulwark waits, then reads what
    was written under it."""
    etc, env = ids
    fd = os.open(etc / ".pwd.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)  # the fcntl lock glibc's lckpwdf() takes
        p = subprocess.Popen([BULWARK, "run", "-q", "--rootfs", str(rfs), "--", "true"],
                             stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(1)
        assert p.poll() is None  # waiting for the lock
        (etc / "subuid").write_text(FIRST_USER + "zed:1879048192:65536\n")
        fcntl.lockf(fd, fcntl.LOCK_UN)
        assert p.wait(timeout=60) == 0
        check_stderr(p.stderr.read())
    finally:
        os.close(fd)
    assert entries(etc / "subuid")["bulwark"] == (1879113728, 268238848)


def test_unsafe_files_refused(rfs, ids, tmp_path):
    etc, env = ids
    os.chmod(etc / "subuid", 0o666)
    p = run(rfs, env, check=125)
    assert "writable by others than root" in p.stderr, p.stderr
    target = tmp_path / "elsewhere"
    target.write_text(FIRST_USER)
    (etc / "subuid").unlink()
    (etc / "subuid").symlink_to(target)
    p = run(rfs, env, check=125)
    assert "subuid: cannot open" in p.stderr, p.stderr
    assert target.read_text() == FIRST_USER
    (etc / "subuid").unlink()
    (etc / "subuid").write_bytes(b"a:1:1\n" * (1 << 20))  # 6 MiB: past the 4 MiB bound
    p = run(rfs, env, check=125)
    assert "subuid: larger than 4194304 bytes" in p.stderr, p.stderr


def test_userns_range_explicit(rfs, ids):
    etc, env = ids
    run(rfs, env, "-q", check=0)  # bulwark's entry, for the overlap check below
    a = Sleeper(rfs, env, "--userns-range", "3000000:65536")
    try:
        assert a.idmap("uid") == [(0, 3000000, 65536)]
        assert a.idmap("gid") == [(0, 3000000, 65536)]
        # the same ids while they are in use: refused, whatever the count
        p = run(rfs, env, "--userns-range", "3065535:10", cmd=("echo", "ran"), check=125)
        assert "in use by another running bulwark container" in p.stderr, p.stderr
        assert "ran" not in p.stdout
    finally:
        a.stop()
    assert inside_map(run(rfs, env, "--userns-range", "3065535:10", check=0)) == (3065535, 10)
    own = entries(etc / "subuid")["bulwark"]
    for rng, msg in ((f"{100000 + 5}:65536", "overlaps the subordinate ids of 'alice'"),
                     (f"{own[0] + SLICE}:100", "overlaps bulwark's own range"),
                     ("1000:65536", "ids below 65536"),
                     ("4294967290:10", "ends past the last id"),
                     ("3000000:65537", "COUNT must be 1 to 65536")):
        p = run(rfs, env, "--userns-range", rng, cmd=("echo", "ran"), check=125)
        assert msg in p.stderr and "ran" not in p.stdout, (rng, p.stderr)
    for bad in ("3000000", "3000000:", ":10", "x:10", "-1:10", "3000000:0", "4294967296:1",
                "3000000:10:1"):
        p = run(rfs, env, "--userns-range", bad, check=2)
        assert "bad --userns-range" in p.stderr, (bad, p.stderr)


def test_userns_range_writes_nothing_and_shares_the_claims(rfs, ids):
    """An explicit range needs no entry of bulwark's (so it works with a read-only /etc), and
    a slice claimed while it runs never shares its ids, even once the entry covers them."""
    etc, env = ids
    a = Sleeper(rfs, env, "--userns-range", f"{LO}:65536")
    try:
        assert (etc / "subuid").read_text() == FIRST_USER  # nothing written
        assert (etc / "subgid").read_text() == FIRST_USER
        p = run(rfs, env, "-q", check=0)  # adds the entry, which starts at LO
        assert entries(etc / "subuid")["bulwark"][0] == LO
        assert inside_map(p) == (LO + SLICE, SLICE)  # the first slice is in use
    finally:
        a.stop()
    assert inside_map(run(rfs, env, check=0)) == (LO, SLICE)


def test_userns_range_needs_root(ids):
    _, env = ids
    base = world_tmpdir()
    rootfs = make_busybox_rootfs(base / "rootfs")
    os.chmod(rootfs, 0o755)
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                        BULWARK, "run", "--userns-range", "3000000:65536", "--rootfs",
                        str(rootfs), "--", "echo", "ran"],
                       capture_output=True, text=True, env=env, timeout=120, cwd="/")
    shutil.rmtree(base)
    check_stderr(p.stderr)
    assert p.returncode == 125 and "needs root" in p.stderr, p.stderr
    assert "ran" not in p.stdout


def test_disabled_user_namespaces_named_with_the_fix(rfs, tmp_path):
    """A host that stops user namespaces gets one line naming the setting and the fix, not a
    bare clone error. user.max_user_namespaces is per user namespace: set to 0 inside a
    private one, it stops bulwark there and nowhere else."""
    script = ('echo 0 > /proc/sys/user/max_user_namespaces && '
              f'exec {BULWARK} run --rootfs {rfs} -- true')
    p = subprocess.run(["unshare", "-U", "-r", "sh", "-c", script], capture_output=True,
                       text=True, timeout=120)
    check_stderr(p.stderr)
    assert p.returncode == 125, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("bulwark: user namespaces are disabled on this host "
                               "(user.max_user_namespaces=0): set it above 0"), lines


CONFINED = ("sh", "-c", "grep '^Seccomp:' /proc/self/status; busybox unshare -m true; "
            "echo rc=$?")


def confined(rfs, env):
    p = run(rfs, env, "-q", cmd=CONFINED, check=0)
    assert "Seccomp:\t2" in p.stdout and "rc=1" in p.stdout, p.stdout
    assert "Operation not permitted" in p.stderr, p.stderr


def test_default_seccomp_program_kept(rfs, ids):
    """As root the default policy's program is kept in the run directory after a run that
    compiled it, and used by the next ones (still confined). Another build's file (here an
    allow-everything program under a foreign build id) is not used: the run is confined all
    the same and the file is replaced by this build's."""
    _, env = ids
    confined(rfs, env)
    memo, = Path(env["BWK_RUN_DIR"]).glob("seccomp-default-*-0.bpf")
    assert memo.is_file() and memo.stat().st_mode & 0o777 == 0o600
    kept = memo.read_bytes()
    header = 88  # magic, libseccomp version, capabilities, id length, length, build id
    count = int.from_bytes(kept[20:24], "little")
    assert count > 100 and len(kept) == header + 8 * count
    confined(rfs, env)
    assert memo.read_bytes() == kept
    foreign = bytearray(kept[:header])
    foreign[24] ^= 0xFF  # first byte of the build id
    foreign[20:24] = (1).to_bytes(4, "little")
    allow = (0x06).to_bytes(2, "little") + bytes(2) + (0x7FFF0000).to_bytes(4, "little")
    memo.write_bytes(bytes(foreign) + allow)  # BPF_RET | BPF_K, SECCOMP_RET_ALLOW
    os.chmod(memo, 0o600)
    confined(rfs, env)
    assert memo.read_bytes() == kept


def test_default_seccomp_memo_per_build_and_bounded(rfs, ids):
    """The kept program's name carries the start of the build id: another build's file (a
    release build next to an ASan one) lives beside this build's, neither replacing the other.
    When this build writes its file, other builds' files beyond the newest 4 go, and writers'
    temporary files older than a minute; links, directories and files of other users are
    never touched. `list` on the directory (also the OCI runtime's --root) ignores them."""
    _, env = ids
    rd = Path(env["BWK_RUN_DIR"])
    confined(rfs, env)
    ours, = rd.glob("seccomp-default-*-0.bpf")
    kept = ours.read_bytes()
    header = 88
    id_len = int.from_bytes(kept[16:20], "little")
    assert ours.name == f"seccomp-default-{kept[24:24 + min(id_len, 6)].hex()}-0.bpf"

    def other_build(name, age):
        """another build's valid-looking memo (its build id differs), `age` seconds old"""
        foreign = bytearray(kept)
        foreign[24] ^= 0xFF
        f = rd / name
        f.write_bytes(bytes(foreign))
        os.chmod(f, 0o600)
        t = time.time() - age
        os.utime(f, (t, t))
        return f

    # two builds: each keeps its own; a run of this build uses its own and leaves the other's
    other = other_build("seccomp-default-0123456789ab-0.bpf", 10)
    before = ours.stat().st_mtime_ns
    confined(rfs, env)
    assert other.exists() and ours.read_bytes() == kept and ours.stat().st_mtime_ns == before
    # bounded: 6 other builds (and the old unhashed name) → the newest 4 stay
    olds = [other_build(f"seccomp-default-{i:012x}-{i % 4}.bpf", 100 * (i + 1))
            for i in range(6)]
    unhashed = other_build("seccomp-default-0.bpf", 5000)
    target = rd / "target"
    target.write_bytes(b"x")
    link = rd / "seccomp-default-ffffffffffff-0.bpf"
    link.symlink_to(target)
    (rd / "seccomp-default-dir-0.bpf").mkdir()
    alien = other_build("seccomp-default-aaaaaaaaaaaa-1.bpf", 9000)
    os.chown(alien, 1000, 1000)
    stale_tmp = other_build(".seccomp-default-bbbbbbbbbbbb-0.bpf.123", 3600)
    fresh_tmp = other_build(".seccomp-default-cccccccccccc-0.bpf.124", 1)
    p = subprocess.run([BULWARK, "--root", str(rd), "list", "--format", "json"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert (p.returncode, json.loads(p.stdout)) == (0, []), p.stderr
    ours.unlink()  # this build writes its file again: the prune runs
    confined(rfs, env)
    assert ours.read_bytes() == kept
    # newest first: other (10 s), olds[0] (100), olds[1] (200), olds[2] (300) stay
    assert other.exists() and all(f.exists() for f in olds[:3]), sorted(os.listdir(rd))
    assert not any(f.exists() for f in olds[3:]) and not unhashed.exists(), sorted(os.listdir(rd))
    assert link.is_symlink() and target.read_bytes() == b"x"
    assert (rd / "seccomp-default-dir-0.bpf").is_dir() and alien.exists()
    assert not stale_tmp.exists() and fresh_tmp.exists()
    p = subprocess.run([BULWARK, "--root", str(rd), "list"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0 and "seccomp" not in p.stdout + p.stderr, (p.stdout, p.stderr)
