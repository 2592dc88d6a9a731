"""`bulwark run` behaviour: Docker semantics for the process, exit statuses, filesystem
defaults, limits, flags that relax a default (each warns), images through the layer cache."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs

sys.path.insert(0, str(Path(__file__).parent))
from image_util import D, F, L, Layer, O, W, docker_save  # noqa: E402


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    root = make_busybox_rootfs(tmp_path_factory.mktemp("run") / "rootfs")
    for a in ("seq", "tr", "stat", "ln", "chmod", "kill", "trap", "readlink", "find", "tail"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\napp:x:1000:\nextra:x:2000:app\n")
    return root


def run(rfs, *args, cmd=("true",), env=None, check=None, timeout=120):
    e = {"PATH": os.environ["PATH"], "NO_COLOR": "1"}
    if env:
        e.update(env)
    p = subprocess.run([BULWARK, "run", *args, "--rootfs", str(rfs), "--", *cmd],
                       capture_output=True, text=True, env=e, timeout=timeout)
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def sh(rfs, script, *args, **kw):
    return run(rfs, *args, cmd=("/bin/sh", "-c", script), **kw)


def test_exit_status_propagated(rfs):
    sh(rfs, "exit 7", check=7)
    sh(rfs, "kill -TERM $$", check=128 + 15)


def test_not_found_and_not_executable(rfs):
    p = run(rfs, cmd=("nosuchcmd",), check=127)
    assert "executable file not found" in p.stderr
    p = run(rfs, cmd=("/etc/passwd",), check=126)


def test_runtime_error_125(rfs):
    p = run(rfs, "-u", "nosuchuser", check=125)
    assert "unable to find user nosuchuser" in p.stderr
    p = subprocess.run([BULWARK, "run", "--rootfs", "/nonexistent", "true"],
                       capture_output=True, text=True)
    assert p.returncode == 125 and "bulwark:" in p.stderr


def test_usage_errors(rfs):
    for bad in (["--memory", "lots"], ["--cap-add", "NOPE"], ["-v", "relative:/x"],
                ["--net", "Bad/Name"], ["--secret", "noequals"]):
        p = run(rfs, *bad)
        assert p.returncode == 2, (bad, p.stderr)


def test_host_env_not_inherited_env_flags(rfs, tmp_path):
    ef = tmp_path / "envfile"
    ef.write_text("# comment\nFROMFILE=1\nOVER=file\n")
    p = sh(rfs, "env", "-e", "A=b", "--env-file", str(ef), "-e", "OVER=flag",
           env={"BWK_HOST_ONLY": "leak"}, check=0)
    env = dict(l.split("=", 1) for l in p.stdout.split())
    assert "BWK_HOST_ONLY" not in env
    assert env["A"] == "b" and env["FROMFILE"] == "1" and env["OVER"] == "flag"
    assert env["HOSTNAME"] == "bulwark" and env["HOME"] == "/root"


def test_user_and_groups(rfs):
    p = sh(rfs, "id; grep CapEff /proc/self/status; echo HOME=$HOME", "-u", "app", check=0)
    assert "uid=1000(app) gid=1000(app)" in p.stdout and "2000(extra)" in p.stdout
    assert "HOME=/home/app" in p.stdout  # from the image's passwd, as docker does
    assert "0000000000000000" in p.stdout  # non-root: no effective capabilities
    p = sh(rfs, "id -u; id -g", "-u", "4321:99", check=0)
    assert p.stdout.split() == ["4321", "99"]


def test_workdir_created_in_readonly_root(rfs):
    p = sh(rfs, "pwd", "-w", "/srv/app", check=0)
    assert p.stdout.strip() == "/srv/app"
    assert not (rfs / "srv").exists()  # the input is never modified


def test_root_readonly_and_read_write_discarded(rfs):
    p = sh(rfs, "echo x > /newfile", check=1)
    assert "Read-only file system" in p.stderr
    p = sh(rfs, "echo x > /newfile && cat /newfile", "--read-write", check=0)
    assert "--read-write" in p.stderr and p.stdout.strip() == "x"
    assert not (rfs / "newfile").exists()
    sh(rfs, "test ! -e /newfile", "--read-write", check=0)


def test_mounts_and_masks(rfs):
    p = sh(rfs, "cat /proc/mounts", check=0)
    m = {l.split()[1]: l.split() for l in p.stdout.splitlines()}
    assert m["/"][3].startswith("ro")
    assert m["/sys"][3].startswith("ro")
    assert m["/proc/sys"][3].startswith("ro")
    assert "size=65536k" in m["/tmp"][3] and "nosuid" in m["/tmp"][3]
    assert "/run" in m and "/dev/shm" in m and "/dev/pts" in m
    assert "/proc/keys" in m and "/proc/timer_list" in m
    p = sh(rfs, "ls /dev", check=0)
    assert set(p.stdout.split()) >= {"null", "zero", "full", "random", "urandom", "tty",
                                     "pts", "shm", "ptmx"}
    sh(rfs, "echo x > /dev/null && head -c 4 /dev/urandom | wc -c", check=0)


def test_tmpfs_size_flag(rfs):
    p = sh(rfs, "dd if=/dev/zero of=/tmp/f bs=1M count=50 2>&1; true", "--tmpfs-size", "8m",
           check=0)
    assert "No space left" in p.stdout


def test_oom_exit_137_with_message(rfs):
    p = sh(rfs, "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo $x | wc -c",
           "--memory", "32m", check=137)
    assert "out of memory" in p.stderr


def test_pids_limit(rfs):
    p = sh(rfs, "for i in $(seq 1 30); do sleep 5 & done 2>&1; echo end", "--pids", "10")
    assert "can't fork" in p.stdout or "Resource temporarily" in p.stdout


def _cgroup_layout():
    """("v1", memory hierarchy) on v1/hybrid hosts, ("v2", /sys/fs/cgroup) on pure v2 ones."""
    if os.path.isfile("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        return "v1", "/sys/fs/cgroup/memory"
    if os.path.isfile("/sys/fs/cgroup/cgroup.controllers"):
        return "v2", "/sys/fs/cgroup"
    pytest.skip("needs a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory or cgroup v2 "
                "at /sys/fs/cgroup: this host has neither")


def test_cgroups_created_and_removed(rfs):
    kind, top = _cgroup_layout()
    parent = f"{top}/bulwark"
    # this run's own cgroups only (run-PID@…, PID the bulwark process's): other tests' runs
    # come and go in the same parent meanwhile
    p = subprocess.Popen([BULWARK, "run", "--cpus", "0.5", "--rootfs", str(rfs), "--",
                          "/bin/sh", "-c", "cat /proc/self/cgroup"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and "ERROR: AddressSanitizer" not in err, err
    # cgroup namespace: the container sees itself as root
    assert ("memory:/\n" if kind == "v1" else "0::/\n") in out, out
    left = os.listdir(parent) if os.path.isdir(parent) else []
    assert [d for d in left if d.startswith(f"run-{p.pid}@")] == []


def _procs_while_running(start, pattern):
    """The pids listed by the cgroup.procs files matching `pattern` (with the pid of the
    bulwark process, which names its cgroups) while its container sleeps."""
    import glob
    proc = start()
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            found = {f: open(f).read().split()
                     for f in glob.glob(pattern.format(pid=proc.pid))}
            if found and all(len(v) >= 2 for v in found.values()):
                return found
            time.sleep(0.05)
        return found
    finally:
        proc.kill()
        proc.wait()


def test_default_cpu_weight_reaches_the_cgroup(rfs):
    """bulwark's CPU weight (50 on v2, 512 shares on v1: half a default task), given by the
    spec's producer and written by the sandbox as given."""
    import glob

    def start():
        return subprocess.Popen([BULWARK, "run", "-q", "--rootfs", str(rfs), "sleep", "30"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kind, _ = _cgroup_layout()
    pattern = ("/sys/fs/cgroup/cpu/bulwark/run-{pid}@*/cgroup.procs" if kind == "v1"
               else "/sys/fs/cgroup/bulwark/run-{pid}@*/cgroup.procs")
    proc = start()
    try:
        deadline = time.time() + 20
        got = []
        while time.time() < deadline and not got:
            got = [open(os.path.join(os.path.dirname(f), "cpu.shares" if kind == "v1"
                                     else "cpu.weight")).read().strip()
                   for f in glob.glob(pattern.format(pid=proc.pid))
                   if open(f).read().split()]  # the container is in it: limits written
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert got == (["512"] if kind == "v1" else ["50"]), got


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="needs cgroup v1 pids")
def test_container_inside_every_v1_cgroup(rfs):
    """The child moves itself into each v1 controller (tasks file, no grace-period wait):
    pid 1 and the command it forks are in memory, pids and cpu alike."""
    def start():
        return subprocess.Popen([BULWARK, "run", "-q", "--rootfs", str(rfs), "sleep", "30"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = _procs_while_running(start, "/sys/fs/cgroup/*/bulwark/run-{pid}@*/cgroup.procs")
    ctrls = {f.split("/")[4] for f in found}
    assert {"memory", "pids", "cpu"} <= ctrls, found
    assert len({tuple(sorted(v)) for v in found.values()}) == 1, found  # the same processes
    assert all(len(v) == 2 for v in found.values()), found  # init + sleep, nothing else


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="needs cgroup v1 pids")
@pytest.mark.serial  # any other `bulwark run` meanwhile may remove the stale cgroups it checks
@pytest.mark.parametrize("flags", [[], ["--no-init", "-u", "1000"]])
def test_sigkill_takes_the_container_along_and_next_run_cleans_up(rfs, flags):
    """SIGKILL cannot be forwarded: the container must die with bulwark (parent-death signal,
    also when the command itself is pid 1 under another uid) and the cgroups it could not
    remove are removed by the next run, at once (no lock held on them, their pid gone), in
    every hierarchy; while it ran, another run left them alone."""
    import fcntl
    import glob
    proc = subprocess.Popen([BULWARK, "run", "-q", *flags, "--rootfs", str(rfs), "sleep", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pattern = f"/sys/fs/cgroup/*/bulwark/run-{proc.pid}@*"
    want = 1 if flags else 2  # init forks the command after it joined: wait for both

    def members_now():
        dirs = glob.glob(pattern)
        return dirs, {int(x) for d in dirs for x in open(f"{d}/cgroup.procs").read().split()}
    held = []
    try:
        deadline = time.time() + 20
        dirs, members = members_now()
        while time.time() < deadline and len(members) < want:
            time.sleep(0.05)
            dirs, members = members_now()
        assert len(members) == want, (dirs, members)
        run(rfs, check=0)  # a live run's cgroups are not stale
        assert all(os.path.isdir(d) for d in dirs), dirs
        # the bulwark/ parents held shared: a run of another test scans them only exclusive,
        # so none can remove the dead run's cgroups before they are checked below
        for parent in {os.path.dirname(d) for d in dirs}:
            held.append(os.open(parent, os.O_RDONLY | os.O_DIRECTORY))
            fcntl.flock(held[-1], fcntl.LOCK_SH)
        proc.kill()
        proc.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in members):
            time.sleep(0.05)
        assert not any(os.path.exists(f"/proc/{p}") for p in members)  # init and sleep are gone
        assert all(os.path.isdir(d) for d in dirs)  # nobody could remove them
        assert {d.split("/")[4] for d in dirs} >= {"memory", "pids", "cpu"}, dirs
        while held:
            os.close(held.pop())
        run(rfs, "--memory", "64m", check=0)  # at once: no minute to wait
        assert not any(os.path.isdir(d) for d in dirs), dirs
    finally:
        for fd in held:
            os.close(fd)
        proc.kill()
        proc.wait()
        for d in glob.glob(pattern):  # this test's own, left by a failure
            try:
                os.rmdir(d)
            except OSError:
                pass


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/pids"), reason="needs cgroup v1 pids")
def test_stale_cgroup_reaped_only_once_unlocked(rfs):
    """What tells a run that a run-PID@… cgroup is stale is the flock its owner holds for its
    whole life, not only the pid in the name (the owner may be in another pid namespace, where
    its pid means nothing here): an empty cgroup named for a pid that does not exist is kept
    while a process holds its lock, and removed by the next run once nobody does."""
    import fcntl
    pid_max = int(open("/proc/sys/kernel/pid_max").read())  # never a live pid
    d = f"/sys/fs/cgroup/pids/bulwark/run-{pid_max}@cafe"
    os.makedirs(os.path.dirname(d), exist_ok=True)
    os.mkdir(d)
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            run(rfs, check=0)
            assert os.path.isdir(d)  # locked: its owner lives
        finally:
            os.close(fd)
        run(rfs, check=0)
        assert not os.path.isdir(d)
    finally:
        if os.path.isdir(d):
            os.rmdir(d)


def test_caps_add_drop_warn(rfs):
    p = sh(rfs, "grep CapBnd /proc/self/status", "--cap-drop", "ALL", check=0)
    assert "0000000000000000" in p.stdout
    p = sh(rfs, "grep CapBnd /proc/self/status", "--cap-add", "SYS_NICE", check=0)
    assert "warning: --cap-add CAP_SYS_NICE" in p.stderr
    assert int(p.stdout.split()[1], 16) & (1 << 23)


def test_seccomp_docker_json_profile(rfs, tmp_path):
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13},
                     {"names": ["chroot"], "action": "SCMP_ACT_ERRNO",
                      "excludes": {"caps": ["CAP_SYS_CHROOT"]}}]}))
    p = sh(rfs, "mkdir /tmp/x", "--seccomp", str(prof), check=1)
    assert "Permission denied" in p.stderr and "custom seccomp profile" in p.stderr
    # said once, where the policy is decided (run), not again by the sandbox
    assert p.stderr.count(f"custom seccomp profile {prof} replaces bulwark's default "
                          "policy") == 1, p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    p = run(rfs, "--seccomp", str(bad), check=125)
    assert "unsupported defaultAction" in p.stderr
    p = sh(rfs, "grep Seccomp: /proc/self/status", "--seccomp", "unconfined", check=0)
    assert "0" in p.stdout and "seccomp disabled" in p.stderr
    assert p.stderr.count("warning: seccomp disabled (--seccomp unconfined): every system call "
                          "reaches the kernel") == 1, p.stderr
    p = sh(rfs, "true", "--seccomp", "default", check=0)  # bulwark's own policy: nothing said
    assert "seccomp" not in p.stderr, p.stderr


def test_volumes(rfs, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "f").write_text("data")
    os.chmod(vol, 0o777)
    p = sh(rfs, "cat /data/f; echo x > /data/g", "-v", f"{vol}:/data", check=1)
    assert p.stdout == "data" and "Read-only" in p.stderr
    p = sh(rfs, "echo x > /data/g", "-v", f"{vol}:/data:rw", check=0)
    assert "writable" in p.stderr and (vol / "g").read_text() == "x\n"
    for src in ("/", "/etc", "/proc", "/var/run/docker.sock" if os.path.exists(
            "/var/run/docker.sock") else "/sys"):
        p = run(rfs, "-v", f"{src}:/host", check=125)
        assert "sensitive host path" in p.stderr
    p = sh(rfs, "test -e /host/passwd", "-v", "/etc:/host", "--allow-sensitive-mount", check=0)
    assert "sensitive" in p.stderr


def test_secret_on_readonly_tmpfs(rfs, tmp_path):
    s = tmp_path / "tok"
    s.write_text("s3cr3t")
    p = sh(rfs, "cat /run/secrets/api; env; echo y > /run/secrets/api", "--secret",
           f"api={s}", check=1)
    assert p.stdout.startswith("s3cr3t") and "s3cr3t" not in p.stdout[6:]
    assert "Read-only" in p.stderr
    p = sh(rfs, "grep secrets /proc/mounts", "--secret", f"api={s}", check=0)
    assert "tmpfs" in p.stdout and " ro," in p.stdout


def test_init_reaps_zombies_and_forwards_signals(rfs):
    p = sh(rfs, "sh -c 'sleep 0.1 & exec true'; sleep 0.5; "
                "cat /proc/[0-9]*/stat | grep -c ') Z' || true", check=0)
    assert p.stdout.strip() == "0"
    proc = subprocess.Popen([BULWARK, "run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                             "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 42
    p = sh(rfs, "echo $$; cat /proc/1/cmdline | tr '\\0' ' '", "--no-init", check=0)
    assert p.stdout.split()[0] == "1" and "--no-init" in p.stderr


def test_pid1_not_reachable_and_sealed(rfs):
    # CVE-2019-5736: pid 1 is bulwark from a sealed memfd and is not dumpable
    p = sh(rfs, "readlink /proc/1/exe; cat /proc/1/exe > /dev/null", check=1)
    assert "Permission denied" in p.stderr or "memfd" in p.stdout


def test_leaked_fd_and_cwd(rfs, tmp_path):
    r, w = os.pipe()
    os.set_inheritable(r, True)
    p = subprocess.run([BULWARK, "run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                        "ls /proc/self/fd; pwd"], capture_output=True, text=True,
                       pass_fds=(r,), cwd=str(tmp_path))
    os.close(r)
    os.close(w)
    assert p.stdout.split()[:-1] == ["0", "1", "2", "3"]  # 3 is ls's own directory fd
    assert p.stdout.split()[-1] == "/"


def make_image(path: Path, cfg):
    bb = Path("/bin/busybox").read_bytes()
    apps = ("sh", "cat", "ls", "id", "echo", "env", "pwd", "true")
    l1 = Layer([D("bin"), F("bin/busybox", bb, 0o755)] + [L(f"bin/{a}", "busybox")
                                                          for a in apps] +
               [D("etc"), F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                          "app:x:1000:1000:app:/home/app:/bin/sh\n"),
                F("etc/group", "root:x:0:\napp:x:1000:\n"), F("etc/gone", "old"),
                D("root", 0o700), F("root/secret", "rootonly", 0o600), D("home/app"),
                D("data"), F("data/old", "o")],
               comp="gzip")
    l2 = Layer([W("etc/gone"), F("etc/new", "new"), O("data"), F("data/fresh", "f")])
    return docker_save(path, [l1, l2], config=cfg)


def test_image_docker_semantics(tmp_path):
    cfg = {"Env": ["PATH=/bin", "FOO=bar"], "Entrypoint": ["/bin/sh", "-c"],
           "Cmd": ["id -un; pwd; echo $FOO; ls /etc"], "User": "app", "WorkingDir": "/home/app"}
    img = make_image(tmp_path / "img.tar", cfg)
    cache = tmp_path / "cache"
    p = subprocess.run([BULWARK, "run", "--cache", str(cache), str(img)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["app", "/home/app", "bar", "group", "new", "passwd"]
    # args replace Cmd, keep Entrypoint; -u/-w/-e override; root-owned 0600 files readable
    # by container root through the id-mapped layers
    p = subprocess.run([BULWARK, "run", "--cache", str(cache), "-u", "0", "-w", "/",
                        "-e", "FOO=baz", str(img), "cat /root/secret; echo; echo $FOO; pwd"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["rootonly", "baz", "/"]
    # --entrypoint drops the image's Cmd
    p = subprocess.run([BULWARK, "run", "--cache", str(cache), "--entrypoint", "/bin/echo",
                        str(img)], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "", p.stderr
    # whiteouts and opaque directories of the upper layer hide the lower layer's files
    p = subprocess.run([BULWARK, "run", "--cache", str(cache), str(img), "ls /data /etc"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "fresh" in p.stdout and "old" not in p.stdout and "gone" not in p.stdout


def test_image_tampered_layer_refused(tmp_path):
    img = make_image(tmp_path / "img.tar", {"Cmd": ["/bin/true"]})
    data = bytearray(img.read_bytes())
    i = data.find(b"etc/new")
    assert i > 0
    j = data.find(b"new", i + 10)
    assert j - i >= 500
    data[j:j + 3] = b"NEW"
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    p = subprocess.run([BULWARK, "run", "--cache", str(tmp_path / "c"), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode == 125 and "digest" in p.stderr.lower(), p.stderr


def test_tty_and_interactive(rfs):
    # -t: a pty of the container's own; -i: stdin relayed; without -i stdin is /dev/null
    p = subprocess.run(["script", "-qec", f"{BULWARK} run -it --rootfs {rfs} sh -c "
                        "'test -t 0 && echo IN_TTY; echo T=$TERM; read x; echo GOT:$x; exit 5'",
                        "/dev/null"], input="hello\n", capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 5, (p.stdout, p.stderr)
    assert "IN_TTY" in p.stdout and "T=xterm" in p.stdout and "GOT:hello" in p.stdout
    p = subprocess.run([BULWARK, "run", "-i", "--rootfs", str(rfs), "cat"], input="piped\n",
                       capture_output=True, text=True)
    assert p.stdout == "piped\n"
    p = subprocess.run([BULWARK, "run", "--rootfs", str(rfs), "cat"], input="ignored\n",
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == ""


def test_net_slirp_publish_and_no_host_loopback(rfs):
    if not (rfs / "bin" / "nc").exists():
        (rfs / "bin" / "nc").symlink_to("busybox")
    import socket
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen(1)
    hport = host.getsockname()[1]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    pub = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(
        [BULWARK, "run", "--net", "slirp", "-p", f"{pub}:8080", "--rootfs", str(rfs), "--",
         "/bin/sh", "-c",
         f"cat /etc/resolv.conf; ls /sys/class/net; nc -w 2 10.0.2.2 {hport} </dev/null "
         "&& echo HOST_LOOPBACK_OPEN; echo served | nc -l -p 8080"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = b""
    deadline = time.time() + 20
    while time.time() < deadline and not got:
        try:
            with socket.create_connection(("127.0.0.1", pub), timeout=2) as c:
                got = c.recv(100)
        except OSError:
            time.sleep(0.2)
    out, err = proc.communicate(timeout=30)
    host.close()
    assert got == b"served\n", (out, err)
    assert "nameserver 10.0.2.3" in out and "tap0" in out
    assert "warning: --net slirp" in err
    assert "HOST_LOOPBACK_OPEN" not in out


def test_publish_needs_a_network(rfs):
    p = run(rfs, "--net", "none", "-p", "8080:80", check=2)
    assert "--publish needs a network" in p.stderr


@pytest.fixture
def world_dir():
    """A scratch directory any user can reach (pytest's own tmp dirs are root-only)."""
    import shutil
    from run_util import world_tmpdir
    d = world_tmpdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_unprivileged_volume_readonly(rfs, world_dir):
    d = world_dir
    root = make_busybox_rootfs(d / "rootfs")
    os.chmod(root, 0o755)
    vol = d / "vol"
    vol.mkdir()
    (vol / "f").write_text("v")
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                        BULWARK, "run", "-q", "-v", f"{vol}:/data", "--rootfs", str(root), "--",
                        "/bin/sh", "-c", "cat /data/f; echo x > /data/g"],
                       capture_output=True, text=True, cwd="/")
    assert p.stdout == "v" and "Read-only" in p.stderr, (p.stdout, p.stderr)


def test_cgroup_v2_path(rfs):
    """Exercise the pure-v2 code on this hybrid host: bind the cgroup2 mount over
    /sys/fs/cgroup in a private mount namespace. Its controllers are bound to v1 here, so
    bulwark must say which limits it cannot enforce there and fall back to rlimits."""
    if not os.path.isfile("/sys/fs/cgroup/unified/cgroup.controllers"):
        pytest.skip("needs a hybrid host (cgroup v1 controllers plus cgroup2 at "
                    "/sys/fs/cgroup/unified); a pure v2 host runs this code path everywhere")
    if "pids" in open("/sys/fs/cgroup/unified/cgroup.controllers").read().split():
        pytest.skip("the cgroup2 mount offers the pids controller here: nothing falls back")
    script = (f"mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && {BULWARK} run --pids 20 "
              f"--rootfs {rfs} -- /bin/sh -c 'cat /proc/self/cgroup; "
              "for i in $(seq 1 40); do sleep 3 & done 2>&1 | tail -1'; "
              "ls /sys/fs/cgroup/bulwark")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=120)
    assert "0::/" in p.stdout, (p.stdout, p.stderr)  # own cgroup namespace on cgroup2
    # one line: which controller is missing and what that means for each limit
    lines = [l for l in p.stderr.splitlines() if "cgroup v2" in l]
    assert len(lines) == 1 and "offers no memory, pids, cpu controller" in lines[0], p.stderr
    assert "--pids counts per host uid (RLIMIT_NPROC)" in lines[0]
    assert "can't fork" in p.stdout or "Resource temporarily" in p.stdout  # RLIMIT_NPROC
    assert "run-" not in p.stdout  # removed afterwards
    # and the container is created inside it (clone3 CLONE_INTO_CGROUP): init + command
    script = (f"mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && ({BULWARK} run -q "
              f"--rootfs {rfs} -- sleep 3 &) && sleep 1 && "
              "cat /sys/fs/cgroup/bulwark/run-*/cgroup.procs | wc -l")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "2", (p.stdout, p.stderr)


def test_scan_gate(rfs, tmp_path):
    import shutil
    root = tmp_path / "scanme"
    shutil.copytree(rfs, root, symlinks=True)
    os.chmod(root / "bin" / "busybox", 0o4755)  # a medium finding (setuid-file)
    p = run(root, "--scan", "--fail-on", "medium", check=125)
    assert "scan found 1 finding" in p.stderr and "medium" in p.stderr
    run(root, "--scan", check=0)  # default --fail-on high: starts
    run(root, "--scan", "--fail-on", "none", check=0)


def test_image_oci_layout_dir_and_tar(tmp_path):
    from image_util import oci_layout
    bb = Path("/bin/busybox").read_bytes()
    layer = Layer([D("bin"), F("bin/busybox", bb, 0o755), L("bin/sh", "busybox"),
                   L("bin/echo", "busybox")], comp="zstd")
    im = {"layers": [layer], "ref": "v1",
          "config": {"Cmd": ["/bin/sh", "-c", "echo oci-ok"], "Env": ["PATH=/bin"]}}
    for name, as_tar in (("layout", False), ("layout.tar", True)):
        path = oci_layout(tmp_path / name, [im], as_tar=as_tar)
        p = subprocess.run([BULWARK, "run", "--cache", str(tmp_path / "cache"), str(path)],
                           capture_output=True, text=True)
        assert p.returncode == 0 and p.stdout == "oci-ok\n", (name, p.stdout, p.stderr)


def test_image_rootless_whiteouts_and_opaque_dirs(world_dir):
    """An unprivileged layer cache lists deletions beside each layer; run turns them into a
    mask layer so that the container sees what the image really contains."""
    d = world_dir
    img = make_image(d / "img.tar", {"Cmd": ["/bin/sh", "-c", "ls /data /etc"]})
    os.chmod(img, 0o644)
    os.chmod(d, 0o777)
    p = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                        BULWARK, "run", "-q", "-u", "0", "--cache", str(d / "cache"), str(img)],
                       capture_output=True, text=True, cwd="/")
    assert p.returncode == 0, p.stderr
    assert "fresh" in p.stdout and "old" not in p.stdout and "gone" not in p.stdout, p.stdout
