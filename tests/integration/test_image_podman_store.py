"""podman:NAME read from Podman's local storage (containers/storage) directly, no API service.

A real Podman loads an image into a test-owned store (its own graphroot and runroot, named by
a storage.conf given as CONTAINERS_STORAGE_CONF, which Podman and bulwark both honour); bulwark
must then read the image as exactly what `podman save` exports: the same config, the same
findings (a secret in a file a later layer deletes included), and every command takes it."""
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import image_util as u
from test_image_sources import CFG, MARK, call, check_agreement, image_layers, what_each_command_sees

pytestmark = pytest.mark.xdist_group("podman")  # podman's machine-wide locks: conftest.py

SECRET = "AKIA" + "QWERTYUIOPASDFGH"  # an AWS access key ID shape
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def layers_with_deleted_secret():
    base, top = image_layers()
    secret = u.Layer([u.D("srv"), u.F("srv/creds.env",
                                      f"AWS_ACCESS_KEY_ID={SECRET}\n"
                                      f"AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n")])
    gone = u.Layer([u.W("srv/creds.env")])
    return [base, secret, gone, top]


class Store:
    """A Podman store of the test's own: storage.conf → graphroot/runroot under `base`."""

    def __init__(self, base: Path, driver: str):
        self.base = base
        self.conf = base / "storage.conf"
        self.conf.write_text(f'[storage]\ndriver = "{driver}"\n'
                             f'graphroot = "{base}/root"\nrunroot = "{base}/run"\n')
        self.env = {"CONTAINERS_STORAGE_CONF": str(self.conf)}
        self.flags = ["--tmpdir", str(base / "tmp"), "--cgroup-manager", "cgroupfs",
                      "--events-backend", "file"]

    def podman(self, *args, check=True):
        e = dict(os.environ, **self.env)
        e.pop("CONTAINER_HOST", None)
        return subprocess.run(["podman", *self.flags, *map(str, args)], env=e,
                              capture_output=True, timeout=300, check=check)

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module", params=["vfs", "overlay"])
def store(request, tmp_path_factory):
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (scripts/deps.sh installs it)")
    d = tmp_path_factory.mktemp(f"pstore-{request.param}")
    s = Store(d, request.param)
    u.docker_save(d / "img.tar", layers_with_deleted_secret(), tags=["demo:1"], config=CFG)
    p = s.podman("load", "-i", d / "img.tar", check=False)
    if p.returncode != 0:
        if request.param == "overlay":
            pytest.skip("podman cannot use overlay here: " + p.stderr.decode()[-300:])
        raise AssertionError(p.stderr.decode())
    s.podman("save", "--format", "docker-archive", "-o", d / "saved.tar", "localhost/demo:1")
    yield s
    # the overlay driver bind-mounts its own directory: unmount it, then drop the store (not
    # `podman system reset`: as root it also drops host-wide network configs)
    if os.path.ismount(d / "root/overlay"):
        subprocess.run(["umount", str(d / "root/overlay")], check=False)
    s.close()


def findings(arg, env=None):
    rc, out, err = call("scan", "-f", "json", "--fail-on", "none", arg, env=env, check=0)
    doc = json.loads(out)
    got = []
    for f in doc["findings"]:
        loc = {k: v for k, v in f.get("location", {}).items() if k != "target"}
        got.append((f["id"], json.dumps(loc, sort_keys=True), f.get("message")))
    return sorted(got), doc["facts"]


def test_store_same_as_podman_save(store):
    env = dict(store.env, CONTAINER_HOST="")
    got, facts = findings("podman:localhost/demo:1", env)
    want, wfacts = findings(store.base / "saved.tar")
    assert got == want
    assert facts["image.source"] == "podman"
    assert facts["image.digest"] == wfacts["image.digest"]
    # the secret a later layer deletes is still found, in the layer that ships it
    hit = [(i, json.loads(loc), m) for i, loc, m in got if "srv/creds.env" in loc]
    assert any(i == "aws-access-key-id" and loc["layerIndex"] == 1 and "removed in layer 3" in m
               for i, loc, m in hit), got


def test_store_every_command(store, tmp_path):
    """run, unpack, inspect, sbom and scan all take podman:NAME from the store (no socket:
    CONTAINER_HOST is unset and XDG_RUNTIME_DIR points nowhere)."""
    env = dict(store.env, CONTAINER_HOST="", XDG_RUNTIME_DIR=str(tmp_path / "nothing"))
    seen = what_each_command_sees("podman:localhost/demo:1", None, tmp_path, env=env)
    check_agreement("podman store", seen, "podman", True)
    # unpack applied the whiteout: the deleted file is not there
    assert not (tmp_path / "unpacked/srv/creds.env").exists()


def test_store_names_resolve_as_podman(store):
    env = dict(store.env, CONTAINER_HOST="")
    iid = store.podman("image", "inspect", "--format", "{{.Id}}",
                       "localhost/demo:1").stdout.decode().strip()
    dig = store.podman("image", "inspect", "--format", "{{.Digest}}",
                       "localhost/demo:1").stdout.decode().strip()
    for name in ("demo:1", "localhost/demo:1", iid[:12], "sha256:" + iid,
                 f"localhost/demo@{dig}"):
        rc, out, err = call("inspect", f"podman:{name}", env=env, check=0)
        assert f"config:   sha256:{iid}" in out, (name, out)
    # no such tag: 'latest' is what a bare name means, and there is none
    rc, out, err = call("inspect", "podman:demo", env=env)
    assert rc == 2 and err.count("bulwark:") == 1 and "no such image" in err, err


def _layer_of(store, diff_name):
    """The store's layer whose tar holds `diff_name`, with its directory."""
    drv = "vfs" if "vfs" in store.conf.read_text() else "overlay"
    root = store.base / "root"
    for l in json.loads((root / f"{drv}-layers/layers.json").read_text()):
        lines = gzip.open(root / f"{drv}-layers/{l['id']}.tar-split.gz").read().splitlines()
        if any(json.loads(x).get("name", "").lstrip("./") == diff_name for x in lines):
            d = root / "vfs/dir" / l["id"] if drv == "vfs" else root / "overlay" / l["id"] / "diff"
            return l, d
    raise AssertionError(diff_name)


def test_store_edited_file_is_a_digest_mismatch(store, tmp_path):
    """A layer file changed behind Podman's back does not pass for the image."""
    _, d = _layer_of(store, "etc/marker")
    f = d / "etc/marker"
    old = f.read_bytes()
    try:
        f.write_bytes(old.upper())
        env = dict(store.env, CONTAINER_HOST="")
        got, _ = findings("podman:localhost/demo:1", env)
        assert [i for i, _, _ in got].count("layer-digest-mismatch") == 2, got  # blob, diff_id
        rc, out, err = call("unpack", "podman:localhost/demo:1", tmp_path / "u", env=env)
        assert rc == 2 and err.count("bulwark:") == 1 and "digest mismatch" in err, err
    finally:
        f.write_bytes(old)


def test_store_escape_is_refused(store, tmp_path):
    """A layer file replaced by a symlink out of the layer is never followed."""
    _, d = _layer_of(store, "etc/marker")
    f = d / "etc/marker"
    old = f.read_bytes()
    outside = tmp_path / "outside"
    outside.write_text(MARK.upper())
    try:
        f.unlink()
        f.symlink_to(outside)
        rc, out, err = call("scan", "--fail-on", "none", "podman:localhost/demo:1",
                            env=dict(store.env, CONTAINER_HOST=""))
        assert rc == 2 and "etc/marker" in err, err
    finally:
        f.unlink()
        f.write_bytes(old)


def test_container_host_means_the_api(store, tmp_path):
    """CONTAINER_HOST is the explicit choice of the API service, as for podman --remote."""
    env = dict(store.env, CONTAINER_HOST=f"unix://{tmp_path}/none.sock")
    rc, out, err = call("inspect", "podman:localhost/demo:1", env=env)
    assert rc == 2 and "podman system service" in err, err


def test_no_store_falls_back_to_the_socket(tmp_path):
    """No readable store: the API socket, whose absence is said with how to start it."""
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path}/none"\n')
    env = {"CONTAINERS_STORAGE_CONF": str(conf), "CONTAINER_HOST": "",
           "XDG_RUNTIME_DIR": str(tmp_path)}
    rc, out, err = call("inspect", "podman:alpine", env=env)
    assert rc == 2 and "no readable Podman store" in err and "podman system service" in err, err


@pytest.mark.parametrize("edit,said", [
    (lambda t: t[: len(t) // 2], "layers.json"),             # torn
    (lambda t: t.replace('"parent"', '"parent-x"'), "diff_ids"),  # chain cut: too few layers
    (lambda t: t.replace('"diff-digest":"sha256:', '"diff-digest":"sha1:'), "malformed"),
])
def test_store_hostile_layers_json(store, edit, said):
    """A broken layers.json is one clear error, never a crash or a wrong image."""
    drv = "vfs" if "vfs" in store.conf.read_text() else "overlay"
    f = store.base / "root" / f"{drv}-layers/layers.json"
    old = f.read_text()
    try:
        f.write_text(edit(old))
        rc, out, err = call("inspect", "podman:localhost/demo:1",
                            env=dict(store.env, CONTAINER_HOST=""))
        assert rc == 2 and err.count("bulwark:") == 1 and said in err, err
    finally:
        f.write_text(old)
