"""`bulwark scan SBOM`: a CycloneDX or SPDX document as the input, matched like an image's
inventory. Our own SBOMs of an image must give the image's findings; a foreign one (syft-style
purls with `upstream`, an operating-system component) is matched by its purls."""
import json
import sys
from pathlib import Path

import pytest

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402
from test_vuln import DEBIAN_RECS, LANG_RECS, debian_layers, write_zip  # noqa: E402


@pytest.fixture
def db(tmp_path):
    d = tmp_path / "vuln.db"
    run_bulwark("db", "--db", d, "import", write_zip(tmp_path / "a.zip", DEBIAN_RECS + LANG_RECS),
                check=0)
    return d


def scan(target, db, check=0):
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", db, target, check=check)
    return json.loads(p.stdout) if check == 0 else p


def vulns(doc, loc=False):
    return sorted((f["id"], f["evidence"]) + ((f["location"].get("path"),
                                               f["location"].get("layerIndex")) if loc else ())
                  for f in doc["findings"] if f.get("category") == "vulnerability")


def test_own_sboms_give_the_image_findings(tmp_path, db):
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    want = scan(img, db)
    assert len(vulns(want)) >= 5
    for fmt, name in (("cyclonedx", "img.cdx.json"), ("spdx-json", "img.spdx.json")):
        out = tmp_path / name
        out.write_text(run_bulwark("sbom", "-f", fmt, img, check=0).stdout)
        got = scan(out, db)
        assert vulns(got) == vulns(want), fmt
        assert got["facts"]["input"] == f"SBOM {out}"
    # CycloneDX keeps where each package was found: file and layer
    got = scan(tmp_path / "img.cdx.json", db)
    assert vulns(got, loc=True) == vulns(want, loc=True)


def test_foreign_cyclonedx_and_spdx(tmp_path, db):
    comps = [
        {"type": "operating-system", "name": "debian", "version": "12"},
        {"type": "library", "name": "libssl3", "version": "3.0.11-1~deb12u2",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl"},
        {"type": "library", "name": "bash", "version": "5.2.15-2+b2",
         "purl": "pkg:deb/debian/bash@5.2.15-2%2Bb2?upstream=bash%405.2.15-2"},
        {"type": "library", "name": "requests", "version": "2.19.0",
         "purl": "pkg:pypi/requests@2.19.0"},
        {"type": "library", "name": "y", "version": "1.0", "purl": "pkg:maven/org.x/y@1.0"},
        {"type": "library", "name": "bad", "purl": "pkg:deb/debian/bad%zz@1.0"},
        {"type": "application", "name": "app", "components": [
            {"type": "library", "name": "lodash", "version": "4.17.20",
             "purl": "pkg:npm/lodash@4.17.20"}]},
    ]
    cdx = tmp_path / "foreign.cdx.json"
    cdx.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
                               "components": comps}))
    doc = scan(cdx, db)
    assert vulns(doc) == sorted([
        ("DSA-5678-1", "libssl3 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0005", "libssl3 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0008", "bash 5.2.15-2+b2"),  # by the source version, not +b2
        ("GHSA-x84v-xcm2-53pg", "requests 2.19.0"),
        ("GHSA-35jh-r3h4-6jhm", "lodash 4.17.20")])
    facts = doc["facts"]
    assert "malformed purl" in facts["inventory.skipped"]
    spdx = tmp_path / "foreign.spdx.json"
    spdx.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "packages": [
        {"name": c["name"], "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER",
                                               "referenceType": "purl",
                                               "referenceLocator": c["purl"] + "&distro=debian-12"
                                               if c["purl"].startswith("pkg:deb")
                                               else c["purl"]}]}
        for c in comps if "purl" in c and "bad" not in c["name"]]}))
    assert vulns(scan(spdx, db)) == sorted([
        ("DSA-5678-1", "libssl3 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0005", "libssl3 3.0.11-1~deb12u2"),
        ("DEBIAN-CVE-2024-0008", "bash 5.2.15-2+b2"),
        ("GHSA-x84v-xcm2-53pg", "requests 2.19.0")])


def test_bad_sbom_input(tmp_path, db):
    bad = tmp_path / "bad.cdx.json"
    bad.write_text('{"bomFormat": "CycloneDX", "components": [ }')
    p = scan(bad, db, check=2)
    assert "bad.cdx.json" in p.stderr and "not JSON" in p.stderr
    deep = tmp_path / "deep.cdx.json"
    nest = {"type": "library"}
    for _ in range(40):
        nest = {"type": "library", "components": [nest]}
    deep.write_text(json.dumps({"bomFormat": "CycloneDX", "components": [nest]}))
    p = scan(deep, db, check=2)
    assert "nested deeper than" in p.stderr
    # a JSON file that is no SBOM is not taken as one (the image reader says what it is not)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    p = scan(other, db, check=2)
    assert "SBOM" not in p.stderr


def test_sbom_is_a_row_of_the_source_table(tmp_path, db):
    """An SBOM is recognised by the image source table like every other input: by content
    (also gzip-compressed, also on stdin) or by the explicit prefix sbom:, and commands that
    need a filesystem refuse it saying what it is."""
    import gzip
    img = u.docker_save(tmp_path / "deb.tar", debian_layers())
    cdx = tmp_path / "img.cdx.json"
    cdx.write_text(run_bulwark("sbom", "-f", "cyclonedx", img, check=0).stdout)
    want = scan(cdx, db)
    assert want["facts"]["image.source"] == "sbom"
    assert len(vulns(want)) >= 5
    # the explicit prefix, as oci: or docker-archive: name theirs
    got = scan(f"sbom:{cdx}", db)
    assert vulns(got) == vulns(want) and got["facts"]["image.source"] == "sbom"
    # compressed, or piped: the table decompresses and spools before it looks
    gz = tmp_path / "img.cdx.json.gz"
    gz.write_bytes(gzip.compress(cdx.read_bytes()))
    assert vulns(scan(gz, db)) == vulns(want)
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", db, "-",
                    input=cdx.read_text(), check=0)
    assert vulns(json.loads(p.stdout)) == vulns(want)
    # the prefix forces the row: a JSON file that is no SBOM is then an SBOM error
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    p = scan(f"sbom:{other}", db, check=2)
    assert "neither a CycloneDX" in p.stderr
    p = scan(f"sbom:{tmp_path}", db, check=2)
    assert "a directory, but sbom takes" in p.stderr
    # an image is not an SBOM, and commands that need a filesystem say what an SBOM is
    p = scan(f"sbom:{img}", db, check=2)
    assert "not JSON" in p.stderr
    p = run_bulwark("inspect", cdx, check=2)
    assert "(source sbom), not an image" in p.stderr
