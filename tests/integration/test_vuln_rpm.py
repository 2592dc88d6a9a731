"""rpm inventory and matching: rpm databases in their three forms, built here with Debian's
rpm (rpmbuild, `rpm -i --justdb` into an SQLite rpmdb), db5.3_load (a Berkeley DB hash
`Packages` holding the same header blobs, read back by rpm's own bdb_ro backend to prove it
real) and a writer of rpm's ndb layout (lib/backend/ndb/rpmpkg.c: slots, "BlbS" blobs)."""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402

RPM = "rpm"
RPMBUILD = "rpmbuild"
DB_LOAD = "db5.3_load"
ROCKY_OS = 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n'
RHEL_OS = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.2"\n'

# openssl (epoch 1) with a subpackage openssl-libs built from the same source rpm; bash
# without an epoch
SPECS = {
    "openssl": """Name: openssl
Epoch: 1
Version: 1.1.1k
Release: 7.el8_6
Summary: test
License: MIT
BuildArch: noarch
%description
test
%package libs
Summary: libs
%description libs
libs
%files
%files libs
""",
    "bash": """Name: bash
Version: 5.1.8
Release: 6.el9
Summary: test
License: GPLv3
BuildArch: noarch
%description
test
%files
""",
}
EXPECTED = [("rpm", "bash", "5.1.8-6.el9"), ("rpm", "openssl", "1:1.1.1k-7.el8_6"),
            ("rpm", "openssl-libs", "1:1.1.1k-7.el8_6")]


@pytest.fixture(scope="module")
def rpmdb(tmp_path_factory):
    """An SQLite rpmdb made by rpm itself, and its header blobs in install order."""
    d = tmp_path_factory.mktemp("rpm")
    rpms = []
    for name, spec in SPECS.items():
        (d / f"{name}.spec").write_text(spec)
        subprocess.run([RPMBUILD, "-bb", "--define", f"_topdir {d}/top", str(d / f"{name}.spec")],
                       check=True, capture_output=True)
    rpms = sorted(str(p) for p in (d / "top" / "RPMS").rglob("*.rpm"))
    assert len(rpms) == 3
    root = d / "root"
    root.mkdir()
    subprocess.run([RPM, "--root", str(root), "--dbpath", "/var/lib/rpm", "--initdb"], check=True)
    subprocess.run([RPM, "--root", str(root), "--dbpath", "/var/lib/rpm", "-i", "--justdb",
                    "--nodeps", "--noscripts", "--nosignature", "--ignorearch", "--ignoreos",
                    *rpms], check=True, capture_output=True)
    sq = root / "var" / "lib" / "rpm" / "rpmdb.sqlite"
    con = sqlite3.connect(sq)
    blobs = [b for (b,) in con.execute("SELECT blob FROM Packages ORDER BY hnum")]
    con.close()
    return sq.read_bytes(), blobs


def bdb(tmp_path, blobs, pagesize=4096, expect=("bash", "openssl", "openssl-libs")):
    """A Berkeley DB hash `Packages` as rpm keeps it: key = instance number (native order),
    key 0 = the next instance; rpm's read-only BDB backend must list the packages."""
    esc = lambda b: "".join("\\%02x" % c for c in b)  # noqa: E731
    lines = [esc(struct.pack("<I", 0)), esc(struct.pack("<I", len(blobs) + 1))]
    for i, b in enumerate(blobs, 1):
        lines += [esc(struct.pack("<I", i)), esc(b)]
    root = tmp_path / f"bdb{pagesize}"
    (root / "var/lib/rpm").mkdir(parents=True)
    out = root / "var/lib/rpm/Packages"
    subprocess.run([DB_LOAD, "-T", "-t", "hash", "-c", f"db_pagesize={pagesize}", str(out)],
                   input="\n".join(lines) + "\n", text=True, check=True)
    q = subprocess.run([RPM, "--root", str(root), "--dbpath", "/var/lib/rpm", "--define",
                        "_db_backend bdb_ro", "-qa", "--qf", "%{name}\n"],
                       capture_output=True, text=True, check=True)
    assert sorted(q.stdout.split()) == sorted(expect)
    return out.read_bytes()


def ndb(blobs, free_slot_first=True):
    """rpm's ndb Packages.db: a 32-byte header, slot pages of 16-byte slots ("Slot", pkgidx,
    blkoff, blkcnt; blkoff 0 = free), blobs at blkoff * 16: "BlbS", pkgidx, time, length,
    the header, then adler32, length, "BlbE", padded to 16."""
    page, slotpages = 4096, 1
    slots, body = [], bytearray()
    blk = slotpages * page // 16
    if free_slot_first:
        slots.append(struct.pack("<4sIII", b"Slot", 0, 0, 0))
    for i, b in enumerate(blobs, 1):
        head = struct.pack("<4sIII", b"BlbS", i, 1700000000, len(b))
        tail = struct.pack("<II4s", zlib.adler32(head + b), len(b), b"BlbE")
        blob = head + b + tail
        blob += b"\0" * (-len(blob) % 16)
        slots.append(struct.pack("<4sIII", b"Slot", i, blk + len(body) // 16, len(blob) // 16))
        body += blob
    hdr = struct.pack("<4sIIII", b"RpmP", 0, 1, slotpages, len(blobs) + 1).ljust(32, b"\0")
    # every slot of the page carries the magic, free ones too
    free = struct.pack("<4sIII", b"Slot", 0, 0, 0)
    slotarea = b"".join(slots) + free * ((page - 32) // 16 - len(slots))
    return hdr + slotarea + bytes(body)


def rpm_image(tmp_path, name, files, os_release=ROCKY_OS):
    entries = [u.D("etc"), u.F("etc/os-release", os_release)]
    dirs = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    entries += [u.D(d) for d in sorted(dirs)]
    entries += [u.F(p, data) for p, data in files.items()]
    return u.docker_save(tmp_path / f"{name}.tar", [u.Layer(entries, comp="gzip")])


def sbom(target):
    return json.loads(run_bulwark("sbom", "-f", "json", target, check=0).stdout)


def names(doc):
    return sorted((p["ecosystem"], p["name"], p["version"]) for p in doc["packages"])


def test_rpm_three_forms(tmp_path, rpmdb):
    sq, blobs = rpmdb
    forms = {
        "sqlite": {"var/lib/rpm/rpmdb.sqlite": sq},
        "bdb": {"var/lib/rpm/Packages": bdb(tmp_path, blobs)},
        # a large page keeps each header on its hash page (no overflow chain)
        "bdb-inline": {"var/lib/rpm/Packages": bdb(tmp_path, blobs, 65536)},
        "ndb": {"usr/lib/sysimage/rpm/Packages.db": ndb(blobs)},
    }
    for form, files in forms.items():
        doc = sbom(rpm_image(tmp_path, form, files))
        assert names(doc) == EXPECTED, form
        assert doc["warnings"] == [], form
        by = {p["name"]: p for p in doc["packages"]}
        libs = by["openssl-libs"]
        assert libs["source"] == "openssl" and libs["source_version"] == "1:1.1.1k-7.el8_6"
        assert libs["arch"] == "noarch"
        assert libs["purl"] == ("pkg:rpm/rocky/openssl-libs@1.1.1k-7.el8_6"
                                "?arch=noarch&epoch=1&distro=rocky-9.3")
        assert by["bash"]["purl"] == "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=noarch&distro=rocky-9.3"
        assert libs["path"] == next(iter(files))


def test_rpm_one_database_counts(tmp_path, rpmdb):
    """A converted image keeps the old Packages next to rpmdb.sqlite: rpm reads one, and so do
    we (the SQLite one); a later layer's whiteout removes the database altogether."""
    sq, blobs = rpmdb
    old = bdb(tmp_path, blobs[:1], expect=["openssl-libs"])
    doc = sbom(rpm_image(tmp_path, "both", {"var/lib/rpm/Packages": old,
                                             "var/lib/rpm/rpmdb.sqlite": sq}))
    assert names(doc) == EXPECTED
    assert {p["path"] for p in doc["packages"]} == {"var/lib/rpm/rpmdb.sqlite"}
    base = u.Layer([u.D("etc"), u.F("etc/os-release", ROCKY_OS), u.D("var"), u.D("var/lib"),
                    u.D("var/lib/rpm"), u.F("var/lib/rpm/rpmdb.sqlite", sq)], comp="gzip")
    gone = u.Layer([u.D("var/lib/rpm"), u.W("var/lib/rpm/rpmdb.sqlite")])
    doc = sbom(u.docker_save(tmp_path / "wh.tar", [base, gone]))
    assert doc["packages"] == []


def test_rpm_hostile_databases(tmp_path, rpmdb):
    sq, blobs = rpmdb
    # a view named Packages is not run; garbage; a truncated ndb; a header with bad offsets
    view = tmp_path / "view.sqlite"
    con = sqlite3.connect(view)
    con.execute("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                "SELECT x + 1 FROM c) SELECT zeroblob(16) AS blob FROM c")
    con.commit()
    con.close()
    bad = bytearray(blobs[0])  # the NAME entry (tag 1000) pointing past the data
    il = struct.unpack(">I", bad[:4])[0]
    at = next(8 + i * 16 for i in range(il)
              if struct.unpack(">I", bad[8 + i * 16:12 + i * 16])[0] == 1000)
    bad[at + 8:at + 12] = struct.pack(">I", 0x7fffffff)
    cases = {
        "view": ({"var/lib/rpm/rpmdb.sqlite": view.read_bytes()}, "without a Packages table"),
        "garbage": ({"var/lib/rpm/Packages": os.urandom(4096)}, "not an rpm database"),
        "trunc": ({"var/lib/rpm/Packages.db": ndb(blobs)[:4096 + 40]}, "malformed record"),
        "badhdr": ({"var/lib/rpm/Packages.db": ndb([bytes(bad)] + blobs[1:])},
                   "1 malformed record"),
    }
    for name, (files, why) in cases.items():
        doc = sbom(rpm_image(tmp_path, name, files))
        assert any(why in w for w in doc["warnings"]), (name, doc["warnings"])
    doc = sbom(rpm_image(tmp_path, "badhdr2", cases["badhdr"][0]))
    assert len(doc["packages"]) == 2


def osv(id_, eco, name, events):
    return {"id": id_, "modified": "2024-01-01T00:00:00Z", "summary": f"{name} issue",
            "affected": [{"package": {"ecosystem": eco, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}


RECS = [
    # the source openssl is affected: both binaries built from it are reported
    osv("RLSA-2024:0001", "Rocky Linux:9", "openssl",
        [{"introduced": "0"}, {"fixed": "1:1.1.1k-9.el8_6"}]),
    # near misses: fixed in exactly the installed version; an epoch-less fix sorts below
    # epoch 1; another release; '~' sorts before the release it is attached to
    osv("RLSA-2024:0002", "Rocky Linux:9", "openssl",
        [{"introduced": "0"}, {"fixed": "1:1.1.1k-7.el8_6"}]),
    osv("RLSA-2024:0003", "Rocky Linux:9", "openssl", [{"introduced": "0"}, {"fixed": "1.1.1z-1"}]),
    osv("RLSA-2024:0004", "Rocky Linux:8", "openssl",
        [{"introduced": "0"}, {"fixed": "1:9.9-1"}]),
    osv("RLSA-2024:0005", "Rocky Linux:9", "bash", [{"introduced": "0"}, {"fixed": "5.1.8-6.el9~1"}]),
    osv("RLSA-2024:0006", "Rocky Linux:9", "bash", [{"introduced": "0"}, {"fixed": "5.1.8-9.el9"}]),
    # Red Hat: per product stream, by binary name; only RHEL 9 streams apply to a RHEL 9 image
    osv("RHSA-2024:0100", "Red Hat:enterprise_linux:9::baseos", "openssl-libs",
        [{"introduced": "0"}, {"fixed": "1:1.1.1k-9.el9"}]),
    osv("RHSA-2024:0101", "Red Hat:enterprise_linux:8::appstream", "openssl-libs",
        [{"introduced": "0"}, {"fixed": "1:9.9-1.el8"}]),
    osv("RHSA-2024:0102", "Red Hat:enterprise_linux:9::appstream", "bash",
        [{"introduced": "0"}, {"fixed": "5.1.8-6.el9"}]),
]


def vulns(doc):
    return sorted((f["id"], f.get("evidence", "")) for f in doc["findings"]
                  if f.get("category") == "vulnerability")


def test_rpm_matching(tmp_path, rpmdb):
    sq, blobs = rpmdb
    d = tmp_path / "osv"
    d.mkdir()
    for r in RECS:
        (d / (r["id"].replace(":", "_") + ".json")).write_text(json.dumps(r))
    db = tmp_path / "vuln.db"
    run_bulwark("db", "--db", db, "import", d, check=0)

    def scan(img):
        p = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", db, img, check=0)
        return json.loads(p.stdout)

    doc = scan(rpm_image(tmp_path, "rocky", {"var/lib/rpm/Packages.db": ndb(blobs)}))
    assert vulns(doc) == sorted([
        ("RLSA-2024-0001", "openssl 1:1.1.1k-7.el8_6"),
        ("RLSA-2024-0001", "openssl-libs 1:1.1.1k-7.el8_6"),
        ("RLSA-2024-0006", "bash 5.1.8-6.el9")])
    f = next(f for f in doc["findings"] if f.get("evidence") == "openssl-libs 1:1.1.1k-7.el8_6")
    assert "upgrade openssl-libs to 1:1.1.1k-9.el8_6 or later" in f["message"]
    assert "source openssl" in f["message"]
    doc = scan(rpm_image(tmp_path, "rhel", {"var/lib/rpm/rpmdb.sqlite": sq}, RHEL_OS))
    assert vulns(doc) == [("RHSA-2024-0100", "openssl-libs 1:1.1.1k-7.el8_6")]


def wal_pair(tmp_path, sq):
    """rpmdb.sqlite and a rpmdb.sqlite-wal holding one committed transaction that removed bash
    (not checkpointed: as a copy taken while rpm ran leaves them); rpm reads the pair so."""
    root = tmp_path / "walroot"
    (root / "var/lib/rpm").mkdir(parents=True)
    db = root / "var/lib/rpm/rpmdb.sqlite"
    db.write_bytes(sq)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as rpm keeps it
    con.execute("PRAGMA wal_autocheckpoint=0")
    hnum = next(h for h, b in con.execute("SELECT hnum, blob FROM Packages") if b"bash\0" in b)
    con.execute("DELETE FROM Packages WHERE hnum = ?", (hnum,))
    con.commit()
    pair = {"var/lib/rpm/rpmdb.sqlite": db.read_bytes(),
            "var/lib/rpm/rpmdb.sqlite-wal": (root / "var/lib/rpm/rpmdb.sqlite-wal").read_bytes()}
    con.close()
    assert pair["var/lib/rpm/rpmdb.sqlite"] == sq  # the main file does not have it
    assert len(pair["var/lib/rpm/rpmdb.sqlite-wal"]) > 4096
    for rel, data in pair.items():
        (root / rel).write_bytes(data)
    q = subprocess.run([RPM, "--root", str(root), "--dbpath", "/var/lib/rpm", "-qa", "--qf",
                        "%{name}\n"], capture_output=True, text=True, check=True)
    assert sorted(q.stdout.split()) == ["openssl", "openssl-libs"]
    return pair


def test_rpm_sqlite_wal_replayed(tmp_path, rpmdb):
    """rpmdb.sqlite-wal's committed transactions count, as SQLite (rpm) replays them, whatever
    the order of the two files in the layer or the layer the log is in; an empty log (what rpm
    leaves when it closes) or one a later layer deleted changes nothing; a malformed one is
    named in a warning."""
    sq, _ = rpmdb
    pair = wal_pair(tmp_path, sq)
    db, wal = pair["var/lib/rpm/rpmdb.sqlite"], pair["var/lib/rpm/rpmdb.sqlite-wal"]
    without_bash = [e for e in EXPECTED if e[1] != "bash"]
    cases = {
        "db-first": ({"var/lib/rpm/rpmdb.sqlite": db, "var/lib/rpm/rpmdb.sqlite-wal": wal},
                     without_bash),
        "wal-first": ({"var/lib/rpm/rpmdb.sqlite-wal": wal, "var/lib/rpm/rpmdb.sqlite": db},
                      without_bash),
        "empty": ({"var/lib/rpm/rpmdb.sqlite": db, "var/lib/rpm/rpmdb.sqlite-wal": b""},
                  EXPECTED),
        # the commit frame cut off: its transaction never happened
        "torn": ({"var/lib/rpm/rpmdb.sqlite": db, "var/lib/rpm/rpmdb.sqlite-wal": wal[:-100]},
                 EXPECTED),
    }
    for name, (files, want) in cases.items():
        doc = sbom(rpm_image(tmp_path, name, files))
        assert names(doc) == want, name
        assert doc["warnings"] == [], (name, doc["warnings"])
    doc = sbom(rpm_image(tmp_path, "garbage", {"var/lib/rpm/rpmdb.sqlite": db,
                                                "var/lib/rpm/rpmdb.sqlite-wal": os.urandom(8192)}))
    assert names(doc) == EXPECTED
    assert any("rpmdb.sqlite-wal" in w and "not a SQLite write-ahead log" in w
               for w in doc["warnings"]), doc["warnings"]
    # the log in a later layer; then a layer deleting it
    base = u.Layer([u.D("etc"), u.F("etc/os-release", ROCKY_OS), u.D("var"), u.D("var/lib"),
                    u.D("var/lib/rpm"), u.F("var/lib/rpm/rpmdb.sqlite", db)], comp="gzip")
    log = u.Layer([u.D("var/lib/rpm"), u.F("var/lib/rpm/rpmdb.sqlite-wal", wal)])
    gone = u.Layer([u.D("var/lib/rpm"), u.W("var/lib/rpm/rpmdb.sqlite-wal")])
    assert names(sbom(u.docker_save(tmp_path / "l2.tar", [base, log]))) == without_bash
    assert names(sbom(u.docker_save(tmp_path / "l3.tar", [base, log, gone]))) == EXPECTED
    # a root filesystem directory
    root = tmp_path / "dir"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text(ROCKY_OS)
    (root / "var/lib/rpm").mkdir(parents=True)
    for rel, data in pair.items():
        (root / rel).write_bytes(data)
    assert names(sbom(root)) == without_bash
