"""bulwark as Podman's OCI runtime: `podman --runtime BULWARK run` (conmon then calls bulwark
with runc's command line: create --bundle --pid-file [--console-socket], start, exec --process
--detach, kill, delete --force) on a locally built image, with a private storage root, run root
and tmpdir, cgroupfs and file events, so nothing of the host's Podman is touched."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import CHECKS, HostBait, parse_probe, probe_rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("podman"),
                                reason="needs root and podman")

IMAGE = "localhost/bwk-oci-busybox:1"


class PodmanCli:
    def __init__(self, base):
        self.base = base
        conf = base / "containers.conf"
        # Podman asks for nofile/nproc limits above this host's hard ones by default, which
        # needs CAP_SYS_RESOURCE (crun fails the same way without it): ask for lower ones.
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=1024:1024", '
                        '"nproc=4096:4096"]\nnetns = "none"\n'
                        '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                        # Podman then gives each container a runtime log (--log-format=json
                        # --log RUNDIR/oci-log) as it does runc's and crun's: docs/oci-runtime.md
                        'runtime_supports_json = ["bulwark"]\n')
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        # bulwark's --root, its state private to the test too, given by a wrapper rather than
        # --runtime-flag: Podman's cleanup process (conmon's exit command, which deletes the
        # container once it exits) gets --runtime but not the runtime flags, and would look
        # in the default root, leaving the container and its cgroup behind
        self.state_root = base / "bulwark-state"
        (base / "bin").mkdir()
        wrapper = base / "bin" / "bulwark"  # the name runtime_supports_json gives
        wrapper.write_text(f'#!/bin/sh\nexec "{BULWARK}" --root "{self.state_root}" "$@"\n')
        wrapper.chmod(0o755)
        self.flags = ["--root", str(base / "root"), "--runroot", str(base / "run"),
                      "--tmpdir", str(base / "tmp"), "--storage-driver", "vfs",
                      "--runtime", str(wrapper)]

    def __call__(self, *args, check=True, timeout=120):
        p = subprocess.run(["podman", *self.flags, *map(str, args)], capture_output=True,
                           env=self.env, timeout=timeout)
        out, err = p.stdout.decode(), p.stderr.decode()
        if check:
            assert p.returncode == 0, (args, p.returncode, err)
        return p.returncode, out, err


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    # podman refuses a --runroot longer than 50 characters: an xdist worker's tmp_path is
    base = Path(tempfile.mkdtemp(prefix="bwk-pm-"))
    pm = PodmanCli(base)
    rootfs = make_busybox_rootfs(base / "rootfs")
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                         check=True).stdout
    subprocess.run(["podman", *pm.flags, "import", "-", IMAGE], input=tar, env=pm.env,
                   capture_output=True, check=True, timeout=120)
    yield pm
    pm("rm", "-a", "-f", check=False)
    subprocess.run(["umount", "-R", str(base / "root")], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def state_ids(podman):
    root = podman.state_root
    return {p.name for p in root.iterdir() if p.is_dir()} if root.exists() else set()


def test_podman_run_with_bulwark(podman):
    before = state_ids(podman)
    rc, out, _ = podman("run", "--rm", IMAGE, "sh", "-c",
                        "echo hello; echo $$; grep Seccomp: /proc/self/status")
    assert out.split("\n")[:2] == ["hello", "1"]
    assert "Seccomp:\t2" in out  # Podman's default profile, loaded by bulwark
    rc, _, _ = podman("run", "--rm", IMAGE, "sh", "-c", "exit 42", check=False)
    assert rc == 42
    rc, out, _ = podman("run", "--rm", "--read-only", "--user", "65534", "--cap-drop", "ALL",
                        IMAGE, "sh", "-c", "id -u; touch /x 2>/dev/null || echo ro; "
                        "grep CapEff /proc/self/status")
    assert out.split("\n")[:2] == ["65534", "ro"]
    assert "CapEff:\t0000000000000000" in out
    # a TTY: conmon got the pty master through the console socket
    rc, out, _ = podman("run", "--rm", "-t", IMAGE, "sh", "-c", "test -t 0 && echo is-a-tty")
    assert "is-a-tty" in out
    # netns = "none": a network namespace of its own with its loopback up, as runc has it
    rc, out, _ = podman("run", "--rm", IMAGE, "cat", "/sys/class/net/lo/flags")
    assert int(out.strip(), 16) & 1, out  # IFF_UP
    # each --rm container deleted from bulwark's root (by Podman's cleanup process)
    deadline = time.time() + 20
    while state_ids(podman) - before and time.time() < deadline:
        time.sleep(0.2)
    assert not state_ids(podman) - before, state_ids(podman) - before


def test_podman_lifecycle_with_bulwark(podman):
    name = "bwk-pm-" + str(os.getpid())
    podman("run", "-d", "--name", name, IMAGE, "sh", "-c",
           "trap 'echo got-term; exit 5' TERM; echo up; while :; do sleep 0.05; done")
    try:
        deadline = time.time() + 20
        while "up" not in podman("logs", name)[1] and time.time() < deadline:
            time.sleep(0.1)
        rc, out, _ = podman("exec", name, "sh", "-c", "echo in-exec; cat /proc/1/cmdline")
        assert out.startswith("in-exec\nsh\x00-c\x00trap"), out
        rc, _, _ = podman("exec", name, "sh", "-c", "exit 9", check=False)
        assert rc == 9
        rc, out, _ = podman("exec", "-t", name, "sh", "-c", "test -t 0 && echo exec-tty")
        assert "exec-tty" in out
        # the container is bulwark's: its state is in bulwark's root
        cid = podman("inspect", "-f", "{{.Id}}", name)[1].strip()
        st = subprocess.run([BULWARK, "--root", podman.state_root, "state", cid],
                            capture_output=True, text=True)
        assert st.returncode == 0 and '"status": "running"' in st.stdout.replace('":"', '": "')
        podman("stop", "-t", "10", name)
        rc, out, _ = podman("inspect", "-f", "{{.State.ExitCode}}", name)
        assert out.strip() == "5"  # SIGTERM reached the container's process
        assert "got-term" in podman("logs", name)[1]
        podman("rm", name)
        podman("run", "-d", "--name", name, IMAGE, "sleep", "100")
        podman("kill", name)
        rc, out, _ = podman("wait", name)
        assert out.strip() == "137"
    finally:
        podman("rm", "-f", name, check=False)


def test_podman_runtime_flag_harden(podman):
    """`podman --runtime-flag harden` passes the global --harden: bulwark's policy applies."""
    p = subprocess.run(["podman", *podman.flags, "--runtime-flag", "harden", "run", "--rm",
                        IMAGE, "sh", "-c", "grep -e NoNewPrivs -e CapBnd /proc/self/status; "
                        "touch /x 2>/dev/null || echo ro"], capture_output=True, text=True,
                       env=podman.env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "NoNewPrivs:\t1" in p.stdout and "CapBnd:\t00000000000004fb" in p.stdout, p.stdout
    assert p.stdout.splitlines()[-1] == "ro"
    # and without it Podman's own defaults stand
    rc, out, _ = podman("run", "--rm", IMAGE, "sh", "-c", "touch /x && echo rw")
    assert out.strip() == "rw"


def test_escape_probe_under_podman_with_harden(podman):
    """`--runtime-flag harden`: the escape probe finds nothing open, and each change the policy
    made is in the runtime log Podman gave bulwark (RUNDIR/oci-log); without it Podman's own
    defaults stand."""
    img = "localhost/bwk-oci-probe:1"
    root = probe_rootfs(podman.base / "probe")
    tar = subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True,
                         check=True).stdout
    subprocess.run(["podman", *podman.flags, "import", "-", img], input=tar, env=podman.env,
                   capture_output=True, check=True, timeout=120)
    res, logs = {}, {}
    for flags in ((), ("--runtime-flag", "harden")):
        name = f"bwk-pm-probe{len(flags)}-{os.getpid()}"
        try:
            with HostBait() as bait:
                p = subprocess.run(["podman", *podman.flags, *flags, "run", "--name", name, img,
                                    "/bin/bwk_probe", *bait.probe_args()],
                                   capture_output=True, text=True, env=podman.env, timeout=600)
            res[flags] = parse_probe(p.stdout)
            assert all(c in res[flags] for c in CHECKS), (flags, p.stdout, p.stderr)
            cid = podman("inspect", "-f", "{{.Id}}", name)[1].strip()
            log = list((podman.base / "run").glob(f"*-containers/{cid}/userdata/oci-log"))
            assert log, list((podman.base / "run").glob("**/oci-log"))
            logs[flags] = [json.loads(l)["msg"] for l in log[0].read_text().splitlines()]
        finally:
            podman("rm", "-f", name, check=False)
    open_ = {f: sorted(c for c in CHECKS if not r[c]["blocked"]) for f, r in res.items()}
    for c in ("no_new_privs", "write_rootfs", "memory_hog", "uid_map_host_root"):
        assert c in open_[()], open_
    assert open_[("--runtime-flag", "harden")] == [], open_
    assert not any(m.startswith("harden: ") for m in logs[()]), logs
    msgs = logs[("--runtime-flag", "harden")]
    assert all(m.startswith("harden: ") for m in msgs) and len(msgs) == len(set(msgs)), msgs
    for what in ("noNewPrivileges", "capabilities dropped: ", "seccomp: ", "masked paths added",
                 "memory limit 512 MiB", "read-only root", "user namespace added: "):
        assert any(what in m for m in msgs), (what, msgs)
