"""The image source table: every input form, given to every command that takes an IMAGE
(scan, sbom, inspect, unpack, run), must be read as the same source by all of them.

Each command shows what it took the input for in its own output: `inspect` prints `source:`
and the config digest, `scan` reports the facts image.source and image.digest, `sbom` names
the config digest as the subject's version (none for a root filesystem), `unpack` writes the
image's files (and refuses a root filesystem, naming it), and `run` runs the image's command.
Before the table, `run` took an OCI layout without an oci-layout file for a root filesystem
and refused an extracted docker save that `scan` read as plain files."""
import json
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

import image_util as u
from conftest import BULWARK, run_bulwark
from test_image_engine import _Handler, _Server

MARK = "made-by-the-image-layers"


def image_layers():
    bb = Path("/bin/busybox").read_bytes()
    base = u.Layer([u.D("bin"), u.F("bin/busybox", bb, 0o755)] +
                   [u.L(f"bin/{a}", "busybox") for a in ("sh", "cat", "ls")], comp="gzip")
    top = u.Layer([u.D("etc"), u.F("etc/marker", MARK),
                   u.D("var/lib/dpkg"),
                   u.F("var/lib/dpkg/status",
                       "Package: srcprobe\nStatus: install ok installed\nVersion: 1.0-1\n"
                       "Architecture: amd64\n\n")])
    return [base, top]


CFG = {"Cmd": ["/bin/cat", "/etc/marker"], "Env": ["PATH=/bin"]}


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    """Every form of one image, plus a root filesystem and a layout forced to be one.
    (name, IMAGE argument, stdin bytes or None, expected source, image or not)."""
    d = tmp_path_factory.mktemp("forms")
    ls = image_layers()
    tar = u.docker_save(d / "img.tar", ls, tags=["demo:1"], config=CFG)
    u.docker_save(d / "img.tar.zst", ls, tags=["demo:1"], config=CFG, outer_comp="zstd")
    u.docker_save(d / "img25.tar", ls, tags=["demo:1"], config=CFG, oci_style=True)
    # an extracted docker save: manifest.json only (no oci-layout, no index.json)
    with tarfile.open(tar) as t:
        t.extractall(d / "saved-dir")  # our own archive
    im = {"layers": ls, "config": CFG}
    u.oci_layout(d / "layout", [im])
    ocitar = u.oci_layout(d / "layout.tar", [im], as_tar=True)
    # index.json and blobs/ without the oci-layout file: run used to take it for a rootfs
    u.oci_layout(d / "bare-layout", [im])
    (d / "bare-layout" / "oci-layout").unlink()
    # the merged tree as a plain directory
    rootfs = d / "rootfs"
    for layer in ls:
        with tarfile.open(fileobj=__import__("io").BytesIO(layer.tar)) as t:
            t.extractall(rootfs)  # our own archive
    img, fs = True, False
    return d, [
        ("docker-save tar", d / "img.tar", None, "docker-archive", img),
        ("docker-save tar.zst", d / "img.tar.zst", None, "docker-archive", img),
        ("docker-save 25 tar", d / "img25.tar", None, "docker-archive", img),
        ("docker-save extracted", d / "saved-dir", None, "docker-archive", img),
        ("docker-save stdin", "-", tar.read_bytes(), "docker-archive", img),
        ("oci dir", d / "layout", None, "oci", img),
        ("oci dir without oci-layout", d / "bare-layout", None, "oci", img),
        ("oci tar", ocitar, None, "oci-archive", img),
        ("oci tar stdin", "oci-archive:-", ocitar.read_bytes(), "oci-archive", img),
        ("rootfs dir", rootfs, None, "dir", fs),
        ("prefix docker-archive:", f"docker-archive:{tar}", None, "docker-archive", img),
        ("prefix docker-archive: dir", f"docker-archive:{d / 'saved-dir'}", None,
         "docker-archive", img),
        ("prefix oci:", f"oci:{d / 'layout'}", None, "oci", img),
        ("prefix oci-archive:", f"oci-archive:{ocitar}", None, "oci-archive", img),
        ("prefix dir:", f"dir:{rootfs}", None, "dir", fs),
        # a prefix overrides detection: the layout's own files as a root filesystem
        ("prefix dir: on a layout", f"dir:{d / 'layout'}", None, "dir", "layout-as-fs"),
    ]


def ids(forms_list):
    return [f[0] for f in forms_list]


def call(*args, input=None, env=None, check=None):
    """run_bulwark with bytes on stdin (an image archive)."""
    e = dict(os.environ, NO_COLOR="1", **(env or {}))
    p = subprocess.run([BULWARK, *map(str, args)], input=input or b"", capture_output=True,
                       env=e, timeout=300)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err
    if check is not None:
        assert p.returncode == check, (args, p.returncode, out[-2000:], err[-2000:])
    return p.returncode, out, err


def what_each_command_sees(arg, data, tmp, env=None):
    """Ask every command what `arg` is; returns {command: (source, config digest or None)}
    and the raw run/unpack outcomes."""
    seen = {}
    rc, out, err = call("inspect", arg, input=data, env=env, check=0)
    lines = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
    seen["inspect"] = (lines["source"].strip(),
                       lines["config"].strip() if "config" in lines else None)
    rc, out, err = call("scan", "-f", "json", "--fail-on", "none", arg, input=data, env=env,
                        check=0)
    facts = json.loads(out)["facts"]
    seen["scan"] = (facts.get("image.source"), facts.get("image.digest"))
    rc, out, err = call("sbom", arg, input=data, env=env, check=0)
    sb = json.loads(out)
    names = {c["name"] for c in sb.get("components", [])}
    seen["sbom"] = ("srcprobe" in names, sb["metadata"]["component"].get("version"))
    out_dir = tmp / "unpacked"
    rc, out, err = call("unpack", arg, out_dir, input=data, env=env)
    seen["unpack"] = (rc, (out_dir / "etc/marker").read_text() if rc == 0 else err)
    # the command is given: a root filesystem has no config to name one
    rc, out, err = call("run", "-q", "--cache", tmp / "cache", arg, "/bin/cat", "/etc/marker",
                        input=data, env=env)
    seen["run"] = (rc, out if rc == 0 else err)
    return seen


def check_agreement(name, seen, source, kind):
    src, digest = seen["inspect"]
    assert src == source, (name, seen)
    assert seen["scan"][0] == source, (name, seen)
    if kind is True:  # an image: one config digest for all, its files and its command
        assert digest and digest.startswith("sha256:"), (name, seen)
        assert seen["scan"][1] == digest, (name, seen)
        assert seen["sbom"] == (True, digest), (name, seen)
        assert seen["unpack"] == (0, MARK), (name, seen)
        assert seen["run"] == (0, MARK), (name, seen)
        return
    # a root filesystem: no config digest anywhere, unpack refuses it saying what it is
    assert digest is None and seen["scan"][1] is None, (name, seen)
    assert seen["sbom"][1] is None, (name, seen)
    assert seen["unpack"][0] == 2, (name, seen)
    assert "a root filesystem directory (source dir)" in seen["unpack"][1], (name, seen)
    if kind == "layout-as-fs":
        # the layout's files are not the image: no package, nothing to run
        assert seen["sbom"][0] is False, (name, seen)
        assert seen["run"][0] != 0, (name, seen)
    else:
        assert seen["sbom"][0] is True, (name, seen)
        assert seen["run"] == (0, MARK), (name, seen)


def test_every_form_every_command(forms, tmp_path):
    d, fl = forms
    bad = []
    for i, (name, arg, data, source, kind) in enumerate(fl):
        tmp = tmp_path / str(i)
        tmp.mkdir()
        seen = what_each_command_sees(arg, data, tmp)
        try:
            check_agreement(name, seen, source, kind)
        except AssertionError as e:
            bad.append(str(e)[:600])
    assert not bad, "\n".join(bad)


@pytest.fixture
def engine(tmp_path):
    sock = tmp_path / "engine.sock"
    srv = _Server(str(sock), _Handler)
    srv.images = {}
    srv.get_request = lambda: (srv.socket.accept()[0], ("local", 0))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, {"DOCKER_HOST": f"unix://{sock}"}
    srv.shutdown()
    srv.server_close()


def test_engine_form_every_command(engine, forms, tmp_path):
    """docker:NAME (a stand-in Engine API serving the same image's save stream)."""
    srv, env = engine
    d, fl = forms
    srv.images["demo:1"] = (d / "img.tar").read_bytes()
    seen = what_each_command_sees("docker:demo:1", None, tmp_path, env=env)
    check_agreement("docker:", seen, "docker", True)
    # the same config digest as the archive it came from
    rc, out, err = call("inspect", d / "img.tar", check=0)
    assert f"config:   {seen['inspect'][1]}" in out


@pytest.mark.parametrize("arg,needle", [
    # an option of ctr cannot pass for an image name
    ("containerd:--all-platforms", "not an image name"),
    # a registry reference is parsed before any network access
    ("registry:Team/App", "image reference"),
])
@pytest.mark.parametrize("cmd", ["scan", "sbom", "inspect", "unpack", "run"])
def test_name_sources_refuse_bad_names_offline(bulwark, tmp_path, cmd, arg, needle):
    args = {"unpack": [arg, tmp_path / "out"], "run": [arg, "true"]}.get(cmd, [arg])
    p = bulwark(cmd, *args)
    # run exits 125 when the container cannot be started (docker run's convention)
    assert p.returncode == (125 if cmd == "run" else 2), (p.returncode, p.stderr)
    assert needle in p.stderr and p.stderr.count("bulwark:") == 1, p.stderr


@pytest.mark.parametrize("arg,needle", [
    ("oci:{d}/layout.tar", "oci-archive:PATH"),
    ("oci-archive:{d}/layout", "oci:PATH"),
    ("dir:{d}/img.tar", "takes a root filesystem directory"),
    ("oci:", "empty after the prefix"),
])
def test_prefix_that_does_not_fit(bulwark, forms, arg, needle):
    d, _ = forms
    for cmd in ("scan", "inspect"):
        p = bulwark(cmd, arg.format(d=d))
        assert p.returncode == 2 and needle in p.stderr, (cmd, p.stderr)


def test_dir_prefix_never_follows_symlinks_out(bulwark, tmp_path):
    """dir:PATH opens the directory once and walks it fd-relative: a symlink inside that points
    at a host file is reported as a link, its target never read. The same secret as a plain
    file inside the tree is found (the negative control: the scan can see it)."""
    secret = "AKIA" + "QZ3VXL7RT2WNY4P6"  # not a real key
    host = tmp_path / "host"
    host.mkdir()
    (host / "creds").write_text(f"aws_access_key_id = {secret}\n")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/creds").symlink_to(host / "creds")
    (root / "up").symlink_to("../host")
    for arg in (f"dir:{root}", str(root)):
        p = bulwark("scan", "-f", "json", "--fail-on", "none", arg, check=0)
        assert secret[:8] not in p.stdout, p.stdout[-2000:]
        assert not json.loads(p.stdout)["findings"] or all(
            f["category"] != "secret" for f in json.loads(p.stdout)["findings"]), p.stdout
        p = bulwark("inspect", arg, check=0)
        assert "source:   dir" in p.stdout
    # control: the same content as a file in the tree is found
    (root / "etc/creds").unlink()
    (root / "etc/creds").write_text((host / "creds").read_text())
    p = bulwark("scan", "-f", "json", "--fail-on", "none", f"dir:{root}", check=0)
    assert any(f["category"] == "secret" for f in json.loads(p.stdout)["findings"]), p.stdout


def test_oci_prefix_refuses_a_blob_symlinked_out(bulwark, tmp_path):
    """oci:PATH reads blobs below the layout only (no symlinks), as detection does."""
    ls = image_layers()
    lay = u.oci_layout(tmp_path / "layout", [{"layers": ls, "config": CFG}])
    blob = lay / "blobs/sha256" / ls[1].digest[7:]
    outside = tmp_path / "outside"
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(outside)
    for arg in (f"oci:{lay}", str(lay)):
        p = bulwark("unpack", arg, tmp_path / "out")
        assert p.returncode == 2 and "symlink" in p.stderr, p.stderr
        assert not (tmp_path / "out").exists()


def test_engine_name_cannot_leave_the_images_endpoint(engine, tmp_path):
    """docker:NAME goes into the Engine API path escaped: '../' cannot reach another
    endpoint."""
    srv, env = engine
    seen = []
    orig = _Handler.do_GET

    def spy(self):
        seen.append(self.path)
        return orig(self)

    _Handler.do_GET = spy
    try:
        rc, out, err = call("inspect", "docker:../../containers/json", env=env)
    finally:
        _Handler.do_GET = orig
    assert rc == 2
    assert seen and all(p.startswith("/images/") and "/../" not in p for p in seen), seen


class _IdHandler(_Handler):
    """The stand-in engine, also answering GET /images/NAME/json with the image's Id (the
    config digest, as the classic image store names images) and counting the streams."""

    def do_GET(self):
        from urllib.parse import unquote
        srv = self.server
        name = unquote(self.path.split("/")[2]) if self.path.startswith("/images/") else ""
        if self.path.endswith("/json") and name in srv.ids:
            body = json.dumps({"Id": srv.ids[name], "RepoTags": [name]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.endswith("/get"):
            srv.gets += 1
        return super().do_GET()


@pytest.fixture
def id_engine(tmp_path):
    sock = tmp_path / "engine.sock"
    srv = _Server(str(sock), _IdHandler)
    srv.images, srv.ids, srv.gets = {}, {}, 0
    srv.get_request = lambda: (srv.socket.accept()[0], ("local", 0))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, {"DOCKER_HOST": f"unix://{sock}"}
    srv.shutdown()
    srv.server_close()


def serve(srv, tmp, name, marker, with_id=True):
    base = image_layers()[0]
    layers = [base, u.Layer([u.D("etc"), u.F("etc/marker", marker)])]
    tar = u.docker_save(tmp / f"{marker}.tar", layers, tags=[name], config=CFG)
    srv.images[name] = tar.read_bytes()
    if with_id:
        srv.ids[name] = "sha256:" + u.sha(u.config_for(layers, config=CFG))
    else:
        srv.ids.pop(name, None)


def test_engine_image_cached_by_id(id_engine, tmp_path):
    """#18: a second `run docker:NAME` of an unchanged image streams nothing: its documents
    are kept in the content cache under the engine's image ID and its layers are extracted
    already. A new image under the same name is streamed and run."""
    srv, env = id_engine
    cache = tmp_path / "cache"
    runit = ("run", "-q", "--cache", cache, "docker:app:1", "/bin/cat", "/etc/marker")
    serve(srv, tmp_path, "app:1", "first")
    assert call(*runit, env=env, check=0)[1] == "first"
    assert srv.gets == 2  # the documents, then the layers
    assert call(*runit, env=env, check=0)[1] == "first"
    assert srv.gets == 2, "an unchanged image was streamed again"
    # the name now points at another image: its new ID misses the cache
    serve(srv, tmp_path, "app:1", "second")
    assert call(*runit, env=env, check=0)[1] == "second"
    assert srv.gets == 4  # its documents, then its layers (one is new)
    assert call(*runit, env=env, check=0)[1] == "second"
    assert srv.gets == 4
    # control: an engine that cannot say the ID gets the image streamed every time
    serve(srv, tmp_path, "app:1", "third", with_id=False)
    before = srv.gets
    assert call(*runit, env=env, check=0)[1] == "third"
    assert call(*runit, env=env, check=0)[1] == "third"
    assert srv.gets > before + 2


class Podman:
    """`podman system service` on a private socket, storage root, run root and tmpdir (vfs,
    cgroupfs, file events: nothing of the host's Podman is touched)."""

    def __init__(self, base: Path):
        self.base = base
        self.sock = base / "podman.sock"
        self.flags = ["--root", str(base / "root"), "--runroot", str(base / "run"),
                      "--tmpdir", str(base / "tmp"), "--storage-driver", "vfs",
                      "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
        self.log = open(base / "podman.log", "w")
        self.proc = subprocess.Popen(["podman", *self.flags, "system", "service", "--time", "0",
                                      f"unix://{self.sock}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        import time
        deadline = time.time() + 60
        while not self.sock.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("podman service: " + (base / "podman.log").read_text()[-2000:])
            time.sleep(0.2)

    def load(self, tar: Path):
        subprocess.run(["podman", *self.flags, "load", "-i", str(tar)], check=True,
                       capture_output=True, timeout=300)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        # not `podman system reset`: as root it also drops host-wide network configs
        __import__("shutil").rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    if not __import__("shutil").which("podman"):
        pytest.skip("podman is not installed (scripts/deps.sh installs it)")
    # podman refuses a --runroot longer than 50 characters: an xdist worker's tmp_path is
    p = Podman(Path(__import__("tempfile").mkdtemp(prefix="bwk-pm-")))  # stop() removes it
    yield p
    p.stop()


def test_podman_form_every_command(podman, forms, tmp_path):
    """podman:NAME, from a real Podman's API service, agrees with the archive it was loaded
    from in every command; a second run reads from the content cache."""
    d, _ = forms
    podman.load(d / "img.tar")
    env = {"CONTAINER_HOST": f"unix://{podman.sock}"}
    seen = what_each_command_sees("podman:localhost/demo:1", None, tmp_path, env=env)
    check_agreement("podman:", seen, "podman", True)
    rc, out, err = call("inspect", d / "img.tar", check=0)
    assert f"config:   {seen['inspect'][1]}" in out
    # an image Podman does not have: its one-line error, exit 2
    rc, out, err = call("scan", "podman:localhost/absent:1", env=env)
    assert rc == 2 and err.count("bulwark:") == 1 and "absent" in err, err


def test_podman_without_service(bulwark, tmp_path):
    p = bulwark("inspect", "podman:alpine",
                env={"CONTAINER_HOST": f"unix://{tmp_path}/none.sock"})
    assert p.returncode == 2 and "podman system service" in p.stderr, p.stderr


def test_platforms_listed_by_the_source(bulwark, tmp_path):
    """inspect lists what a multi-platform index offers (the --platform choices), for the
    layout as a directory and as a tar alike; a docker save names one image and lists none."""
    amd = [u.Layer([u.F("arch", "amd64")])]
    arm = [u.Layer([u.F("arch", "arm64")])]
    ims = [{"layers": arm, "arch": "arm64", "variant": "v8"}, {"layers": amd, "arch": "amd64"}]
    for arg in (u.oci_layout(tmp_path / "mp", ims),
                "oci-archive:" + str(u.oci_layout(tmp_path / "mp.tar", ims, as_tar=True))):
        p = bulwark("inspect", "--platform", "linux/arm64", arg, check=0)
        assert "offered:  linux/arm64/v8, linux/amd64\n" in p.stdout, p.stdout
        assert "platform: linux/arm64" in p.stdout
    p = bulwark("inspect", u.docker_save(tmp_path / "one.tar", amd), check=0)
    assert "offered:" not in p.stdout and "source:   docker-archive" in p.stdout, p.stdout


class Containerd:
    """A containerd of our own: private root, state and sockets, the CRI plugin off."""

    def __init__(self, base: Path):
        self.base = base
        self.sock = base / "c.sock"
        cfg = base / "config.toml"
        cfg.write_text(f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
                       'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                       f'[grpc]\n  address = "{self.sock}"\n'
                       f'[ttrpc]\n  address = "{self.sock}.ttrpc"\n'
                       f'[debug]\n  address = "{base}/debug.sock"\n')
        self.log = open(base / "containerd.log", "w")
        self.proc = subprocess.Popen(["containerd", "--config", str(cfg)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.env = {"CONTAINERD_ADDRESS": str(self.sock), "CONTAINERD_NAMESPACE": "bwk-test"}
        import time
        deadline = time.time() + 60
        while self.ctr("version", check=False).returncode != 0:
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("containerd: " + (base / "containerd.log").read_text()[-2000:])
            time.sleep(0.2)

    def ctr(self, *args, check=True):
        return subprocess.run(["ctr", *map(str, args)], capture_output=True, check=check,
                              env=dict(os.environ, **self.env), timeout=300)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        subprocess.run(["umount", "-R", str(self.base / "root")], capture_output=True)
        __import__("shutil").rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    if not __import__("shutil").which("containerd"):
        pytest.skip("containerd is not installed (scripts/deps.sh installs it)")
    c = Containerd(tmp_path_factory.mktemp("containerd"))
    yield c
    c.stop()


def test_containerd_form_every_command(containerd, forms, tmp_path):
    """containerd:NAME, from a real containerd's store (namespace from CONTAINERD_NAMESPACE),
    agrees with the archive it was imported from in every command."""
    d, _ = forms
    containerd.ctr("images", "import", d / "img.tar")
    ref = "containerd:docker.io/library/demo:1"
    seen = what_each_command_sees(ref, None, tmp_path, env=containerd.env)
    check_agreement("containerd:", seen, "containerd", True)
    rc, out, err = call("inspect", d / "img.tar", check=0)
    assert f"config:   {seen['inspect'][1]}" in out
    # another namespace does not have it: one clear error
    rc, out, err = call("inspect", ref, env=dict(containerd.env, CONTAINERD_NAMESPACE="other"))
    assert rc == 2 and "not found" in err and err.count("bulwark:") == 1, err
