"""The CLI contract: help, version, usage errors, exit statuses, report formats."""
import json
import os
import stat

import pytest

from conftest import run_bulwark


def test_version_and_help(bulwark):
    p = bulwark("--version", check=0)
    assert p.stdout.startswith("bulwark ")
    p = bulwark("--help", check=0)
    assert "scan" in p.stdout and "exit status" in p.stdout
    p = bulwark("help", "scan", check=0)
    assert p.stdout.startswith("usage: bulwark scan")
    p = bulwark("scan", "--help", check=0)
    assert "--fail-on" in p.stdout


@pytest.mark.parametrize("args,needle", [
    ([], "usage: bulwark"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["--frob"], "unknown option '--frob'"),
    (["scan"], "missing TARGET"),
    (["scan", "--bogus", "."], "unknown option '--bogus'"),
    (["scan", "--format", "xml", "."], "unknown format 'xml'"),
    (["scan", "--fail-on", "severe", "."], "unknown --fail-on level 'severe'"),
    (["scan", "--threads", "0", "."], "--threads takes a number"),
    (["scan", "a", "b"], "exactly one TARGET"),
    (["scan", "--output"], "needs a value"),
    (["help", "nope"], "unknown command 'nope'"),
])
def test_usage_errors(bulwark, args, needle):
    p = bulwark(*args)
    assert p.returncode == 2
    assert needle in p.stderr
    assert p.stdout == ""
    # one "bulwark:" line, then usage
    assert p.stderr.count("bulwark: ") == 1 or not args


def test_missing_target_is_input_error(bulwark, tmp_path):
    p = bulwark("scan", tmp_path / "nope", check=2)
    assert p.stderr.startswith("bulwark: ")
    assert "nope" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.fixture
def risky_rootfs(busybox_rootfs):
    r = busybox_rootfs
    (r / "usr/bin/helper").write_bytes(b"\x7fELF")
    os.chmod(r / "usr/bin/helper", 0o4755)
    (r / "var/drop").mkdir()
    os.chmod(r / "var/drop", 0o777)
    return r


def test_exit_status_policy(bulwark, risky_rootfs, busybox_rootfs):
    # medium setuid + low world-writable
    bulwark("scan", risky_rootfs, check=0)                      # default --fail-on high
    bulwark("scan", "--fail-on", "medium", risky_rootfs, check=1)
    bulwark("scan", "--fail-on", "low", risky_rootfs, check=1)
    bulwark("scan", "--fail-on", "none", risky_rootfs, check=0)


def test_clean_rootfs_has_no_findings(bulwark, tmp_path):
    from conftest import make_busybox_rootfs
    r = make_busybox_rootfs(tmp_path / "clean")
    p = bulwark("scan", "--fail-on", "info", r, check=0)
    assert "no findings" in p.stdout


def test_json_report(bulwark, risky_rootfs):
    p = bulwark("scan", "--format", "json", risky_rootfs, check=0)
    doc = json.loads(p.stdout)
    assert doc["tool"]["name"] == "bulwark"
    assert doc["schemaVersion"] == "1.0"
    assert doc["target"] == str(risky_rootfs)
    ids = sorted(f["id"] for f in doc["findings"])
    assert ids == ["setuid-file", "world-writable-dir"]
    for f in doc["findings"]:
        for k in ("id", "category", "severity", "title", "description", "remediation",
                  "location", "references", "fingerprint"):
            assert k in f
    suid = next(f for f in doc["findings"] if f["id"] == "setuid-file")
    assert suid["location"]["path"] == "usr/bin/helper"
    assert doc["summary"]["medium"] == 1 and doc["summary"]["low"] == 1
    assert doc["summary"]["total"] == 2


def validate_sarif_shape(doc):
    """The parts of the SARIF 2.1.0 schema GitHub code scanning relies on."""
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"]
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        drv = run["tool"]["driver"]
        assert drv["name"] == "bulwark"
        rule_ids = [r["id"] for r in drv["rules"]]
        assert len(rule_ids) == len(set(rule_ids))
        for r in drv["rules"]:
            assert r["shortDescription"]["text"]
            assert r["help"]["text"] and r["help"]["markdown"]
            assert r["defaultConfiguration"]["level"] in ("error", "warning", "note", "none")
            float(r["properties"]["security-severity"])
        for res in run["results"]:
            assert res["ruleId"] in rule_ids
            assert drv["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
            assert res["message"]["text"]
            assert res["level"] in ("error", "warning", "note", "none")
            assert res["locations"]
            for loc in res["locations"]:
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                assert uri and not uri.startswith("/")
                if "region" in loc["physicalLocation"]:
                    assert loc["physicalLocation"]["region"]["startLine"] >= 1
            assert res["partialFingerprints"]


def test_sarif_report(bulwark, risky_rootfs):
    p = bulwark("scan", "--format", "sarif", risky_rootfs, check=0)
    doc = json.loads(p.stdout)
    validate_sarif_shape(doc)
    assert len(doc["runs"][0]["results"]) == 2


def test_sarif_and_json_on_clean_input(bulwark, tmp_path):
    (tmp_path / "empty").mkdir()
    validate_sarif_shape(json.loads(bulwark("scan", "-f", "sarif", tmp_path / "empty", check=0).stdout))
    doc = json.loads(bulwark("scan", "-f", "json", tmp_path / "empty", check=0).stdout)
    assert doc["findings"] == [] and doc["summary"]["total"] == 0


def test_output_file_atomic(bulwark, risky_rootfs, tmp_path):
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    p = bulwark("scan", "-f", "json", "-o", out, risky_rootfs, check=0)
    assert p.stdout == ""
    json.loads(out.read_text())
    assert sorted(os.listdir(out.parent)) == ["r.json"]
    # unwritable destination: clear error, exit 2, nothing left behind
    p = bulwark("scan", "-o", tmp_path / "missing" / "r.json", risky_rootfs, check=2)
    assert "writing the report" in p.stderr


def test_color_only_on_tty(bulwark, risky_rootfs):
    p = bulwark("scan", risky_rootfs, env={"NO_COLOR": ""})
    assert "\x1b[" not in p.stdout  # stdout is a pipe


def test_ignore_file(bulwark, risky_rootfs, tmp_path):
    ig = tmp_path / "ign"
    ig.write_text("# accepted risk\nsetuid-file usr/bin/*\n")
    p = bulwark("scan", "-f", "json", "--ignore-file", ig, risky_rootfs, check=0)
    doc = json.loads(p.stdout)
    assert [f["id"] for f in doc["findings"]] == ["world-writable-dir"]
    assert doc["summary"]["suppressed"] == 1
    # fingerprints from a report can be pasted into the ignore file
    fp = json.loads(bulwark("scan", "-f", "json", risky_rootfs).stdout)["findings"][0]["fingerprint"]
    ig.write_text(fp + "\n")
    doc = json.loads(bulwark("scan", "-f", "json", "--ignore-file", ig, risky_rootfs).stdout)
    assert fp not in [f["fingerprint"] for f in doc["findings"]]
    # ./.bulwarkignore is picked up by default
    (tmp_path / ".bulwarkignore").write_text("world-writable-dir\nsetuid-file\n")
    doc = json.loads(bulwark("scan", "-f", "json", risky_rootfs, cwd=tmp_path).stdout)
    assert doc["findings"] == []
    ig.write_text("not a valid line!\n")
    p = bulwark("scan", "--ignore-file", ig, risky_rootfs, check=2)
    assert "ign:1" in p.stderr


def test_symlink_escape_not_followed(bulwark, tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chmod(outside, 0o777)  # would be a finding if the walk followed the link
    (r / "link").symlink_to(outside)
    doc = json.loads(bulwark("scan", "-f", "json", r, check=0).stdout)
    assert doc["findings"] == []


def test_scan_drops_privileges(bulwark, busybox_rootfs, tmp_path):
    """A scan started as root keeps only CAP_DAC_READ_SEARCH: it can read a root-only file
    in the target but the process has no other capability (checked from the report path:
    the scan still writes its report where root's uid owns the directory)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    secret_dir = busybox_rootfs / "root" / "private"
    secret_dir.mkdir()
    os.chmod(secret_dir, 0o700)
    p = bulwark("scan", "-v", "-f", "json", "-o", tmp_path / "r.json", busybox_rootfs, check=0)
    assert "dropped" in p.stderr
    json.loads((tmp_path / "r.json").read_text())
    p = bulwark("scan", "-f", "json", busybox_rootfs, check=0)
    assert p.stderr == ""  # not a TTY, not verbose: silent


def _limit(name):
    """A bound as include/bulwark/sandbox.h states it (the one place it is written)."""
    import re
    from conftest import TOP
    text = (TOP / "include/bulwark/sandbox.h").read_text()
    return int(re.search(rf"#define {name}\s+(\d+)", text).group(1))


@pytest.mark.parametrize("flag,value,const,what", [
    ("-v", "/tmp:/m{}", "BWK_MAX_BINDS", "volumes"),
    ("-p", "{}:80", "BWK_MAX_PORTS", "published ports"),
])
def test_run_counts_are_the_library_bounds(tmp_path, flag, value, const, what):
    """`run` accepts as many volumes and ports as the library does, and refuses one more with
    the library's number: the CLI uses the constant from the public header."""
    n = _limit(const)
    args = [a for i in range(n) for a in (flag, value.format(10000 + i))]
    p = run_bulwark("run", *args, tmp_path / "missing", "true")
    assert f"more than {n} {what}" not in p.stderr
    p = run_bulwark("run", *args, flag, value.format(20000), tmp_path / "missing", "true")
    assert p.returncode != 0 and f"more than {n} {what}" in p.stderr, p.stderr
