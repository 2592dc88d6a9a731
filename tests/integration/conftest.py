"""Shared fixtures for the integration tests: the binary under test, busybox root
filesystems, and a private dockerd (Debian's docker.io) started by the tests themselves."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
BULWARK = os.environ.get("BULWARK", str(TOP / "build" / "asan" / "bulwark"))
BUILD = Path(os.environ.get("BWK_BUILD", str(Path(BULWARK).parent)))
BUSYBOX = "/bin/busybox"


def run_bulwark(*args, input=None, env=None, cwd=None, timeout=300, check=None):
    """Run the binary; returns CompletedProcess with text stdout/stderr.
    `check` is the expected exit status (asserted) or None."""
    e = dict(os.environ)
    e.setdefault("NO_COLOR", "1")
    if env:
        e.update(env)
    p = subprocess.run([BULWARK, *map(str, args)], input=input, capture_output=True,
                       text=True, env=e, cwd=cwd, timeout=timeout)
    # Sanitizer reports must never pass silently.
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


@pytest.fixture(scope="session")
def bulwark():
    assert os.access(BULWARK, os.X_OK), f"{BULWARK} missing: run make asan"
    return run_bulwark


def make_busybox_rootfs(root: Path) -> Path:
    """A minimal root filesystem: busybox-static and its applet links."""
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "usr/bin", "var"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    for applet in ("sh", "ls", "cat", "echo", "true", "false", "id", "sleep", "env", "mount",
                   "ps", "grep", "wc", "head", "touch", "mkdir", "rm", "dd", "hostname"):
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


@pytest.fixture
def busybox_rootfs(tmp_path):
    return make_busybox_rootfs(tmp_path / "rootfs")


def stop_daemon(proc, log, base: Path):
    """Stop a daemon a test started (dockerd, containerd): TERM, KILL after 30 s, then unmount
    and remove its private root under `base`."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    subprocess.run(["umount", "-R", str(base / "root")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


class Dockerd:
    """A dockerd on a private socket, data-root and exec-root, so that tests (and several
    developers' test runs) never touch the host's engine or each other."""

    def __init__(self, base: Path, daemon_json=None, args=()):
        self.base = base
        self.sock = base / "docker.sock"
        self.host = f"unix://{self.sock}"
        base.mkdir(parents=True, exist_ok=True)
        cmd = ["dockerd", "--data-root", str(base / "root"), "--exec-root", str(base / "exec"),
               "--pidfile", str(base / "dockerd.pid"), "-H", self.host]
        if daemon_json is not None:
            cfg = base / "daemon.json"
            cfg.write_text(json.dumps(daemon_json))
            cmd += ["--config-file", str(cfg)]
        else:
            # no config file: do not read the host's /etc/docker/daemon.json
            cfg = base / "daemon.json"
            cfg.write_text("{}")
            cmd += ["--config-file", str(cfg)]
        cmd += list(args)
        self.log = open(base / "dockerd.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited: " + (base / "dockerd.log").read_text()[-2000:])
            if self.sock.exists() and self.docker("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("dockerd did not come up: " + (base / "dockerd.log").read_text()[-2000:])

    def docker(self, *args, check=True, input=None, timeout=300):
        p = subprocess.run(["docker", "-H", self.host, *map(str, args)], capture_output=True,
                           input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"docker {' '.join(map(str, args))}: {p.stderr.decode()[-2000:]}")
        return p

    def import_rootfs(self, rootfs: Path, ref: str, changes=()):
        """docker import a directory as an image (no registry needed)."""
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                             check=True).stdout
        args = ["import"]
        for c in changes:
            args += ["-c", c]
        self.docker(*args, "-", ref, input=tar)
        return ref

    def stop(self):
        try:
            for cid in self.docker("ps", "-aq", check=False).stdout.decode().split():
                self.docker("rm", "-f", cid, check=False)
        finally:
            stop_daemon(self.proc, self.log, self.base)


@pytest.fixture(scope="session")
def dockerd():
    """A session-wide private dockerd without bridge networking (no iptables changes)."""
    base = Path(tempfile.mkdtemp(prefix="bwk-dockerd-"))
    d = Dockerd(base, args=("--bridge=none", "--iptables=false", "--ip-masq=false"))
    yield d
    d.stop()


@pytest.fixture(scope="session")
def dockerd_factory():
    """Start extra dockerds with chosen configurations; all are stopped at the end."""
    started = []

    def start(daemon_json=None, args=()):
        base = Path(tempfile.mkdtemp(prefix="bwk-dockerd-"))
        d = Dockerd(base, daemon_json=daemon_json, args=args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


# ---- running in parallel (scripts/test.sh: pytest-xdist, -n N --dist loadgroup) -------------
# xdist hands each test to any worker unless it carries an xdist_group: the tests of one group
# run on one worker, in file order. The groups follow from what tests share, not from a list of
# files, so that new tests are placed by the same rules:
#  - a session-scoped fixture of these tests that starts something (dockerd): session fixtures
#    are per worker, so all its users form one group and one daemon serves them, as serially;
#  - a module-, class- or package-scoped fixture: its whole module is one group (built once);
#  - @pytest.mark.hostnet: the host's network (the bulwark0 bridge, nftables tables, iptables
#    chains and FORWARD policy) is one machine-wide thing, so all its tests are one group;
#  - @pytest.mark.xdist_group(name) joins the group `name`.
# Groups that share a test are merged: a module with a module fixture and a hostnet test puts
# the module and every other hostnet test in one group.
CHEAP_SESSION_FIXTURES = {"bulwark", "dockerd_factory"}  # per worker is fine: nothing shared
# Fixtures (any scope, any module) that start something sharing machine-wide state even with a
# private root: podman's locks (/dev/shm/libpod_lock) and networks. Their users form one group.
SHARED_BY_NAME = {"podman": "podman"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "serial: needs the machine to itself (no other bulwark run at the same time); "
        "scripts/test.sh runs these after the parallel part, in one process")
    config.addinivalue_line(
        "markers", "hostnet: uses the host's network namespace machine-wide (bridge bulwark0, "
        "nftables, iptables); such tests never run in parallel with each other")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item in items:
        me = "test:" + item.nodeid
        shared = []
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for name in getattr(item, "fixturenames", ()):
            fd = defs.get(name)
            if not fd or not fd[-1].baseid:  # pytest's own and plugins' fixtures
                continue
            if fd[-1].scope in ("module", "class", "package"):
                shared.append("module:" + item.nodeid.split("::")[0])
            elif fd[-1].scope == "session" and name not in CHEAP_SESSION_FIXTURES:
                shared.append("fixture:" + name)
            if name in SHARED_BY_NAME:
                shared.append("group:" + SHARED_BY_NAME[name])
        if item.get_closest_marker("hostnet"):
            shared.append("hostnet")
        mark = item.get_closest_marker("xdist_group")
        if mark:
            shared.append("group:" + (mark.args[0] if mark.args else mark.kwargs.get("name", "")))
        for s in shared:
            parent[find(s)] = find(me)
    members = {}
    for key in list(parent):
        if not key.startswith("test:"):
            members.setdefault(find(key), []).append(key)
    order = {}
    for i, item in enumerate(items):
        names = members.get(find("test:" + item.nodeid))
        if names:
            item.add_marker(pytest.mark.xdist_group(min(names)), append=False)
        # on a worker, the groups of shared things (the longest: dockerd, hostnet) first and
        # then the modules': xdist hands out work in collection order, and a long group
        # started last would leave the other workers idle at the end
        rank = 2 if not names else 1 if min(names).startswith("module:") else 0
        order[item.nodeid] = (rank, i) if os.environ.get("PYTEST_XDIST_WORKER") else (0, i)
    items.sort(key=lambda item: order[item.nodeid])
