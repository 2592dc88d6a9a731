"""A container's processes are in its cgroup before any of their own code runs (issue #13).

`create`'s first child joins the container's cgroup by itself before it forks the init (on v1
through each hierarchy's `tasks`, the cheap move of its own thread), so the init and everything
it forks are born there. Seen from each point where code of the bundle or the engine runs: the
createRuntime hook (host side, the init's /proc/PID/cgroup), the createContainer hook (forked by
the init), the startContainer hook, and the process itself, whose first action is reading
/proc/self/cgroup; and an `exec`'d process's first action."""
import json
import os
import sys
import uuid

import pytest

from test_oci_lifecycle import Runtime, reaper, remove_cgroup_parent, rt, wait_exit  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

# the controllers bulwark makes a directory in on a v1 host (oci_cgroup.c's create_v1)
MANAGED = {"pids", "memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "net_cls",
           "net_prio", "hugetlb"}


def assert_in_cgroup(text, cg_path, what):
    """Every managed line of a /proc/PID/cgroup text names cg_path (a v2 host: its one line)."""
    lines = [line.split(":", 2) for line in text.splitlines() if line.count(":") >= 2]
    checked = [(c, p) for _, c, p in lines if set(c.split(",")) & MANAGED]
    if not checked:
        checked = [(c, p) for _, c, p in lines if c == ""]
    assert checked, (what, text)
    for c, p in checked:
        assert p == cg_path, f"{what}: {c or 'unified'} is {p}, not {cg_path}:\n{text}"


def edit_for(cg_path, hooks=None):
    def edit(c):
        # no cgroup namespace: /proc/self/cgroup then shows the host's paths
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
        c["linux"]["cgroupsPath"] = cg_path
        c["linux"]["resources"] = {"pids": {"limit": 50}}
        if hooks:
            c["mounts"].append({"destination": "/rec", "type": "bind", "source": hooks[0],
                                "options": ["rbind", "rw"]})
            c["root"]["readonly"] = False
            c["hooks"] = hooks[1]
    return edit


def test_every_stage_runs_in_the_cgroup(rt, tmp_path):
    cg_path = f"/bulwark-test-{uuid.uuid4().hex[:8]}/c"
    rec = tmp_path / "rec"
    rec.mkdir()
    # a host hook: the init's cgroups (state.pid, a host pid) and its own (a child of the
    # runtime for createRuntime, of the init for createContainer)
    hook = tmp_path / "hook.py"
    hook.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    "s = json.load(sys.stdin)\n"
                    f"open('{rec}/' + sys.argv[1] + '.init', 'w').write("
                    "open('/proc/%d/cgroup' % s['pid']).read())\n"
                    f"open('{rec}/' + sys.argv[1] + '.self', 'w').write("
                    "open('/proc/self/cgroup').read())\n")
    hook.chmod(0o755)
    hooks = {k: [{"path": str(hook), "args": ["hook.py", k]}]
             for k in ("createRuntime", "createContainer")}
    hooks["startContainer"] = [{"path": "/bin/sh",
                                "args": ["sh", "-c", "cat /proc/self/cgroup > /rec/start"]}]
    out = tmp_path / "out"
    try:
        b = rt.bundle(["/bin/cat", "/proc/self/cgroup"], edit=edit_for(cg_path, (str(rec), hooks)))
        cid, pid = rt.create(b, out=out)
        assert_in_cgroup((rec / "createRuntime.init").read_text(), cg_path, "createRuntime: init")
        assert_in_cgroup((rec / "createContainer.init").read_text(), cg_path,
                         "createContainer: init")
        assert_in_cgroup((rec / "createContainer.self").read_text(), cg_path,
                         "createContainer: the hook")
        # the runtime's own hook process is not the container's
        rt_self = (rec / "createRuntime.self").read_text()
        assert cg_path not in rt_self, rt_self
        assert_in_cgroup(open(f"/proc/{pid}/cgroup").read(), cg_path, "created: init")
        rt("start", cid)
        wait_exit(pid)
        assert_in_cgroup((rec / "start").read_text(), cg_path, "startContainer")
        assert_in_cgroup(out.read_text(), cg_path, "the process's first read")
        rt("delete", "--force", cid)
    finally:
        rt.cleanup()
        remove_cgroup_parent(cg_path)


def test_exec_runs_in_the_cgroup(rt, tmp_path):
    cg_path = f"/bulwark-test-{uuid.uuid4().hex[:8]}/c"
    try:
        cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"], edit=edit_for(cg_path)))
        rt("start", cid)
        p = rt("exec", cid, "/bin/cat", "/proc/self/cgroup")
        assert_in_cgroup(p.stdout, cg_path, "exec: the process's first read")
        rt("delete", "--force", cid)
    finally:
        rt.cleanup()
        remove_cgroup_parent(cg_path)
