"""Real images from a private dockerd: `docker save` output and docker:NAME over the Engine API."""
import json
import os
import socket

import pytest

from conftest import make_busybox_rootfs


@pytest.fixture(scope="module")
def two_layer_image(dockerd, tmp_path_factory):
    """busybox rootfs imported as one layer, then a second layer from `docker commit` that
    deletes a setuid helper and /etc/group and adds files."""
    base = tmp_path_factory.mktemp("img")
    root = make_busybox_rootfs(base / "rootfs")
    (root / "usr/bin/helper").write_bytes(b"\x7fELF helper")
    os.chmod(root / "usr/bin/helper", 0o4755)
    dockerd.import_rootfs(root, "bwk-base:1")
    dockerd.docker("rm", "-f", "bwk-c", check=False)
    dockerd.docker("run", "--network", "none", "--name", "bwk-c", "bwk-base:1", "sh", "-c",
                   "rm /usr/bin/helper /etc/group; echo token > /root/.token; "
                   "mkdir -p /app && echo hi > /app/x")
    dockerd.docker("commit", "-c", "USER 1000", "bwk-c", "bwk-two:1")
    dockerd.docker("rm", "-f", "bwk-c")
    tar = base / "two.tar"
    dockerd.docker("save", "-o", tar, "bwk-two:1")
    return tar


def check_unpacked(out):
    assert (out / "bin/busybox").is_file()
    assert (out / "root/.token").read_text() == "token\n"
    assert (out / "app/x").read_text() == "hi\n"
    assert not (out / "etc/group").exists() and not (out / "usr/bin/helper").exists()
    assert (out / "etc/passwd").exists()


def helper_finding(stdout):
    f = [x for x in json.loads(stdout)["findings"] if x["id"] == "setuid-file"]
    assert f and f[0]["location"]["path"] == "usr/bin/helper"
    return f[0]


def test_docker_save_output(bulwark, two_layer_image, tmp_path):
    p = bulwark("inspect", two_layer_image, check=0)
    assert "layer 2:" in p.stdout and "user:     1000" in p.stdout
    bulwark("unpack", two_layer_image, tmp_path / "out", check=0)
    check_unpacked(tmp_path / "out")
    p = bulwark("scan", "-f", "json", "--fail-on", "none", two_layer_image, check=0)
    f = helper_finding(p.stdout)
    assert "removed in layer 2, still shipped in layer 1" in f["message"]
    assert f["location"]["layerIndex"] == 0
    ids = {x["id"] for x in json.loads(p.stdout)["findings"]}
    assert "image-user-root" not in ids and "image-no-healthcheck" in ids


def test_docker_engine_stream(bulwark, dockerd, two_layer_image, tmp_path):
    env = {"DOCKER_HOST": dockerd.host}
    p = bulwark("inspect", "docker:bwk-two:1", env=env, check=0)
    assert "layer 2:" in p.stdout
    bulwark("unpack", "docker:bwk-two:1", tmp_path / "out", env=env, check=0)
    check_unpacked(tmp_path / "out")
    p = bulwark("scan", "-f", "json", "--fail-on", "none", "docker:bwk-two:1", env=env, check=0)
    assert "removed in layer 2" in helper_finding(p.stdout)["message"]
    p = bulwark("unpack", "--layers", "--cache", tmp_path / "cache", "docker:bwk-two:1", env=env,
                check=0)
    assert len(p.stdout.split()) == 2
    # nothing of the image was written to TMPDIR on the way
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    bulwark("inspect", "docker:bwk-two:1", env={**env, "TMPDIR": str(tmp)}, check=0)
    assert os.listdir(tmp) == []


def test_docker_engine_errors(bulwark, dockerd, tmp_path):
    p = bulwark("inspect", "docker:no-such-image:1", env={"DOCKER_HOST": dockerd.host}, check=2)
    assert "HTTP 404" in p.stderr and "no-such-image" in p.stderr
    p = bulwark("inspect", "docker:x", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"},
                check=2)
    assert "cannot talk to the engine" in p.stderr
    # tcp:// is an endpoint too (TLS ones in test_audit_tls.py); here nothing listens
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = bulwark("inspect", "docker:x", env={"DOCKER_HOST": f"tcp://127.0.0.1:{port}"}, check=2)
    assert "cannot talk to the engine" in p.stderr and f"tcp://127.0.0.1:{port}" in p.stderr
    p = bulwark("inspect", "docker:x", env={"DOCKER_HOST": "ssh://user@host"}, check=2)
    assert "only unix:// and tcp://" in p.stderr
