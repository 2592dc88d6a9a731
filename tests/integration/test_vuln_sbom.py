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
