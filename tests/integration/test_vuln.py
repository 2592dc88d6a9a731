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

from conftest import BULWARK, run_bulwark

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
    # a scan goes on and says so in its facts
    scan = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", tmp_path / "none.db",
                       u.docker_save(tmp_path / "bad2.tar", layers), check=0)
    facts = json.loads(scan.stdout)["facts"]
    assert facts["inventory.skipped"].startswith("5 database(s) not fully read: var/lib/dpkg/status (layer 1): ")


def test_inventory_size_bounds(tmp_path):
    """Files read whole into memory have explicit bounds: an rpm database or its WAL over 128
    MiB, a Java archive over 64 MiB are named in a warning without being read (sparse files
    here: a reader that tried would show in the peak RSS); an executable over 1 GiB is not
    searched for Go or Rust build information."""
    root = tmp_path / "root"
    sizes = {"var/lib/rpm/rpmdb.sqlite": (128 << 20) + 1,
             "var/lib/rpm/rpmdb.sqlite-wal": (128 << 20) + 1,
             "usr/lib/sysimage/rpm/Packages.db": 1 << 30,
             "app/fat.jar": (64 << 20) + 1, "app/big.war": 1 << 32,
             "usr/bin/huge": (1 << 30) + 1}
    for rel, size in sizes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(root / rel, "wb") as f:
            f.truncate(size)
    (root / "usr/bin/huge").chmod(0o755)
    p = subprocess.run(["/usr/bin/time", "-f", "peak %M", BULWARK, "sbom", "-f", "json",
                        str(root)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout)
    assert doc["packages"] == []
    want = {
        "var/lib/rpm/rpmdb.sqlite: 134217729 bytes, more than the 134217728 read for an "
        "inventory: its packages are not listed",
        "var/lib/rpm/rpmdb.sqlite-wal: 134217729 bytes, more than the 134217728 read for an "
        "inventory: not replayed into rpmdb.sqlite",
        "usr/lib/sysimage/rpm/Packages.db: 1073741824 bytes, more than the 134217728 read for "
        "an inventory: its packages are not listed",
        "app/fat.jar: 67108865 bytes, more than the 67108864 read for an inventory: its "
        "packages are not listed",
        "app/big.war: 4294967296 bytes, more than the 67108864 read for an inventory: its "
        "packages are not listed"}
    assert set(doc["warnings"]) == want, doc["warnings"]
    peak_kib = int(p.stderr.rsplit("peak ", 1)[1].split()[0])
    assert peak_kib < 64 << 10, peak_kib  # under ASan; reading any of them would pass 128 MiB


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


def test_sbom_build_step(tmp_path):
    """Each package names the build step that made its layer, from the image history (an
    empty_layer entry makes none), in every format; an SBOM read back keeps it; a history that
    does not align with the layers names none rather than a wrong one."""
    layers = debian_layers()
    steps = ["/bin/sh -c #(nop) ADD file:4b5 in / ", "/bin/sh -c #(nop)  CMD [\"bash\"]"]
    steps += ["/bin/sh -c pip install jinja2 requests"] * (len(layers) - 1)
    hist = [{"created_by": s, **({"empty_layer": True} if "CMD" in s else {})} for s in steps]
    img = u.docker_save(tmp_path / "h.tar", layers,
                        config_bytes=u.config_for(layers, history=hist))
    doc = json.loads(run_bulwark("sbom", "-f", "json", img, check=0).stdout)
    by = {p["name"]: p for p in doc["packages"]}
    n = len(hist)
    assert by["libssl3"]["step"] == f"ADD file:4b5 in / (step 1 of {n})"
    assert by["Jinja2"]["step"] == f"RUN pip install jinja2 requests (step 3 of {n})"
    cdx = json.loads(run_bulwark("sbom", img, check=0).stdout)
    props = {c["name"]: {p["name"]: p["value"] for p in c.get("properties", [])}
             for c in cdx["components"]}
    assert props["libssl3"]["bulwark:layer:step"] == by["libssl3"]["step"]
    spdx = json.loads(run_bulwark("sbom", "-f", "spdx-json", img, check=0).stdout)
    com = {p["name"]: p.get("comment") for p in spdx["packages"]}
    assert com["Jinja2"] == "layer added by the build step " + by["Jinja2"]["step"]
    sb = tmp_path / "img.cdx.json"
    sb.write_text(json.dumps(cdx))
    back = json.loads(run_bulwark("scan", "-f", "cyclonedx", "-q", "--fail-on", "none", "--db",
                                  tmp_path / "none.db", sb, check=0).stdout)
    props = {c["name"]: {p["name"]: p["value"] for p in c.get("properties", [])}
             for c in back["components"]}
    assert props["libssl3"]["bulwark:layer:step"] == by["libssl3"]["step"]
    # a squashed history: no step named
    img2 = u.docker_save(tmp_path / "s.tar", layers,
                         config_bytes=u.config_for(layers, history=hist[:1]))
    doc = json.loads(run_bulwark("sbom", "-f", "json", img2, check=0).stdout)
    assert {p["step"] for p in doc["packages"]} == {None}


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


# ---- the vulnerability database and matching ---------------------------------------------------
def osv(id_, eco, name, events=None, versions=None, aliases=(), severity=None, dbsev=None,
        summary=None):
    rec = {"id": id_, "modified": "2024-01-01T00:00:00Z", "aliases": list(aliases),
           "summary": summary or f"{name} issue",
           "affected": [{"package": {"ecosystem": eco, "name": name}}]}
    if events is not None:
        rec["affected"][0]["ranges"] = [{"type": "SEMVER" if eco == "npm" else "ECOSYSTEM",
                                         "events": events}]
    if versions is not None:
        rec["affected"][0]["versions"] = versions
    if severity:
        rec["severity"] = [{"type": "CVSS_V3", "score": severity}]
    if dbsev:
        rec["database_specific"] = {"severity": dbsev}
    return rec


CRIT = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
DEBIAN_RECS = [
    # a binary (libssl3) whose source (openssl) is affected; critical from the CVSS vector
    osv("DSA-5678-1", "Debian:12", "openssl",
        [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}], aliases=["CVE-2024-0001"],
        severity=CRIT),
    # '~': the installed 3.0.11-1~deb12u2 sorts BEFORE 3.0.11-1, so it is affected
    osv("DEBIAN-CVE-2024-0005", "Debian:12", "openssl",
        [{"introduced": "0"}, {"fixed": "3.0.11-1"}]),
    # near misses: fixed in exactly the installed version; fixed before it ('~'); an epoch
    osv("DEBIAN-CVE-2024-0002", "Debian:12", "zlib",
        [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1"}]),
    osv("DEBIAN-CVE-2024-0006", "Debian:12", "openssl",
        [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]),
    osv("DEBIAN-CVE-2024-0003", "Debian:12", "zlib", [{"introduced": "0"}, {"fixed": "1.2.14-1"}]),
    # another release's advisory never applies
    osv("DSA-9999-1", "Debian:11", "bash", [{"introduced": "0"}, {"fixed": "9.9-1"}]),
    # Debian's fixed versions are source versions: the binNMU bash 5.2.15-2+b2 is built from
    # source 5.2.15-2, fixed here; then 5.2.15-3 is a later fix it does not have
    osv("DEBIAN-CVE-2024-0007", "Debian:12", "bash",
        [{"introduced": "0"}, {"fixed": "5.2.15-2"}]),
    osv("DEBIAN-CVE-2024-0008", "Debian:12", "bash",
        [{"introduced": "0"}, {"fixed": "5.2.15-3"}], dbsev="low"),
    # no fix yet
    osv("DEBIAN-CVE-2024-0009", "Debian:12", "glibc", [{"introduced": "0"}]),
    # withdrawn records never match
    dict(osv("DEBIAN-CVE-2024-0010", "Debian:12", "glibc", [{"introduced": "0"}]),
         withdrawn="2024-02-01T00:00:00Z"),
]
LANG_RECS = [
    osv("GHSA-x84v-xcm2-53pg", "PyPI", "requests", [{"introduced": "0"}, {"fixed": "2.20.0"}],
        aliases=["CVE-2018-18074"], dbsev="MODERATE"),
    osv("PYSEC-2024-1", "PyPI", "jinja2", versions=["3.1.1", "3.1.2"]),
    osv("PYSEC-2024-2", "PyPI", "jinja2", versions=["3.1.3"]),
    osv("GHSA-35jh-r3h4-6jhm", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}],
        dbsev="HIGH"),
    osv("GHSA-babel-equal", "npm", "@babel/core", [{"introduced": "7.0.0"},
                                                   {"fixed": "7.23.2"}]),
]
ALPINE_RECS = [
    osv("ALPINE-CVE-2024-1", "Alpine:v3.19", "openssl", [{"introduced": "0"},
                                                         {"fixed": "3.1.4-r6"}]),
    osv("ALPINE-CVE-2024-2", "Alpine:v3.18", "openssl", [{"introduced": "0"},
                                                         {"fixed": "3.1.9-r0"}]),
    osv("ALPINE-CVE-2024-3", "Alpine:v3.19", "musl", [{"introduced": "0"},
                                                      {"fixed": "1.2.4_git20230717-r4"}]),
]


def write_zip(path, recs):
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for r in recs:
            z.writestr(r["id"] + ".json", json.dumps(r))
    return path


@pytest.fixture
def vulndb(tmp_path):
    """A database from the three input forms: a zip export, a directory, one file."""
    d = tmp_path / "osv"
    d.mkdir()
    for r in LANG_RECS:
        (d / (r["id"] + ".json")).write_text(json.dumps(r))
    single = tmp_path / "alpine1.json"
    single.write_text(json.dumps(ALPINE_RECS[0]))
    rest = tmp_path / "alpine-rest"
    rest.mkdir()
    for r in ALPINE_RECS[1:]:
        (rest / (r["id"] + ".json")).write_text(json.dumps(r))
    db = tmp_path / "cache" / "vuln.db"
    p = run_bulwark("db", "--db", db, "import", write_zip(tmp_path / "Debian.zip", DEBIAN_RECS),
                    d, single, rest, check=0)
    total = len(DEBIAN_RECS) + len(LANG_RECS) + len(ALPINE_RECS)
    assert f"imported {total} advisories" in p.stdout
    return db


def vulns(doc):
    return sorted((f["rule"]["id"] if isinstance(f.get("rule"), dict) else f["id"],
                   f.get("evidence", ""))
                  for f in doc["findings"] if f.get("category") == "vulnerability"
                  or (isinstance(f.get("rule"), dict) and f["rule"].get("category")
                      == "vulnerability"))


def scan_json(target, *args, check=None):
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", *args, target, check=check)
    return json.loads(p.stdout), p


def test_scan_matches_debian_and_languages(tmp_path, vulndb):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    doc, p = scan_json(img, "--db", vulndb, check=0)
    assert "not checked for known vulnerabilities" not in p.stderr
    assert vulns(doc) == sorted([
        ("DSA-5678-1", "libssl3 3.0.11-1~deb12u2"), ("DSA-5678-1", "openssl 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0005", "libssl3 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0005", "openssl 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0008", "bash 5.2.15-2+b2"),
        ("DEBIAN-CVE-2024-0009", "libc6 2.36-9+deb12u4"),
        ("GHSA-x84v-xcm2-53pg", "requests 2.19.0"), ("PYSEC-2024-1", "Jinja2 3.1.2"),
        ("GHSA-35jh-r3h4-6jhm", "lodash 4.17.20")])
    by = {(vid, ev): f for f in doc["findings"] for vid, ev in [
        (f["rule"]["id"] if isinstance(f.get("rule"), dict) else f["id"], f.get("evidence", ""))]}
    f = by[("DSA-5678-1", "libssl3 3.0.11-1~deb12u2")]
    assert f["severity"] == "critical"
    assert "upgrade libssl3 to 3.0.13-1~deb12u1 or later; rebuild from a patched base image" \
        in f["message"]
    assert "CVE-2024-0001" in f["message"] and "source openssl" in f["message"]
    assert f["location"]["path"] == "var/lib/dpkg/status"
    assert f["location"]["layerIndex"] == 0
    assert by[("GHSA-x84v-xcm2-53pg", "requests 2.19.0")]["severity"] == "medium"
    assert by[("GHSA-35jh-r3h4-6jhm", "lodash 4.17.20")]["severity"] == "high"
    assert by[("DEBIAN-CVE-2024-0008", "bash 5.2.15-2+b2")]["severity"] == "low"
    assert by[("DEBIAN-CVE-2024-0009", "libc6 2.36-9+deb12u4")]["severity"] == "medium"
    assert "no fixed version yet" in by[("DEBIAN-CVE-2024-0009", "libc6 2.36-9+deb12u4")][
        "message"]
    assert {c["id"]: c["status"] for c in doc["checks"]}["known-vulnerabilities"] == "fail"
    # --ignore-unfixed drops the advisories that name no fixed version (a `versions` list
    # names none either)
    doc2, _ = scan_json(img, "--db", vulndb, "--ignore-unfixed", check=0)
    assert set(vulns(doc)) - set(vulns(doc2)) == {("DEBIAN-CVE-2024-0009",
                                                   "libc6 2.36-9+deb12u4"),
                                                  ("PYSEC-2024-1", "Jinja2 3.1.2")}
    # the exit status follows --fail-on: a critical vulnerability fails the default gate
    run_bulwark("scan", "-q", "--db", vulndb, img, check=1)


def test_scan_matches_alpine(tmp_path, vulndb):
    layer = u.Layer([u.D("etc"), u.F("etc/os-release", ALPINE_OS), u.D("lib"), u.D("lib/apk"),
                     u.D("lib/apk/db"), u.F("lib/apk/db/installed", APK)], comp="gzip")
    doc, _ = scan_json(u.oci_layout(tmp_path / "oci", [{"layers": [layer]}]), "--db", vulndb,
                       check=0)
    assert vulns(doc) == [("ALPINE-CVE-2024-1", "libcrypto3 3.1.4-r5")]


def test_whiteout_deleted_db_has_no_findings(tmp_path, vulndb):
    layers = debian_layers() + [u.Layer([u.D("var/lib/dpkg"), u.W("var/lib/dpkg/status")])]
    doc, _ = scan_json(u.docker_save(tmp_path / "del.tar", layers), "--db", vulndb, check=0)
    assert [v for v in vulns(doc) if v[0].startswith(("DSA", "DEBIAN"))] == []
    replaced = debian_layers() + [u.Layer([u.D("var/lib/dpkg"), u.F(
        "var/lib/dpkg/status", dpkg_stanza("libssl3", "3.0.13-1~deb12u1", "openssl"))])]
    doc, _ = scan_json(u.docker_save(tmp_path / "rep.tar", replaced), "--db", vulndb, check=0)
    assert [v for v in vulns(doc) if v[0].startswith(("DSA", "DEBIAN"))] == []


def test_no_database_warns_once_and_scans(tmp_path):
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    layers = debian_layers() + [u.Layer([u.D("app"), u.F("app/.env", f"GITHUB_TOKEN={token}\n")])]
    img = u.docker_save(tmp_path / "img.tar", layers)
    env = {"XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", img, env=env, check=0)
    assert p.stderr.count("not checked for known vulnerabilities") == 1
    assert str(tmp_path / "empty-cache" / "bulwark" / "vuln.db") in p.stderr
    doc = json.loads(p.stdout)
    assert any(f.get("category") == "secret" or "github" in json.dumps(f).lower()
               for f in doc["findings"])
    assert {c["id"]: c["status"] for c in doc["checks"]}["known-vulnerabilities"] == "skip"
    # a scan never creates the database (the secret rules' compiled cache lives beside it)
    assert not (tmp_path / "empty-cache" / "bulwark" / "vuln.db").exists()
    # an image without packages: nothing to say
    p = run_bulwark("scan", "--fail-on", "none", u.docker_save(tmp_path / "e.tar", [u.Layer([
        u.F("hello", "x")])]), env=env, check=0)
    assert "known vulnerabilities" not in p.stderr


def test_scan_no_vuln(tmp_path, vulndb):
    """--no-vuln: no inventory, no matching (the check says skipped), every other check runs;
    an SBOM format or --vex, which need the inventory, are refused."""
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    layers = debian_layers() + [u.Layer([u.D("app"), u.F("app/.env", f"GITHUB_TOKEN={token}\n")])]
    img = u.docker_save(tmp_path / "img.tar", layers)
    doc, p = scan_json(img, "--db", vulndb, "--no-vuln", check=0)
    assert vulns(doc) == []
    assert {c["id"]: c for c in doc["checks"]}["known-vulnerabilities"]["status"] == "skip"
    assert "--no-vuln" in json.dumps({c["id"]: c for c in doc["checks"]}["known-vulnerabilities"])
    assert "inventory.packages" not in json.dumps(doc.get("facts", doc))
    assert "image.digest" in json.dumps(doc.get("facts", doc))
    assert any(f.get("category") == "secret" for f in doc["findings"])
    assert "not checked for known vulnerabilities" not in p.stderr
    doc, _ = scan_json(img, "--db", vulndb, check=0)  # the same image without it
    assert vulns(doc) and "inventory.packages" in json.dumps(doc.get("facts", doc))
    for extra in (["-f", "cyclonedx"], ["--vex", str(tmp_path / "v.json")]):
        p = run_bulwark("scan", "--no-vuln", *extra, img, check=2)
        assert "--no-vuln" in p.stderr


def test_db_default_path_status_and_idempotence(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    z = write_zip(tmp_path / "Debian.zip", DEBIAN_RECS)
    run_bulwark("db", "import", z, env=env, check=0)
    db = tmp_path / "xdg" / "bulwark" / "vuln.db"
    assert db.is_file()
    first = run_bulwark("db", "status", env=env, check=0).stdout
    run_bulwark("db", "import", z, env=env, check=0)
    second = run_bulwark("db", "status", env=env, check=0).stdout
    strip = lambda s: [l.split()[:2] for l in s.splitlines()]  # noqa: E731
    assert strip(first) == strip(second)  # same sources and counts after a second import
    assert f"database: {db} ({len(DEBIAN_RECS)} advisories)" in second
    assert any(l.split()[:2] == ["Debian:12", str(len(DEBIAN_RECS) - 1)]
               for l in second.splitlines())
    assert any(l.split()[:2] == ["Debian:11", "1"] for l in second.splitlines())
    assert sorted(os.listdir(db.parent)) == ["vuln.db"]  # no temp file left behind
    p = run_bulwark("db", "--db", tmp_path / "none.db", "status", check=2)
    assert "no vulnerability database" in p.stderr and "bulwark db import" in p.stderr


def bomb_zip(path):
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.json", json.dumps(DEBIAN_RECS[0]))
        z.writestr("bomb.json", b"{" + b" " * (200 << 20) + b"}")
    return path


@pytest.mark.parametrize("case", ["bomb", "bad-version", "huge", "not-json", "no-id", "symlink",
                                  "many-events"])
def test_db_import_hostile_keeps_old(tmp_path, case):
    db = tmp_path / "v.db"
    run_bulwark("db", "--db", db, "import", write_zip(tmp_path / "ok.zip", LANG_RECS), check=0)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bad = tmp_path / "bad"
    bad.mkdir()
    if case == "bomb":
        src, want = bomb_zip(tmp_path / "bomb.zip"), "bomb.zip: bomb.json: "
    elif case == "bad-version":
        (bad / "a.json").write_text(json.dumps(osv(
            "DSA-1-1", "Debian:12", "x", [{"introduced": "0"}, {"fixed": "1.0 junk"}])))
        src, want = bad, "DSA-1-1: Debian:12 x: fixed version '1.0 junk' is not a valid version"
    elif case == "huge":
        (bad / "h.json").write_text('{"id": "X-1", "summary": "' + "a" * (5 << 20) + '"}')
        src, want = bad / "h.json", "more than 4194304 bytes"
    elif case == "not-json":
        (bad / "n.json").write_text("{nope")
        src, want = bad, "n.json: not JSON"
    elif case == "no-id":
        (bad / "i.json").write_text('{"id": "../../etc/passwd"}')
        src, want = bad, "i.json: a record without a valid \"id\""
    elif case == "symlink":
        (bad / "s.json").symlink_to("/etc/passwd")
        src, want = bad, "s.json: cannot open"
    else:
        ev = [{"introduced": "0"}] * 300
        (bad / "m.json").write_text(json.dumps(osv("X-2", "npm", "y", ev)))
        src, want = bad, "X-2: npm y: more than 256 events"
    p = run_bulwark("db", "--db", db, "import", src, check=2)
    assert want in p.stderr and "(unchanged)" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(os.listdir(tmp_path)).count("v.db") == 1
    assert not [n for n in os.listdir(tmp_path) if n.startswith("v.db.tmp")]


def test_inventory_matches_pip_list(tmp_path):
    """This machine's Debian dist-packages, against `pip list --path`: the same distributions
    (one per site directory even when Debian ships both .dist-info and .egg-info). Packages
    vendored inside another one (py/_vendored_packages) are listed by us, not by pip."""
    site = Path("/usr/lib/python3/dist-packages")
    root = tmp_path / "root"
    shutil.copytree(site, root / "usr/lib/python3/dist-packages", symlinks=True)
    doc = sbom(root)
    norm = lambda n: n.lower().replace("_", "-").replace(".", "-")  # noqa: E731
    ours = sorted((norm(p["name"]), p["version"]) for p in doc["packages"]
                  if p["path"].count("/") == 5)  # usr/lib/python3/dist-packages/X/METADATA
    out = subprocess.run(["/usr/bin/python3", "-m", "pip", "list", "--path", str(site),
                          "--format", "json"], capture_output=True, text=True, check=True).stdout
    theirs = sorted((norm(p["name"]), p["version"]) for p in json.loads(out))
    assert len(theirs) > 10 and ours == theirs


def test_scan_matches_ubuntu_lts(tmp_path):
    """Ubuntu's LTS advisories are filed under "Ubuntu:22.04:LTS"; another release's never
    apply."""
    recs = [osv("USN-6000-1", "Ubuntu:22.04:LTS", "openssl",
                [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.12"}]),
            osv("USN-6000-2", "Ubuntu:20.04:LTS", "openssl",
                [{"introduced": "0"}, {"fixed": "9.0-1"}])]
    db = tmp_path / "v.db"
    run_bulwark("db", "--db", db, "import", write_zip(tmp_path / "u.zip", recs), check=0)
    layer = u.Layer([u.D("etc"), u.F("etc/os-release", 'ID=ubuntu\nVERSION_ID="22.04"\n'),
                     u.D("var"), u.D("var/lib"), u.D("var/lib/dpkg"),
                     u.F("var/lib/dpkg/status",
                         dpkg_stanza("libssl3", "3.0.2-0ubuntu1.10", "openssl"))])
    doc, _ = scan_json(u.docker_save(tmp_path / "u.tar", [layer]), "--db", db, check=0)
    assert vulns(doc) == [("USN-6000-1", "libssl3 3.0.2-0ubuntu1.10")]


CDX_LIB = "@cyclonedx/cyclonedx-library@10.3.0"  # ships the official CycloneDX JSON schemas


def need_npm_registry():
    """Skip, saying why, where the npm registry cannot be reached (no route, or a TLS
    interception CA this machine's bundle lacks); a reachable registry that then fails is a
    failure, not a skip."""
    try:
        p = subprocess.run(["npm", "ping"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"npm registry not reachable: {e}")
    if p.returncode != 0:
        why = next((l for l in p.stderr.splitlines() if "ERR!" in l), p.stderr.strip())
        pytest.skip(f"npm registry not reachable from this machine: {why[:200]}")


@pytest.fixture(scope="module")
def cdx_schema(tmp_path_factory):
    """The CycloneDX 1.5 JSON schema, from the npm package that ships it (not committed)."""
    need_npm_registry()
    d = tmp_path_factory.mktemp("cdx")
    p = subprocess.run(["npm", "pack", "--silent", CDX_LIB], cwd=d, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    tgz = next(d.glob("*.tgz"))
    subprocess.run(["tar", "-xzf", tgz.name], cwd=d, check=True)
    return d / "package" / "res" / "schema"


def test_sbom_cyclonedx_validates(tmp_path, cdx_schema):
    import jsonschema
    bom = json.loads((cdx_schema / "bom-1.5.SNAPSHOT.schema.json").read_text())
    base = bom["$id"].rsplit("/", 1)[0] + "/"
    store = {}
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        store[base + name] = json.loads((cdx_schema / name).read_text())
    resolver = jsonschema.RefResolver(bom["$id"], bom, store=store)
    validator = jsonschema.Draft7Validator(bom, resolver=resolver,
                                           format_checker=jsonschema.FormatChecker())
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    doc = json.loads(run_bulwark("sbom", img, check=0).stdout)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert errors == [], [e.message for e in errors[:5]]
    # the validator can fail: a component without its required name
    doc["components"][0].pop("name")
    assert list(validator.iter_errors(doc))


def test_old_database_warns(tmp_path, vulndb):
    import sqlite3
    import time
    with sqlite3.connect(vulndb) as c:
        c.execute("UPDATE sources SET imported = ?", (int(time.time()) - 10 * 86400,))
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    doc, p = scan_json(img, "--db", vulndb, check=0)
    assert "was last imported 10 days ago (more than 7)" in p.stderr
    assert doc["facts"]["vulndb"].endswith("last import 10 day(s) ago")
    assert vulns(doc)  # still matched
    for args in (("--max-db-age", "30"), ("--max-db-age", "0")):
        _, p = scan_json(img, "--db", vulndb, *args, check=0)
        assert "last imported" not in p.stderr
    p = run_bulwark("scan", "--max-db-age", "-1", img, check=2)
    assert "--max-db-age: '-1' is not a number of days" in p.stderr


# ---- the demo's advisory extract ----------------------------------------------------------------
DEMO_OSV = Path(__file__).resolve().parents[2] / "demo" / "osv"


def demo_image(tmp_path, versions):
    status = "".join(dpkg_stanza(n, v, s) for n, v, s in versions)
    return u.docker_save(tmp_path / "demo.tar", [u.Layer([
        u.D("etc"), u.F("etc/os-release", DEBIAN_OS), u.D("var"), u.D("var/lib"),
        u.D("var/lib/dpkg"), u.F("var/lib/dpkg/status", status)], comp="gzip")])


def test_demo_extract_matches_old_versions_only(tmp_path):
    """demo/osv (real Debian 12 DSAs written by hand): each record imports, matches the old
    versions scripts/demo.sh installs, names its CVEs, and does not match the fixed versions."""
    db = tmp_path / "demo.db"
    p = run_bulwark("db", "--db", db, "import", DEMO_OSV, check=0)
    assert "imported 5 advisories" in p.stdout
    old = [("libssl3", "3.0.11-1~deb12u1", "openssl"), ("openssl", "3.0.11-1~deb12u1", None),
           ("libcurl4", "7.88.1-10+deb12u1", "curl"), ("curl", "7.88.1-10+deb12u1", None),
           ("libexpat1", "2.5.0-1", "expat"), ("zlib1g", "1:1.2.13.dfsg-1", "zlib")]
    doc, _ = scan_json(demo_image(tmp_path, old), "--db", db, check=0)
    assert vulns(doc) == sorted(
        [(d, f"{n} {v}") for d in ("DSA-5532-1", "DSA-5764-1")
         for n, v in (("libssl3", "3.0.11-1~deb12u1"), ("openssl", "3.0.11-1~deb12u1"))]
        + [(d, f"{n} {v}") for d in ("DSA-5526-1", "DSA-5587-1")
           for n, v in (("libcurl4", "7.88.1-10+deb12u1"), ("curl", "7.88.1-10+deb12u1"))]
        + [("DSA-5770-1", "libexpat1 2.5.0-1")])
    msg = {f["evidence"]: f["message"] for f in doc["findings"]
           if f.get("evidence") == "libexpat1 2.5.0-1"}["libexpat1 2.5.0-1"]
    assert "upgrade libexpat1 to 2.5.0-1+deb12u1" in msg and "CVE-2024-45492" in msg
    # the versions on a patched Debian 12 (this machine's, from changelog.Debian.gz): clean
    fixed = [("libssl3", "3.0.14-1~deb12u2", "openssl"), ("libcurl4", "7.88.1-10+deb12u5", "curl"),
             ("libexpat1", "2.5.0-1+deb12u1", "expat")]
    (tmp_path / "demo.tar").unlink()
    doc, _ = scan_json(demo_image(tmp_path, fixed), "--db", db, check=0)
    assert vulns(doc) == []


# ---- bulwark scan --format cyclonedx|spdx-json ----------------------------------------------------
def cdx_validator(cdx_schema):
    import jsonschema
    bom = json.loads((cdx_schema / "bom-1.5.SNAPSHOT.schema.json").read_text())
    base = bom["$id"].rsplit("/", 1)[0] + "/"
    store = {base + n: json.loads((cdx_schema / n).read_text())
             for n in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")}
    return jsonschema.Draft7Validator(bom, resolver=jsonschema.RefResolver(bom["$id"], bom,
                                                                          store=store),
                                      format_checker=jsonschema.FormatChecker())


def test_scan_cyclonedx_has_vulnerabilities_and_validates(tmp_path, vulndb, cdx_schema):
    validator = cdx_validator(cdx_schema)
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    report, _ = scan_json(img, "--db", vulndb, check=0)
    out = tmp_path / "scan.cdx.json"
    # the default gate (high) fails: DSA-5678-1 is critical
    p = run_bulwark("scan", "--db", vulndb, "--format", "cyclonedx", "-o", out, img, check=1)
    assert p.stdout == ""
    doc = json.loads(out.read_text())
    errors = sorted(validator.iter_errors(doc), key=str)
    assert errors == [], [e.message for e in errors[:5]]
    # the same packages as bulwark sbom (one writer), and one entry per advisory
    sb = json.loads(run_bulwark("sbom", img, check=0).stdout)
    assert [c["bom-ref"] for c in doc["components"]] == [c["bom-ref"] for c in sb["components"]]
    refs = {c["bom-ref"]: c for c in doc["components"]}
    got = sorted((v["id"], f'{refs[a["ref"]]["name"]} {a["versions"][0]["version"]}')
                 for v in doc["vulnerabilities"] for a in v["affects"])
    assert got == vulns(report)
    assert len({v["id"] for v in doc["vulnerabilities"]}) == len(doc["vulnerabilities"])
    dsa = next(v for v in doc["vulnerabilities"] if v["id"] == "DSA-5678-1")
    assert dsa["ratings"][0]["severity"] == "critical"
    assert dsa["source"]["url"] == "https://osv.dev/vulnerability/DSA-5678-1"
    assert "upgrade libssl3 to 3.0.13-1~deb12u1" in dsa["recommendation"] or \
        "upgrade openssl to 3.0.13-1~deb12u1" in dsa["recommendation"]
    assert sorted(refs[a["ref"]]["name"] for a in dsa["affects"]) == ["libssl3", "openssl"]
    # an ignore file suppresses: left out of the document and of the exit status
    # (by fingerprint: the ignore file's rule ids are lower-case, advisory ids are not)
    ign = tmp_path / "ign"
    ign.write_text("".join(f["fingerprint"] + "\n" for f in report["findings"]
                           if f.get("id") == "DSA-5678-1"
                           or (f.get("rule") or {}).get("id") == "DSA-5678-1"))
    p = run_bulwark("scan", "--db", vulndb, "-f", "cyclonedx", "--ignore-file", ign,
                    "--fail-on", "critical", img, check=0)
    assert "DSA-5678-1" not in {v["id"] for v in json.loads(p.stdout)["vulnerabilities"]}
    # the validator can fail: an affects entry without its ref
    doc["vulnerabilities"][0]["affects"][0].pop("ref")
    assert list(validator.iter_errors(doc))


def test_scan_sbom_formats_exit_status_and_other_findings(tmp_path, vulndb):
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    img = u.docker_save(tmp_path / "img.tar", debian_layers() + [
        u.Layer([u.D("app"), u.F("app/.env", f"GITHUB_TOKEN={token}\n")])])
    spdx = run_bulwark("scan", "--db", vulndb, "-f", "spdx-json", img, check=0)
    doc = json.loads(spdx.stdout)
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert sorted(p["name"] for p in doc["packages"][1:]) == sorted(
        p["name"] for p in sbom(img)["packages"])
    # SPDX has no vulnerabilities: the gate counts only what the document shows
    assert "other finding(s) (secrets, configuration) are not part of the SBOM" in spdx.stderr
    assert token not in spdx.stdout
    # an image without vulnerable packages but with a secret: cyclonedx passes the gate
    clean = u.docker_save(tmp_path / "clean.tar", [u.Layer([
        u.D("app"), u.F("app/.env", f"GITHUB_TOKEN={token}\n")])])
    p = run_bulwark("scan", "--db", vulndb, "-f", "cyclonedx", "--fail-on", "low", clean,
                    check=0)
    assert json.loads(p.stdout)["vulnerabilities"] == []
    # -f json is still the report, and an unknown format is a usage error
    assert "findings" in json.loads(run_bulwark("scan", "--db", vulndb, "-f", "json",
                                                "--fail-on", "none", img, check=0).stdout)
    p = run_bulwark("scan", "-f", "cdx", img, check=2)
    assert "unknown format 'cdx'" in p.stderr
    # an unwritable output: one line, exit 2, nothing left behind
    p = run_bulwark("scan", "--db", vulndb, "-f", "cyclonedx", "-o",
                    tmp_path / "missing" / "x.json", img, check=2)
    assert not (tmp_path / "missing").exists()


# ---- VEX (--vex) ------------------------------------------------------------------------------------
def openvex(*stmts):
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://x/vex-1",
                       "author": "maintainer", "timestamp": "2026-12-01T00:00:00Z",
                       "version": 1, "statements": list(stmts)})


def stmt(vuln, products, status="not_affected", **kw):
    s = {"vulnerability": vuln, "products": products, "status": status}
    if status == "not_affected" and "justification" not in kw and "impact_statement" not in kw:
        kw["justification"] = "vulnerable_code_not_in_execute_path"
    s.update(kw)
    return s


SSL_PURL = "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64"


def test_scan_vex_suppresses_not_affected_and_fixed(tmp_path, vulndb):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    vex = tmp_path / "app.vex.json"
    # by CVE alias, one package (as an image's subcomponent), with an impact statement
    vex.write_text(openvex(stmt({"name": "CVE-2024-0001"}, [
        {"@id": "pkg:oci/app", "subcomponents": [{"@id": SSL_PURL}]}],
        justification="vulnerable_code_not_in_execute_path",
        impact_statement="TLS is never used")))
    doc, _ = scan_json(img, "--db", vulndb, "--vex", vex, "--show-suppressed", check=0)
    sup = {f["evidence"]: f["suppression"] for f in doc["findings"] if "suppression" in f}
    assert list(sup) == ["libssl3 3.0.11-1~deb12u2"]
    assert sup["libssl3 3.0.11-1~deb12u2"] == {
        "kind": "vex", "reason": "VEX not_affected: vulnerable_code_not_in_execute_path — "
                                 "TLS is never used"}
    assert doc["summary"]["suppressedBy"]["vex"] == 1 and doc["summary"]["suppressed"] == 1
    # listed only with --show-suppressed; the openssl binary is still reported and fails
    doc, _ = scan_json(img, "--db", vulndb, "--vex", vex, check=0)
    assert ("DSA-5678-1", "libssl3 3.0.11-1~deb12u2") not in vulns(doc)
    assert ("DSA-5678-1", "openssl 3.0.11-1~deb12u2") in vulns(doc)
    run_bulwark("scan", "-q", "--db", vulndb, "--vex", vex, "--fail-on", "critical", img,
                check=1)
    # the whole image (pkg:oci without subcomponents), by advisory id, as fixed: never counted
    # by --fail-on, and said in the text report with --show-suppressed
    vex.write_text(openvex(stmt("DSA-5678-1", ["pkg:oci/app"], status="fixed")))
    run_bulwark("scan", "-q", "--db", vulndb, "--vex", vex, "--fail-on", "critical", img,
                check=0)
    p = run_bulwark("scan", "--db", vulndb, "--vex", vex, "--fail-on", "none",
                    "--show-suppressed", img, check=0)
    assert "2 by VEX statements" in p.stdout and "DSA-5678-1" in p.stdout.split("SUPPRESSED")[1]
    assert "— VEX fixed" in p.stdout
    sarif = json.loads(run_bulwark("scan", "--db", vulndb, "--vex", vex, "-f", "sarif",
                                   "--fail-on", "none", "--show-suppressed", img,
                                   check=0).stdout)
    sups = [r["suppressions"][0]["justification"] for r in sarif["runs"][0]["results"]
            if r.get("suppressions")]
    assert sups == ["VEX fixed", "VEX fixed"]
    # CycloneDX output leaves the VEX'd advisory out
    cdx = json.loads(run_bulwark("scan", "--db", vulndb, "--vex", vex, "-f", "cyclonedx",
                                 "--fail-on", "critical", img, check=0).stdout)
    assert "DSA-5678-1" not in {v["id"] for v in cdx["vulnerabilities"]}


@pytest.mark.parametrize("case", ["other-version", "affected", "investigating", "later-wins",
                                  "other-vuln", "not-a-purl", "other-arch"])
def test_scan_vex_near_misses(tmp_path, vulndb, case):
    """Statements that must not suppress: each leaves DSA-5678-1 on libssl3 reported."""
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    s = {
        "other-version": [stmt("DSA-5678-1", ["pkg:deb/debian/libssl3@3.0.13-1~deb12u1"])],
        "affected": [stmt("DSA-5678-1", [SSL_PURL], status="affected",
                          action_statement="upgrade")],
        "investigating": [stmt("DSA-5678-1", [SSL_PURL], status="under_investigation")],
        "later-wins": [stmt("DSA-5678-1", [SSL_PURL]),
                       stmt("CVE-2024-0001", [SSL_PURL], status="affected")],
        "other-vuln": [stmt("CVE-2099-0001", [SSL_PURL])],
        "not-a-purl": [stmt("DSA-5678-1", ["libssl3"])],
        "other-arch": [stmt("DSA-5678-1", ["pkg:deb/debian/libssl3?arch=arm64"])],
    }[case]
    vex = tmp_path / "v.json"
    vex.write_text(openvex(*s))
    doc, _ = scan_json(img, "--db", vulndb, "--vex", vex, check=0)
    assert ("DSA-5678-1", "libssl3 3.0.11-1~deb12u2") in vulns(doc)
    assert doc["summary"]["suppressedBy"]["vex"] == 0


def test_scan_vex_cyclonedx_vex(tmp_path, vulndb):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    vex = tmp_path / "v.cdx.json"
    vex.write_text(json.dumps({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "components": [{"type": "library", "bom-ref": "ssl", "name": "libssl3",
                        "purl": "pkg:deb/debian/libssl3"}],
        "vulnerabilities": [{"id": "CVE-2024-0001",
                             "analysis": {"state": "not_affected",
                                          "justification": "code_not_reachable"},
                             "affects": [{"ref": "ssl"}]}]}))
    doc, _ = scan_json(img, "--db", vulndb, "--vex", vex, "--show-suppressed", check=0)
    sup = [(f["evidence"], f["suppression"]["reason"]) for f in doc["findings"]
           if "suppression" in f]
    assert sup == [("libssl3 3.0.11-1~deb12u2", "VEX not_affected: code_not_reachable")]


@pytest.mark.parametrize("case", ["bad-status", "bad-justification", "no-justification",
                                  "not-json", "deep", "too-big", "fifo", "missing",
                                  "too-many-ids"])
def test_scan_vex_hostile_refused(tmp_path, vulndb, case):
    """A bad VEX file: one line naming it, exit 2, before the scan, and no output written."""
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    vex = tmp_path / "v.json"
    if case == "bad-status":
        vex.write_text(openvex(stmt("CVE-1", [SSL_PURL], status="notaffected")))
        want = "statement 1: status 'notaffected' is not one of"
    elif case == "bad-justification":
        vex.write_text(openvex(stmt("CVE-1", [SSL_PURL], justification="trust_me")))
        want = "justification 'trust_me' is not an OpenVEX justification"
    elif case == "no-justification":
        s = stmt("CVE-1", [SSL_PURL])
        del s["justification"]
        vex.write_text(openvex(s))
        want = "not_affected needs a justification or an impact_statement"
    elif case == "not-json":
        vex.write_text("{\"statements\": [")
        want = "v.json:1:"
    elif case == "deep":
        vex.write_text("[" * 100000 + "]" * 100000)
        want = "v.json:1:"
    elif case == "too-big":
        with open(vex, "wb") as f:
            f.truncate(16 * 1024 * 1024 + 1)
        want = "over the 16777216-byte limit"
    elif case == "fifo":
        os.mkfifo(vex)
        want = "not a regular file"
    elif case == "missing":
        vex = tmp_path / "none.json"
        want = "none.json: cannot open the VEX file"
    else:
        vex.write_text(openvex(stmt({"name": "CVE-0", "aliases": [f"CVE-{i}" for i in
                                                                 range(1, 80)]}, [SSL_PURL])))
        want = "more than 64 vulnerability ids and aliases"
    out = tmp_path / "report.json"
    before = tree_digest(tmp_path)
    p = run_bulwark("scan", "--db", vulndb, "--vex", vex, "-o", out, img, check=2, timeout=60)
    assert want in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not out.exists() and tree_digest(tmp_path) == before


# ---- --severity ------------------------------------------------------------------------------------
def test_scan_severity_filter(tmp_path, vulndb):
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    img = u.docker_save(tmp_path / "img.tar", debian_layers() + [
        u.Layer([u.D("app"), u.F("app/.env", f"GITHUB_TOKEN={token}\n")])])
    full, _ = scan_json(img, "--db", vulndb, check=0)
    sevs = {f["severity"] for f in full["findings"]}
    assert {"critical", "medium", "low"} <= sevs
    doc, _ = scan_json(img, "--db", vulndb, "--severity", "MEDIUM,low", check=0)
    assert {f["severity"] for f in doc["findings"]} == {"medium", "low"}
    kept = [f["fingerprint"] for f in full["findings"] if f["severity"] in ("medium", "low")]
    assert [f["fingerprint"] for f in doc["findings"]] == kept  # the same findings, unchanged
    gone = len(full["findings"]) - len(kept)
    assert doc["facts"]["scan.severity"] == f"medium,low only ({gone} other finding(s) not listed)"
    # a check whose findings were filtered out still reads failed
    before = {c["id"]: c["status"] for c in full["checks"]}
    after = {c["id"]: c["status"] for c in doc["checks"]}
    assert after == before and "fail" in after.values()
    # the gate counts what is listed: no critical or high left, so --fail-on high passes
    run_bulwark("scan", "-q", "--db", vulndb, "--severity", "medium,low", img, check=0)
    run_bulwark("scan", "-q", "--db", vulndb, "--severity", "critical", img, check=1)
    cdx = json.loads(run_bulwark("scan", "--db", vulndb, "-f", "cyclonedx", "--severity", "low",
                                 "--fail-on", "none", img, check=0).stdout)
    assert {v["ratings"][0]["severity"] for v in cdx["vulnerabilities"]} == {"low"}
    for bad in ("", "high,,low", "none", "urgent", "high," , "x" * 40):
        p = run_bulwark("scan", "--severity", bad, img, check=2)
        assert "--severity:" in p.stderr and "is not a comma-separated list" in p.stderr
