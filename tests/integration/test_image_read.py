"""Image inputs: every accepted form, verification, exact visibility, config rules."""
import json
import os

import pytest

from conftest import run_bulwark
import image_util as u


def base_layers(comp1="gzip", comp2="zstd"):
    l1 = u.Layer([u.D("etc"), u.F("etc/os-release", "ID=demo\n"), u.D("bin"),
                  u.F("bin/tool", "#!/bin/sh\n", mode=0o755), u.D("app"),
                  u.F("app/.env", "TOKEN=x\n")], comp=comp1)
    l2 = u.Layer([u.W("app/.env"), u.F("etc/os-release", "ID=demo2\n")], comp=comp2)
    return [l1, l2]


FORMS = {
    "docker-classic-tar-layers": lambda p: u.docker_save(p / "i.tar", base_layers("none", "none")),
    "docker-classic-gzip-layers": lambda p: u.docker_save(p / "i.tar", base_layers()),
    "docker-outer-gzip": lambda p: u.docker_save(p / "i.tar.gz", base_layers(), outer_comp="gzip"),
    "docker-outer-zstd": lambda p: u.docker_save(p / "i.tar.zst", base_layers(), outer_comp="zstd"),
    "docker25-oci-style": lambda p: u.docker_save(p / "i.tar", base_layers("none", "none"),
                                                  oci_style=True),
    "oci-dir": lambda p: u.oci_layout(p / "oci", [{"layers": base_layers()}]),
    "oci-tar": lambda p: u.oci_layout(p / "oci.tar", [{"layers": base_layers()}], as_tar=True),
    "oci-tar-zstd-outer": lambda p: u.oci_layout(p / "oci.tar.zst", [{"layers": base_layers()}],
                                                 as_tar=True, outer_comp="zstd"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_forms_inspect_and_unpack(bulwark, tmp_path, form):
    img = FORMS[form](tmp_path)
    p = bulwark("inspect", img, check=0)
    assert "layer 2:" in p.stdout and "linux/amd64" in p.stdout
    out = tmp_path / "out"
    bulwark("unpack", "-q", img, out, check=0)
    assert (out / "etc/os-release").read_text() == "ID=demo2\n"
    assert not (out / "app/.env").exists() and (out / "app").is_dir()
    assert os.access(out / "bin/tool", os.X_OK)
    assert not list(tmp_path.glob("out.tmp-*"))


def test_threads_give_same_result(bulwark, tmp_path):
    layers = [u.Layer([u.F(f"d{i}/f{j}", f"{i}{j}") for j in range(50)], comp="gzip")
              for i in range(6)]
    img = u.docker_save(tmp_path / "i.tar", layers)
    a = bulwark("inspect", "-j", "1", img, check=0).stdout
    b = bulwark("inspect", "-j", "4", img, check=0).stdout
    assert a == b and "50 entries" in a


def multi_platform(tmp_path, **kw):
    amd = [u.Layer([u.F("arch", "amd64")], comp="gzip")]
    arm = [u.Layer([u.F("arch", "arm64")], comp="gzip")]
    return u.oci_layout(tmp_path / "mp", [{"layers": arm, "arch": "arm64", "ref": "v1-arm"},
                                          {"layers": amd, "arch": "amd64", "ref": "v1"}], **kw)


def test_multi_platform_default_host_and_flag(bulwark, tmp_path):
    img = multi_platform(tmp_path)
    bulwark("unpack", img, tmp_path / "a", check=0)
    assert (tmp_path / "a/arch").read_text() == "amd64"
    bulwark("unpack", "--platform", "linux/arm64", img, tmp_path / "b", check=0)
    assert (tmp_path / "b/arch").read_text() == "arm64"
    p = bulwark("unpack", "--platform", "linux/s390x", img, tmp_path / "c", check=2)
    assert "no manifest for platform linux/s390x" in p.stderr and "linux/arm64" in p.stderr


def test_ref_name_selection(bulwark, tmp_path):
    img = multi_platform(tmp_path, as_tar=True)
    bulwark("unpack", f"{img}:v1-arm", tmp_path / "a", check=0)
    assert (tmp_path / "a/arch").read_text() == "arm64"
    p = bulwark("unpack", f"{img}:nope", tmp_path / "b", check=2)
    assert "no manifest named 'nope'" in p.stderr


def test_docker_archive_with_two_images_needs_a_tag(bulwark, tmp_path):
    l1 = [u.Layer([u.F("who", "one")])]
    l2 = [u.Layer([u.F("who", "two")])]
    img = u.docker_save(tmp_path / "i.tar", l1, tags=["one:1"],
                        extra_images=[(l2, ["two:2"], u.config_for(l2))])
    p = bulwark("unpack", img, tmp_path / "x", check=2)
    assert "name one as PATH:TAG" in p.stderr
    bulwark("unpack", f"{img}:two:2", tmp_path / "y", check=0)
    assert (tmp_path / "y/who").read_text() == "two"


def findings(bulwark, img, *args):
    p = bulwark("scan", "-f", "json", "--fail-on", "none", *args, img, check=0)
    return json.loads(p.stdout)["findings"]


@pytest.mark.parametrize("threads", ["1", "3"])
def test_visibility_is_exact(bulwark, tmp_path, threads):
    suid = dict(data="x", mode=0o4755)
    l1 = u.Layer([u.F("a/deleted", **suid), u.F("b/dir/under-whiteout-dir", **suid),
                  u.F("c/under-opaque", **suid), u.F("d/overwritten", **suid),
                  u.F("e/replaced/by-file", **suid), u.F("f/kept", **suid),
                  u.F("g/merged/kept-too", **suid)], comp="gzip")
    l2 = u.Layer([u.W("a/deleted"), u.W("b/dir"), u.O("c"), u.F("c/new", "n"),
                  u.F("d/overwritten", "plain"), u.D("g"), u.D("g/merged")], comp="gzip")
    l3 = u.Layer([u.F("e/replaced", "now a file"), u.F("zz", "top")], comp="gzip")
    img = u.docker_save(tmp_path / "i.tar", [l1, l2, l3])
    f = {x["location"]["path"]: x.get("message", "")
         for x in findings(bulwark, img, "-j", threads) if x["id"] == "setuid-file"}
    assert "removed in layer 2, still shipped in layer 1" in f["a/deleted"]
    assert "removed in layer 2" in f["b/dir/under-whiteout-dir"]
    assert "removed in layer 2" in f["c/under-opaque"]
    assert "replaced in layer 2, this version still shipped in layer 1" in f["d/overwritten"]
    assert "removed in layer 3, still shipped in layer 1" in f["e/replaced/by-file"]
    assert "removed" not in f["f/kept"]
    assert "removed" not in f["g/merged/kept-too"]


def test_digest_mismatch_is_an_integrity_finding_in_scan(bulwark, tmp_path):
    good = u.Layer([u.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n")], comp="gzip")
    evil = u.Layer([u.F("etc/passwd", "root::0:0::/root:/bin/sh\n")], comp="gzip")
    # the manifest/config still name the good layer; the blob is another one
    img = u.oci_layout(tmp_path / "oci", [{"layers": [good]}])
    (img / "blobs/sha256" / good.digest[7:]).write_bytes(evil.blob)
    p = bulwark("scan", "-f", "json", img)
    assert p.returncode == 1, p.stderr
    ids = [x for x in json.loads(p.stdout)["findings"] if x["id"] == "layer-digest-mismatch"]
    assert ids and ids[0]["severity"] == "critical" and ids[0]["category"] == "integrity"
    blob = [x for x in ids if x["message"].startswith("layer 1 blob")]
    assert blob and good.digest in blob[0]["message"] and evil.digest in blob[0]["message"]
    assert any(x["message"].startswith("layer 1 diff_id") for x in ids)
    # strict for unpack: exit 2 naming the blob, nothing left behind
    p = bulwark("unpack", img, tmp_path / "out", check=2)
    assert "digest mismatch" in p.stderr and good.digest[7:] in p.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("out.tmp-*"))


def test_diff_id_mismatch(bulwark, tmp_path):
    l1 = u.Layer([u.F("x", "1")])
    cfg = u.config_for([l1], diff_ids=["sha256:" + "0" * 64])
    img = u.docker_save(tmp_path / "i.tar", [l1], config_bytes=cfg)
    p = bulwark("inspect", img, check=2)
    assert "uncompressed (diff_id) digest mismatch" in p.stderr and "0" * 64 in p.stderr


def test_config_rules(bulwark, tmp_path):
    l1 = [u.Layer([u.F("x", "1")])]
    img = u.docker_save(tmp_path / "root.tar", l1, config={
        "User": "root", "ExposedPorts": {"22/tcp": {}, "8080/tcp": {}, "2375/tcp": {}}})
    f = findings(bulwark, img)
    ids = [(x["id"], x["location"].get("key")) for x in f]
    assert ("image-user-root", "config.User") in ids
    assert ("image-exposed-admin-port", "config.ExposedPorts.22/tcp") in ids
    assert ("image-exposed-admin-port", "config.ExposedPorts.2375/tcp") in ids
    assert not any(k == "config.ExposedPorts.8080/tcp" for _, k in ids)
    assert ("image-no-healthcheck", "config.Healthcheck") in ids
    img = u.docker_save(tmp_path / "ok.tar", l1, config={
        "User": "10001:10001", "Healthcheck": {"Test": ["CMD", "true"]}})
    assert not [x for x in findings(bulwark, img) if x["id"].startswith("image-")]


def test_scan_rootfs_still_works(bulwark, busybox_rootfs):
    p = bulwark("scan", "--fail-on", "none", busybox_rootfs, check=0)
    assert "image-user-root" not in p.stdout


def test_scan_reports_facts_and_checks(bulwark, tmp_path, busybox_rootfs):
    """A clean scan must show what it examined and that its checks ran."""
    l1 = [u.Layer([u.F("x", "1")]), u.Layer([u.F("app/.env", "AWS_SECRET_ACCESS_KEY="
                                                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEZ\n")])]
    img = u.docker_save(tmp_path / "i.tar", l1, config={
        "User": "10001", "Healthcheck": {"Test": ["CMD", "true"]}})
    doc = json.loads(bulwark("scan", "-f", "json", "--fail-on", "none", img, check=0).stdout)
    facts, checks = doc["facts"], {c["id"]: c for c in doc["checks"]}
    assert facts["image.layers"] == "2"
    assert facts["image.platform"].startswith("linux/")
    assert facts["image.digest"].startswith("sha256:")
    assert "secrets (" in facts["scan.scanners"]
    secret = any(f["category"] == "secret" for f in doc["findings"])
    assert checks["secret-scan"]["status"] == ("fail" if secret else "pass")
    assert checks["image-user-root"]["status"] == "pass"
    assert checks["layer-digest-mismatch"]["status"] == "pass"
    assert checks["setuid-file"]["status"] == "pass"
    # a root filesystem has no config and no digests: those checks are skipped, saying why
    doc = json.loads(bulwark("scan", "-f", "json", "--fail-on", "none", busybox_rootfs,
                             check=0).stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["image-user-root"]["status"] == "skip"
    assert checks["layer-digest-mismatch"]["detail"] == "a root filesystem directory has no digests"
    assert checks["secret-scan"]["status"] == "pass"
    text = bulwark("scan", "--show-passed", busybox_rootfs, check=0).stdout
    assert "  [SKIP] image-user-root  " in text and "  [PASS] secret-scan  " in text
