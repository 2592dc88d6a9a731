"""bulwark unpack against hostile archives: each is refused with a clear one-line message,
writes nothing outside the target, and leaves the parent directory exactly as it was."""
import os
import stat

import pytest

from conftest import run_bulwark
import image_util as u


def snapshot(d):
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            out[os.path.relpath(p, d)] = (stat.S_IFMT(st.st_mode), st.st_size)
    return out


def refused(bulwark, tmp_path, image_path, needle, *flags):
    parent = tmp_path / "work"
    parent.mkdir(exist_ok=True)
    (parent / "sentinel").write_text("keep")
    before = snapshot(tmp_path)
    p = bulwark("unpack", *flags, image_path, parent / "rootfs", check=2)
    assert needle in p.stderr, p.stderr
    assert p.stderr.startswith("bulwark: ") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert snapshot(tmp_path) == before
    return p


def img_of(tmp_path, *layers):
    return u.docker_save(tmp_path / "hostile.tar", list(layers))


def test_path_traversal(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("../../escaped", "x")]))
    refused(bulwark, tmp_path, img, "'..'")
    assert not (tmp_path / "escaped").exists()


def test_absolute_path_is_neutralised(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("/etc/abs-bwk-test", "x")]))
    bulwark("unpack", img, tmp_path / "out", check=0)
    assert (tmp_path / "out/etc/abs-bwk-test").read_text() == "x"
    assert not os.path.exists("/etc/abs-bwk-test")


def test_absolute_symlink_then_write(bulwark, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    img = img_of(tmp_path, u.Layer([u.L("abs", str(outside)), u.F("abs/owned", "x")]))
    refused(bulwark, tmp_path, img, "beneath the symlink 'abs'")
    assert not (outside / "owned").exists()


def test_relative_symlink_escape(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.D("a"), u.L("a/up", "../../../../.."),
                                    u.F("a/up/tmp/owned", "x")]))
    refused(bulwark, tmp_path, img, "beneath the symlink 'a/up'")


def test_symlink_in_lower_layer_file_through_it_in_upper(bulwark, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    img = img_of(tmp_path, u.Layer([u.L("etc", str(outside))]),
                 u.Layer([u.F("etc/passwd", "evil")]))
    refused(bulwark, tmp_path, img, "beneath the symlink 'etc'")
    assert not (outside / "passwd").exists()


def test_symlinks_are_kept_verbatim(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.L("abs", "/etc/passwd"), u.L("rel", "../../x")]))
    bulwark("unpack", img, tmp_path / "out", check=0)
    assert os.readlink(tmp_path / "out/abs") == "/etc/passwd"
    assert os.readlink(tmp_path / "out/rel") == "../../x"


def test_hardlink_to_outside(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.H("link", "../../../etc/passwd")]))
    refused(bulwark, tmp_path, img, "'..'")


def test_hardlink_through_symlink(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.L("s", "/etc"), u.H("link", "s/passwd")]))
    refused(bulwark, tmp_path, img, "beneath the symlink 's'")


def test_hardlink_inside_works(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("a", "data"), u.H("b", "a")]))
    bulwark("unpack", img, tmp_path / "out", check=0)
    assert os.stat(tmp_path / "out/a").st_ino == os.stat(tmp_path / "out/b").st_ino


@pytest.mark.parametrize("name", [".wh...", "d/.wh..."])
def test_whiteout_of_dotdot(bulwark, tmp_path, name):
    img = img_of(tmp_path, u.Layer([u.D("d"), u.F("d/x", "1")]), u.Layer([u.F(name)]))
    refused(bulwark, tmp_path, img, "whiteout of '.', '..'")


def test_device_nodes_skipped_with_warning(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.D("dev"), u.DEV("dev/mem", "c", 1, 1), u.F("ok", "1")]))
    p = bulwark("unpack", img, tmp_path / "out", check=0)
    assert "dev/mem: skipped a device node" in p.stderr
    assert not (tmp_path / "out/dev/mem").exists() and (tmp_path / "out/ok").exists()
    if os.geteuid() == 0:
        bulwark("unpack", "--devices", img, tmp_path / "out2", check=0)
        assert stat.S_ISCHR(os.lstat(tmp_path / "out2/dev/mem").st_mode)


def test_setuid_stripped_unless_kept(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("su", "x", mode=0o4755)]))
    p = bulwark("unpack", img, tmp_path / "a", check=0)
    assert "removed the setuid" in p.stderr
    assert os.stat(tmp_path / "a/su").st_mode & 0o7777 == 0o755
    bulwark("unpack", "--keep-setuid", img, tmp_path / "b", check=0)
    assert os.stat(tmp_path / "b/su").st_mode & 0o7777 == 0o4755


def test_decompression_bomb(bulwark, tmp_path):
    l = u.Layer(raw_tar=b"", blob=u.bomb_layer_blob(10 << 30), comp="gzip")
    img = img_of(tmp_path, l)
    refused(bulwark, tmp_path, img, "decompression bomb")


def test_size_limit(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("big", os.urandom(1 << 20))], comp="gzip"))
    refused(bulwark, tmp_path, img, "the size limit", "--max-size", "512k")


def test_million_entries(bulwark, tmp_path):
    l = u.Layer(raw_tar=b"", blob=u.many_entries_tar_gz(1_000_001), comp="gzip")
    img = img_of(tmp_path, l)
    # the default limit, on the read path (creating a million files to then refuse the
    # archive costs minutes of disk time, the limit check is the same code)
    p = bulwark("inspect", img, check=2)
    assert "more than 1000000 entries" in p.stderr
    # unpack refuses at its limit and removes what it wrote
    refused(bulwark, tmp_path, img, "more than 20000 entries", "--max-entries", "20000")


def test_truncated_gzip(bulwark, tmp_path):
    l = u.Layer([u.F(f"f{i}", os.urandom(4096)) for i in range(20)], comp="gzip")
    l.blob = l.blob[: len(l.blob) // 2]
    img = img_of(tmp_path, l)
    refused(bulwark, tmp_path, img, "truncated")


def test_digest_mismatch(bulwark, tmp_path):
    good = u.Layer([u.F("etc/passwd", "root:x:0:0\n")], comp="gzip")
    evil = u.Layer([u.F("etc/passwd", "root::0:0\n")], comp="gzip")
    img = u.oci_layout(tmp_path / "oci.tar", [{"layers": [good]}], as_tar=False)
    (img / "blobs/sha256" / good.digest[7:]).write_bytes(evil.blob)
    refused(bulwark, tmp_path, img, "digest mismatch")


def test_malformed_manifest_json(bulwark, tmp_path):
    img = u._tar_members([("manifest.json", b'[{"Config": "x.json", "Layers": [1]}]')],
                         tmp_path / "bad.tar")
    refused(bulwark, tmp_path, img, '"Layers"[0] must be a string')
    img = u._tar_members([("manifest.json", b'[{"Config": ')], tmp_path / "bad2.tar")
    refused(bulwark, tmp_path, img, "invalid JSON")


def test_duplicate_keys_rejected(bulwark, tmp_path):
    l1 = [u.Layer([u.F("x", "1")])]
    cfg = u.config_for(l1).replace(b'"os":"linux"', b'"os":"linux","os":"windows"')
    img = u.docker_save(tmp_path / "i.tar", l1, config_bytes=cfg)
    refused(bulwark, tmp_path, img, "duplicate object key")


def test_huge_config(bulwark, tmp_path):
    l1 = [u.Layer([u.F("x", "1")])]
    cfg = u.config_for(l1, config={"Env": ["A=" + "x" * (9 << 20)]})
    img = u.docker_save(tmp_path / "i.tar", l1, config_bytes=cfg)
    refused(bulwark, tmp_path, img, "over the 8388608-byte limit")


def test_huge_index(bulwark, tmp_path):
    img = u.oci_layout(tmp_path / "oci", [{"layers": [u.Layer([u.F("x", "1")])]}],
                       index_bytes=b'{"schemaVersion":2,"manifests":[' + b" " * (2 << 20) + b"]}")
    refused(bulwark, tmp_path, img, "over the 1048576-byte limit")


def test_target_must_not_exist(bulwark, tmp_path):
    img = img_of(tmp_path, u.Layer([u.F("x", "1")]))
    (tmp_path / "work").mkdir()
    (tmp_path / "work/rootfs").mkdir()
    refused(bulwark, tmp_path, img, "already exists")


def test_layer_cache(bulwark, tmp_path):
    l1 = u.Layer([u.D("app"), u.F("app/secret", "s"), u.D("tmp"), u.F("tmp/a", "a")])
    l2 = u.Layer([u.W("app/secret"), u.O("tmp"), u.F("tmp/b", "b")], comp="gzip")
    img = img_of(tmp_path, l1, l2)
    cache = tmp_path / "cache"
    p = bulwark("unpack", "--layers", "--cache", cache, img, check=0)
    dirs = p.stdout.split()
    assert [os.path.basename(d) for d in dirs] == [l1.diff_id[7:], l2.diff_id[7:]]
    assert (cache / "layers/sha256" / l1.diff_id[7:] / "app/secret").read_text() == "s"
    upper = cache / "layers/sha256" / l2.diff_id[7:]
    if os.geteuid() == 0:  # overlayfs whiteout: a 0:0 character device
        st = os.lstat(upper / "app/secret")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
        assert os.getxattr(upper / "tmp", "trusted.overlay.opaque") == b"y"
    else:
        wl = (cache / "layers/sha256" / (l2.diff_id[7:] + ".whiteouts")).read_text()
        assert "whiteout app/secret" in wl and "opaque tmp" in wl
    # a second run reuses the layers (no temp dirs, same answer)
    mtime = os.stat(dirs[0]).st_mtime_ns
    p2 = bulwark("unpack", "--layers", "--cache", cache, img, check=0)
    assert p2.stdout == p.stdout and os.stat(dirs[0]).st_mtime_ns == mtime
    assert not list((cache / "layers/sha256").glob("*.tmp-*"))


def test_layer_cache_concurrent(bulwark, tmp_path):
    import subprocess
    from conftest import BULWARK
    layers = [u.Layer([u.F(f"d{i}/f{j}", os.urandom(2048)) for j in range(200)], comp="gzip")
              for i in range(3)]
    img = img_of(tmp_path, *layers)
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([BULWARK, "unpack", "--layers", "--cache", str(cache), str(img)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1
    for l in layers:
        assert len(os.listdir(cache / "layers/sha256" / l.diff_id[7:])) == 1
    assert not list((cache / "layers/sha256").glob("*.tmp-*"))


@pytest.fixture
def no_openat2():
    from conftest import BUILD
    helper = BUILD / "no_openat2"
    assert helper.exists(), "build the test programs (make asan)"
    return str(helper)


def test_fallback_without_openat2(tmp_path, no_openat2):
    """The same refusals when openat2 is blocked (seccomp ENOSYS): the component walk."""
    import subprocess
    from conftest import BULWARK
    outside = tmp_path / "outside"
    outside.mkdir()
    cases = [
        ([u.L("abs", str(outside)), u.F("abs/owned", "x")], "beneath the symlink 'abs'"),
        ([u.D("a"), u.L("a/up", "../../.."), u.F("a/up/owned", "x")],
         "beneath the symlink 'a/up'"),
        ([u.L("s", "/etc"), u.H("link", "s/passwd")], "beneath the symlink 's'"),
    ]
    for i, (entries, needle) in enumerate(cases):
        img = u.docker_save(tmp_path / f"h{i}.tar", [u.Layer(entries)])
        p = subprocess.run([no_openat2, BULWARK, "unpack", str(img), str(tmp_path / f"o{i}")],
                           capture_output=True, text=True)
        assert p.returncode == 2 and needle in p.stderr, p.stderr
        assert not (tmp_path / f"o{i}").exists() and not list(tmp_path.glob(f"o{i}.tmp-*"))
    assert os.listdir(outside) == []
    # and a normal image still unpacks, with deep new directories
    img = u.docker_save(tmp_path / "ok.tar", [u.Layer([u.F("a/b/c/d", "1"), u.L("l", "a")]),
                                              u.Layer([u.W("a/b/c"), u.F("a/b/e", "2")])])
    p = subprocess.run([no_openat2, BULWARK, "unpack", str(img), str(tmp_path / "ok")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "ok/a/b/e").read_text() == "2" and not (tmp_path / "ok/a/b/c").exists()


def test_layer_cache_refuses_tampered_layer(bulwark, tmp_path):
    good = u.Layer([u.F("bin/sh", "good")], comp="gzip")
    evil = u.Layer([u.F("bin/sh", "evil")], comp="gzip")
    img = u.oci_layout(tmp_path / "oci", [{"layers": [good]}])
    (img / "blobs/sha256" / good.digest[7:]).write_bytes(evil.blob)
    cache = tmp_path / "cache"
    p = bulwark("unpack", "--layers", "--cache", cache, img, check=2)
    assert "digest mismatch" in p.stderr
    assert sorted(os.listdir(cache / "layers/sha256")) == [good.diff_id[7:] + ".lock"]
