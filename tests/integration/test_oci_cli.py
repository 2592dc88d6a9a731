"""The OCI runtime command line so far: `bulwark spec` writes a hardened config.json that another
runtime (runc) runs as it is, never overwrites one; `features` says what bulwark reads;
`checkpoint`/`restore` are refused with a clear message."""
import json
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import make_busybox_rootfs


def spec(bulwark, d, *args, check=0):
    return bulwark("spec", "-b", str(d), *args, check=check)


def test_spec_is_hardened(bulwark, tmp_path):
    spec(bulwark, tmp_path)
    c = json.loads((tmp_path / "config.json").read_text())
    assert c["ociVersion"] == "1.0.2"
    assert c["root"] == {"path": "rootfs", "readonly": True}
    p = c["process"]
    assert p["noNewPrivileges"] is True and p["args"] == ["sh"] and p["terminal"] is True
    caps = set(p["capabilities"]["bounding"])
    assert "CAP_CHOWN" in caps and not caps & {"CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_MKNOD"}
    assert p["capabilities"]["ambient"] == [] and p["capabilities"]["inheritable"] == []
    ns = {n["type"] for n in c["linux"]["namespaces"]}
    assert ns == {"pid", "ipc", "uts", "mount", "cgroup", "network"}  # no user ns: see --rootless
    r = c["linux"]["resources"]
    assert r["memory"]["limit"] == 512 << 20 and r["pids"]["limit"] == 512
    assert "/proc/kcore" in c["linux"]["maskedPaths"]
    assert "/proc/sys" in c["linux"]["readonlyPaths"]
    assert {m["destination"] for m in c["mounts"]} >= {"/proc", "/dev", "/sys"}


def test_spec_rootless(bulwark, tmp_path):
    spec(bulwark, tmp_path, "--rootless")
    c = json.loads((tmp_path / "config.json").read_text())
    assert c["linux"]["uidMappings"] == [{"containerID": 0, "hostID": os.getuid(), "size": 1}]
    assert c["linux"]["gidMappings"] == [{"containerID": 0, "hostID": os.getgid(), "size": 1}]
    assert "user" in {n["type"] for n in c["linux"]["namespaces"]}
    assert "memory" not in c["linux"]["resources"]


def test_spec_never_overwrites(bulwark, tmp_path):
    (tmp_path / "config.json").write_text("mine")
    p = spec(bulwark, tmp_path, check=2)
    assert "config.json exists: remove it first" in p.stderr
    assert (tmp_path / "config.json").read_text() == "mine"
    # nor does it follow a link planted at that name
    other = tmp_path / "elsewhere"
    d = tmp_path / "b"
    d.mkdir()
    (d / "config.json").symlink_to(other)
    spec(bulwark, d, check=2)
    assert not other.exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runc"), reason="needs root and runc")
def test_spec_runs_under_runc(bulwark, tmp_path):
    """The config is a runtime-spec document another runtime takes as it is."""
    for extra in ((), ("--rootless",)):
        b = tmp_path / ("b" + "".join(extra))
        b.mkdir()
        make_busybox_rootfs(b / "rootfs")
        spec(bulwark, b, *extra)
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["/bin/sh", "-c", "grep NoNewPrivs /proc/self/status; id -u"]
        (b / "config.json").write_text(json.dumps(cfg))
        name = "bwk-" + uuid.uuid4().hex[:12]
        root = tmp_path / "runc-state"
        try:
            p = subprocess.run(["runc", "--root", str(root), "run", name], cwd=b,
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        finally:
            subprocess.run(["runc", "--root", str(root), "delete", "-f", name],
                           capture_output=True)
        assert p.returncode == 0, (extra, p.stderr)
        assert "NoNewPrivs:\t1" in p.stdout and p.stdout.split()[-1] == "0", p.stdout


def test_features(bulwark):
    f = json.loads(bulwark("features", check=0).stdout)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.2.0"
    assert set(f["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    assert "user" in f["linux"]["namespaces"] and "CAP_BPF" in f["linux"]["capabilities"]
    assert "SCMP_ACT_NOTIFY" in f["linux"]["seccomp"]["actions"]


@pytest.mark.parametrize("cmd", ["checkpoint", "restore"])
def test_checkpoint_not_supported(bulwark, cmd, tmp_path):
    """runc's options are taken (a caller gets the one answer, not an unknown-option error),
    and the answer is one line, exit 1; -h is the help, a wrong option a usage error."""
    extra = (["--leave-running", "--tcp-established", "--image-path", str(tmp_path)]
             if cmd == "checkpoint" else
             ["-b", str(tmp_path), "-d", "--pid-file", str(tmp_path / "p"), "--image-path",
              str(tmp_path), "-shell-job"])
    for args in ([], extra):
        p = bulwark("--root", str(tmp_path / "state"), cmd, *args, "x", check=1)
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and "not supported" in lines[0], p.stderr
        assert not (tmp_path / "p").exists()
    assert "--image-path" in bulwark(cmd, "-h", check=0).stdout
    assert "not-runcs" in bulwark(cmd, "--not-runcs", "x", check=2).stderr
