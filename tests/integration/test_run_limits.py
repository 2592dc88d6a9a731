"""`bulwark run` limits as a normal user: in a cgroup v2 subtree delegated to the user they
hold for the whole container (memory, pids); without one, one warning line says which limits
fall back to per-process rlimits and why. Every test checks what was left on the host's
cgroup tree, not only the exit status."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import subid_user, world_tmpdir

# Four processes each touching 400 MiB: under --memory 512m only a limit on the whole
# container stops them; RLIMIT_AS (per process) lets every one through.
HOGS = ("for i in 1 2 3 4; do dd if=/dev/zero of=/dev/null bs=400M count=1 2>&1 | "
        "grep -c 'records out' & done; wait")


@pytest.fixture(scope="module")
def rfs():
    return make_busybox_rootfs(world_tmpdir() / "rootfs")


def cgroup2_mount():
    """The cgroup2 mount point holding this process's cgroup, and that cgroup's path."""
    own = next((l[3:] for l in open("/proc/self/cgroup").read().splitlines()
                if l.startswith("0::")), None)
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        dash = f.index("-")
        if f[dash + 1] == "cgroup2" and f[3] == "/":
            return f[4].replace("\\040", " "), own
    return None, own


def as_user(uid, gid, args, cgroup=None, timeout=180):
    """bulwark run as uid:gid; with `cgroup`, started inside that cgroup (root moves the shell
    in, then drops to the user)."""
    # by path: a shell with built-in applets (busybox) would run its own setpriv
    cmd = [shutil.which("setpriv") or "setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
           BULWARK, "run", *args]
    if cgroup:
        cmd = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd="/", timeout=timeout,
                       env={"PATH": os.environ["PATH"], "NO_COLOR": "1",
                            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")})
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    return p


def tree(d):
    """Every directory below d (what bulwark could have created or left)."""
    return sorted(str(Path(r).relative_to(d)) for r, _, _ in os.walk(d))


class Delegated:
    """A child of the cgroup2 root handed to `uid` as systemd's Delegate=yes does: the
    directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads are the user's.
    `controllers` are enabled for it first (when the root offers them)."""

    def __init__(self, mount, uid, controllers=()):
        self.path = Path(mount) / f"bwk-test-deleg-{os.getpid()}"
        self.mount, self.uid, self.controllers = Path(mount), uid, controllers

    def __enter__(self):
        if self.controllers:
            (self.mount / "cgroup.subtree_control").write_text(
                " ".join("+" + c for c in self.controllers))
        self.path.mkdir()
        for f in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(self.path / f if f else self.path, self.uid, -1)
        return self

    def __exit__(self, *a):
        # deepest first; a process still inside would make rmdir fail loudly here
        for d in sorted((self.path / x for x in tree(self.path) if x != "."),
                        key=lambda p: -len(p.parts)):
            os.rmdir(d)
        os.rmdir(self.path)


def owned_by(d, uid):
    """Directories below d that belong to uid: what an unprivileged bulwark created."""
    return [r for r, _, _ in os.walk(d) if os.stat(r).st_uid == uid]


def fallback_lines(stderr):
    return [l for l in stderr.splitlines() if "RLIMIT" in l or "not enforced" in l]


def test_undelegated_warns_once_and_limits_are_per_process(rfs):
    """This process's cgroup is root's: a normal user gets rlimits, one line says which and
    why, and -q silences it. The four hogs all get through: the line is not alarmist."""
    uid, gid = subid_user()
    mount, own = cgroup2_mount()
    p = as_user(uid, gid, ["--cpus", "0.5", "--rootfs", str(rfs), "--", "/bin/sh", "-c", HOGS])
    assert p.returncode == 0 and p.stdout.split() == ["1"] * 4, (p.stdout, p.stderr)
    lines = fallback_lines(p.stderr)
    assert len(lines) == 1, p.stderr
    line = lines[0]
    assert line.startswith("bulwark: warning: ")
    if mount:
        assert f"cgroup v2 not delegated to uid {uid} (" in line, line
        assert "is owned by uid 0)" in line, line
    else:
        assert "no cgroup v2 entry in /proc/self/cgroup" in line, line
    for part in ("--memory applies per process (RLIMIT_AS)",
                 "--pids counts all your processes (RLIMIT_NPROC)", "--cpus is not enforced"):
        assert part in line, line
    if mount:  # nothing created on the host, no process moved
        assert owned_by(f"{mount}{own}", uid) == []
        assert not os.path.exists(f"{mount}{own}/bulwark-origin")
    # -q: not a word
    p = as_user(uid, gid, ["-q", "--rootfs", str(rfs), "true"])
    assert p.returncode == 0 and p.stderr == "", p.stderr
    # nothing to fall back for: no line (the unlimited flags say their own)
    p = as_user(uid, gid, ["--memory", "unlimited", "--pids", "unlimited", "--rootfs", str(rfs),
                           "true"])
    assert p.returncode == 0 and fallback_lines(p.stderr) == [], p.stderr
    assert "--memory unlimited" in p.stderr


def _mount_offering(*controllers):
    mount, _ = cgroup2_mount()
    if not mount:
        pytest.skip("no cgroup2 filesystem mounted: a pure cgroup v1 host")
    have = open(f"{mount}/cgroup.controllers").read().split()
    return mount, [c for c in controllers if c in have]


def test_delegated_without_controllers_is_left_alone(rfs):
    """A delegated cgroup whose parent hands down no memory, pids or cpu controller (as on a
    hybrid host, where v1 holds them) cannot limit anything: bulwark says so, names the cgroup
    and the reason, and neither moves the user's processes nor creates anything in it."""
    uid, gid = subid_user()
    mount, offered = _mount_offering("memory", "pids", "cpu")
    if offered:
        pytest.skip(f"the cgroup2 mount {mount} offers {', '.join(offered)}: covered by "
                    "test_delegated_subtree_limits_the_whole_container")
    with Delegated(mount, uid) as d:
        p = as_user(uid, gid, ["--rootfs", str(rfs), "--", "/bin/sh", "-c", "echo ok"],
                    cgroup=d.path)
        assert p.returncode == 0 and p.stdout == "ok\n", (p.stdout, p.stderr)
        lines = fallback_lines(p.stderr)
        assert len(lines) == 1, p.stderr
        assert (f"cgroup v2 {d.path} is delegated to uid {uid} but offers no memory, pids, cpu "
                "controller (") in lines[0], lines[0]
        assert "--memory applies per process (RLIMIT_AS)" in lines[0]
        assert "systemd-run" not in lines[0]  # delegation is there: it would not help
        assert tree(d.path) == ["."]  # no bulwark/, no bulwark-origin/
        assert (d.path / "cgroup.subtree_control").read_text().strip() == ""


def test_delegated_subtree_limits_the_whole_container(rfs):
    """The real thing (needs a cgroup2 root offering memory and pids, i.e. a pure v2 host, run
    as root): in a delegated subtree, --memory 512m holds for the four hogs together (the
    OOM killer takes the whole container: exit 137 and the message), --pids for the
    container's processes, no rlimit line; bulwark's own process goes to bulwark-origin and
    the container's cgroup is gone afterwards."""
    uid, gid = subid_user()
    mount, offered = _mount_offering("memory", "pids")
    if offered != ["memory", "pids"]:
        pytest.skip(f"the cgroup2 mount {mount} offers no memory and pids controllers (this "
                    "host binds them to cgroup v1 hierarchies): no subtree can be delegated; "
                    "the decision is unit-tested in tests/unit/test_cgroup_plan.c")
    with Delegated(mount, uid, controllers=("memory", "pids")) as d:
        p = as_user(uid, gid, ["--memory", "512m", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                               HOGS], cgroup=d.path)
        assert p.returncode == 137, (p.returncode, p.stdout, p.stderr)
        assert "container killed: out of memory (limit 512 MiB" in p.stderr, p.stderr
        assert fallback_lines(p.stderr) == [], p.stderr
        # the user's processes left the delegated cgroup so it could hand controllers down
        assert set((d.path / "cgroup.subtree_control").read_text().split()) >= {"memory",
                                                                                "pids"}
        assert tree(d.path) == [".", "bulwark", "bulwark-origin"], tree(d.path)
        assert (d.path / "cgroup.procs").read_text() == ""
        # pids: the container's own count, not every process of the user; started where the
        # user's processes now live (d itself refuses them: it hands controllers down)
        p = as_user(uid, gid, ["--pids", "10", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                               "for i in " + " ".join(map(str, range(20)))
                               + "; do sleep 3 & done 2>&1"],
                    cgroup=d.path / "bulwark-origin")
        assert "can't fork" in p.stdout or "Resource temporarily" in p.stdout, p.stdout
        assert fallback_lines(p.stderr) == [], p.stderr
        assert tree(d.path) == [".", "bulwark", "bulwark-origin"], tree(d.path)
