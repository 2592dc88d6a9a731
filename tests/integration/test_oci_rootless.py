"""Rootless OCI containers are not supported (#13): root of a user namespace other than the
host's, as a rootless engine (rootless Podman) runs its runtime, is refused as another user
is, with what to do instead; `features` says so."""
import json
import os
import shutil
import subprocess

import pytest

from test_oci_lifecycle import BULWARK, Runtime, reaper, rt  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="root and unshare(1) needed")


def test_root_of_a_user_namespace_is_refused(rt, tmp_path):
    b = rt.bundle(["true"])
    for cmd in (["create", "--bundle", str(b), "x"], ["delete", "x"], ["start", "x"]):
        p = subprocess.run(["unshare", "--user", "--map-root-user", BULWARK, "--root",
                            str(tmp_path / "r"), *cmd], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 1, p.stderr
        assert "need root" in p.stderr and "root of a user namespace" in p.stderr, p.stderr
        assert "rootless OCI containers are not supported" in p.stderr, p.stderr
    assert not (tmp_path / "r" / "x").exists()


def test_features_says_rootless_is_unsupported():
    f = json.loads(subprocess.run([BULWARK, "features"], capture_output=True, text=True,
                                  check=True).stdout)
    assert f["annotations"]["org.bulwark.rootless"].startswith("unsupported")
