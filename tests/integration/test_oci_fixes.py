"""OCI runtime behaviours a review of #13 found wrong, each as runc and the engines expect:
uint64 values above INT64_MAX in config.json (Docker writes RLIMIT_* of -1 as 2^64-1),
`kill --all` of a stopped container whose processes outlive its init, `delete --force` of a
container whose create was killed half-way, the exit status of state conflicts, `exec -t`
without a console socket, and smaller CLI items."""
import json
import os
import pty
import select
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import BULWARK, dockerd_factory, make_busybox_rootfs  # noqa: F401
from run_util import world_tmpdir
from test_oci_lifecycle import Runtime, reaper, rt, wait_exit, wait_for  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

U64_MAX = 2**64 - 1


def limits_line(text, name):
    """(soft, hard) of the limit `name` in /proc/PID/limits"""
    line = next(line for line in text.splitlines() if line.startswith(name))
    return line[len(name):].split()[:2]


def test_rlimit_of_2_64_minus_1_is_unlimited(rt):
    """`docker run --ulimit memlock=-1` writes hard/soft 18446744073709551615 (RLIM_INFINITY):
    readable, applied as unlimited; a value above 2^64-1 is refused as out of range. (The core
    limit: its hard limit is unlimited here and its soft one 0, where raising the memlock hard
    limit needs CAP_SYS_RESOURCE, which a test host may lack.)"""
    b = rt.bundle(["cat", "/proc/self/limits"], edit=lambda c: c["process"].__setitem__(
        "rlimits", [{"type": "RLIMIT_CORE", "hard": U64_MAX, "soft": U64_MAX},
                    {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]))
    p = rt("run", "-b", b, "bwk-u64-" + uuid.uuid4().hex[:8])
    assert limits_line(p.stdout, "Max core file size") == ["unlimited", "unlimited"], p.stdout
    assert limits_line(p.stdout, "Max open files") == ["512", "1024"], p.stdout
    # through create → the saved config → start (the saved copy keeps the number)
    cid, pid = rt.create(b)
    saved = (rt.root / cid / "config.json").read_text()
    assert '"hard":18446744073709551615' in saved.replace(" ", ""), saved
    rt("start", cid)
    wait_exit(pid)
    b2 = rt.bundle(["true"], name="big", edit=lambda c: c["process"].__setitem__(
        "rlimits", [{"type": "RLIMIT_CORE", "hard": 2**64, "soft": 1}]))
    p = rt("run", "-b", b2, "bwk-u64-" + uuid.uuid4().hex[:8], check=1)
    assert "process.rlimits[0].hard: out of range (0 to 18446744073709551615)" in p.stderr, \
        p.stderr
    # a signed field keeps its range, and says so
    b3 = rt.bundle(["true"], name="i64", edit=lambda c: c["linux"].setdefault(
        "resources", {}).__setitem__("memory", {"limit": U64_MAX}))
    p = rt("run", "-b", b3, "bwk-u64-" + uuid.uuid4().hex[:8], check=1)
    assert "linux.resources.memory.limit: out of range (" in p.stderr, p.stderr


def no_pid_namespace(c):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_all_reaches_what_a_stopped_init_left(rt, tmp_path):
    """Without a pid namespace of its own, what the init started outlives it in the cgroup:
    `kill --all` after the init's exit (containerd's shim sends it then) kills it, where a
    plain kill of the stopped container is still an error."""
    b = rt.bundle(["sh", "-c", "sleep 301 & echo $!; exec sleep 1"], edit=no_pid_namespace)
    out = tmp_path / "out"
    cid, pid = rt.create(b, out=out)
    rt("start", cid)
    wait_exit(pid)
    left = int(out.read_text().split()[0])
    rt.reaper.append(left)
    assert alive(left)
    assert rt.state(cid)["status"] == "stopped"
    p = rt("kill", cid, "KILL", check=1)
    assert "is not running" in p.stderr, p.stderr
    assert alive(left)
    rt("kill", "--all", cid, "KILL")
    assert wait_for(lambda: not alive(left), timeout=5), f"pid {left} survived kill --all"
    rt("delete", cid)


STRACE = shutil.which("strace")


def cgroups_of(path):
    """The directories of cgroup path `path` (/a/b) in every hierarchy that has it."""
    return [d for d in Path("/sys/fs/cgroup").glob("*" + path) if d.is_dir()]


def create_killed(rt, b, cid, syscall, when):
    """`create` SIGKILLed by strace at the when-th call of `syscall` (rename: the atomic
    writes of config.json, then the first state.json; mkdirat: the state directory, then
    one cgroup directory after another)."""
    calls = "rename,renameat,renameat2" if syscall == "rename" else syscall
    subprocess.run([STRACE, "-f", "-o", os.devnull, "-e",
                    f"inject={calls}:signal=SIGKILL:when={when}", BULWARK, "--root",
                    str(rt.root), "create", "--bundle", str(b), cid],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60)


@pytest.mark.skipif(not STRACE, reason="strace needed to kill create half-way")
def test_delete_force_of_a_half_created_container(rt):
    """A create killed after it made its cgroup but before its first state.json: delete
    --force removes that cgroup (as the saved config names it) and the state; a cgroup that
    another container holds is never touched."""
    b = rt.bundle(["true"])
    points = [("rename", 2)] + [("mkdirat", n) for n in range(2, 7)]
    made = []
    try:
        for syscall, when in points:
            cid = f"bwk-half-{syscall}{when}-{uuid.uuid4().hex[:6]}"
            made.append(cid)
            create_killed(rt, b, cid, syscall, when)
            p = rt("delete", "--force", cid, check=None)
            assert p.returncode == 0, (syscall, when, p.stderr)
            assert cgroups_of(f"/bulwark/{cid}") == [], (syscall, when)
            assert not (rt.root / cid).exists(), (syscall, when)
        # one with the cgroup of a live container: left to it
        shared = f"/bwk-shared-{uuid.uuid4().hex[:6]}"
        b2 = rt.bundle(["sleep", "300"], name="b2",
                       edit=lambda c: c["linux"].__setitem__("cgroupsPath", shared))
        owner, pid = rt.create(b2)
        made.append("x")
        half = "bwk-half-shared-" + uuid.uuid4().hex[:6]
        create_killed(rt, b2, half, "rename", 2)
        rt("delete", "--force", half)
        assert not (rt.root / half).exists()
        assert len(cgroups_of(shared)) > 1 and rt.state(owner)["status"] == "created"
        rt("delete", "--force", owner)
        rt.ids.remove(owner)
        assert cgroups_of(shared) == []
    finally:
        for cid in made:
            for d in cgroups_of(f"/bulwark/{cid}"):
                d.rmdir()


def test_state_conflicts_are_runtime_errors(rt):
    """As runc: a container in the wrong state for the command exits 1, not 2 (usage)."""
    cid, pid = rt.create(rt.bundle(["true"]))
    rt("start", cid)
    wait_exit(pid)
    assert "is stopped" in rt("update", "--memory", "64m", cid, check=1).stderr
    assert "is stopped" in rt("start", cid, check=1).stderr
    assert "is stopped: cannot pause" in rt("pause", cid, check=1).stderr
    assert "exec needs it running" in rt("exec", cid, "true", check=1).stderr
    assert "exists" in rt.create(rt.bundle(["true"], name="b2"), cid=cid, check=1)[1].stderr


def test_exec_tty_without_console_socket_is_relayed(rt, tmp_path):
    """`exec -t` in the foreground without --console-socket: bulwark relays the pty itself,
    as runc does: what is typed reaches the process, its output comes back, the process has
    a terminal of its own, and its exit status is exec's."""
    cid, pid = rt.create(rt.bundle(["sleep", "120"]))
    rt("start", cid)
    master, slave = pty.openpty()
    p = subprocess.Popen([BULWARK, "--root", str(rt.root), "exec", "-t", cid, "sh"],
                         stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    try:
        os.write(master, b"read x; echo got-$x-$((2+3)); tty; test -t 0 && echo in-tty\n")
        os.write(master, b"typed\n")
        deadline = time.time() + 30
        while b"\nin-tty" not in out and time.time() < deadline:  # not the echoed line
            if select.select([master], [], [], 1)[0]:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        os.write(master, b"exit 7\n")
        assert p.wait(timeout=30) == 7, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert "got-typed-5" in text and "\nin-tty" in text, text
    assert "/dev/pts/" in text, text
    # still refused with --detach (no one would relay it)
    assert "console" in rt("exec", "-t", "-d", cid, "sh", check=2).stderr


@pytest.mark.skipif(not shutil.which("dockerd"), reason="needs dockerd")
def test_audit_reads_harden_as_the_runtime_does(dockerd_factory, tmp_path):
    """runtimeArgs of a bulwark runtime are read with the runtime's own option table:
    --harden=true and -harden harden, --harden=false does not."""
    args = {"bwk-eq-true": ["--harden=true"], "bwk-single": ["-harden"],
            "bwk-eq-false": ["--harden=false"], "bwk-after": ["--log-format", "json", "--harden"]}
    d = dockerd_factory(daemon_json={"runtimes": {
        n: {"path": BULWARK, "runtimeArgs": a} for n, a in args.items()}},
        args=("--bridge=none", "--iptables=false", "--ip-masq=false"))
    img = d.import_rootfs(make_busybox_rootfs(tmp_path / "rootfs"), "bwk-fix-bb:1")
    for n in args:  # created, never run: the audit reads the configuration
        d.docker("create", "--name", n, "--runtime", n, img, "true")
    p = subprocess.run([BULWARK, "audit", "containers", "--all", "--host", d.host, "--format",
                        "json"], capture_output=True, text=True, timeout=120)
    facts = json.loads(p.stdout)["facts"]
    for n in ("bwk-eq-true", "bwk-single", "bwk-after"):
        assert facts[f"containers.{n}.runtime"] == f"{n} (bulwark, hardened: --harden)", facts
    assert "not hardened" in facts["containers.bwk-eq-false.runtime"], facts


def test_spec_help_and_features_say_what_they_do(rt):
    help_ = rt("spec", "--help").stdout
    assert "1.0.2" in help_ and "runtime-spec 1.2" not in help_, help_
    assert "including user" not in help_ and "no user namespace" in help_, help_
    status = json.loads(rt("features").stdout)["annotations"]["org.bulwark.status"]
    words = status.split(":", 1)[1].split()
    for c in ("create", "run", "start", "state", "kill", "delete", "list", "exec", "ps",
              "pause", "resume", "update", "events", "spec", "features"):
        assert c in words, status
    assert "checkpoint" not in words and "restore" not in words, status


def test_usage_errors_reach_the_log(rt, tmp_path):
    """The shim reads only --log: a usage error (unknown option, a bad --log-format) is
    there too."""
    log = tmp_path / "log.json"
    rt("exec", "--no-such-option", "x", check=2, globals_=("--log", log, "--log-format", "json"))
    line = json.loads(log.read_text().splitlines()[-1])
    assert line["level"] == "error" and "--no-such-option" in line["msg"], line
    log2 = tmp_path / "log.txt"
    rt("state", "x", check=2, globals_=("--log", log2, "--log-format", "yaml"))
    assert "--log-format: 'text' or 'json', not 'yaml'" in log2.read_text()


def test_list_json_has_rootfs_and_owner_and_kill_0(rt):
    b = rt.bundle(["sleep", "60"])
    cid, pid = rt.create(b)
    c = next(c for c in json.loads(rt("list", "--format", "json").stdout) if c["id"] == cid)
    assert c["rootfs"] == str(b / "rootfs") and c["owner"] == "root", c
    rt("kill", cid, "0")  # signal 0: the init exists, nothing is sent
    assert rt.state(cid)["status"] == "created"
    rt("kill", cid, "KILL")
    wait_exit(pid)
    assert "is not running" in rt("kill", cid, "0", check=1).stderr


def test_delete_keeps_the_state_when_the_cgroup_stays(rt):
    """A cgroup rmdir refuses (a cgroup below it) fails the delete, naming it; the state
    stays so that a later delete finishes."""
    cid, pid = rt.create(rt.bundle(["sleep", "60"]))
    st = json.loads((rt.root / cid / "state.json").read_text())
    sub = Path(st["bulwark.cgroups"][0]) / "stay"
    sub.mkdir()
    try:
        p = rt("delete", "--force", cid, check=1)
        assert f"cgroup {st['bulwark.cgroups'][0]} cannot be removed" in p.stderr, p.stderr
        assert "not deleted" in p.stderr and (rt.root / cid / "state.json").exists()
    finally:
        sub.rmdir()
    rt("delete", "--force", cid)
    assert not (rt.root / cid).exists()
    assert not Path(st["bulwark.cgroups"][0]).exists()


def test_a_directory_bound_on_dev_is_left_as_it_is(rt, tmp_path):
    """`-v /dev:/dev` (a privileged engine's bind of the host's /dev): /dev is then that
    directory, and create makes nothing in it, as runc (needsSetupDev) — before, it unlinked
    and recreated the standard nodes and linux.devices there, on the host. A scratch
    directory stands in for the host's /dev."""
    fake = tmp_path / "hostdev"
    fake.mkdir()
    (fake / "null").write_text("a host file\n")
    os.chmod(fake / "null", 0o644)

    def edit(c):
        c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]
        c["mounts"].insert(1, {"destination": "/dev", "type": "bind", "source": str(fake),
                               "options": ["rbind", "rw"]})
        c["linux"]["devices"] = [{"path": "/dev/zero2", "type": "c", "major": 1, "minor": 5,
                                  "fileMode": 0o755, "uid": 0, "gid": 0}]
        c["linux"]["maskedPaths"] = []  # they mask with /dev/null, here a plain file

    before = {p.name: (p.lstat().st_mode, p.lstat().st_ino) for p in fake.iterdir()}
    b = rt.bundle(["/bin/true"], edit=edit)
    p = rt("run", "-b", b, "bwk-devbind-" + uuid.uuid4().hex[:8], check=None)
    assert p.returncode == 0, p.stderr
    after = {p.name: (p.lstat().st_mode, p.lstat().st_ino) for p in fake.iterdir()}
    assert after == before, (before, after)
    assert (fake / "null").read_text() == "a host file\n"


def test_sysfs_fallback_is_read_only_all_the_way_down(rt):
    """A user namespace without a network namespace of its own cannot mount sysfs: the host's
    /sys is bound instead (runc's and crun's fallback), and `ro` must reach every mount of
    that clone, its cgroup hierarchies and securityfs included, not only its top."""
    def edit(c):
        lx = c["linux"]
        lx["namespaces"] = [n for n in lx["namespaces"] if n["type"] != "network"]
        lx["namespaces"].append({"type": "user"})
        lx["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
        lx["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]

    base = world_tmpdir()  # the container's root must reach its root filesystem
    try:
        b = rt.bundle(["cat", "/proc/self/mountinfo"], name=base / "b", edit=edit)
        p = rt("run", "-b", b, "bwk-sysro-" + uuid.uuid4().hex[:8], check=None)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert p.returncode == 0, p.stderr
    sys_mounts = [line.split() for line in p.stdout.splitlines()
                  if line.split()[4] == "/sys" or line.split()[4].startswith("/sys/")]
    assert len(sys_mounts) > 1, p.stdout  # the host's submounts came along
    writable = [f[4] for f in sys_mounts if "ro" not in f[5].split(",")]
    assert not writable, writable
