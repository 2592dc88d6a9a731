"""Inventory (`bulwark sbom`) and vulnerability matching (`bulwark db`, `bulwark scan`) on
images built here: a dpkg status, an apk installed db, Python dist-info and npm package.json,
with whiteouts, and small OSV fixtures written by the tests."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402

DEBIAN_OS = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
ALPINE_OS = "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n"


def dpkg_stanza(name, version, source=None, arch="amd64", status="install ok installed"):
    s = f"Package: {name}\nStatus: {status}\nArchitecture: {arch}\n"
    if source:
        s += f"Source: {source}\n"
    return s + f"Version: {version}\nDescription: {name}\n test package\n\n"


DPKG = (dpkg_stanza("libssl3", "3.0.11-1~deb12u2", "openssl")
        + dpkg_stanza("openssl", "3.0.11-1~deb12u2")
        + dpkg_stanza("zlib1g", "1:1.2.13.dfsg-1", "zlib")
        + dpkg_stanza("libc6", "2.36-9+deb12u4", "glibc")
        + dpkg_stanza("bash", "5.2.15-2+b2", "bash (5.2.15-2)")
        + dpkg_stanza("gone", "1.0", status="deinstall ok config-files"))
APK = ("P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n\n"
       "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
       "P:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\n\n")
PY_META = "Metadata-Version: 2.1\nName: {n}\nVersion: {v}\nSummary: x\n\nlong text\n"
NPM = '{{"name": "{n}", "version": "{v}", "description": "x"}}'


def debian_layers():
    base = u.Layer([u.D("etc"), u.F("etc/os-release", DEBIAN_OS), u.D("var"),
                    u.D("var/lib"), u.D("var/lib/dpkg"), u.F("var/lib/dpkg/status", DPKG)],
                   comp="gzip")
    app = u.Layer([
        u.D("usr"), u.D("usr/lib"), u.D("usr/lib/python3"),
        u.D("usr/lib/python3/dist-packages"),
        u.D("usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info"),
        u.F("usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA",
            PY_META.format(n="Jinja2", v="3.1.2")),
        u.D("usr/lib/python3/dist-packages/requests.egg-info"),
        u.F("usr/lib/python3/dist-packages/requests.egg-info/PKG-INFO",
            PY_META.format(n="requests", v="2.19.0")),
        u.D("app"), u.D("app/node_modules"), u.D("app/node_modules/lodash"),
        u.F("app/node_modules/lodash/package.json", NPM.format(n="lodash", v="4.17.20")),
        u.D("app/node_modules/lodash/fp"),
        u.F("app/node_modules/lodash/fp/package.json", NPM.format(n="fp-inner", v="1.0.0")),
        u.D("app/node_modules/@babel"), u.D("app/node_modules/@babel/core"),
        u.F("app/node_modules/@babel/core/package.json",
            NPM.format(n="@babel/core", v="7.23.2")),
    ], comp="zstd")
    return [base, app]


def sbom(target, *args, check=0):
    p = run_bulwark("sbom", "-f", "json", *args, target, check=check)
    return json.loads(p.stdout) if check == 0 else p


def names(doc):
    return sorted((p["ecosystem"], p["name"], p["version"]) for p in doc["packages"])


def tree_digest(root):
    h = hashlib.sha256()
    for dp, dns, fns in sorted(os.walk(root)):
        dns.sort()
        for f in sorted(fns):
            p = Path(dp) / f
            st = p.lstat()
            h.update(f"{p.relative_to(root)} {st.st_mode} {st.st_size}\n".encode())
            if p.is_file() and not p.is_symlink():
                h.update(p.read_bytes())
    return h.hexdigest()


# ---- inventory --------------------------------------------------------------------------------
def test_inventory_every_format(tmp_path):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    before = tree_digest(tmp_path)
    doc = sbom(img)
    assert tree_digest(tmp_path) == before  # read-only: nothing written next to the input
    assert doc["os"]["id"] == "debian" and doc["os"]["version_id"] == "12"
    assert names(doc) == sorted([
        ("deb", "libssl3", "3.0.11-1~deb12u2"), ("deb", "openssl", "3.0.11-1~deb12u2"),
        ("deb", "zlib1g", "1:1.2.13.dfsg-1"), ("deb", "libc6", "2.36-9+deb12u4"),
        ("deb", "bash", "5.2.15-2+b2"), ("pypi", "Jinja2", "3.1.2"),
        ("pypi", "requests", "2.19.0"), ("npm", "lodash", "4.17.20"),
        ("npm", "@babel/core", "7.23.2")])
    by = {p["name"]: p for p in doc["packages"]}
    assert by["libssl3"]["source"] == "openssl"
    assert by["libssl3"]["source_version"] == "3.0.11-1~deb12u2"
    assert by["bash"]["source_version"] == "5.2.15-2"
    assert by["libssl3"]["purl"] == \
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
    assert by["zlib1g"]["purl"].startswith("pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?")
    assert by["Jinja2"]["purl"] == "pkg:pypi/jinja2@3.1.2"
    assert by["@babel/core"]["purl"] == "pkg:npm/%40babel/core@7.23.2"
    layers = debian_layers()
    # the layer as the image names it: the blob digest, or the diff_id in docker-save archives
    assert by["libssl3"]["layer"] in (layers[0].digest, layers[0].diff_id)
    assert by["libssl3"]["layer_index"] == 0
    assert by["lodash"]["layer"] in (layers[1].digest, layers[1].diff_id)
    assert by["lodash"]["layer_index"] == 1
    assert by["lodash"]["path"] == "app/node_modules/lodash/package.json"


def test_inventory_apk_and_oci_layout(tmp_path):
    layer = u.Layer([u.D("etc"), u.F("etc/os-release", ALPINE_OS), u.D("lib"), u.D("lib/apk"),
                     u.D("lib/apk/db"), u.F("lib/apk/db/installed", APK)], comp="gzip")
    lay = u.oci_layout(tmp_path / "oci", [{"layers": [layer]}])
    doc = sbom(lay)
    assert names(doc) == sorted([("apk", "musl", "1.2.4_git20230717-r4"),
                                 ("apk", "libcrypto3", "3.1.4-r5"),
                                 ("apk", "busybox", "1.36.1-r15")])
    by = {p["name"]: p for p in doc["packages"]}
    assert by["libcrypto3"]["source"] == "openssl"
    assert by["libcrypto3"]["purl"] == \
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=3.19.1"


def test_inventory_whiteouts(tmp_path):
    """A package db deleted by a later layer lists nothing; a replaced one lists only its last
    version; an opaque directory hides what is below it."""
    layers = debian_layers()
    deleted = layers + [u.Layer([u.D("var/lib/dpkg"), u.W("var/lib/dpkg/status"),
                                 u.D("app/node_modules"), u.W("app/node_modules/lodash")])]
    doc = sbom(u.docker_save(tmp_path / "del.tar", deleted))
    assert [n for n in names(doc) if n[0] in ("deb", "npm")] == [("npm", "@babel/core",
                                                                  "7.23.2")]
    replaced = layers + [u.Layer([u.D("var/lib/dpkg"),
                                  u.F("var/lib/dpkg/status", dpkg_stanza("libssl3",
                                                                         "3.0.13-1~deb12u1",
                                                                         "openssl"))])]
    doc = sbom(u.docker_save(tmp_path / "rep.tar", replaced))
    assert [n for n in names(doc) if n[0] == "deb"] == [("deb", "libssl3", "3.0.13-1~deb12u1")]
    assert {p["layer_index"] for p in doc["packages"] if p["ecosystem"] == "deb"} == {2}
    opaque = layers + [u.Layer([u.D("usr/lib/python3/dist-packages"),
                                u.O("usr/lib/python3/dist-packages")])]
    doc = sbom(u.docker_save(tmp_path / "opq.tar", opaque))
    assert [n for n in names(doc) if n[0] == "pypi"] == []
    # single-threaded walk: the same answer when lower layers are read first
    doc1 = sbom(u.docker_save(tmp_path / "del1.tar", deleted), "-j", "1")
    assert [n for n in names(doc1) if n[0] == "deb"] == []


def test_inventory_matches_dpkg_query(tmp_path):
    """This machine's real dpkg database, package for package."""
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    shutil.copy("/var/lib/dpkg/status", root / "var/lib/dpkg/status")
    doc = sbom(root)
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    want = sorted(tuple(l.split(" ", 1)) for l in out.splitlines())
    got = sorted((p["name"], p["version"]) for p in doc["packages"])
    assert len(got) > 100 and got == want


def test_inventory_hostile_databases(tmp_path):
    """Oversized and malformed databases: a warning naming the file, the rest still listed,
    never a crash."""
    big = "Package: ab\nVersion: 1\n\n" * ((64 << 20) // 24 + 10)  # > 64 MiB
    many = "Package: a\nVersion: 1\n\n" * 200001  # < 64 MiB, too many packages
    garbage = bytes(range(256)) * 64 + b"\nPackage: \x00\nVersion: 1\n\n"
    layers = [u.Layer([u.D("var"), u.D("var/lib"), u.D("var/lib/dpkg"),
                       u.F("var/lib/dpkg/status", big), u.D("var/lib/dpkg/status.d"),
                       u.F("var/lib/dpkg/status.d/many", many),
                       u.F("var/lib/dpkg/status.d/junk", garbage),
                       u.F("var/lib/dpkg/status.d/base", dpkg_stanza("base-files", "12.4")),
                       u.D("lib"), u.D("lib/apk"), u.D("lib/apk/db"),
                       u.F("lib/apk/db/installed", "P:" + "x" * 5000 + "\nV:1\n\n"),
                       u.D("node_modules"), u.D("node_modules/evil"),
                       u.F("node_modules/evil/package.json", "[" * 100000)])]
    p = sbom(u.docker_save(tmp_path / "bad.tar", layers), check=None)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert names(doc) == [("deb", "base-files", "12.4")]
    assert "var/lib/dpkg/status (layer 1): 67109088 bytes, more than the 67108864 read" \
        in p.stderr
    assert "status.d/many (layer 1): more than 200000 packages in one database: its " \
        "packages are not listed" in p.stderr
    assert "lib/apk/db/installed (layer 1): 1 malformed record(s) skipped" in p.stderr
    assert any("var/lib/dpkg/status.d/junk" in w for w in doc["warnings"])


def test_sbom_documents(tmp_path):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    cdx = json.loads(run_bulwark("sbom", img, check=0).stdout)
    assert cdx["bomFormat"] == "CycloneDX" and cdx["specVersion"] == "1.5"
    purls = {c.get("purl") for c in cdx["components"]}
    assert "pkg:pypi/jinja2@3.1.2" in purls
    assert cdx["metadata"]["component"]["version"].startswith("sha256:")
    out = tmp_path / "x.spdx.json"
    run_bulwark("sbom", "--format", "spdx-json", "-o", out, img, check=0)
    spdx = json.loads(out.read_text())
    assert spdx["spdxVersion"] == "SPDX-2.3"
    refs = [r["referenceLocator"] for p in spdx["packages"] for r in p.get("externalRefs", [])]
    assert "pkg:npm/lodash@4.17.20" in refs
    assert len(spdx["relationships"]) == len(spdx["packages"])
    p = run_bulwark("sbom", "--format", "xml", img, check=2)
    assert "unknown format 'xml'" in p.stderr


# ---- version order ----------------------------------------------------------------------------
def dpkg_version(rng):
    pieces = ["0", "1", "2", "9", "10", "01", "a", "b", "z", "~", "~~", ".", "+", "~rc1",
              "+b1", ".dfsg", "deb12u", "A"]
    up = str(rng.choice([0, 1, 2, 10])) + "".join(rng.choice(pieces)
                                                  for _ in range(rng.randint(0, 4)))
    v = up
    if rng.random() < 0.3:
        v = f"{rng.randint(0, 3)}:{v}"
    if rng.random() < 0.6:
        v += "-" + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
    return v


def test_dpkg_order_matches_dpkg(tmp_path):
    """Several hundred generated pairs: our order is `dpkg --compare-versions`' order."""
    import random
    from conftest import BUILD
    rng = random.Random(12)
    pairs = [(dpkg_version(rng), dpkg_version(rng)) for _ in range(400)]
    pairs += [(a, a) for a, _ in pairs[:20]]
    inp = "".join(f"dpkg {a} {b}\n" for a, b in pairs)
    out = subprocess.run([str(BUILD / "bwk_vercmp")], input=inp, capture_output=True, text=True,
                         check=True).stdout.split()
    assert len(out) == len(pairs)
    checked = 0
    for (a, b), ours in zip(pairs, out):
        valid = subprocess.run(["dpkg", "--validate-version", a], capture_output=True).returncode \
            == 0 and subprocess.run(["dpkg", "--validate-version", b],
                                    capture_output=True).returncode == 0
        if not valid:
            continue
        want = 0
        for rel, val in (("lt", -1), ("gt", 1)):
            if subprocess.run(["dpkg", "--compare-versions", a, rel, b]).returncode == 0:
                want = val
        assert ours == str(want), (a, b, ours, want)
        checked += 1
    assert checked > 300
