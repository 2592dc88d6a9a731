"""bulwark as containerd's OCI runtime: a private containerd (own root, state, sockets; the CRI
plugin off) imports a locally built image with `ctr image import`, and `ctr run --runtime
io.containerd.runc.v2 --runc-binary BULWARK` has containerd-shim-runc-v2 call bulwark with
runc's command line (the shim's BinaryName option, which a CRI runtime handler sets the same
way: docs/kubernetes.md). Output, exit status, a TTY, `ctr task exec`, `ps`, `kill`."""
import json
import os
import pty
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import image_util as u
from conftest import BULWARK, make_busybox_rootfs
from containerd_util import Containerd
from run_util import CHECKS, HostBait, parse_probe, probe_rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("containerd"),
                                reason="needs root and containerd")

IMAGE = "docker.io/library/bwk-oci-busybox:1"


@pytest.fixture(scope="module")
def cd():
    c = Containerd(Path(tempfile.mkdtemp(prefix="bwk-containerd-")))
    rootfs = make_busybox_rootfs(c.base / "rootfs")
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                         check=True).stdout
    img = u.docker_save(c.base / "img.tar", [u.Layer(raw_tar=tar)], tags=("bwk-oci-busybox:1",))
    c.ctr("image", "import", img)
    yield c
    c.stop()


def run_args(cd):
    # the shim's Root option: bulwark's --root, private to this containerd
    return ("run", "--runtime", "io.containerd.runc.v2", "--runc-binary", BULWARK,
            "--runc-root", cd.base / "runc")


def test_ctr_run_with_bulwark(cd):
    rc, out, err = cd.ctr(*run_args(cd), "--rm", IMAGE, "bwk-c1", "sh", "-c",
                          "echo hello; echo $$; grep NoNewPrivs /proc/self/status; exit 7",
                          check=False)
    assert rc == 7, err
    assert out.split("\n")[:2] == ["hello", "1"], out
    # a TTY: ctr needs one itself; the shim got the pty master through the console socket
    master, slave = pty.openpty()
    try:
        p = subprocess.run(["ctr", *map(str, run_args(cd)), "--rm", "-t", IMAGE, "bwk-c2", "sh", "-c",
                            "test -t 0 && echo is-a-tty; exit 3"], stdin=slave, stdout=slave,
                           stderr=slave, env=cd.env, timeout=120)
        os.close(slave)
        text = b""
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:
                break
            if not b:
                break
            text += b
    finally:
        os.close(master)
    assert p.returncode == 3 and b"is-a-tty" in text, text


def test_ctr_task_lifecycle_with_bulwark(cd):
    name = "bwk-c3"
    cd.ctr(*run_args(cd), "-d", IMAGE, name, "sh", "-c",
           "trap 'exit 5' TERM; while :; do sleep 0.05; done")
    try:
        rc, out, _ = cd.ctr("task", "ls")
        assert any(l.split()[0] == name and l.split()[2] == "RUNNING"
                   for l in out.splitlines()[1:]), out
        # the container is bulwark's: `bulwark state` reads it under the shim's runc root
        st = subprocess.run([BULWARK, "--root", cd.base / "runc" / "bwk-oci", "state", name],
                            capture_output=True, text=True)
        assert st.returncode == 0 and "running" in st.stdout, st.stderr
        rc, out, err = cd.ctr("task", "exec", "--exec-id", "e1", name, "sh", "-c",
                              "echo in-exec; cat /proc/1/cmdline; exit 4", check=False)
        assert rc == 4 and out.startswith("in-exec\nsh\x00-c\x00trap"), (out, err)
        # `bulwark ps --format json`: the init and the sleep (or the loop between two)
        rc, out, _ = cd.ctr("task", "ps", name)
        pids = [l.split()[0] for l in out.splitlines()[1:]]
        init = cd.ctr("task", "ls")[1].split(name)[1].split()[0]
        assert init in pids and len(pids) >= 1, out
        st = subprocess.run([BULWARK, "--root", cd.base / "runc" / "bwk-oci", "ps", name],
                            capture_output=True, text=True)
        assert st.returncode == 0 and init in st.stdout.split()[1:], (st.stdout, st.stderr)
        cd.ctr("task", "kill", name)  # SIGTERM
        deadline = time.time() + 20
        while "STOPPED" not in cd.ctr("task", "ls")[1] and time.time() < deadline:
            time.sleep(0.1)
        rc, out, _ = cd.ctr("task", "ls")
        assert "STOPPED" in out, out
        # the exit status containerd recorded: 5, from the trap (the signal reached it)
        rc, out, err = cd.ctr("task", "delete", name)
        assert "exit code 5" in err, err
        # SIGKILL through `ctr task kill -s KILL`: 137 (and no exec'd process is left)
        cd.ctr("task", "start", "-d", name)
        cd.ctr("task", "kill", "-s", "KILL", name)
        deadline = time.time() + 20
        while "STOPPED" not in cd.ctr("task", "ls")[1] and time.time() < deadline:
            time.sleep(0.1)
        rc, out, err = cd.ctr("task", "delete", name)
        assert "exit code 137" in err, err
    finally:
        cd.ctr("task", "delete", "-f", name, check=False)
        cd.ctr("containers", "rm", name, check=False)


def test_kubernetes_doc_config_is_accepted(tmp_path):
    """docs/kubernetes.md's containerd configuration: this containerd reads it and has the
    runtime handler `bulwark` driving bulwark through the runc shim."""
    import re
    from conftest import TOP
    blocks = re.findall(r"```toml\n(.*?)```", (TOP / "docs" / "kubernetes.md").read_text(), re.S)
    assert len(blocks) == 2, blocks
    for i, b in enumerate(blocks):
        cfg = tmp_path / f"k{i}.toml"
        cfg.write_text(b if b.startswith("version = 2") else "version = 2\n" + b)
        p = subprocess.run(["containerd", "--config", str(cfg), "config", "dump"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        sect = p.stdout.split('containerd.runtimes.bulwark]')[1].split("[plugins")[0]
        assert 'runtime_type = "io.containerd.runc.v2"' in sect, sect
        if i == 0:
            opts = p.stdout.split('containerd.runtimes.bulwark.options]')[1].split("[")[0]
            assert 'BinaryName = "/usr/local/bin/bulwark"' in opts, opts
            assert "SystemdCgroup = false" in opts, opts
        else:
            assert 'pod_annotations = ["org.bulwark.*"]' in sect, sect


def test_escape_probe_under_containerd_with_harden(cd):
    """The annotation org.bulwark.harden=true (`ctr run --annotation`; a CRI runtime handler
    passes a pod's with pod_annotations, docs/kubernetes.md) turns the policy on: the escape
    probe finds nothing open, and each change is in the runtime log the shim gave bulwark
    (BUNDLE/log.json); without it containerd's own defaults stand."""
    root = probe_rootfs(cd.base / "probe")
    tar = subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True,
                         check=True).stdout
    img = u.docker_save(cd.base / "probe.tar", [u.Layer(raw_tar=tar)],
                        tags=("bwk-oci-probe:1",))
    cd.ctr("image", "import", img)
    res, logs = {}, {}
    for ann in ((), ("--annotation", "org.bulwark.harden=true")):
        name = f"bwk-c-probe{len(ann)}"
        try:
            with HostBait() as bait:
                # --detach, so that the bundle (and its log.json) stays until the delete below
                cd.ctr(*run_args(cd), *ann, "--log-uri",
                       f"file://{cd.base}/{name}.out", "-d",
                       "docker.io/library/bwk-oci-probe:1", name, "/bin/bwk_probe",
                       *bait.probe_args())
                deadline = time.time() + 600
                while time.time() < deadline and not any(
                        l.split()[0] == name and l.split()[2] == "STOPPED"
                        for l in cd.ctr("task", "ls")[1].splitlines()[1:]):
                    time.sleep(0.5)
            res[ann] = parse_probe((cd.base / f"{name}.out").read_text())
            assert all(c in res[ann] for c in CHECKS), (ann, res[ann])
            log = cd.base / "state" / "io.containerd.runtime.v2.task" / "bwk-oci" / name / \
                "log.json"
            logs[ann] = [json.loads(l)["msg"] for l in log.read_text().splitlines()] \
                if log.exists() else []
        finally:
            cd.ctr("task", "delete", "-f", name, check=False)
            cd.ctr("containers", "rm", name, check=False)
    open_ = {a: sorted(c for c in CHECKS if not r[c]["blocked"]) for a, r in res.items()}
    for c in ("seccomp_filter", "write_rootfs", "memory_hog", "uid_map_host_root"):
        assert c in open_[()], open_
    hard = ("--annotation", "org.bulwark.harden=true")
    assert open_[hard] == [], (open_, logs[hard])
    assert not any(m.startswith("harden: ") for m in logs[()]), logs
    msgs = logs[hard]
    assert all(m.startswith("harden: ") for m in msgs) and len(msgs) == len(set(msgs)), msgs
    # (containerd's default spec has noNewPrivileges already)
    for what in ("capabilities dropped: ", "seccomp: ", "masked paths added",
                 "memory limit 512 MiB", "pids limit 512", "read-only root",
                 "user namespace added: "):
        assert any(what in m for m in msgs), (what, msgs)
