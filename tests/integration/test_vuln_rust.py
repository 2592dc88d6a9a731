"""Rust binaries built with cargo-auditable: the zlib-compressed crate list of `.dep-v0`, found
in an executable as it streams by, and matched against crates.io advisories. No Rust
toolchain with cargo-auditable is packaged in Debian 12, so the executable is made here: ELF
magic, filler, the section's bytes as cargo-auditable writes them (zlib, level 9 JSON)."""
import json
import os
import sys
import zlib
from pathlib import Path

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402

CRATES = {"packages": [
    {"name": "app", "version": "0.1.0", "source": "local", "root": True, "dependencies": [1, 2]},
    {"name": "smallvec", "version": "1.6.0", "source": "crates.io"},
    {"name": "time", "version": "0.1.43", "source": "crates.io", "kind": "runtime"},
    {"name": "cc", "version": "1.0.73", "source": "crates.io", "kind": "build"},
]}


def binary():
    # filler with zlib-header-like byte pairs (0x78 0x9c, 0x78 0xda) that are no streams
    filler = (os.urandom(3000) + b"\x78\x9c\x00\x01\x78\xda garbage") * 20
    return (b"\x7fELF\x02\x01\x01" + b"\0" * 57 + filler
            + zlib.compress(json.dumps(CRATES).encode(), 9) + os.urandom(5000))


def image(tmp_path, mode=0o755):
    return u.docker_save(tmp_path / "rust.tar", [u.Layer([
        u.D("usr"), u.D("usr/bin"), u.F("usr/bin/app", binary(), mode=mode)], comp="zstd")])


def test_rust_inventory_and_matching(tmp_path):
    doc = json.loads(run_bulwark("sbom", "-f", "json", image(tmp_path), check=0).stdout)
    got = sorted((p["ecosystem"], p["name"], p["version"], p["purl"], p["path"])
                 for p in doc["packages"])
    assert got == [("cargo", "smallvec", "1.6.0", "pkg:cargo/smallvec@1.6.0", "usr/bin/app"),
                   ("cargo", "time", "0.1.43", "pkg:cargo/time@0.1.43", "usr/bin/app")]
    recs = [
        {"id": "RUSTSEC-2021-0003", "modified": "2024-01-01T00:00:00Z", "summary": "x",
         "affected": [{"package": {"ecosystem": "crates.io", "name": "smallvec"},
                       "ranges": [{"type": "SEMVER", "events": [
                           {"introduced": "1.6.0"}, {"fixed": "1.6.1"}]}]}]},
        {"id": "RUSTSEC-2020-0071", "modified": "2024-01-01T00:00:00Z", "summary": "x",
         "affected": [{"package": {"ecosystem": "crates.io", "name": "time"},
                       "ranges": [{"type": "SEMVER", "events": [
                           {"introduced": "0.0.0-0"}, {"fixed": "0.2.23"}]}]}]},
        # a build dependency is not in the binary: never reported
        {"id": "RUSTSEC-2099-0001", "modified": "2024-01-01T00:00:00Z", "summary": "x",
         "affected": [{"package": {"ecosystem": "crates.io", "name": "cc"},
                       "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]},
    ]
    d = tmp_path / "osv"
    d.mkdir()
    for r in recs:
        (d / f"{r['id']}.json").write_text(json.dumps(r))
    db = tmp_path / "vuln.db"
    run_bulwark("db", "--db", db, "import", d, check=0)
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", db, image(tmp_path),
                    check=0)
    got = sorted((f["id"], f["evidence"]) for f in json.loads(p.stdout)["findings"]
                 if f.get("category") == "vulnerability")
    assert got == [("RUSTSEC-2020-0071", "time 0.1.43"), ("RUSTSEC-2021-0003", "smallvec 1.6.0")]
    # not executable: not looked at
    doc = json.loads(run_bulwark("sbom", "-f", "json", image(tmp_path, 0o644), check=0).stdout)
    assert doc["packages"] == []
