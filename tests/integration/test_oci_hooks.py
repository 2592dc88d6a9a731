"""OCI hooks, the six kinds, driven through the real binary with bundles (issue #13).

prestart and createRuntime run in the runtime's namespaces while the init waits before
pivot_root; createContainer runs in the init, in the container's mount namespace before
pivot_root (the host's paths still resolve); startContainer runs in the container once `start`
released it and the init has become the process (its user, capabilities, no_new_privs and seccomp
filter, as runc and crun), right before the process's program; poststart after start, poststop
after delete. Each
gets the state on stdin. A failing create-time or startContainer hook fails create or start and
leaves nothing running; a failing poststart or poststop hook is a warning and the rest still
run."""
import json
import os
import time

import pytest

from test_oci_lifecycle import Runtime, reaper, rt, wait_exit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")


def recorder(tmp_path):
    """A host directory bind-mounted at /rec in the container, and a host hook that appends its
    first argument and its mount namespace to /rec/order and saves its stdin as /rec/KIND."""
    rec = tmp_path / "rec"
    rec.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ncat > {rec}/$1\n"
                    f"echo \"$1 $(readlink /proc/self/ns/mnt) $HOOKENV\" >> {rec}/order\n")
    hook.chmod(0o755)
    return rec, hook


def bind_rec(c, rec):
    c["mounts"].append({"destination": "/rec", "type": "bind", "source": str(rec),
                        "options": ["rbind", "rw"]})
    c["root"]["readonly"] = False


def order(rec):
    return [line.split() for line in (rec / "order").read_text().splitlines()]


def test_all_six_kinds_in_order_and_namespace(rt, tmp_path):
    rec, hook = recorder(tmp_path)
    host_mnt = os.readlink("/proc/self/ns/mnt")
    # startContainer resolves in the container: the rootfs's sh, writing to /rec
    start_hook = {"path": "/bin/sh", "args": [
        "sh", "-c", "cat > /rec/startContainer; "
        "echo \"startContainer $(readlink /proc/self/ns/mnt) $HOOKENV\" >> /rec/order"],
        "env": ["HOOKENV=in-container"]}

    def edit(c):
        bind_rec(c, rec)
        c["hooks"] = {k: [{"path": str(hook), "args": ["hook.sh", k], "env": [f"HOOKENV={k}-env"],
                           "timeout": 10}]
                      for k in ("prestart", "createRuntime", "createContainer", "poststart",
                                "poststop")}
        c["hooks"]["startContainer"] = [start_hook]
    b = rt.bundle(["/bin/sh", "-c", "echo process x x >> /rec/order; "
                   "grep SigIgn /proc/self/status > /rec/sigign"], edit=edit)
    cid, pid = rt.create(b)
    ctr_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    assert ctr_mnt != host_mnt
    o = order(rec)
    assert [x[0] for x in o] == ["prestart", "createRuntime", "createContainer"], o
    assert o[0][1] == host_mnt and o[1][1] == host_mnt  # the runtime's namespace
    assert o[2][1] == ctr_mnt  # the container's, before pivot_root
    assert [x[2] for x in o] == ["prestart-env", "createRuntime-env", "createContainer-env"]
    for k in ("prestart", "createRuntime", "createContainer"):
        s = json.loads((rec / k).read_text())
        # "created" as from crun (runc: "creating"; runtime-tools' hooks_stdin wants this)
        assert s["status"] == "created" and s["pid"] == pid and s["id"] == cid, (k, s)
        assert s["bundle"] == str(b)
    assert rt.state(cid)["status"] == "created"
    rt("start", cid)
    wait_exit(pid)
    deadline = time.time() + 10
    while len(order(rec)) < 6 and time.time() < deadline:
        time.sleep(0.02)
    o = order(rec)
    kinds = [x[0] for x in o]
    assert kinds[3] == "startContainer" and set(kinds[4:]) == {"process", "poststart"}, o
    assert o[3][1] == ctr_mnt and o[3][2] == "in-container"
    s = json.loads((rec / "startContainer").read_text())
    assert s["status"] == "created" and s["id"] == cid
    assert json.loads((rec / "poststart").read_text())["status"] == "running"
    # the init ignored SIGPIPE while it fed its hooks: the program must not inherit that
    assert not int((rec / "sigign").read_text().split()[1], 16) & (1 << 12)
    rt("delete", cid)
    assert order(rec)[-1][0] == "poststop"
    assert json.loads((rec / "poststop").read_text())["status"] == "stopped"


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_cleans_up(rt, tmp_path, kind):
    marker = tmp_path / "ran"
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(hooks={
        kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}],
        # a later create-time hook must not run once one failed
        "createContainer" if kind != "createContainer" else "startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}))
    cid, p = rt.create(b, check=1)
    assert f"{kind} hook /bin/sh failed (status 3)" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (rt.root / cid).exists()  # no state, no cgroup, no init left
    assert not marker.exists()
    assert not any(f"bulwark-{cid}" in d for d in os.listdir("/sys/fs/cgroup"))


def test_create_hook_timeout(rt, tmp_path):
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(hooks={
        "createContainer": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}))
    t = time.time()
    cid, p = rt.create(b, check=1)
    assert time.time() - t < 15
    assert "createContainer hook /bin/sleep: no exit within 1 s" in p.stderr, p.stderr
    assert not (rt.root / cid).exists()


def test_failing_start_container_hook_fails_start(rt, tmp_path):
    rec, _ = recorder(tmp_path)

    def edit(c):
        bind_rec(c, rec)
        c["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}],
                      "poststop": [{"path": "/bin/sh",
                                    "args": ["sh", "-c", f"touch {rec}/poststop"]}]}
    b = rt.bundle(["/bin/sh", "-c", "touch /rec/process"], edit=edit)
    cid, pid = rt.create(b)
    p = rt("start", cid, check=1)
    assert "startContainer hook /bin/sh failed (status 4)" in p.stderr, p.stderr
    wait_exit(pid)
    assert not (rec / "process").exists()  # the program never ran
    assert rt.state(cid)["status"] == "stopped"
    rt("delete", cid)  # the lifecycle goes on: poststop
    assert (rec / "poststop").exists()


def status_fields(text):
    f = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k: f[k].split() for k in ("Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs",
                                      "Seccomp")}


def test_start_container_hook_runs_as_the_process(rt, tmp_path):
    """startContainer runs where runc (after finalizeNamespace and the filter) and crun (after
    the capabilities and the filter) run it: in the init once it has become the process, right
    before the exec. The hook's parent (the init, pid 1) already has the process's uid and gid,
    capabilities, no_new_privs and seccomp filter the program then runs with."""
    rec = tmp_path / "rec"
    rec.mkdir()
    rec.chmod(0o777)  # written by uid 1000
    kill = ["CAP_KILL"]

    def edit(c):
        bind_rec(c, rec)
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["process"]["capabilities"] = {"bounding": kill, "effective": kill, "permitted": kill}
        c["process"]["noNewPrivileges"] = True
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
        c["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": [
            "sh", "-c", "cat /proc/$PPID/status > /rec/init; echo $PPID > /rec/ppid"]}]}
    b = rt.bundle(["/bin/sh", "-c", "cat /proc/self/status > /rec/process"], edit=edit)
    cid, pid = rt.create(b)
    rt("start", cid)
    wait_exit(pid)
    assert (rec / "ppid").read_text().strip() == "1"  # the init ran it
    init, proc = status_fields((rec / "init").read_text()), \
        status_fields((rec / "process").read_text())
    assert init["Uid"] == ["1000"] * 4 and init["Gid"] == ["1000"] * 4, init
    cap_kill = f"{1 << 5:016x}"
    assert init["CapEff"] == init["CapPrm"] == init["CapBnd"] == [cap_kill], init
    assert init["NoNewPrivs"] == ["1"] and init["Seccomp"] == ["2"], init
    # (a non-root exec clears the permitted and effective sets: the bounding set stays)
    for k in ("Uid", "Gid", "CapBnd", "NoNewPrivs", "Seccomp"):
        assert init[k] == proc[k], (k, init, proc)


@pytest.mark.parametrize("kind", ["poststart", "poststop"])
def test_failing_post_hook_warns_and_the_rest_run(rt, tmp_path, kind):
    rec, hook = recorder(tmp_path)
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(hooks={kind: [
        {"path": "/bin/false"}, {"path": str(hook), "args": ["hook.sh", kind]}]}))
    cid, pid = rt.create(b)
    p = rt("start", cid)
    wait_exit(pid)
    if kind == "poststop":
        p = rt("delete", cid)
    assert f"{kind} hook /bin/false failed" in p.stderr, p.stderr
    assert (rec / kind).exists()  # the second hook ran


def test_in_container_hooks_get_a_large_state(rt, tmp_path):
    """The init's hooks get the state from the create process in one message: annotations of
    ~100 KB arrive whole; past the bound, create says so."""
    rec, hook = recorder(tmp_path)
    big = {f"a{i}": "x" * 1000 for i in range(100)}

    def edit(c, ann):
        c["annotations"] = ann
        c["hooks"] = {"createContainer": [{"path": str(hook), "args": ["hook.sh", "cc"]}]}
    b = rt.bundle(["/bin/true"], edit=lambda c: edit(c, big))
    cid, pid = rt.create(b)
    assert json.loads((rec / "cc").read_text())["annotations"] == big
    huge = {f"a{i}": "x" * 1000 for i in range(200)}
    b = rt.bundle(["/bin/true"], name="huge", edit=lambda c: edit(c, huge))
    cid, p = rt.create(b, check=1)
    assert "too large for createContainer and startContainer hooks" in p.stderr, p.stderr
    assert not (rt.root / cid).exists()


def test_slow_start_container_hook_failure_reaches_start(rt, tmp_path):
    """start waits for the startContainer hooks as long as their timeouts allow (not only its
    usual 5 s), so a failure after 8 s is still start's error."""
    b = rt.bundle(["/bin/true"], edit=lambda c: c.update(hooks={"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "sleep 8; exit 5"], "timeout": 20}]}))
    cid, pid = rt.create(b)
    p = rt("start", cid, check=1)
    assert "startContainer hook /bin/sh failed (status 5)" in p.stderr, p.stderr
    wait_exit(pid)
