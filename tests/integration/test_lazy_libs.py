"""The heavy libraries (libarchive, hyperscan, PCRE2, libyaml, zstd, YARA) are loaded on
first use, not at start: `bulwark --version` and `bulwark run` map none of them (this is what
makes `run` start as fast as crun), while `bulwark scan` still loads and uses them all."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs, run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402

LAZY = ["libarchive.so", "libhs.so", "libpcre2-8.so", "libyaml-0.so", "libzstd.so", "libyara.so",
        "libisal.so"]
# What they drag in, and SQLite (the vulnerability database): never needed by the start-up
# paths either. libcrypto is not used at all
# (SHA-256 comes from nettle, which loads in a tenth of the time).
DRAGGED = ["libsqlite3.so", "libxml2.so", "libicuuc.so", "libicudata.so", "liblzma.so", "liblz4.so",
           "libbz2.so", "libacl.so", "libcrypto.so"]


def loaded_libs(*args, check=None):
    """Shared objects the dynamic loader loaded for `bulwark ARGS` (any process it forks)."""
    p = run_bulwark(*args, env={"LD_DEBUG": "libs"}, check=check)
    libs = set()
    for line in p.stderr.splitlines():
        m = re.search(r"calling init: (\S+)", line)
        if m:
            libs.add(Path(m.group(1)).name)
    assert libs, p.stderr[-2000:]  # LD_DEBUG worked: libc's init at least
    return libs, p


def linked_libs():
    out = subprocess.run(["ldd", BULWARK], capture_output=True, text=True, check=True).stdout
    return {Path(l.split()[0]).name for l in out.splitlines() if l.strip()}


def hits(libs, names):
    return sorted(l for l in libs if any(l.startswith(n) for n in names))


def test_not_linked():
    linked = linked_libs()
    assert hits(linked, LAZY + DRAGGED) == [], linked


def test_version_loads_none():
    libs, p = loaded_libs("--version", check=0)
    assert p.stdout.startswith("bulwark ")
    assert hits(libs, LAZY + DRAGGED) == [], libs
    # hyperscan's C++ runtime: absent unless the sanitizer runtime (ASan build) links it
    if not hits(linked_libs(), ["libstdc++.so"]):
        assert hits(libs, ["libstdc++.so"]) == [], libs
    assert libs <= linked_libs() | {"ld-linux-x86-64.so.2"}, libs - linked_libs()


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    return make_busybox_rootfs(tmp_path_factory.mktemp("lazy") / "rootfs")


def test_run_loads_none(rootfs):
    libs, p = loaded_libs("run", "--rootfs", rootfs, "--", "sh", "-c", "echo lazy-ok",
                          check=0)
    assert "lazy-ok" in p.stdout
    assert hits(libs, LAZY + DRAGGED) == [], libs


def test_scan_loads_and_uses_them(tmp_path):
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    layers = [u.Layer([u.D("app"), u.F("app/settings.env", f"GITHUB_TOKEN={token}\n")],
                      comp="zstd"),
              u.Layer([u.F("etc/motd", "hello\n")], comp="gzip")]
    img = u.docker_save(tmp_path / "img.tar", layers)
    libs, p = loaded_libs("scan", "-q", "--format", "json", "--fail-on", "none", img, check=0)
    for lib in LAZY:
        assert hits(libs, [lib]), (lib, sorted(libs))
    doc = json.loads(p.stdout)
    found = [f for f in doc["findings"] if token[:8] in json.dumps(f) or
             "app/settings.env" in json.dumps(f)]
    assert found, doc["findings"]


def test_sqlite_only_with_a_database(tmp_path):
    """libsqlite3 is loaded by `db` and by a scan that has a database to match against; a scan
    without one (or of an image without packages) does not load it."""
    img = u.docker_save(tmp_path / "img.tar", [u.Layer([u.F("etc/motd", "hello\n")])])
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    libs, _ = loaded_libs("scan", "-q", "--fail-on", "none", img, check=0)
    assert hits(libs, ["libsqlite3.so"]) == [], libs
    rec = tmp_path / "r.json"
    rec.write_text(json.dumps({"id": "X-1", "affected": []}))
    db = tmp_path / "v.db"
    libs, _ = loaded_libs("db", "--db", db, "import", rec, check=0)
    assert hits(libs, ["libsqlite3.so"]), libs


def test_yara_only_with_the_malware_scan(tmp_path):
    img = u.docker_save(tmp_path / "img.tar", [u.Layer([u.F("etc/motd", "hello\n")])])
    libs, _ = loaded_libs("scan", "-q", "--no-malware", "--fail-on", "none", img, check=0)
    assert hits(libs, ["libyara.so"]) == [], libs
    libs, _ = loaded_libs("scan", "-q", "--fail-on", "none", img, check=0)
    assert hits(libs, ["libyara.so"]), libs


def test_gzip_through_isal_or_zlib_alike(tmp_path):
    """gzip layers are inflated by ISA-L (libisal2) when it is installed, by zlib with
    BULWARK_GZIP=zlib: the same findings and layer digests either way."""
    token = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V"
    layers = [u.Layer([u.F(f"srv/f{i}.txt", f"line {i}\n" * 4000) for i in range(30)] +
                      [u.F("app/.env", f"GITHUB_TOKEN={token}\n")], comp="gzip")]
    img = u.docker_save(tmp_path / "img.tar", layers)
    fast, p1 = loaded_libs("scan", "-q", "--format", "json", "--fail-on", "none", img, check=0)
    p2 = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", img,
                     env={"LD_DEBUG": "libs", "BULWARK_GZIP": "zlib"}, check=0)
    assert hits(fast, ["libisal.so"]), sorted(fast)
    assert "libisal.so" not in p2.stderr
    d1, d2 = json.loads(p1.stdout), json.loads(p2.stdout)
    assert [(f["id"], f["fingerprint"]) for f in d1["findings"]] == \
        [(f["id"], f["fingerprint"]) for f in d2["findings"]]
    assert any(token[:8] in json.dumps(f) or "app/.env" in json.dumps(f) for f in d1["findings"])


@pytest.mark.hostnet
def test_nftables_only_with_the_root_bridge_network(rootfs):
    """libnftables (the bridge network's NAT as root) is loaded by `run --net bridge` alone."""
    assert hits(linked_libs(), ["libnftables.so"]) == []
    libs, _ = loaded_libs("run", "--rootfs", rootfs, "true", check=0)
    assert hits(libs, ["libnftables.so"]) == [], libs
    if os.geteuid() != 0:
        return
    libs, p = loaded_libs("run", "-q", "--net", "bridge", "--rootfs", rootfs, "true", check=0)
    assert hits(libs, ["libnftables.so"]), (libs, p.stderr[-500:])


def test_libsystemd_is_not_linked():
    """libsystemd (sd-bus, for the OCI runtime's --systemd-cgroup alone) is loaded on first use,
    never at start-up."""
    assert hits(linked_libs(), ["libsystemd.so"]) == []
