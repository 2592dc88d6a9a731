"""`run` and `unpack` of registry images through the shared content cache (CACHE/blobs/sha256):
blobs downloaded once and shared between images, verified, resumed with a Range request after
an interrupted download, refused on a digest mismatch; and the registry flags of run and
unpack against the htpasswd + self-signed TLS registry. Blob downloads are counted on the
registry's side by a proxy in front of Debian's docker-registry (registry_util.Proxy)."""
import gzip
import os
from pathlib import Path

import pytest

import image_util as iu
import registry_util as ru

pytestmark = pytest.mark.skipif(not os.access(ru.REGISTRY, os.X_OK),
                                reason="docker-registry is not installed (scripts/deps.sh)")

PASSWORD = "cache-pw-4b7e19"
CFG = {"Cmd": ["/bin/cat", "/etc/marker"], "Env": ["PATH=/bin"]}


def base_layer():
    # stored (not compressed) gzip of busybox: a blob large enough to cut in the middle
    bb = Path("/bin/busybox").read_bytes()
    return iu.Layer([iu.D("bin"), iu.F("bin/busybox", bb, 0o755)] +
                    [iu.L(f"bin/{a}", "busybox") for a in ("sh", "cat", "ls", "true")],
                    comp="gzip")


def top_layer(mark):
    return iu.Layer([iu.D("etc"), iu.F("etc/marker", mark)])


def push(client, repo, tag, layers):
    cfg = iu.config_for(layers, config=CFG)
    digest, _ = client.push_image(repo, tag, layers, config_bytes=cfg)
    return digest, "sha256:" + iu.sha(cfg)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    base = tmp_path_factory.mktemp("cachereg")
    r = ru.Registry(base / "reg")
    p = ru.Proxy(r)
    try:
        c = ru.Client(f"http://{r.host}")
        b = base_layer()
        r.base = b
        r.a_top, r.b_top = top_layer("image A\n"), top_layer("image B\n")
        r.a_digest, r.a_cfg = push(c, "cache/a", "1", [b, r.a_top])
        r.b_digest, r.b_cfg = push(c, "cache/b", "1", [b, r.b_top])
        r.proxy = p
        yield r
    finally:
        p.stop()
        r.stop()


def blobs_in(cache):
    d = cache / "blobs" / "sha256"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def run(bulwark, cache, ref, *args, check=0, **kw):
    return bulwark("run", "-q", "--cache", cache, *args, ref, check=check, **kw)


def test_run_downloads_each_blob_once(bulwark, reg, tmp_path):
    cache, px = tmp_path / "cache", reg.proxy
    a = f"{px.host}/cache/a:1"
    px.reset()
    assert run(bulwark, cache, a).stdout == "image A\n"
    got = sorted(d for d, _ in px.blob_gets())
    assert got == sorted([reg.a_cfg, reg.base.digest, reg.a_top.digest]), got
    # kept by digest, complete, nothing partial left
    names = blobs_in(cache)
    for d in (reg.a_cfg, reg.base.digest, reg.a_top.digest, reg.a_digest):
        assert d[7:] in names, names
    assert not [n for n in names if n.endswith(".partial") or ".tmp" in n], names
    # a second run: the manifest is asked again (a tag may move), no blob is downloaded
    px.reset()
    assert run(bulwark, cache, a).stdout == "image A\n"
    assert px.blob_gets() == []
    assert ("GET", "/v2/cache/a/manifests/1", None) in px.requests
    # another image on the same base: only its own config and top layer
    px.reset()
    assert run(bulwark, cache, f"{px.host}/cache/b:1").stdout == "image B\n"
    got = sorted(d for d, _ in px.blob_gets())
    assert got == sorted([reg.b_cfg, reg.b_top.digest]), got


def test_run_by_digest_offline(bulwark, reg, tmp_path):
    """Pulled once by digest, the image runs with the registry gone."""
    cache = tmp_path / "cache"
    r = ru.Registry(tmp_path / "reg")
    p = ru.Proxy(r)
    try:
        digest, _ = push(ru.Client(f"http://{r.host}"), "off/line", "1",
                         [base_layer(), top_layer("offline\n")])
        ref = f"{p.host}/off/line@{digest}"
        assert run(bulwark, cache, ref).stdout == "offline\n"
    finally:
        p.stop()
        r.stop()
    assert run(bulwark, cache, ref).stdout == "offline\n"
    # a tag is always asked again: offline it is an error that names the registry
    e = run(bulwark, cache, f"{p.host}/off/line:1", check=125).stderr
    assert "cannot connect to registry" in e and e.count("\n") == 1


def test_unpack_shares_the_cache(bulwark, reg, tmp_path):
    cache, px = tmp_path / "cache", reg.proxy
    ref = f"{px.host}/cache/a:1"
    px.reset()
    bulwark("unpack", "--cache", cache, ref, tmp_path / "one")
    assert len(px.blob_gets()) == 3
    assert (tmp_path / "one" / "etc" / "marker").read_text() == "image A\n"
    px.reset()
    bulwark("unpack", "--cache", cache, ref, tmp_path / "two")
    assert px.blob_gets() == []
    assert (tmp_path / "two" / "bin" / "busybox").read_bytes() == \
        Path("/bin/busybox").read_bytes()
    # and run finds the blobs unpack kept
    px.reset()
    assert run(bulwark, cache, ref).stdout == "image A\n"
    assert px.blob_gets() == []
    # a cached blob is checked whenever it is read: one torn (a power loss: nothing is
    # fsynced) is downloaded again, as is a torn document
    blobs = cache / "blobs" / "sha256"
    layer = blobs / reg.base.digest[7:]
    layer.write_bytes(layer.read_bytes()[:1000])
    (blobs / reg.a_cfg[7:]).write_bytes(b"{}")
    px.reset()
    bulwark("unpack", "--cache", cache, ref, tmp_path / "three")
    assert sorted(d for d, _ in px.blob_gets()) == sorted([reg.a_cfg, reg.base.digest])
    assert iu.sha(layer.read_bytes()) == reg.base.digest[7:]


def test_interrupted_download_resumes(bulwark, reg, tmp_path):
    cache, px = tmp_path / "cache", reg.proxy
    big = reg.base
    half = len(big.blob) // 2
    assert half > 100_000
    px.reset()
    px.cut_digest, px.cut_after = big.digest, half
    e = run(bulwark, cache, f"{px.host}/cache/a:1", check=125).stderr
    assert "run again to resume" in e and e.count("\n") == 1, e
    partial = cache / "blobs" / "sha256" / (big.digest[7:] + ".partial")
    assert partial.stat().st_size == half
    assert big.digest[7:] not in blobs_in(cache)
    px.reset()
    assert run(bulwark, cache, f"{px.host}/cache/a:1").stdout == "image A\n"
    gets = [(d, rng) for d, rng in px.blob_gets() if d == big.digest]
    assert gets == [(big.digest, f"bytes={half}-")], px.blob_gets()
    assert not partial.exists()
    assert iu.sha((cache / "blobs" / "sha256" / big.digest[7:]).read_bytes()) == big.digest[7:]


def test_resume_checks_the_whole_file(bulwark, reg, tmp_path):
    """The digest is checked over the whole file, the kept part included: a partial file
    that is not a prefix of the blob ends in a mismatch that deletes it, and the next run
    downloads the blob afresh. A server that ignores Range (200) is read from the start."""
    cache, px = tmp_path / "cache", reg.proxy
    big = reg.base
    d = cache / "blobs" / "sha256"
    d.mkdir(parents=True)
    partial = d / (big.digest[7:] + ".partial")
    partial.write_bytes(b"\0" * 1000)
    px.reset()
    e = run(bulwark, cache, f"{px.host}/cache/a:1", check=125).stderr
    assert "does not match its digest" in e and "deleted" in e and e.count("\n") == 1, e
    assert (big.digest, "bytes=1000-") in px.blob_gets()
    assert not partial.exists()
    assert run(bulwark, cache, f"{px.host}/cache/a:1").stdout == "image A\n"
    # Range ignored: the server's whole answer replaces the kept part
    cache2 = tmp_path / "cache2"
    (cache2 / "blobs" / "sha256").mkdir(parents=True)
    (cache2 / "blobs" / "sha256" / (big.digest[7:] + ".partial")).write_bytes(
        big.blob[:5000])
    px.strip_range = True
    try:
        assert run(bulwark, cache2, f"{px.host}/cache/a:1").stdout == "image A\n"
    finally:
        px.strip_range = False
    assert iu.sha((cache2 / "blobs" / "sha256" / big.digest[7:]).read_bytes()) == \
        big.digest[7:]


def test_digest_mismatch_is_refused(bulwark, tmp_path):
    """A registry that serves other bytes for a layer: a clear error, and nothing of the blob
    stays in the cache (neither whole nor partial)."""
    r = ru.Registry(tmp_path / "reg")
    try:
        layers = [base_layer(), top_layer("evil\n")]
        push(ru.Client(f"http://{r.host}"), "evil/app", "1", layers)
        blob = next(p for p in (tmp_path / "reg" / "data").rglob("data")
                    if p.parent.name == layers[1].digest[7:])
        blob.write_bytes(gzip.compress(b"tampered" * 100))
        cache = tmp_path / "cache"
        for cmd in (("run", "-q", "--cache", cache), ("unpack", "--cache", cache)):
            args = (*cmd, f"{r.host}/evil/app:1") + (() if cmd[0] == "run" else
                                                     (tmp_path / "out",))
            e = bulwark(*args, check=125 if cmd[0] == "run" else 2).stderr
            assert "does not match its digest" in e and "deleted" in e, e
            assert e.count("\n") == 1
            left = [n for n in blobs_in(cache) if n.startswith(layers[1].digest[7:]) and
                    not n.endswith(".lock")]
            assert left == [], left
        assert not (tmp_path / "out").exists()
    finally:
        r.stop()


# ---- registry flags on run and unpack --------------------------------------------------------
@pytest.fixture(scope="module")
def tls_reg(tmp_path_factory):
    base = tmp_path_factory.mktemp("tlscache")
    crt, key = ru.self_signed(base)
    pw = ru.htpasswd_file(base / "htpasswd", {"alice": PASSWORD})
    r = ru.Registry(base / "reg", tls=(crt, key),
                    auth={"htpasswd": {"realm": "bulwark-test", "path": str(pw)}})
    r.crt = crt
    try:
        c = ru.Client(f"https://{r.host}", "alice", PASSWORD, cafile=crt)
        push(c, "private/app", "1", [base_layer(), top_layer("private\n")])
        yield r
    finally:
        r.stop()


def test_run_registry_flags(bulwark, tls_reg, tmp_path):
    ref = f"{tls_reg.host}/private/app:1"
    cache = tmp_path / "cache"
    env = {"DOCKER_CONFIG": str(tmp_path / "none")}
    # verification on by default
    e = run(bulwark, cache, ref, check=125, env=env).stderr
    assert "did not verify" in e and "--ca-cert" in e
    # trusted, anonymous: 401 and how to log in
    e = run(bulwark, cache, ref, "--ca-cert", tls_reg.crt, check=125, env=env).stderr
    assert "requires authentication" in e
    # --username with --password-stdin (never printed)
    p = run(bulwark, cache, ref, "--ca-cert", tls_reg.crt, "--username", "alice",
            "--password-stdin", input=PASSWORD + "\n", env=env)
    assert p.stdout == "private\n" and PASSWORD not in p.stderr
    # --insecure-registry: TLS without verification, for that host only
    p = run(bulwark, tmp_path / "c2", ref, "--insecure-registry", tls_reg.host, "--username",
            "alice", "--password-stdin", input=PASSWORD, env=env)
    assert p.stdout == "private\n"
    # usage errors
    e = run(bulwark, cache, ref, "--password-stdin", check=2).stderr
    assert "--password-stdin needs --username" in e
    e = run(bulwark, cache, ref, "-i", "--username", "alice", "--password-stdin",
            check=2).stderr
    assert "both want standard input" in e


def test_unpack_registry_flags(bulwark, tls_reg, tmp_path):
    ref = f"{tls_reg.host}/private/app:1"
    env = {"DOCKER_CONFIG": str(tmp_path / "none")}
    e = bulwark("unpack", "--cache", tmp_path / "cache", ref, tmp_path / "a", check=2,
                env=env).stderr
    assert "did not verify" in e
    bulwark("unpack", "--cache", tmp_path / "cache", "--ca-cert", tls_reg.crt, "--username",
            "alice", "--password-stdin", ref, tmp_path / "b", input=PASSWORD, env=env)
    assert (tmp_path / "b" / "etc" / "marker").read_text() == "private\n"
    bulwark("unpack", "--cache", tmp_path / "cache", "--insecure-registry", tls_reg.host,
            "--username", "alice", "--password-stdin", ref, tmp_path / "c", input=PASSWORD,
            env=env)
    assert (tmp_path / "c" / "etc" / "marker").read_text() == "private\n"
