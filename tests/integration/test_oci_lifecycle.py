"""The OCI runtime lifecycle, driven as an engine's shim drives runc: `create` sets the container
up and exits, leaving its init blocked on the exec fifo; `start` releases it; `state` computes
the status from the init's pid and start time; `kill` signals it; `delete` refuses a running
container without --force and removes the cgroup and the state.

The test process is made a child subreaper (as containerd-shim is), so the inits that `create`
leaves behind become its children and their exit statuses can be read with waitpid."""
import ctypes
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import world_tmpdir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def reaper():
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    pids = []
    yield pids
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # reap whatever became ours (a pid namespace's init finishes its exit only once every
    # process of the namespace is reaped). A pid the test reaped itself (wait_exit) is gone:
    # waiting for it would last the whole deadline while this process has other children (a
    # session's dockerd).
    deadline = time.time() + 10
    while pids and time.time() < deadline:
        try:
            r, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if r in pids:
            pids.remove(r)
        elif r == 0:
            pids[:] = [p for p in pids if still_to_reap(p)]
            time.sleep(0.02)


def still_to_reap(pid):
    """pid is our child that has not exited, or alive elsewhere (ours once its parent exits);
    not when this process reaped it already."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return os.path.exists(f"/proc/{pid}")


class Runtime:
    def __init__(self, base: Path, reaper):
        self.root = base / "state"
        self.base = base
        self.reaper = reaper
        self.ids = []

    def __call__(self, *args, check=0, stdout=None, stdin=subprocess.DEVNULL, globals_=()):
        cmd = [BULWARK, "--root", str(self.root), *globals_, *map(str, args)]
        if stdout is not None:  # the container inherits create's stdio, as from a shim
            # (a file for stderr too: the init keeps it open, a pipe would never end)
            errf = self.base / "create.err"
            with open(errf, "w") as err:
                p = subprocess.run(cmd, stdout=stdout, stderr=err, stdin=stdin, text=True,
                                   timeout=60)
            p.stderr = errf.read_text()
        else:
            p = subprocess.run(cmd, capture_output=True, stdin=stdin, text=True, timeout=60)
        assert "AddressSanitizer" not in (p.stderr or ""), p.stderr
        if check is not None:
            assert p.returncode == check, (args, p.returncode, p.stderr)
        return p

    def bundle(self, args, name="b", edit=None):
        b = self.base / name
        b.mkdir()
        rootfs = make_busybox_rootfs(b / "rootfs")
        for applet in ("readlink", "tty", "trap", "cut"):
            if not (rootfs / "bin" / applet).exists():
                (rootfs / "bin" / applet).symlink_to("busybox")
        p = subprocess.run([BULWARK, "spec", "-b", str(b)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        if edit:
            edit(cfg)
        (b / "config.json").write_text(json.dumps(cfg))
        return b

    def create(self, bundle, cid=None, out=None, check=0, extra=()):
        cid = cid or "bwk-" + uuid.uuid4().hex[:10]
        pidf = self.base / f"{cid}.pid"
        with open(out or os.devnull, "w") as f:
            p = self(*extra, "create", "--bundle", bundle, "--pid-file", pidf, cid, stdout=f,
                     check=check)
        if p.returncode == 0:
            self.ids.append(cid)
            pid = int(pidf.read_text())
            self.reaper.append(pid)
            return cid, pid
        return cid, p

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def cleanup(self):
        for cid in self.ids:
            self("delete", "--force", cid, check=None)


@pytest.fixture
def rt(tmp_path, reaper):
    r = Runtime(tmp_path, reaper)
    yield r
    r.cleanup()


def wait_exit(pid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, st = os.waitpid(pid, os.WNOHANG)
        if r == pid:
            return st
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} did not exit")


def remove_cgroup_parent(cgroups_path):
    """The test's own cgroup parent (bulwark-test-ID), in every hierarchy: xdist workers run
    the other tests that make one meanwhile, so no test removes another's."""
    for parent in Path("/sys/fs/cgroup").glob("*" + str(Path(cgroups_path).parent)):
        try:
            parent.rmdir()
        except FileNotFoundError:
            pass  # a co-mounted hierarchy's other name (cpu and cpu,cpuacct)


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def assert_exe_immutable(pid):
    """CVE-2019-5736: what /proc/PID/exe of a bulwark process reaches cannot be written, not
    even by host root: the attack's handle (O_PATH on /proc/PID/exe, reopened for writing
    through /proc/self/fd once the runtime has exited) meets a read-only detached mount of the
    installed file (EROFS) or a sealed memfd (EPERM). While any process executes the file the
    reopen fails with ETXTBSY first, which protects nothing once they have all exited (other
    tests run the same binary, so that moment cannot be waited for here): the mount's
    read-only flag is what must hold. test_exe_immutable_check_can_fail shows the reopen
    succeeding on a writable copy."""
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe != os.path.realpath(BULWARK), exe
    fd = os.open(f"/proc/{pid}/exe", os.O_PATH | os.O_CLOEXEC)
    try:
        with pytest.raises(OSError) as e:
            os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_CLOEXEC))
        assert e.value.errno in (errno.EROFS, errno.EPERM, errno.ETXTBSY), e.value
        if not exe.startswith("/memfd:bulwark"):
            # the installed file itself (same inode), seen through a read-only mount
            st, host = os.fstat(fd), os.stat(BULWARK)
            assert (st.st_dev, st.st_ino) == (host.st_dev, host.st_ino)
            assert os.fstatvfs(fd).f_flag & os.ST_RDONLY
    finally:
        os.close(fd)


def test_exe_immutable_check_can_fail(tmp_path):
    """The check above on a process running from a writable copy: the reopen for writing
    succeeds once the process has exited, as the attack needs."""
    exe = tmp_path / "sleeper"
    shutil.copy("/bin/sleep", exe)
    p = subprocess.Popen([str(exe), "60"])
    try:
        fd = os.open(f"/proc/{p.pid}/exe", os.O_PATH | os.O_CLOEXEC)
    finally:
        p.kill()
        p.wait()
    try:
        os.close(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_CLOEXEC))
    finally:
        os.close(fd)


def test_create_start_state_kill_delete(rt, tmp_path):
    out = tmp_path / "out"
    b = rt.bundle(["/bin/sh", "-c", "echo started $$; hostname; id -u; exec sleep 60"])
    cid, pid = rt.create(b, out=out)
    st = rt.state(cid)
    assert st["status"] == "created" and st["pid"] == pid and st["id"] == cid
    assert st["ociVersion"].startswith("1.") and st["bundle"] == str(b)
    assert st["annotations"] == {"org.bulwark.seccomp": "default"}
    # set up, but the process has not run: nothing written yet, the init is still bulwark
    assert out.read_text() == ""
    assert (rt.root / cid / "exec.fifo").exists()
    # CVE-2019-5736: the init runs from an immutable copy of bulwark, never the host's binary
    assert_exe_immutable(pid)
    rt("start", cid)
    assert wait_for(lambda: len(out.read_text().split()) == 4)
    assert out.read_text().split() == ["started", "1", "bulwark", "0"]  # pid 1, its hostname
    assert rt.state(cid)["status"] == "running"
    assert not (rt.root / cid / "exec.fifo").exists()
    # a started container cannot be started again
    p = rt("start", cid, check=1)
    assert "is running: only a created container can be started" in p.stderr
    rt("kill", cid, "KILL")
    st = wait_exit(pid)
    assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL
    s = rt.state(cid)
    assert s["status"] == "stopped" and s["pid"] == 0
    rt("delete", cid)
    assert not (rt.root / cid).exists()
    p = rt("state", cid, check=1)
    assert f"container {cid} does not exist" in p.stderr


def test_exit_status_and_list(rt):
    b = rt.bundle(["/bin/sh", "-c", "exit 3"])
    cid, pid = rt.create(b)
    listed = json.loads(rt("list", "--format", "json").stdout)
    assert [(c["id"], c["status"], c["pid"]) for c in listed] == [(cid, "created", pid)]
    assert rt("list", "-q").stdout.split() == [cid]
    rt("start", cid)
    st = wait_exit(pid)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 3
    assert rt.state(cid)["status"] == "stopped"
    rt("delete", cid)  # a stopped container goes without --force
    assert json.loads(rt("list", "--format", "json").stdout) == []


def test_double_create_refused(rt):
    b = rt.bundle(["/bin/true"])
    cid, pid = rt.create(b)
    _, p = rt.create(b, cid=cid, check=1)
    assert f"container {cid} exists" in p.stderr.replace("'", "")
    # the first one is untouched
    assert rt.state(cid) ["status"] == "created" and rt.state(cid)["pid"] == pid


def test_delete_running_needs_force(rt):
    b = rt.bundle(["/bin/sleep", "60"], edit=lambda c: c["linux"].update(
        cgroupsPath=f"/bulwark-test-{uuid.uuid4().hex[:8]}/c",
        resources={"pids": {"limit": 7}}))
    cid, pid = rt.create(b)
    cg_path = json.loads((b / "config.json").read_text())["linux"]["cgroupsPath"]
    pids_dir = Path("/sys/fs/cgroup/pids" + cg_path)
    unified = Path("/sys/fs/cgroup" + cg_path)
    cg = pids_dir if pids_dir.exists() else unified
    assert (cg / "pids.max").read_text().strip() == "7"
    assert str(pid) in (cg / "cgroup.procs").read_text().split()
    rt("start", cid)
    # new limits for the running container, as containerd's shim sets them (JSON on stdin)
    p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "--resources", "-", cid],
                       input='{"pids": {"limit": 11}}', capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (cg / "pids.max").read_text().strip() == "11"
    p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "--resources", "-", cid],
                       input='[1]', capture_output=True, text=True)
    assert p.returncode == 1 and "not a JSON object" in p.stderr
    p = rt("delete", cid, check=1)
    assert "is running" in p.stderr and "--force" in p.stderr
    assert rt.state(cid)["status"] == "running"
    rt("delete", "--force", cid)
    st = wait_exit(pid)
    assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL
    assert not (rt.root / cid).exists() and not cg.exists()
    # the test's own parent (xdist workers run the other tests that make one meanwhile)
    remove_cgroup_parent(cg_path)


def test_delete_force_waits_on_the_inits_pidfd(rt, tmp_path):
    """delete --force of a running container waits for its init's death on the init's pidfd
    (readable the moment it exits), not by sleeping and re-reading /proc. The init is held
    alive past SIGKILL for a moment (a v1 freezer cgroup of its own, frozen: a frozen task
    dies only once thawed), so that delete must wait: strace sees the poll on the pidfd it
    signalled through, and no sleep before the cgroups are removed."""
    if not shutil.which("strace") or not Path("/sys/fs/cgroup/freezer/cgroup.procs").exists():
        pytest.skip("needs strace and the v1 freezer")
    leaf = uuid.uuid4().hex[:8]
    b = rt.bundle(["/bin/sleep", "60"], edit=lambda c: c["linux"].update(
        cgroupsPath=f"/bwk-test-wait/{leaf}"))
    cid, pid = rt.create(b)
    hold = Path(f"/sys/fs/cgroup/freezer/bwk-test-wait/{leaf}/hold")
    try:
        rt("start", cid)
        hold.mkdir()
        (hold / "cgroup.procs").write_text(str(pid))
        (hold / "freezer.state").write_text("FROZEN")
        assert wait_for(lambda: (hold / "freezer.state").read_text().strip() == "FROZEN")

        def release():
            time.sleep(0.5)
            (hold / "freezer.state").write_text("THAWED")
            for _ in range(300):  # delete retries its rmdir meanwhile
                try:
                    hold.rmdir()
                    return
                except OSError:
                    time.sleep(0.005)

        t = threading.Thread(target=release)
        t.start()
        trace = tmp_path / "trace"
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        p = subprocess.run([shutil.which("strace"), "-f", "-qq", "-o", str(trace), "-e",
                            "trace=pidfd_open,pidfd_send_signal,poll,ppoll,nanosleep,"
                            "clock_nanosleep,unlinkat", BULWARK, "--root", str(rt.root),
                            "delete", "--force", cid], capture_output=True, text=True,
                           env=dict(os.environ, ASAN_OPTIONS=asan), timeout=60)
        t.join()
        assert p.returncode == 0, p.stderr
        st = wait_exit(pid)
        assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL
        assert not (rt.root / cid).exists()
        lines = trace.read_text().splitlines()
        # strace pads a short call's line before " = " to a column
        opened = [l for l in lines if re.search(rf"pidfd_open\({pid}, 0\)\s+= \d+", l)]
        assert opened, lines
        fd = opened[0].rsplit("= ", 1)[1].strip()
        assert any(f"pidfd_send_signal({fd}, SIGKILL" in l for l in lines), lines
        first_rmdir = next(i for i, l in enumerate(lines) if "AT_REMOVEDIR" in l)
        waited = [l for l in lines[:first_rmdir] if f"poll([{{fd={fd}, events=POLLIN}}]" in l]
        assert waited and "revents=POLLIN" in waited[-1], lines
        assert not [l for l in lines[:first_rmdir] if "nanosleep" in l], lines
    finally:
        if hold.exists():
            (hold / "freezer.state").write_text("THAWED")
        rt("delete", "--force", cid, check=None)
        for d in (hold, hold.parent, *Path("/sys/fs/cgroup").glob("*/bwk-test-wait")):
            try:
                d.rmdir()
            except OSError:
                pass  # another run's container is in it


def test_delete_created_kills_its_init(rt):
    cid, pid = rt.create(rt.bundle(["/bin/true"]))
    rt("delete", cid)
    st = wait_exit(pid)
    assert os.WIFSIGNALED(st)
    assert not (rt.root / cid).exists()


def test_kill_delivers_the_signal(rt, tmp_path):
    out = tmp_path / "out"
    b = rt.bundle(["/bin/sh", "-c",
                   "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"])
    cid, pid = rt.create(b, out=out)
    rt("start", cid)
    assert wait_for(lambda: "ready" in out.read_text())
    rt("kill", cid, "SIGUSR1")
    st = wait_exit(pid)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7
    assert "got-usr1" in out.read_text()
    p = rt("kill", cid, "TERM", check=1)
    assert "is not running" in p.stderr
    p = rt("kill", cid, "NOSUCHSIG", check=2)
    assert "not a signal" in p.stderr


def test_stale_state(rt):
    # the init died while nobody watched (e.g. the host's shim was killed)
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"]))
    os.kill(pid, signal.SIGKILL)
    wait_exit(pid)
    assert rt.state(cid)["status"] == "stopped"
    p = rt("start", cid, check=1)
    assert "is stopped" in p.stderr
    # a pid the kernel gave to another process is not the container's: its start time differs
    f = rt.root / cid / "state.json"
    s = json.loads(f.read_text())
    s["pid"] = os.getpid()
    f.write_text(json.dumps(s))
    assert rt.state(cid)["status"] == "stopped"
    rt("kill", cid, "KILL", check=1)  # and never signalled
    rt("delete", cid)
    assert not (rt.root / cid).exists()
    # a create that crashed before writing its state: only delete --force removes it
    (rt.root / "half").mkdir()
    p = rt("state", "half", check=1)
    assert "did not finish" in p.stderr and "half" in p.stderr and "with --force" in p.stderr
    rt("delete", "half", check=1)
    rt("delete", "--force", "half")
    assert not (rt.root / "half").exists()


def test_network_namespace_path_is_joined(rt, tmp_path):
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        ns = f"/proc/{holder.pid}/ns/net"
        assert wait_for(lambda: os.readlink(ns) != os.readlink("/proc/self/ns/net"))
        out = tmp_path / "out"

        def edit(c):
            for n in c["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = ns
        b = rt.bundle(["/bin/readlink", "/proc/self/ns/net"], edit=edit)
        cid, pid = rt.create(b, out=out)
        rt("start", cid)
        wait_exit(pid)
        assert out.read_text().strip() == os.readlink(ns)
    finally:
        holder.kill()
        holder.wait()


def test_console_socket_gets_the_pty(rt, tmp_path):
    sock_path = tmp_path / "console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock_path))
    srv.listen(1)
    b = rt.bundle(["/bin/sh", "-c", "tty; echo in-tty"],
                  edit=lambda c: c["process"].update(terminal=True))
    # without a console socket, a terminal is refused
    _, p = rt.create(b, check=2)
    assert "--console-socket is required" in p.stderr
    cid = "bwk-" + uuid.uuid4().hex[:10]
    pidf = tmp_path / "c.pid"
    rt("create", "--bundle", b, "--console-socket", sock_path, "--pid-file", pidf, cid)
    rt.ids.append(cid)
    pid = int(pidf.read_text())
    rt.reaper.append(pid)
    conn, _ = srv.accept()
    msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    assert len(fds) == 1 and msg.startswith(b"/dev/pts/")
    master = fds[0]
    rt("start", cid)
    data = b""
    deadline = time.time() + 10
    while b"in-tty" not in data and time.time() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    wait_exit(pid)
    assert b"/dev/pts/0" in data and b"in-tty" in data


def test_hooks_get_the_state(rt, tmp_path):
    rec = tmp_path / "hooks"
    rec.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ncat > {rec}/$1\n")
    hook.chmod(0o755)
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(hooks={
        k: [{"path": str(hook), "args": ["hook.sh", k]}]
        for k in ("prestart", "createRuntime", "poststart", "poststop")}))
    cid, pid = rt.create(b)
    for k in ("prestart", "createRuntime"):
        s = json.loads((rec / k).read_text())
        assert s["status"] == "created" and s["pid"] == pid and s["id"] == cid
    assert not (rec / "poststart").exists()
    rt("start", cid)
    assert json.loads((rec / "poststart").read_text())["status"] == "running"
    wait_exit(pid)
    rt("delete", cid)
    assert json.loads((rec / "poststop").read_text())["status"] == "stopped"


def test_failing_hook_fails_create(rt, tmp_path):
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(
        hooks={"createRuntime": [{"path": "/bin/false"}]}))
    cid, p = rt.create(b, check=1)
    assert "createRuntime hook /bin/false failed" in p.stderr
    assert not (rt.root / cid).exists()  # nothing left behind


def test_errors_are_logged_as_json(rt, tmp_path):
    log = tmp_path / "log.json"
    p = rt("create", "--bundle", tmp_path / "nope", "x1", check=1,
           globals_=("--log", log, "--log-format", "json"))
    assert "bundle" in p.stderr
    line = json.loads(log.read_text().splitlines()[-1])
    assert line["level"] == "error" and "nope" in line["msg"]
    # the file exists whatever failed (containerd's shim opens it after any failure)
    log2 = tmp_path / "log2.json"
    rt("exec", "--no-such-option", "x", check=2, globals_=("--log", log2))
    assert log2.exists()


def test_bad_ids_and_root_only(rt, tmp_path):
    b = rt.bundle(["/bin/true"])
    for bad in ("../x", "a/b", ".", "x" * 2000):
        p = rt("create", "--bundle", b, bad, check=2)
        assert "container id" in p.stderr
    # a copy the normal user can reach (the checkout may sit under a 0700 /root, as on CI)
    d = world_tmpdir()
    try:
        bw = d / "bulwark"
        shutil.copy2(BULWARK, bw)
        p = subprocess.run([str(bw), "--root", str(rt.root), "state", "x"],
                           capture_output=True, text=True, user=65534, cwd="/")
        assert p.returncode != 0
        p = subprocess.run([str(bw), "--root", str(tmp_path / "r2"), "create", "--bundle",
                            str(b), "y"], capture_output=True, text=True, user=65534, cwd="/")
        assert p.returncode == 1 and "need root" in p.stderr, p.stderr
    finally:
        shutil.rmtree(d)


def test_exec_joins_the_container(rt, tmp_path):
    out = tmp_path / "out"
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"]), out=out)
    p = rt("exec", cid, "/bin/true", check=1)
    assert "is created: exec needs it running" in p.stderr
    rt("start", cid)
    # the container's pid namespace (its sleep is pid 1), hostname and seccomp filter
    p = rt("exec", cid, "/bin/sh", "-c",
           "cat /proc/1/cmdline; echo; hostname; grep Seccomp: /proc/self/status; exit 4",
           check=4)
    lines = p.stdout.split("\n")
    assert lines[0] == "/bin/sleep\x0060\x00" and lines[1] == "bulwark"
    assert lines[2].split() == ["Seccomp:", "2"]
    p = rt("exec", cid, "nosuch", check=1)
    assert 'exec: "nosuch": executable file not found' in p.stderr
    # runc's --process (a runtime-spec process object) and --detach with a pid file
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["/bin/sh", "-c", "echo $X > /dev/shm/x; sleep 60"],
                                "env": ["X=from-process-json"], "cwd": "/",
                                "user": {"uid": 65534, "gid": 65534}}))
    pidf = tmp_path / "exec.pid"
    with open(os.devnull, "w") as null:  # the detached process keeps its stdio
        rt("exec", "--process", proc, "--detach", "--pid-file", pidf, cid, stdout=null)
    epid = int(pidf.read_text())
    rt.reaper.append(epid)
    assert wait_for(lambda: rt("exec", cid, "cat", "/dev/shm/x", check=None).stdout.strip() ==
                    "from-process-json")
    assert os.stat(f"/proc/{epid}").st_uid == 65534
    rt("delete", "--force", cid)  # its processes go with it
    st = wait_exit(epid)
    assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL


def test_pause_resume(rt, tmp_path):
    out = tmp_path / "out"
    cid, pid = rt.create(rt.bundle(["/bin/sh", "-c", "while :; do echo x; sleep 0.02; done"]),
                         out=out)
    p = rt("pause", cid, check=1)
    assert "is created: cannot pause it" in p.stderr
    rt("start", cid)
    assert wait_for(lambda: out.read_text().count("x") > 2)
    rt("pause", cid)
    assert rt.state(cid)["status"] == "paused"
    n = out.read_text().count("x")
    time.sleep(0.3)
    assert out.read_text().count("x") == n  # frozen
    p = rt("delete", cid, check=1)
    assert "is paused" in p.stderr
    rt("resume", cid)
    assert rt.state(cid)["status"] == "running"
    assert wait_for(lambda: out.read_text().count("x") > n)
    rt("pause", cid)
    rt("delete", "--force", cid)  # a paused container is thawed to be killed
    st = wait_exit(pid)
    assert os.WIFSIGNALED(st)


def test_crashed_create_is_cleaned_by_delete_force(rt, tmp_path):
    """create killed after its init exists (here by a createRuntime hook, which runs while the
    init waits before pivot_root): the init sees its create process gone and exits; the state
    it left names the cgroup, and delete --force removes everything."""
    hook = tmp_path / "die.sh"
    hook.write_text("#!/bin/sh\nkill -9 $PPID\nsleep 1\n")
    hook.chmod(0o755)
    path = f"/bulwark-test-{uuid.uuid4().hex[:8]}/c"
    b = rt.bundle(["/bin/true"], edit=lambda c: (c.update(
        hooks={"createRuntime": [{"path": str(hook)}]}), c["linux"].update(cgroupsPath=path)))
    cid, p = rt.create(b, check=-9)
    pids_dir = Path("/sys/fs/cgroup/pids" + path)
    cg = pids_dir if pids_dir.exists() else Path("/sys/fs/cgroup" + path)
    left = (cg / "cgroup.procs").read_text().split()
    rt.reaper.extend(int(x) for x in left)
    assert len(left) <= 1  # the init, on its way out
    assert wait_for(lambda: not (cg / "cgroup.procs").read_text().split())
    assert rt.state(cid)["status"] == "stopped"
    rt("delete", "--force", cid)
    assert not cg.exists() and not (rt.root / cid).exists()
    remove_cgroup_parent(path)


def test_user_namespace_from_the_spec(rt, tmp_path):
    """linux.uidMappings/gidMappings written by the create process; the container's root is
    host uid 200000 and still opens its exec fifo."""
    out = tmp_path / "out"

    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    # the container's root must reach its root filesystem (as with runc): a 0755 path
    base = world_tmpdir()
    try:
        b = rt.bundle(["/bin/sh", "-c", "id -u; cat /proc/self/uid_map; exec sleep 60"],
                      name=base / "b", edit=edit)
        cid, pid = rt.create(b, out=out)
        rt("start", cid)
        assert wait_for(lambda: len(out.read_text().split()) == 4), out.read_text()
        assert out.read_text().split() == ["0", "0", "200000", "65536"]
        assert os.stat(f"/proc/{pid}").st_uid == 200000
        rt("delete", "--force", cid)
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---- run: create + start + wait, as runc run (#13) ----

def limits(cfg, memory=None, pids=None):
    res = cfg.setdefault("linux", {}).setdefault("resources", {})
    if memory:
        res["memory"] = {"limit": memory}
        if Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists():
            res["memory"]["swap"] = memory  # no swap either: the OOM killer must act
    if pids:
        res["pids"] = {"limit": pids}


def test_run_runs_to_completion_with_its_status(rt):
    b = rt.bundle(["sh", "-c", "echo hello from run; exit 7"])
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    p = rt("run", "-b", b, cid, check=7)
    assert p.stdout == "hello from run\n"
    # deleted after it exited (no --keep): its state is gone
    assert "does not exist" in rt("state", cid, check=1).stderr


def test_run_single_dash_options_and_keep(rt, tmp_path):
    b = rt.bundle(["sh", "-c", "exit 3"])
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    # runc's (urfave/cli) spellings: -opt, -opt=value, --opt=value
    p = subprocess.run([BULWARK, "-root", str(rt.root), "run", "-bundle=" + str(b), "-keep",
                        cid], capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr
    rt.ids.append(cid)
    assert rt.state(cid)["status"] == "stopped"
    p = subprocess.run([BULWARK, f"--root={rt.root}", "delete", "-force", cid],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "does not exist" in rt("state", cid, check=1).stderr


def test_run_detach_writes_the_pid_file(rt, tmp_path):
    b = rt.bundle(["sleep", "60"])
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    pidf = tmp_path / "run.pid"
    # the container keeps run's stdio (as with runc -d): a file, not a pipe
    with open(tmp_path / "run.out", "w") as out:
        p = rt("run", "-d", "--pid-file", pidf, "--bundle", b, cid, stdout=out)
    rt.ids.append(cid)
    pid = int(pidf.read_text())
    rt.reaper.append(pid)
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid, (st, p.stderr)
    assert open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0] == b"sleep"
    rt("kill", cid, "KILL")
    wait_exit(pid)
    rt("delete", cid)


def test_run_passes_signals_to_its_init(rt):
    b = rt.bundle(["sh", "-c", "trap 'exit 5' TERM; echo ready; while :; do sleep 0.1; done"])
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    proc = subprocess.Popen([BULWARK, "--root", str(rt.root), "run", "-b", str(b), cid],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 5, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_is_oci_only_when_asked(rt, tmp_path):
    """`run` is runc's with a global option, with -b/--bundle, or called as runc; else the
    daemonless `bulwark run IMAGE`."""
    assert subprocess.run([BULWARK, "run", "--help"], capture_output=True, text=True
                          ).stdout.startswith("usage: bulwark run ")  # the daemonless one
    p = subprocess.run([BULWARK, "--root", str(rt.root), "run", "--help"], capture_output=True,
                       text=True)
    assert p.stdout.startswith("usage: bulwark [GLOBAL] run [-b|--bundle DIR]"), p.stdout
    b = rt.bundle(["sh", "-c", "exit 4"])
    # -b without a global option: the state goes to the default root, removed after the run
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    p = subprocess.run([BULWARK, "run", "-b", str(b), cid], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 4, p.stderr
    assert not Path("/run/bulwark", cid).exists()
    # a symlink named runc: `runc run ID` in the bundle directory
    link = tmp_path / "runc"
    link.symlink_to(BULWARK)
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    p = subprocess.run([str(link), "run", cid], cwd=b, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 4, p.stderr


# ---- events (#13) ----

def cgroup_file(pid, ctrl, name):
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrl in ctrls.split(","):
            return Path(f"/sys/fs/cgroup/{ctrls}{path}/{name}")
    return Path(f"/sys/fs/cgroup{path}/{name}")  # cgroup v2: the unified line


def test_events_stats_match_the_cgroup(rt):
    b = rt.bundle(["sleep", "60"], edit=lambda c: limits(c, memory=64 << 20, pids=50))
    cid, pid = rt.create(b)
    rt("start", cid)
    p = rt("events", "--stats", cid)
    ev = json.loads(p.stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    assert d["memory"]["usage"]["limit"] == 64 << 20
    assert d["pids"]["limit"] == 50
    assert d["pids"]["current"] == int(cgroup_file(pid, "pids", "pids.current").read_text())
    assert 0 < d["memory"]["usage"]["usage"] <= 64 << 20
    assert d["cpu"]["usage"]["total"] > 0
    assert isinstance(d["memory"]["raw"], dict) and d["memory"]["raw"]
    assert rt.state(cid)["pid"] == pid
    # single-dash, and a stopped container is an error as in runc
    rt("kill", cid, "KILL")
    wait_exit(pid)
    p = rt("events", "-stats", cid, check=1)
    assert "not running" in p.stderr


def test_events_stats_blkio_and_network(rt, tmp_path):
    """runc's blkio (direct writes to a volume on a disk, counted by the container's blkio or
    io cgroup) and network_interfaces (its own network namespace's, from /proc/PID/net/dev)."""
    vol = tmp_path / "vol"
    vol.mkdir()

    def ed(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]
        c["linux"].pop("uidMappings", None)
        c["linux"].pop("gidMappings", None)
        c["mounts"].append({"destination": "/vol", "type": "bind", "source": str(vol),
                            "options": ["rbind", "rw"]})
    b = rt.bundle(["sh", "-c", "dd if=/dev/zero of=/vol/f bs=64k count=64 oflag=direct && "
                   "echo done > /vol/done; sleep 60"], edit=ed)
    cid, pid = rt.create(b)
    rt("start", cid)
    deadline = time.time() + 30
    while not (vol / "done").exists() and time.time() < deadline:
        time.sleep(0.1)
    # traffic in its network namespace: a connection refused on its loopback (SYN, RST; the
    # loopback is up in a namespace of its own, as runc has it)
    subprocess.run(["nsenter", "-t", str(pid), "-n", "python3", "-c",
                    "import socket; s = socket.socket(); s.settimeout(2); "
                    "s.connect_ex(('127.0.0.1', 9))"], check=True)
    d = json.loads(rt("events", "--stats", cid).stdout)["data"]
    dev = os.stat(vol).st_dev
    major, minor = os.major(dev), os.minor(dev)
    writes = [e for e in d["blkio"]["ioServiceBytesRecursive"] if e["op"] == "Write"]
    # the filesystem's device, or the whole disk it is a partition of
    assert any(e["value"] >= 4 << 20 and e["major"] == major for e in writes), (d["blkio"],
                                                                                 major, minor)
    assert any(e["op"] == "Write" and e["value"] >= 64
               for e in d["blkio"]["ioServicedRecursive"]), d["blkio"]
    assert d["hugetlb"] == {} or all("failcnt" in v for v in d["hugetlb"].values()), d
    nets = {n["Name"]: n for n in d["network_interfaces"]}
    assert list(nets) == ["lo"], nets  # its own namespace: no host interface
    assert nets["lo"]["TxPackets"] > 0 and nets["lo"]["RxBytes"] == nets["lo"]["TxBytes"], nets
    assert set(nets["lo"]) == {"Name", "RxBytes", "RxPackets", "RxErrors", "RxDropped",
                               "TxBytes", "TxPackets", "TxErrors", "TxDropped"}, nets
    rt("delete", "--force", cid)


def test_events_stream_reports_an_oom_kill(rt):
    b = rt.bundle(["sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1"],
                  edit=lambda c: limits(c, memory=16 << 20))
    cid, pid = rt.create(b)
    ev = subprocess.Popen([BULWARK, "--root", str(rt.root), "events", "--interval", "300ms",
                           cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rt("start", cid)
        wait_exit(pid, timeout=30)
        out, err = ev.communicate(timeout=30)  # the stream ends when the container stops
    finally:
        if ev.poll() is None:
            ev.kill()
    assert ev.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert {"type": "oom", "id": cid} in events, out
    stats = [e for e in events if e["type"] == "stats"]
    assert stats and all(e["id"] == cid for e in stats), out


def test_events_interval_must_be_a_duration(rt):
    assert "--interval" in rt("events", "--interval", "fast", "x", check=2).stderr


# ---- --systemd-cgroup (#13) ----

@pytest.mark.skipif(Path("/run/systemd/system").exists(), reason="systemd runs here")
def test_systemd_cgroup_without_systemd_is_one_clear_error(rt):
    b = rt.bundle(["true"])
    cid = "bwk-sd-" + uuid.uuid4().hex[:8]
    p = rt("--systemd-cgroup", "create", "--bundle", b, cid, check=1)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "systemd is not running" in lines[0], p.stderr
    assert "--systemd-cgroup" in lines[0]
    assert "does not exist" in rt("state", cid, check=1).stderr


# ---- the OCI commands read no environment and no config file (#17) ----

def test_oci_options_ignore_environment_and_config(rt, tmp_path):
    (tmp_path / "bulwark.yaml").write_text("format: json\nquiet: true\nroot: /nonexistent\n")
    env = dict(os.environ, BULWARK_FORMAT="json", BULWARK_QUIET="1", BULWARK_ROOT="/nowhere",
               BULWARK_BUNDLE="/nowhere", BULWARK_CONFIG=str(tmp_path / "bulwark.yaml"))
    b = rt.bundle(["true"])
    cid = "bwk-env-" + uuid.uuid4().hex[:8]
    with open(tmp_path / "create.out", "w") as out:  # the init keeps create's stdio
        p = subprocess.run([BULWARK, "--root", str(rt.root), "create", "--pid-file",
                            str(tmp_path / "p"), cid], cwd=b, env=env, stdout=out,
                           stderr=out, timeout=60)
    assert p.returncode == 0, (tmp_path / "create.out").read_text()
    rt.ids.append(cid)
    rt.reaper.append(int((tmp_path / "p").read_text()))
    p = subprocess.run([BULWARK, "--root", str(rt.root), "list"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith("ID "), p.stdout  # a table, not JSON
    assert cid in p.stdout


def test_run_relays_the_containers_terminal(rt):
    """process.terminal without --console-socket: run relays the pty (as runc run): what the
    container writes reaches bulwark's terminal, what is typed reaches the container."""
    import pty
    import select

    def term(cfg):
        cfg["process"]["terminal"] = True
    b = rt.bundle(["sh", "-c", "tty; read line; echo got-$line; exit 3"], edit=term)
    cid = "bwk-run-" + uuid.uuid4().hex[:8]
    master, slave = pty.openpty()
    proc = subprocess.Popen([BULWARK, "--root", str(rt.root), "run", "-b", str(b), cid],
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    sent = False
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent and b"/dev/" in out:
                os.write(master, b"hello\r")
                sent = True
            if proc.poll() is not None and not r:
                break
        assert proc.wait(timeout=20) == 3, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    assert "/dev/pts/" in text or "/dev/console" in text, text
    assert "got-hello" in text, text


def test_run_of_runc_specs_ambient_capabilities(rt):
    """`runc spec` asks for ambient capabilities without inheritable ones: the kernel refuses
    to raise them (EPERM) and the container runs without, as under runc and crun."""
    def caps(cfg):
        c = cfg["process"].setdefault("capabilities", {})
        c["ambient"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
        c["inheritable"] = []
    b = rt.bundle(["sh", "-c", "echo ran"], edit=caps)
    p = rt("run", "-b", b, "bwk-amb-" + uuid.uuid4().hex[:8])
    assert p.stdout == "ran\n", p.stderr


# ---- runc exec's process options, ps with ps(1) arguments, update's flags (#13) ----

def cap_eff(text):
    line = next(x for x in text.splitlines() if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


CAP_SYS_ADMIN, CAP_NET_RAW = 21, 13


def test_exec_process_options(rt):
    def nnp_off(cfg):
        cfg["process"]["noNewPrivileges"] = False
        cfg["process"]["env"] = ["PATH=/bin:/usr/bin", "FROM_CONFIG=yes"]
        cfg.pop("annotations", None)  # bulwark's built-in filter sets no_new_privs itself
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"], edit=nnp_off))
    rt("start", cid)
    script = ("pwd; echo $FROM_CONFIG $A $B; id -u; id -g; id -G; "
              "grep -E 'CapEff|NoNewPrivs' /proc/self/status")
    # the container's own process: its cwd, env, root user, caps and no_new_privs
    p = rt("exec", cid, "sh", "-c", script)
    lines = p.stdout.splitlines()
    assert lines[0] == "/" and lines[1] == "yes" and lines[2:4] == ["0", "0"], p.stdout
    base = cap_eff(p.stdout)
    assert base and not base & (1 << CAP_SYS_ADMIN)
    assert "NoNewPrivs:\t0" in p.stdout
    # each option changes what the process sees, single-dash and short forms included
    p = rt("exec", "--cwd", "/tmp", "-e", "A=1", "--env=B=two words", "-u", "65534:65534",
           "-g", "7", "-additional-gids", "8", "--no-new-privs", cid, "sh", "-c", script)
    lines = p.stdout.splitlines()
    assert lines[0] == "/tmp" and lines[1] == "yes 1 two words", p.stdout
    assert lines[2:4] == ["65534", "65534"] and lines[4].split() == ["65534", "7", "8"]
    assert "NoNewPrivs:\t1" in p.stdout
    p = rt("exec", "--cap", "CAP_SYS_ADMIN", "-c", "NET_RAW", cid, "sh", "-c", script)
    assert cap_eff(p.stdout) == base | 1 << CAP_SYS_ADMIN | 1 << CAP_NET_RAW
    # -u UID alone keeps the config's gid
    p = rt("exec", "-u", "65534", cid, "sh", "-c", "id -u; id -g")
    assert p.stdout.split() == ["65534", "0"]
    # refused clearly
    assert "--cap 'CAP_NOPE'" in rt("exec", "--cap", "CAP_NOPE", cid, "true", check=2).stderr
    assert "--user 'bob'" in rt("exec", "-u", "bob", cid, "true", check=2).stderr
    assert "--env 'X'" in rt("exec", "-e", "X", cid, "true", check=2).stderr
    assert "--cwd 'tmp'" in rt("exec", "--cwd", "tmp", cid, "true", check=2).stderr
    assert "descriptor 3 is not open" in rt("exec", "--preserve-fds", "2", cid, "true",
                                            check=2).stderr
    assert "a group id" in rt("exec", "-g", "x", cid, "true", check=2).stderr
    proc = rt.base / "p.json"
    proc.write_text(json.dumps({"args": ["true"], "cwd": "/"}))
    assert "is the whole process" in rt("exec", "-p", proc, "--cwd", "/", cid,
                                        check=2).stderr
    rt("exec", "-p", proc, cid)  # -p is --process
    # --apparmor reaches the process: applied, or refused where AppArmor is off
    p = rt("exec", "--apparmor", "bwk-test-profile", cid, "true", check=None)
    assert p.returncode == 0 or "bwk-test-profile" in p.stderr, p.stderr
    # a paused container: refused unless --ignore-paused
    rt("pause", cid)
    assert "--ignore-paused" in rt("exec", cid, "true", check=1).stderr
    rt("resume", cid)


def test_ps_runs_ps_on_the_containers_processes(rt, tmp_path):
    cid, pid = rt.create(rt.bundle(["/bin/sh", "-c", "sleep 60 & wait"]))
    rt("start", cid)
    assert wait_for(lambda: len(json.loads(rt("ps", "--format", "json", cid).stdout)) == 2)
    pids = json.loads(rt("ps", "--format", "json", cid).stdout)
    assert pid in pids
    # runc's default: ps -ef, its header, and only the container's rows
    lines = rt("ps", cid).stdout.splitlines()
    assert lines[0].split()[:3] == ["UID", "PID", "PPID"], lines
    rows = [l.split() for l in lines[1:]]
    assert sorted(int(r[1]) for r in rows) == sorted(pids), lines
    assert any(r[-2:] == ["sleep", "60"] for r in rows)
    # ps arguments after the id (single-dash ones included), the PID column found by name
    lines = rt("ps", cid, "-o", "comm,pid").stdout.splitlines()
    assert lines[0].split() == ["COMMAND", "PID"]
    assert sorted(l.split()[0] for l in lines[1:]) == ["sh", "sleep"], lines
    assert str(os.getpid()) not in rt("ps", cid, "-e", "-o", "pid").stdout.split()
    p = rt("ps", cid, "-o", "comm", check=2)
    assert "no PID column" in p.stderr
    assert "ps(1) failed" in rt("ps", cid, "--no-such-ps-option", check=1).stderr


def test_update_flags_merge_into_the_resources(rt):
    def res(cfg):
        limits(cfg, memory=64 << 20, pids=50)
        cfg["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 20000, "period": 100000}
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"], edit=res))
    rt("start", cid)
    v2 = cgroup_file(pid, "memory", "memory.max").exists()

    def mem():
        f = cgroup_file(pid, "memory", "memory.max" if v2 else "memory.limit_in_bytes")
        return int(f.read_text())

    def pids_max():
        return cgroup_file(pid, "pids", "pids.max").read_text().strip()

    def cpu():
        if v2:
            return cgroup_file(pid, "cpu", "cpu.max").read_text().split()
        return [cgroup_file(pid, "cpu", f).read_text().strip()
                for f in ("cpu.cfs_quota_us", "cpu.cfs_period_us")]

    saved = rt.root / cid / "config.json"
    assert mem() == 64 << 20 and pids_max() == "50"
    # one flag: that limit changes, the others stay (merged into the config's resources)
    if not v2:  # memory+swap was 64m as well (limits()): it must go first
        p = rt("update", "--memory", "128m", cid, check=2)
        assert "raise --memory-swap too" in p.stderr
        rt("update", "--memory-swap", "-1", cid)
    rt("update", "--memory", "128m", cid)
    assert mem() == 128 << 20 and pids_max() == "50" and cpu() == ["20000", "100000"]
    rt("update", "-pids-limit", "20", "--cpu-quota", "50000", "--cpu-period=200000", cid)
    assert pids_max() == "20" and cpu() == ["50000", "200000"] and mem() == 128 << 20
    if not v2:
        assert cgroup_file(pid, "cpu", "cpu.shares").read_text().strip() == "512"
        rt("update", "--cpu-shares", "256", cid)
        assert cgroup_file(pid, "cpu", "cpu.shares").read_text().strip() == "256"
    # the new resources are saved with the container's state
    r = json.loads(saved.read_text())["linux"]["resources"]
    assert r["memory"]["limit"] == 128 << 20 and r["pids"]["limit"] == 20
    assert r["cpu"]["quota"] == 50000 and r["cpu"]["period"] == 200000
    # --resources from standard input, the flags over it
    p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "-r", "-", "--memory", "96m",
                        cid], input='{"pids": {"limit": 30}, "memory": {"limit": 1048576}}',
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert pids_max() == "30" and mem() == 96 << 20
    # zeros are runc's "unchanged" (engines send whole objects): applied and saved so
    p = subprocess.run([BULWARK, "--root", str(rt.root), "update", "-r", "-", cid],
                       input='{"pids": {"limit": 25}, "memory": {"limit": 0, "swap": 0}}',
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert pids_max() == "25" and mem() == 96 << 20
    assert json.loads(saved.read_text())["linux"]["resources"]["memory"]["limit"] == 96 << 20
    rt("update", "--pids-limit", "-1", cid)
    assert pids_max() == "max"
    cpus = cgroup_file(pid, "cpuset", "cpuset.cpus")
    if cpus.exists():
        rt("update", "--cpuset-cpus", "0", cid)
        assert cpus.read_text().strip() == "0"
    # refused clearly, nothing changed
    assert "kernel memory" in rt("update", "--kernel-memory", "1m", cid, check=2).stderr
    assert "--memory 'lots'" in rt("update", "--memory", "lots", cid, check=2).stderr
    assert "nothing to update" in rt("update", cid, check=2).stderr
    assert "--cpu-shares '-5'" in rt("update", "--cpu-shares", "-5", cid, check=2).stderr
    assert mem() == 96 << 20


def test_kill_right_after_start_waits_for_the_inits_handler(rt):
    """A pid namespace's init gets only the signals it handles: one sent before a shell init
    has installed its trap is dropped by the kernel. kill waits (at most 100 ms) for the
    young init's handler, so the signal runtime-tools' killsig sends right after start
    arrives (this init installs its trap 50 ms after it starts)."""
    for _ in range(3):
        cid, pid = rt.create(rt.bundle(
            ["/bin/sh", "-c", "sleep 0.05; trap 'exit 7' USR1; while :; do sleep 0.01; done"],
            name="b" + uuid.uuid4().hex[:6]))
        rt("start", cid)
        rt("kill", cid, "USR1")
        st = wait_exit(pid, timeout=5)
        assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7, st
        rt("delete", cid)
        rt.ids.remove(cid)
    # an init that never handles the signal: sent all the same, after the bounded wait
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"], name="plain"))
    rt("start", cid)
    t = time.monotonic()
    rt("kill", cid, "TERM")
    assert time.monotonic() - t < 5
    rt("kill", cid, "KILL")
    wait_exit(pid)


# ---- the cgroup, walked fd by fd (#13) ----

def test_cgroup_paths_are_walked_below_the_mount(rt, tmp_path):
    """cgroupsPath is cleaned into the names state.json keeps ("//" and "." dropped), and a
    cgroup directory read back from state.json is opened component by component, each one
    checked to be on a cgroup file system: a tampered entry that goes through a directory
    mounted over a cgroup is not removed by delete."""
    top = "bwk-cgt-" + uuid.uuid4().hex[:8]

    def edit(cfg):
        cfg["linux"]["cgroupsPath"] = f"/{top}//a/./b/"
        limits(cfg, pids=20)

    b = rt.bundle(["sleep", "60"], edit=edit)
    cid, pid = rt.create(b)
    statef = rt.root / cid / "state.json"
    st = json.loads(statef.read_text())
    dirs = st["bulwark.cgroups"]
    hier = "/sys/fs/cgroup/pids" if os.path.isdir("/sys/fs/cgroup/pids") else "/sys/fs/cgroup"
    trap = Path(hier, top + "-m")
    outside = tmp_path / "outside"
    victim = outside / "victim"
    victim.mkdir(parents=True)
    trap.mkdir()
    subprocess.run(["mount", "--bind", str(outside), str(trap)], check=True)
    try:
        assert dirs and all(d.endswith(f"/{top}/a/b") and os.path.isdir(d) for d in dirs), dirs
        assert any(int(Path(d, "pids.max").read_text()) == 20 for d in dirs
                   if Path(d, "pids.max").exists())
        st["bulwark.cgroups"] = dirs + [str(trap / "victim")]
        statef.write_text(json.dumps(st))
        rt("delete", "--force", cid, check=None)
        wait_exit(pid)
        assert victim.is_dir(), "delete removed a directory that is not a cgroup"
        assert wait_for(lambda: not any(os.path.isdir(d) for d in dirs)), dirs
    finally:
        subprocess.run(["umount", str(trap)], check=False)
        trap.rmdir()
        for d in dirs:
            for sub in (d, os.path.dirname(d), os.path.dirname(os.path.dirname(d))):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
