"""Smaller runtime behaviours of #13: process.oomScoreAdj written in the host's user namespace
(as runc's nsexec does), `exec --process` with "terminal": true relayed as `exec -t`, and
`run --cap-add` of a capability the kernel lacks. (The default seccomp program's memo files,
one per build and bounded: test_run_userns.py.)"""
import ctypes
import json
import os
import platform
import pty
import select
import shutil
import struct
import subprocess
import time
import uuid

import pytest

from conftest import BULWARK, make_busybox_rootfs  # noqa: F401
from run_util import world_tmpdir
from test_oci_lifecycle import reaper, rt, wait_exit, wait_for  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)


def userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]


def with_oom(value, user):
    def edit(c):
        c["process"]["oomScoreAdj"] = value
        if user:
            userns(c)
    return edit


@pytest.mark.parametrize("user", [False, True], ids=["host-userns", "own-userns"])
def test_oom_score_adj_is_written_before_the_user_namespace(rt, user):
    """process.oomScoreAdj is set while still in the host's user namespace and inherited by
    the init and what it runs: with a user namespace in the spec the init's
    /proc/self/oom_score_adj is the spec's value, for a raised value and for one equal to the
    current (lowering below it needs CAP_SYS_RESOURCE in the host's user namespace, which
    runc needs too)."""
    own = int(open("/proc/self/oom_score_adj").read())
    base = world_tmpdir()
    try:
        for i, value in enumerate((500, own)):
            b = rt.bundle(["cat", "/proc/self/oom_score_adj"], name=base / f"b{i}",
                          edit=with_oom(value, user))
            p = rt("run", "-b", b, "bwk-oom-" + uuid.uuid4().hex[:8], check=None)
            assert (p.returncode, p.stdout.strip()) == (0, str(value)), p.stderr
            if RUNC and not user:  # the same bundle under runc (which cannot open the
                # container's /dev/null in this bundle's user namespace, oomScoreAdj or not)
                r = subprocess.run([RUNC, "--root", str(base / "runc"), "run", "-b", str(b),
                                    "bwk-oom-runc-" + uuid.uuid4().hex[:8]],
                                   capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL)
                assert (r.returncode, r.stdout.strip()) == (0, str(value)), r.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("user", [False, True], ids=["host-userns", "own-userns"])
def test_exec_gets_the_containers_oom_score_adj(rt, tmp_path, user):
    """As runc: an exec'd process gets the container's process.oomScoreAdj (written by exec's
    first child before it joins the container's user namespace), not its process file's."""
    base = world_tmpdir()
    try:
        b = rt.bundle(["sleep", "120"], name=base / "b", edit=with_oom(400, user))
        cid, pid = rt.create(b)
        rt("start", cid)
        assert open(f"/proc/{pid}/oom_score_adj").read().strip() == "400"
        p = rt("exec", cid, "cat", "/proc/self/oom_score_adj")
        assert p.stdout.strip() == "400", p.stderr
        proc = tmp_path / "process.json"
        proc.write_text(json.dumps({"args": ["cat", "/proc/self/oom_score_adj"], "cwd": "/",
                                    "env": ["PATH=/bin"], "oomScoreAdj": 600,
                                    "user": {"uid": 0, "gid": 0}}))
        p = rt("exec", "--process", proc, cid)
        assert p.stdout.strip() == "400", p.stderr
        rt("delete", "--force", cid)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def relay(argv, typed, until, timeout=30):
    """argv run on a new pty: `typed` written to it, its output read until `until` appears
    after the echo; then "exit 7" typed. Returns (status, output)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    try:
        os.write(master, typed)
        deadline = time.time() + timeout
        while until not in out and time.time() < deadline and p.poll() is None:
            if select.select([master], [], [], 1)[0]:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        if p.poll() is None:
            os.write(master, b"exit 7\n")
        return p.wait(timeout=timeout), out.decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_exec_process_file_terminal_is_relayed(rt, tmp_path):
    """`exec --process FILE` whose process has "terminal": true, in the foreground without
    --console-socket, relays the pty as `exec -t` does (as runc's): typed input reaches the
    process, it has a terminal, its exit status is exec's. With --detach it is refused."""
    cid, pid = rt.create(rt.bundle(["sleep", "120"]))
    rt("start", cid)
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["sh"], "cwd": "/", "terminal": True,
                                "env": ["PATH=/bin:/usr/bin", "TERM=xterm"],
                                "user": {"uid": 0, "gid": 0}}))
    status, text = relay([BULWARK, "--root", str(rt.root), "exec", "--process", str(proc), cid],
                         b"read x; echo got-$x-$((2+3)); tty; test -t 0 && echo in-tty\n"
                         b"typed\n", b"\nin-tty")
    assert status == 7, text
    assert "got-typed-5" in text and "\nin-tty" in text and "/dev/pts/" in text, text
    assert "console" in rt("exec", "--process", proc, "-d", cid, check=2).stderr
    # a process file that is not valid: one error, before anything runs
    proc.write_text(json.dumps({"args": ["sh"], "cwd": "relative", "terminal": True}))
    p = rt("exec", "--process", proc, cid, check=None)
    assert p.returncode != 0 and "cwd" in p.stderr, p.stderr


def kernel_without_cap_bpf():
    """preexec_fn: a seccomp filter on which prctl(PR_CAPBSET_READ, N >= 39) fails with
    EINVAL, as on a kernel before 5.8 that does not know CAP_BPF (39) and what follows."""
    libc = ctypes.CDLL(None, use_errno=True)
    ld_abs = 0x20  # BPF_LD | BPF_W | BPF_ABS
    jeq, jge, ret = 0x15, 0x35, 0x06  # BPF_JMP | BPF_JEQ/JGE | BPF_K, BPF_RET | BPF_K
    allow, einval = 0x7FFF0000, 0x00050000 | 22
    insns = [(ld_abs, 0, 0, 0), (jeq, 0, 5, 157),  # nr == prctl
             (ld_abs, 0, 0, 16), (jeq, 0, 3, 23),  # args[0] == PR_CAPBSET_READ
             (ld_abs, 0, 0, 24), (jge, 0, 1, 39),  # args[1] >= CAP_BPF
             (ret, 0, 0, einval), (ret, 0, 0, allow)]
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(insns), ctypes.addressof(buf))
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp")


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the filter names x86_64's prctl")
def test_cap_add_unknown_to_the_kernel_is_not_granted(tmp_path):
    """`run --cap-add BPF` on a kernel without CAP_BPF (simulated: PR_CAPBSET_READ refuses
    39 and above): the capability is not among the container's effective ones, and the warning says it is
    not granted rather than that the container gains it. A known one still warns as before."""
    rfs = make_busybox_rootfs(tmp_path / "rootfs")
    env = {"PATH": os.environ["PATH"], "NO_COLOR": "1"}

    def run(cap, preexec=None):
        p = subprocess.run([BULWARK, "run", "--cap-add", cap, "--rootfs", str(rfs), "--",
                            "grep", "CapEff", "/proc/self/status"], capture_output=True,
                           text=True, env=env, timeout=120, preexec_fn=preexec)
        assert p.returncode == 0 and "AddressSanitizer" not in p.stderr, p.stderr
        return int(p.stdout.split()[1], 16), p.stderr

    bnd, err = run("BPF", kernel_without_cap_bpf)
    assert not bnd & (1 << 39), hex(bnd)
    assert "warning: --cap-add CAP_BPF: not granted: this kernel does not have that " \
        "capability" in err, err
    assert "gains" not in err, err
    bnd, err = run("BPF")  # this kernel's: granted, as the warning says
    assert bnd & (1 << 39) and "--cap-add CAP_BPF: the container gains" in err, err
