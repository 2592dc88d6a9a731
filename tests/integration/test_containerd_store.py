"""containerd:NAME read straight from a real containerd's content store (its bbolt metadata and
its blob files): no `ctr images export`, no ctr at all.

A containerd of our own (private root, state and socket; test_image_sources.Containerd) is
given images with `ctr image import` into test namespaces. Scanning containerd:NAME must give
exactly the findings of scanning the docker-save archive it was imported from; the namespace
is chosen by NS/NAME or CONTAINERD_NAMESPACE; a missing name names the namespace; ctr is
never executed (strace), nor needed (a mount namespace where /usr/bin/ctr cannot run); a store
under concurrent writes still reads as a consistent snapshot; a layer containerd discarded
after unpacking is a clear error (and `ctr images export` fails on it too: no fallback)."""
import json
import os
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

import image_util as iu
from conftest import BUILD, BULWARK
from test_image_sources import Containerd

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("containerd"),
                                reason="needs root and containerd")

TOKEN = "ghp_" + "C0ntainerdSt0reLeak7xQ2mZ7wB5nK8vL4pJ"
NS = "bwk-store"


def layers(mark):
    return [iu.Layer([iu.D("etc"), iu.F("etc/hostname", f"{mark}\n")], comp="gzip"),
            iu.Layer([iu.D("app"), iu.F("app/.env", f"GITHUB_TOKEN={TOKEN}\n"),
                      iu.F("app/run", "#!/bin/sh\n", mode=0o4755),
                      iu.F("app/mark", mark)], comp="gzip")]


@pytest.fixture(scope="module")
def ctd(tmp_path_factory):
    base = tmp_path_factory.mktemp("ctdstore")
    c = Containerd(base)
    try:
        d = base / "archives"
        d.mkdir()
        c.tars = {}
        for ns, tag, mark in ((NS, "app:1", "store-one"), ("bwk-other", "app:1", "other-ns"),
                              (NS, "gone:1", "to-discard")):
            tar = iu.docker_save(d / f"{ns}-{tag.replace(':', '_')}.tar", layers(mark),
                                 tags=[tag])
            c.tars[(ns, tag)] = tar
            c.ctr("-n", ns, "images", "import", tar)
        # enough names that the images bucket is a tree of branch and leaf pages, not one leaf
        c.ctr("-n", NS, "images", "tag", "docker.io/library/app:1",
              *[f"docker.io/library/pad{i:03d}:1" for i in range(300)])
        yield c
    finally:
        c.stop()


def bwk(*args, env=None, check=None, prefix=()):
    p = subprocess.run([*prefix, BULWARK, *map(str, args)], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})), timeout=300)
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def scan_doc(target, env, prefix=()):
    p = bwk("scan", "-f", "json", "--fail-on", "none", target, env=env, check=0, prefix=prefix)
    return json.loads(p.stdout)


def comparable(doc):
    return sorted((f["id"], f["location"].get("path"), f["location"].get("layerIndex"),
                   f["severity"], f.get("evidence"), f.get("message")) for f in doc["findings"])


def branch_pages(db: bytes) -> int:
    """Pages of the file whose header says branch (bbolt's flag 0x01), by page size."""
    psize = int.from_bytes(db[24:28], "little")
    n = 0
    for off in range(2 * psize, len(db) - 16, psize):
        pgid = int.from_bytes(db[off:off + 8], "little")
        flags = int.from_bytes(db[off + 8:off + 10], "little")
        n += pgid == off // psize and flags == 0x01
    return n


def test_scan_equals_the_archive(ctd):
    """containerd:NAME scans exactly as the docker-save archive it was imported from."""
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
    got = scan_doc("containerd:docker.io/library/app:1", env)
    want = scan_doc(ctd.tars[(NS, "app:1")], env)
    assert got["facts"]["image.source"] == "containerd"
    assert comparable(got) == comparable(want)
    assert any(f[0] == "github-pat-classic" for f in comparable(got)), comparable(got)
    # a short name is spelled as docker and ctr spell it in full
    assert comparable(scan_doc("containerd:app:1", env)) == comparable(want)
    # names found through the branch pages of a large images bucket
    for i in (0, 137, 299):
        assert comparable(scan_doc(f"containerd:pad{i:03d}:1", env)) == comparable(want)
    db = ctd.base / "root/io.containerd.metadata.v1.bolt/meta.db"
    assert branch_pages(db.read_bytes()) > 0


def test_namespace_selection(ctd):
    """NS/NAME and CONTAINERD_NAMESPACE pick the namespace; the same name in two namespaces
    holds two different images."""
    outs = iter(range(100))

    def mark(target, env):
        out = Path(ctd.base) / f"unpacked-{next(outs)}"
        bwk("unpack", target, out, env=env, check=0)
        return (out / "app" / "mark").read_text()

    env = {"CONTAINERD_ADDRESS": str(ctd.sock)}
    assert mark(f"containerd:{NS}/docker.io/library/app:1", env) == "store-one"
    assert mark("containerd:bwk-other/app:1", env) == "other-ns"
    assert mark("containerd:docker.io/library/app:1",
                dict(env, CONTAINERD_NAMESPACE="bwk-other")) == "other-ns"
    # the NS/ prefix wins over CONTAINERD_NAMESPACE
    assert mark(f"containerd:{NS}/app:1", dict(env, CONTAINERD_NAMESPACE="bwk-other")) == \
        "store-one"


def test_missing_name_names_the_namespace(ctd):
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
    p = bwk("scan", "containerd:docker.io/library/nosuch:9", env=env, check=2)
    assert f"not found in containerd namespace '{NS}'" in p.stderr, p.stderr
    assert "bwk-other" in p.stderr and p.stderr.count("bulwark:") == 1, p.stderr
    # a namespace that holds other images: named as such
    p = bwk("inspect", "containerd:bwk-other/gone:1", env=env, check=2)
    assert "namespace 'bwk-other'" in p.stderr, p.stderr


def test_no_ctr_is_run(ctd, tmp_path):
    """No process is executed besides bulwark itself (strace -f sees every execve), and the
    scan works where ctr is neither on PATH nor executable at /usr/bin/ctr."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS, PATH="/nonexistent")
    trace = tmp_path / "trace"
    # LeakSanitizer cannot run under ptrace (an ASan build)
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    p = bwk("scan", "-f", "json", "--fail-on", "none", "containerd:app:1",
            env=dict(env, ASAN_OPTIONS=asan), check=0, prefix=(shutil.which("strace"), "-f", "-qq", "-e", "trace=execve,execveat", "-o", str(trace)))
    assert json.loads(p.stdout)["facts"]["image.source"] == "containerd"
    execs = [l for l in trace.read_text().splitlines() if "execve" in l]
    assert len(execs) == 1 and BULWARK in execs[0], execs
    # ctr made unavailable: a mount namespace where /usr/bin/ctr is a non-executable file
    blocker = tmp_path / "no-ctr"
    blocker.write_text("")
    script = (f"/bin/mount --bind {blocker} /usr/bin/ctr && ! /usr/bin/ctr version 2>/dev/null && "
              f"exec {BULWARK} scan -f json --fail-on none containerd:app:1")
    p = subprocess.run([shutil.which("unshare"), "-m", "--propagation", "private", "/bin/sh", "-c", script],
                       capture_output=True, text=True, env=dict(os.environ, **env), timeout=300)
    assert p.returncode == 0, p.stderr
    want = scan_doc(ctd.tars[(NS, "app:1")], env)
    assert comparable(json.loads(p.stdout)) == comparable(want)


def test_root_found_without_the_socket(ctd):
    """BULWARK_CONTAINERD_ROOT reads a store with no containerd asked; a wrong root is one
    clear error naming the file and the setting."""
    env = {"CONTAINERD_ADDRESS": "/nonexistent.sock", "CONTAINERD_NAMESPACE": NS,
           "BULWARK_CONTAINERD_ROOT": str(ctd.base / "root")}
    want = scan_doc(ctd.tars[(NS, "app:1")], env)
    assert comparable(scan_doc("containerd:app:1", env)) == comparable(want)
    p = bwk("scan", "containerd:app:1", env=dict(env, BULWARK_CONTAINERD_ROOT=str(ctd.base)),
            check=2)
    assert "meta.db" in p.stderr and "BULWARK_CONTAINERD_ROOT" in p.stderr, p.stderr


def test_reads_a_consistent_snapshot_under_writes(ctd):
    """containerd commits transactions (tags added and removed) while bulwark reads meta.db
    without its lock: every scan still finds the image and reads it whole."""
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            t = f"docker.io/library/churn:{i % 50}"
            ctd.ctr("-n", NS, "images", "tag", "--force", "docker.io/library/app:1", t,
                    check=False)
            if i % 3 == 0:
                ctd.ctr("-n", NS, "images", "rm", t, check=False)
            i += 1

    th = threading.Thread(target=churn)
    th.start()
    try:
        env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
        want = comparable(scan_doc(ctd.tars[(NS, "app:1")], env))
        for _ in range(15):
            p = bwk("scan", "-f", "json", "--fail-on", "none", "containerd:app:1", env=env)
            assert p.returncode == 0, p.stderr
            assert comparable(json.loads(p.stdout)) == want
    finally:
        stop.set()
        th.join()


def test_discarded_layer_is_a_clear_error(ctd):
    """A layer blob gone from the content store (what discard_unpacked_layers leaves): one
    error naming the layer and the remedy, before anything is scanned. ctr's export fails on
    the same image, so falling back to it would not help."""
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
    tar = ctd.tars[(NS, "gone:1")]
    with tarfile.open(tar) as t:
        man = json.load(t.extractfile("manifest.json"))
        layer = t.extractfile(man[0]["Layers"][1]).read()
    blob = ctd.base / "root/io.containerd.content.v1.content/blobs/sha256" / iu.sha(layer)
    assert blob.exists(), blob
    blob.unlink()
    p = bwk("scan", "containerd:gone:1", env=env, check=2)
    assert "layer 2" in p.stderr and "discard_unpacked_layers" in p.stderr, p.stderr
    assert f"ctr -n {NS} content fetch docker.io/library/gone:1" in p.stderr, p.stderr
    assert p.stderr.count("bulwark:") == 1, p.stderr
    r = ctd.ctr("-n", NS, "images", "export", "-", "docker.io/library/gone:1", check=False)
    assert r.returncode != 0


def test_index_and_platform(ctd, tmp_path):
    """An image whose target is an index (ctr import --index-name): --platform picks the
    manifest out of it, as for an OCI layout; the offered platforms are the index's."""
    amd = [iu.Layer([iu.F("arch", "amd64")])]
    arm = [iu.Layer([iu.F("arch", "arm64")])]
    tar = iu.oci_layout(tmp_path / "mp.tar", [{"layers": arm, "arch": "arm64"},
                                              {"layers": amd, "arch": "amd64"}], as_tar=True)
    ctd.ctr("-n", NS, "images", "import", "--all-platforms", "--index-name",
            "docker.io/library/multi:1", tar)
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
    for plat in ("linux/arm64", "linux/amd64"):
        p = bwk("inspect", "--platform", plat, "containerd:multi:1", env=env, check=0)
        assert "offered:  linux/arm64, linux/amd64\n" in p.stdout, p.stdout
        assert f"platform: {plat}" in p.stdout, p.stdout
        out = tmp_path / plat.replace("/", "-")
        bwk("unpack", "--platform", plat, "containerd:multi:1", out, env=env, check=0)
        assert (out / "arch").read_text() == plat.split("/")[1]
    p = bwk("inspect", "--platform", "linux/s390x", "containerd:multi:1", env=env, check=2)
    assert "no manifest for platform linux/s390x" in p.stderr, p.stderr


def test_unprivileged_user_is_told_why(ctd):
    """A user who may not reach containerd's socket (nor read its store) is told so, with the
    remedy, instead of a guess at another root."""
    env = dict(os.environ, **dict(ctd.env, CONTAINERD_NAMESPACE=NS))
    p = subprocess.run([shutil.which("setpriv"), "--reuid", "65534", "--regid", "65534",
                        "--clear-groups", BULWARK, "scan", "containerd:app:1"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "permission denied" in p.stderr and "run as root" in p.stderr, p.stderr
    assert p.stderr.count("bulwark:") == 1, p.stderr


def test_without_openat2(ctd):
    """Where openat2 is unavailable (seccomp: ENOSYS, as before Linux 5.6) the store is read
    by the fallback opens, with the same findings."""
    helper = BUILD / "no_openat2"
    if not helper.exists():
        pytest.skip(f"{helper} missing: build the tests")
    env = dict(ctd.env, CONTAINERD_NAMESPACE=NS)
    p = bwk("scan", "-f", "json", "--fail-on", "none", "containerd:app:1", env=env, check=0,
            prefix=(str(helper),))
    assert comparable(json.loads(p.stdout)) == comparable(scan_doc(ctd.tars[(NS, "app:1")], env))
