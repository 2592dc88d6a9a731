"""linux.seccomp's SCMP_ACT_NOTIFY (#13): the filter is loaded with a listener, whose fd goes
to the seccomp agent at listenerPath over SCM_RIGHTS together with the container process state
(runtime-spec config-linux.md). A real agent (seccomp_agent.py) answers the notifications: the
first mkdir fails with the errno it chooses, the next one continues; the state it received is
checked field by field. Without the feature create refuses such a bundle (or mkdir would fail
with ENOSYS, a filter with no listener), so these tests fail."""
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from test_oci_lifecycle import Runtime, reaper, rt, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

AGENT = Path(__file__).with_name("seccomp_agent.py")
ENOMSG = 42  # "No message of desired type": an errno nothing else here returns


@pytest.fixture
def agent(rt):
    sock = rt.base / "agent.sock"
    logf = rt.base / "agent.log"
    p = subprocess.Popen([sys.executable, str(AGENT), str(sock), str(logf), str(ENOMSG)])
    try:
        deadline = time.time() + 10
        while not sock.exists() and time.time() < deadline:
            time.sleep(0.02)
        assert sock.exists(), "the agent did not start"
        yield sock, logf
    finally:
        p.kill()
        p.wait()


def records(logf):
    if not logf.exists():
        return []
    return [json.loads(line) for line in logf.read_text().splitlines() if line]


def notify(sock, metadata="MKNOD=/dev/null;bwk", default="SCMP_ACT_ALLOW",
           names=("mkdir", "mkdirat"), flags=None):
    def edit(c):
        sc = {"defaultAction": default, "listenerPath": str(sock),
              "syscalls": [{"names": list(names), "action": "SCMP_ACT_NOTIFY"}]}
        if metadata is not None:
            sc["listenerMetadata"] = metadata
        if flags:
            sc["flags"] = flags
        c["linux"]["seccomp"] = sc
        c["annotations"] = {"org.example.k": "v"}
        c["root"]["readonly"] = False  # the mkdir the agent lets continue must succeed
    return edit


SCRIPT = ("mkdir /tmp/a 2>&1; echo rc=$?; mkdir /tmp/b && ls -d /tmp/b; "
          "grep Seccomp_filters /proc/self/status")


def test_listener_gets_the_fd_and_the_state_and_answers(rt, agent):
    sock, logf = agent
    b = rt.bundle(["sh", "-c", SCRIPT], edit=notify(sock, flags=["SECCOMP_FILTER_FLAG_TSYNC"]))
    out = rt.base / "out"
    cid, pid = rt.create(b, out=out)
    got = [r for r in records(logf) if "state" in r]
    assert len(got) == 1, got  # sent during create, before the process runs
    r = got[0]
    assert r["nfds"] == 1 and r["fd_kind"] == "anon_inode:seccomp notify", r
    st = r["state"]
    assert st["ociVersion"] and st["fds"] == ["seccompFd"], st
    assert st["pid"] == pid and st["metadata"] == "MKNOD=/dev/null;bwk", st
    assert st["state"]["id"] == cid and st["state"]["status"] == "creating", st
    assert st["state"]["pid"] == pid and st["state"]["bundle"] == str(b), st
    assert st["state"]["annotations"] == {"org.example.k": "v"}, st
    # the container's init holds no copy of the listener (it could answer its own calls)
    held = [os.readlink(f"/proc/{pid}/fd/{f}") for f in os.listdir(f"/proc/{pid}/fd")]
    assert not [h for h in held if "seccomp" in h], held
    rt("start", cid)
    wait_for(lambda: "Seccomp_filters" in out.read_text())
    text = out.read_text()
    assert "No message of desired type" in text and "rc=1" in text, text
    assert "/tmp/b" in text, text  # the second mkdir continued
    answers = [r["answer"] for r in records(logf) if "notif" in r]
    assert answers[:2] == ["errno", "continue"], answers
    rt("delete", "--force", cid)


def test_exec_sends_its_own_listener(rt, agent):
    sock, logf = agent
    b = rt.bundle(["sleep", "60"], edit=notify(sock, metadata=None))
    cid, pid = rt.create(b)
    rt("start", cid)
    proc = rt.base / "p.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "mkdir /tmp/x; echo rc=$?"], "cwd": "/",
                                "env": ["PATH=/bin"]}))
    p = rt("exec", "-p", proc, cid)
    assert "rc=1" in p.stdout and "No message of desired type" in p.stderr + p.stdout, p
    states = [r["state"] for r in records(logf) if "state" in r]
    assert len(states) == 2, states
    ex = states[1]
    assert ex["state"]["status"] == "running" and ex["state"]["pid"] == pid, ex
    assert ex["pid"] != pid and "metadata" not in ex, ex
    rt("delete", "--force", cid)


def test_hardened_filter_stacks_on_the_listener_filter(rt, agent):
    sock, logf = agent
    b = rt.bundle(["sh", "-c", SCRIPT], edit=notify(sock))
    out = rt.base / "out"
    cid, pid = rt.create(b, out=out, extra=("--harden",))
    rt("start", cid)
    wait_for(lambda: "Seccomp_filters" in out.read_text())
    text = out.read_text()
    assert "No message of desired type" in text and "/tmp/b" in text, text
    assert "Seccomp_filters:\t2" in text, text  # the bundle's and bulwark's allowlist
    rt("delete", "--force", cid)


def test_refusals(rt, agent):
    sock, _ = agent
    cases = [
        (notify(rt.base / "nobody.sock"), 1, "connecting to the seccomp agent"),
        (notify(sock, default="SCMP_ACT_NOTIFY", names=("getpid",)), 1,
         "cannot be the default action"),
        (notify(sock, names=("sendmsg",)), 1, "SCMP_ACT_NOTIFY on sendmsg"),
    ]
    for i, (edit, code, msg) in enumerate(cases):
        b = rt.bundle(["true"], name=f"r{i}", edit=edit)
        _, p = rt.create(b, check=code)
        assert msg in p.stderr, (msg, p.stderr)
    # nothing left behind by the failed creates
    assert not any((rt.root).glob("*/state.json")) if rt.root.exists() else True

    def no_path(c):
        notify(sock)(c)
        del c["linux"]["seccomp"]["listenerPath"]
    b = rt.bundle(["true"], name="np", edit=no_path)
    _, p = rt.create(b, check=1)
    assert "listenerMetadata" in p.stderr or "needs a listenerPath" in p.stderr, p.stderr


def test_listener_path_without_notify_is_ignored(rt, agent):
    """The spec: without a NOTIFY action listenerPath is ignored (nothing is sent)."""
    sock, logf = agent

    def edit(c):
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(sock),
                                 "syscalls": [{"names": ["mkdir", "mkdirat"],
                                               "action": "SCMP_ACT_ERRNO"}]}
    p = rt("run", "-b", rt.bundle(["sh", "-c", "mkdir /tmp/a; echo rc=$?"], edit=edit),
           "bwk-" + uuid.uuid4().hex[:8])
    assert "rc=1" in p.stdout, p.stdout
    assert not records(logf)
