"""CI suppressions: .bulwarkignore.yaml (reasons, expiry), --show-suppressed, --baseline."""
import datetime
import json
import shutil

from audit_util import FIX

RISKY = FIX / "compose" / "risky.yaml"


def report(bulwark, cwd, *args, check=None):
    p = bulwark("audit", "-f", "json", *args, "compose.yaml", cwd=cwd, check=check)
    return json.loads(p.stdout), p


def workdir(tmp_path):
    shutil.copy(RISKY, tmp_path / "compose.yaml")
    return tmp_path


def test_yaml_ignore_file_reason_and_expiry(bulwark, tmp_path):
    d = workdir(tmp_path)
    full, _ = report(bulwark, d)
    ids = sorted({f["id"] for f in full["findings"]})
    assert "privileged-container" in ids and len(ids) >= 3
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    (d / ".bulwarkignore.yaml").write_text(
        f"- id: privileged-container\n  reason: lab box, ticket SEC-12\n  expires: {tomorrow}\n"
        f"- id: {ids[-1]}\n  path: compose.yaml\n  expires: 2020-01-01\n")
    doc, p = report(bulwark, d)
    left = {f["id"] for f in doc["findings"]}
    assert "privileged-container" not in left
    # the expired entry no longer applies, and a warning says so, naming file and line
    assert ids[-1] in left
    assert "warning: .bulwarkignore.yaml:4: the entry for " + ids[-1] + " expired on 2020-01-01" \
        in p.stderr
    n = sum(1 for f in full["findings"] if f["id"] == "privileged-container")
    assert doc["summary"]["suppressed"] == n
    assert doc["summary"]["suppressedBy"] == {"ignore": n, "baseline": 0, "vex": 0}

    # --show-suppressed lists them, marked, with the reason, in every format
    doc, _ = report(bulwark, d, "--show-suppressed")
    shown = [f for f in doc["findings"] if "suppression" in f]
    assert len(shown) == n and all(f["id"] == "privileged-container" for f in shown)
    assert shown[0]["suppression"] == {"kind": "ignore", "reason": "lab box, ticket SEC-12"}
    p = bulwark("audit", "compose.yaml", cwd=d)
    assert f"{n} suppressed: {n} by the ignore file, 0 known from the baseline " \
        "(--show-suppressed lists them)" in p.stdout
    assert "privileged-container" not in p.stdout
    p = bulwark("audit", "--show-suppressed", "compose.yaml", cwd=d)
    assert "SUPPRESSED" in p.stdout and "ignored: lab box, ticket SEC-12" in p.stdout
    p = bulwark("audit", "-f", "sarif", "--show-suppressed", "compose.yaml", cwd=d)
    res = json.loads(p.stdout)["runs"][0]["results"]
    sup = [r for r in res if r.get("suppressions")]
    assert len(sup) == n and sup[0]["suppressions"][0]["justification"] == \
        "lab box, ticket SEC-12"
    p = bulwark("audit", "-f", "sarif", "compose.yaml", cwd=d)
    assert not any(r.get("suppressions") for r in json.loads(p.stdout)["runs"][0]["results"])


def test_yaml_ignore_file_errors(bulwark, tmp_path):
    d = workdir(tmp_path)
    for text, needle in (("- id: privileged-container\n  paths: x\n", "unknown key 'paths'"),
                         ("- id: privileged-container\n  expires: 2026-13-01\n", "not a date"),
                         ("privileged-container\n", "expected a list")):
        (d / ".bulwarkignore.yaml").write_text(text)
        p = bulwark("audit", "compose.yaml", cwd=d, check=2)
        assert p.stderr.startswith("bulwark: ") and needle in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_both_ignore_files_apply(bulwark, tmp_path):
    d = workdir(tmp_path)
    (d / ".bulwarkignore.yaml").write_text("- id: privileged-container\n")
    (d / ".bulwarkignore").write_text("no-memory-limit\n")
    doc, _ = report(bulwark, d)
    left = {f["id"] for f in doc["findings"]}
    assert not left & {"privileged-container", "no-memory-limit"}
    # an explicit --ignore-file replaces the defaults
    (d / "only").write_text("no-pids-limit\n")
    doc, _ = report(bulwark, d, "--ignore-file", "only")
    left = {f["id"] for f in doc["findings"]}
    assert "privileged-container" in left and "no-pids-limit" not in left


def test_baseline_fails_on_new_findings_only(bulwark, tmp_path):
    d = workdir(tmp_path)
    # yesterday's report, made when privileged mode was not there yet
    text = (d / "compose.yaml").read_text()
    assert "privileged: true" in text
    (d / "compose.yaml").write_text(text.replace("privileged: true", "privileged: false"))
    bulwark("audit", "-f", "json", "-o", d / "base.json", "--fail-on", "none", "compose.yaml",
            cwd=d, check=0)
    bulwark("audit", "-f", "sarif", "-o", d / "base.sarif", "--fail-on", "none",
            "compose.yaml", cwd=d, check=0)
    base = json.loads((d / "base.json").read_text())
    known = len(base["findings"])
    assert known > 0
    # unchanged input against its own baseline: clean, exit 0, and it says how many were known
    for b in ("base.json", "base.sarif"):
        doc, _ = report(bulwark, d, "--baseline", b, "--fail-on", "info", check=0)
        assert doc["findings"] == [] and doc["summary"]["suppressedBy"]["baseline"] == known
    p = bulwark("audit", "--baseline", "base.json", "compose.yaml", cwd=d, check=0)
    assert f"{known} known from the baseline" in p.stdout
    # the new problem fails the gate, and only it is reported
    (d / "compose.yaml").write_text(text)
    doc, _ = report(bulwark, d, "--baseline", "base.json", check=1)
    assert {f["id"] for f in doc["findings"]} == {"privileged-container"}
    # a baseline that is not a report is an input error
    (d / "bad.json").write_text('{"hello": 1}')
    p = bulwark("audit", "--baseline", "bad.json", "compose.yaml", cwd=d, check=2)
    assert "neither a bulwark JSON report" in p.stderr
    p = bulwark("audit", "--baseline", "missing.json", "compose.yaml", cwd=d, check=2)
    assert "baseline" in p.stderr


def test_suppression_inputs_that_are_not_files_are_refused_at_once(bulwark, tmp_path):
    """An ignore file or a baseline that is a FIFO is refused, never waited on."""
    import os
    d = workdir(tmp_path)
    os.mkfifo(d / "fifo")
    for flag in ("--ignore-file", "--baseline"):
        p = bulwark("audit", flag, "fifo", "compose.yaml", cwd=d, check=2, timeout=20)
        assert "not a regular file" in p.stderr, p.stderr


def test_ignore_entries_may_name_advisory_ids(bulwark, tmp_path):
    """Vulnerability findings carry advisory ids (CVE-…, DSA-…): entries may name them."""
    d = workdir(tmp_path)
    (d / ".bulwarkignore").write_text("CVE-2024-3094\nDSA-5678-1 usr/lib/*\n")
    (d / ".bulwarkignore.yaml").write_text("- id: GHSA-xxxx-yyyy-zzzz\n  reason: vendored\n")
    bulwark("audit", "--fail-on", "none", "compose.yaml", cwd=d, check=0)
    (d / ".bulwarkignore").write_text("-leading-dash\n")
    p = bulwark("audit", "compose.yaml", cwd=d, check=2)
    assert "neither a rule id nor a fingerprint" in p.stderr
