"""One table of sensitive host paths: `audit` (the sensitive-host-mount rule) and `run` (its
bind-mount policy) judge the same paths the same way. They used to disagree: audit rated a
writable /var/log mount critical while run allowed it; run refused /lib64 while audit said
nothing."""
import os

import pytest
import yaml

from audit_util import audit_json
from conftest import BULWARK, make_busybox_rootfs

import subprocess

PATHS = ["/var/log", "/lib64", "/var/lib/kubelet", "/var"]


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    return make_busybox_rootfs(tmp_path_factory.mktemp("hp") / "rootfs")


@pytest.mark.parametrize("src", PATHS)
def test_audit_and_run_agree(bulwark, rfs, tmp_path, src):
    if not os.path.isdir(src):
        pytest.skip(f"{src} does not exist on this host")
    compose = tmp_path / "compose.yaml"
    compose.write_text(yaml.safe_dump({"services": {"app": {
        "image": "alpine@sha256:" + "ab" * 32, "volumes": [f"{src}:/h:rw", f"{src}:/r:ro"]}}}))
    found = [f for f in audit_json(bulwark, compose) if f["id"] == "sensitive-host-mount"]
    sev = {f["location"]["key"]: f["severity"] for f in found}
    assert sev == {"services.app.volumes[0]": "critical", "services.app.volumes[1]": "high"}, \
        found
    p = subprocess.run([BULWARK, "run", "-v", f"{src}:/h", "--rootfs", str(rfs), "--", "true"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 125 and "sensitive host path" in p.stderr, p.stderr


def test_below_a_system_directory(bulwark, rfs, tmp_path):
    """Below /var/log: audit flags only a writable mount; run allows it (and warns when rw)."""
    d = "/var/log/bwk-hostpath-test"
    os.makedirs(d, exist_ok=True)
    try:
        compose = tmp_path / "compose.yaml"
        compose.write_text(yaml.safe_dump({"services": {"app": {
            "image": "alpine@sha256:" + "ab" * 32, "volumes": [f"{d}:/h:rw", f"{d}:/r:ro"]}}}))
        found = [f for f in audit_json(bulwark, compose) if f["id"] == "sensitive-host-mount"]
        assert [(f["location"]["key"], f["severity"]) for f in found] == \
            [("services.app.volumes[0]", "high")]
        p = subprocess.run([BULWARK, "run", "-v", f"{d}:/h:rw", "--rootfs", str(rfs), "--",
                            "true"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "writable" in p.stderr, p.stderr
    finally:
        os.rmdir(d)
