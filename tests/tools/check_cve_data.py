#!/usr/bin/env python3
"""Validate bulwark's vulnerability data files and hold the reference
"is this version vulnerable?" semantics that the C auditor must match.

Usage:
    check_cve_data.py                    validate data/*.yaml and run self-tests
    check_cve_data.py --data-dir DIR     same, with the YAML files taken from DIR
                                         (docs/data.md is then only checked with --docs)
    check_cve_data.py --kernel 5.15.0-91-generic
                                         list kernel CVEs matching that release
    check_cve_data.py --engine runc 1.1.11
                                         list engine CVEs matching that version

The matching is documented in docs/data.md ("Comparison semantics"); this
file is the executable reference for it.  Requires Python 3 and PyYAML.
Exit status: 0 when everything is clean, 1 on any validation or self-test
failure, 2 on usage errors.
"""

import argparse
import datetime
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write("check_cve_data.py needs PyYAML (python3-yaml)\n")
    sys.exit(2)

REPO_ROOT = Path(__file__).resolve().parents[2]

SEVERITIES = ("critical", "high", "medium", "low")
KERNEL_CLASSES = ("container-escape", "privilege-escalation")
COMPONENTS = ("docker", "containerd", "runc", "buildkit")
REQUIRES_VOCAB = (
    "unprivileged_userns",
    "unprivileged_bpf",
    "cgroup_v1",
    "nf_tables",
    "overlayfs",
    "io_uring",
)
UBUNTU_NOTE_PREFIX = "Ubuntu-specific:"

KERNEL_REQUIRED = ("id", "name", "severity", "class", "introduced", "fixed",
                   "description", "remediation", "references")
KERNEL_OPTIONAL = ("requires", "note")
ENGINE_REQUIRED = ("id", "name", "component", "severity", "introduced",
                   "fixed", "description", "remediation", "references")
ENGINE_OPTIONAL = ("note",)

CVE_ID_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")

# ---------------------------------------------------------------------------
# Version model
#
# A version is a tuple of non-negative integers plus an optional pre-release
# tag (alpha < beta < rc, each with a number).  Missing numeric components
# compare as 0 ("5.17" == "5.17.0").  A pre-release sorts before the release
# with the same numbers ("1.4.0-rc.3" < "1.4.0").
# ---------------------------------------------------------------------------

PRE_RANK = {"alpha": 0, "beta": 1, "rc": 2}
DATA_VERSION_RE = re.compile(r"^(\d+(?:\.\d+)*)(?:-(alpha|beta|rc)\.?(\d+))?$")
PRERELEASE_SUFFIX_RE = re.compile(r"^-(alpha|beta|rc)\.?(\d+)")


class Version:
    __slots__ = ("nums", "pre", "text")

    def __init__(self, nums, pre=None, text=""):
        self.nums = tuple(nums)
        self.pre = pre  # None or (rank, number)
        self.text = text

    def _key(self, width):
        nums = self.nums + (0,) * (width - len(self.nums))
        # A release sorts after every pre-release of the same numbers.
        pre = (1, 0, 0) if self.pre is None else (0,) + self.pre
        return nums + pre

    def _cmp(self, other):
        width = max(len(self.nums), len(other.nums))
        a, b = self._key(width), other._key(width)
        return (a > b) - (a < b)

    def __lt__(self, other):
        return self._cmp(other) < 0

    def __le__(self, other):
        return self._cmp(other) <= 0

    def __gt__(self, other):
        return self._cmp(other) > 0

    def __ge__(self, other):
        return self._cmp(other) >= 0

    def __eq__(self, other):
        return isinstance(other, Version) and self._cmp(other) == 0

    def __hash__(self):  # pragma: no cover - not used as dict key
        return hash(self._key(8))

    def branch(self):
        """major.minor; a one-component version is major.0."""
        nums = self.nums + (0, 0)
        return nums[:2]

    def is_mainline(self):
        """True for X.Y or X.Y.0 (and no pre-release tag)."""
        return self.pre is None and all(n == 0 for n in self.nums[2:])

    def __repr__(self):
        return "Version(%r)" % (self.text or ".".join(map(str, self.nums)))


def parse_data_version(text):
    """Parse a version string as written in the YAML data files.

    Accepted: digits and dots, optionally followed by -rcN, -rc.N, -betaN,
    -beta.N, -alphaN, -alpha.N.  Returns None if the string does not parse.
    """
    if not isinstance(text, str):
        return None
    m = DATA_VERSION_RE.match(text)
    if not m:
        return None
    nums = [int(x) for x in m.group(1).split(".")]
    pre = None
    if m.group(2):
        pre = (PRE_RANK[m.group(2)], int(m.group(3)))
    return Version(nums, pre, text)


def _leading_version(text):
    """Parse the leading numeric part of an arbitrary version string plus an
    immediately following pre-release suffix; anything else is ignored."""
    m = re.match(r"^(\d+(?:\.\d+)*)", text)
    if not m:
        return None
    nums = [int(x) for x in m.group(1).split(".")]
    rest = text[m.end():]
    pre = None
    pm = PRERELEASE_SUFFIX_RE.match(rest)
    if pm:
        pre = (PRE_RANK[pm.group(1)], int(pm.group(2)))
    return Version(nums, pre, text)


def normalize_kernel_release(release):
    """uname -r style string -> Version.

    "5.15.0-91-generic" -> 5.15.0, "6.1.0-18-amd64" -> 6.1.0,
    "4.18.0-513.el8.x86_64" -> 4.18.0, "6.8.0-rc3" -> 6.8.0-rc3,
    "6.6.30+" -> 6.6.30.  Distribution suffixes are ignored; see docs/data.md
    for why the distro's real upstream base should be preferred when known.
    """
    release = release.strip()
    if release[:1] in ("v", "V"):
        release = release[1:]
    return _leading_version(release)


def normalize_package_version(version):
    """Engine version as reported by a binary or a distro package -> Version.

    Steps (docs/data.md, "Engine versions"):
      1. strip surrounding whitespace and a leading "v";
      2. drop a Debian epoch ("1:20.10.24" -> "20.10.24");
      3. cut at the first "+" (build metadata / Debian repack: "+dfsg1", "+ds1");
      4. "~rcN", "~betaN", "~alphaN" are Debian pre-release spellings and become
         "-rcN" etc.; any other "~..." suffix is cut ("1.6.20~ds1" -> "1.6.20");
      5. keep a following "-rcN"/"-rc.N"/"-betaN"/"-alphaN" pre-release tag;
         any other "-..." suffix (Debian/Ubuntu revision, "-ce", "-1~ubuntu...")
         is cut.
    """
    v = version.strip()
    if v[:1] in ("v", "V"):
        v = v[1:]
    if re.match(r"^\d+:", v):
        v = v.split(":", 1)[1]
    v = v.split("+", 1)[0]
    v = re.sub(r"~(alpha|beta|rc)", r"-\1", v)
    v = v.split("~", 1)[0]
    return _leading_version(v)


def is_vulnerable(version, introduced, fixed):
    """Reference matching rule shared by both data files.

    version    -- Version of the running kernel / component (already normalized)
    introduced -- Version of the first affected release ("0" = all)
    fixed      -- list of Versions, ascending, at most one per major.minor branch

    1. version < introduced                        -> not vulnerable
    2. fixed is empty                              -> vulnerable (no fix exists)
    3. a fixed entry has the same major.minor      -> vulnerable iff version < it
    4. otherwise (branch not listed)               -> vulnerable iff version < max(fixed)
       (the highest entry is the mainline fix for the kernel file: unlisted
       branches between `introduced` and it never got a backport; branches
       released after it already contain the fix)
    """
    if version < introduced:
        return False
    if not fixed:
        return True
    for f in fixed:
        if f.branch() == version.branch():
            return version < f
    return version < max(fixed)


def entry_is_vulnerable(entry, version):
    """Convenience wrapper taking a YAML entry dict and a Version."""
    introduced = parse_data_version(entry["introduced"])
    fixed = [parse_data_version(f) for f in entry["fixed"]]
    return is_vulnerable(version, introduced, fixed)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.errors = []

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))


def _nonempty_str(value):
    return isinstance(value, str) and value.strip() != ""


def _check_header(doc, where, rep):
    if not isinstance(doc, dict):
        rep.err(where, "top level must be a mapping")
        return False
    extra = set(doc) - {"version", "updated", "cves"}
    if extra:
        rep.err(where, "unknown top-level keys: %s" % sorted(extra))
    if doc.get("version") != 1:
        rep.err(where, "version must be the integer 1")
    upd = doc.get("updated")
    if isinstance(upd, datetime.date):
        pass
    elif not (isinstance(upd, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", upd)):
        rep.err(where, "updated must be a YYYY-MM-DD date")
    if not isinstance(doc.get("cves"), list) or not doc["cves"]:
        rep.err(where, "cves must be a non-empty list")
        return False
    return True


def _check_common(e, where, rep, required, optional):
    if not isinstance(e, dict):
        rep.err(where, "entry must be a mapping")
        return False
    for k in required:
        if k not in e:
            rep.err(where, "missing required field %r" % k)
    extra = set(e) - set(required) - set(optional)
    if extra:
        rep.err(where, "unknown fields %s" % sorted(extra))
    if not (isinstance(e.get("id"), str) and CVE_ID_RE.match(e["id"])):
        rep.err(where, "id %r does not match CVE-YYYY-NNNN" % (e.get("id"),))
    for k in ("name", "description", "remediation"):
        if k in e and not _nonempty_str(e[k]):
            rep.err(where, "%s must be a non-empty string" % k)
    if "note" in e and not _nonempty_str(e["note"]):
        rep.err(where, "note, when present, must be a non-empty string")
    if e.get("severity") not in SEVERITIES:
        rep.err(where, "severity %r not in %s" % (e.get("severity"), SEVERITIES))
    refs = e.get("references")
    if not isinstance(refs, list) or not refs:
        rep.err(where, "references must be a non-empty list")
    else:
        for r in refs:
            if not (isinstance(r, str) and re.match(r"^https?://\S+$", r)):
                rep.err(where, "bad reference %r" % (r,))
        if len(set(refs)) != len(refs):
            rep.err(where, "duplicate references")
    return True


def _check_versions(e, where, rep, kernel):
    intro_s = e.get("introduced")
    if not isinstance(intro_s, str):
        rep.err(where, "introduced must be a quoted string (got %r)" % (intro_s,))
        return
    intro = parse_data_version(intro_s)
    if intro is None:
        rep.err(where, "introduced %r does not parse" % intro_s)
        return
    if kernel and (len(intro.nums) < 2 or intro.pre is not None):
        rep.err(where, "kernel introduced %r must be major.minor[.patch]" % intro_s)
    fixed_s = e.get("fixed")
    if not isinstance(fixed_s, list) or not fixed_s:
        rep.err(where, "fixed must be a non-empty list")
        return
    fixed = []
    for f in fixed_s:
        if not isinstance(f, str):
            rep.err(where, "fixed entry %r must be a quoted string" % (f,))
            return
        v = parse_data_version(f)
        if v is None:
            rep.err(where, "fixed entry %r does not parse" % f)
            return
        if kernel and (len(v.nums) < 2 or v.pre is not None):
            rep.err(where, "kernel fixed entry %r must be major.minor[.patch]" % f)
        fixed.append(v)
    for a, b in zip(fixed, fixed[1:]):
        if not a < b:
            rep.err(where, "fixed list not strictly ascending at %s, %s"
                    % (a.text, b.text))
    branches = [v.branch() for v in fixed]
    if len(set(branches)) != len(branches):
        rep.err(where, "more than one fixed entry for the same major.minor branch")
    for v in fixed:
        if v < intro:
            rep.err(where, "fixed %s is below introduced %s" % (v.text, intro_s))
    if kernel:
        if not fixed[-1].is_mainline():
            rep.err(where, "last kernel fixed entry %r must be the mainline fix "
                    "(X.Y, no patch level)" % fixed[-1].text)
        for v in fixed[:-1]:
            if v.is_mainline():
                rep.err(where, "only the last kernel fixed entry may be a "
                        "mainline version (%s)" % v.text)


def validate_kernel(doc, rep, where="kernel-cves.yaml"):
    if not _check_header(doc, where, rep):
        return
    seen = set()
    for i, e in enumerate(doc["cves"]):
        w = "%s[%d] %s" % (where, i, e.get("id") if isinstance(e, dict) else "?")
        if not _check_common(e, w, rep, KERNEL_REQUIRED, KERNEL_OPTIONAL):
            continue
        if e.get("id") in seen:
            rep.err(w, "duplicate id")
        seen.add(e.get("id"))
        if e.get("class") not in KERNEL_CLASSES:
            rep.err(w, "class %r not in %s" % (e.get("class"), KERNEL_CLASSES))
        req = e.get("requires", [])
        if not isinstance(req, list):
            rep.err(w, "requires must be a list")
        else:
            for r in req:
                if r not in REQUIRES_VOCAB:
                    rep.err(w, "requires %r not in vocabulary %s" % (r, REQUIRES_VOCAB))
            if len(set(req)) != len(req):
                rep.err(w, "duplicate requires entries")
            if "requires" in e and not req:
                rep.err(w, "omit requires instead of giving an empty list")
        _check_versions(e, w, rep, kernel=True)
        if e.get("id") in ("CVE-2021-3493", "CVE-2023-2640", "CVE-2023-32629"):
            if not str(e.get("note", "")).startswith(UBUNTU_NOTE_PREFIX):
                rep.err(w, "Ubuntu-only entry must have a note starting %r"
                        % UBUNTU_NOTE_PREFIX)


def validate_engine(doc, rep, where="engine-cves.yaml", components=COMPONENTS):
    if not _check_header(doc, where, rep):
        return
    seen = set()
    for i, e in enumerate(doc["cves"]):
        w = "%s[%d] %s" % (where, i, e.get("id") if isinstance(e, dict) else "?")
        if not _check_common(e, w, rep, ENGINE_REQUIRED, ENGINE_OPTIONAL):
            continue
        if e.get("component") not in components:
            rep.err(w, "component %r not in %s" % (e.get("component"), components))
        key = (e.get("id"), e.get("component"))
        if key in seen:
            rep.err(w, "duplicate (id, component)")
        seen.add(key)
        _check_versions(e, w, rep, kernel=False)


def validate_docs(doc_text, kernel_doc, engine_doc, rep, where="docs/data.md"):
    """The entry lists in docs/data.md must name exactly the ids in the data.

    Kernel rows look like "| CVE-... | name | class | summary |" under the
    "### Kernel" heading; engine rows "| CVE-... | component | ..." under
    "### Engine".
    """
    section = None
    kernel_ids, engine_keys = set(), set()
    for line in doc_text.splitlines():
        if line.startswith("### Kernel"):
            section = "kernel"
        elif line.startswith("### Engine"):
            section = "engine"
        elif line.startswith("#"):
            section = None
        m = re.match(r"^\|\s*(CVE-\d{4}-\d{4,})\s*\|\s*([^|]*?)\s*\|", line)
        if not m or section is None:
            continue
        if section == "kernel":
            kernel_ids.add(m.group(1))
        else:
            engine_keys.add((m.group(1), m.group(2)))
    data_k = {e.get("id") for e in kernel_doc["cves"] if isinstance(e, dict)}
    data_e = {(e.get("id"), e.get("component")) for e in engine_doc["cves"]
              if isinstance(e, dict)}
    for i in sorted(data_k - kernel_ids):
        rep.err(where, "kernel entry %s is not listed" % i)
    for i in sorted(kernel_ids - data_k):
        rep.err(where, "lists kernel %s which is not in kernel-cves.yaml" % i)
    for i, c in sorted(data_e - engine_keys):
        rep.err(where, "engine entry %s (%s) is not listed" % (i, c))
    for i, c in sorted(engine_keys - data_e):
        rep.err(where, "lists engine %s (%s) which is not in engine-cves.yaml" % (i, c))


# ---------------------------------------------------------------------------
# Self-tests of the reference semantics (against the real data files)
# ---------------------------------------------------------------------------


def _by_id(doc, cve, component=None):
    for e in doc["cves"]:
        if e["id"] == cve and (component is None or e.get("component") == component):
            return e
    raise KeyError("%s %s not in data" % (cve, component or ""))


def self_test(kernel_doc, engine_doc):
    failures = []

    def expect(label, got, want):
        if got != want:
            failures.append("%s: got %r, want %r" % (label, got, want))

    V = parse_data_version

    # --- ordering -------------------------------------------------------------
    expect("5.17 == 5.17.0", V("5.17") == V("5.17.0"), True)
    expect("5.10.101 < 5.10.102", V("5.10.101") < V("5.10.102"), True)
    expect("5.9 < 5.10", V("5.9") < V("5.10"), True)
    expect("1.0.0-rc93 < 1.0.0-rc95", V("1.0.0-rc93") < V("1.0.0-rc95"), True)
    expect("1.0.0-rc95 < 1.0.0", V("1.0.0-rc95") < V("1.0.0"), True)
    expect("1.0.0-rc3 < 1.0.0-rc10", V("1.0.0-rc3") < V("1.0.0-rc10"), True)
    expect("1.4.0-rc.2 < 1.4.0-rc.3", V("1.4.0-rc.2") < V("1.4.0-rc.3"), True)
    expect("2.2.0-beta.1 < 2.2.0-rc.1", V("2.2.0-beta.1") < V("2.2.0-rc.1"), True)
    expect("0 < 0.1", V("0") < V("0.1"), True)
    expect("branch of 5.10.102", V("5.10.102").branch(), (5, 10))
    expect("branch of 7", V("7").branch(), (7, 0))

    # --- kernel release normalization -------------------------------------------
    K = normalize_kernel_release
    expect("uname ubuntu", K("5.15.0-91-generic") == V("5.15.0"), True)
    expect("uname debian", K("6.1.0-18-amd64") == V("6.1.0"), True)
    expect("uname rhel", K("4.18.0-513.el8.x86_64") == V("4.18.0"), True)
    expect("uname rc", K("6.8.0-rc3") == V("6.8.0-rc3"), True)
    expect("uname plus", K("6.6.30+") == V("6.6.30"), True)
    expect("uname stable", K("5.10.101") == V("5.10.101"), True)

    # --- package version normalization ------------------------------------------
    P = normalize_package_version
    expect("debian docker.io", P("20.10.24+dfsg1-1+deb12u1") == V("20.10.24"), True)
    expect("ubuntu docker.io", P("24.0.7-0ubuntu2~22.04.1") == V("24.0.7"), True)
    expect("docker-ce pkg", P("5:27.1.1-1~ubuntu.22.04~jammy") == V("27.1.1"), True)
    expect("debian runc rc", P("1.0.0~rc93+ds1-5+deb11u2") == V("1.0.0-rc93"), True)
    expect("debian containerd ds", P("1.6.20~ds1-1") == V("1.6.20"), True)
    expect("runc --version", P("1.1.12") == V("1.1.12"), True)
    expect("leading v", P("v0.12.5") == V("0.12.5"), True)
    expect("runc rc dot", P("1.4.0-rc.3") == V("1.4.0-rc.3"), True)
    expect("old docker -ce", P("18.09.1-ce") == V("18.09.1"), True)
    expect("rpm style", P("1.7.27-1.el9") == V("1.7.27"), True)

    # --- kernel cases from the brief ---------------------------------------------
    dp = _by_id(kernel_doc, "CVE-2022-0847")
    for rel, want in (("5.10.101", True), ("5.10.102", False), ("5.4.250", False),
                      ("5.4.0", False), ("5.16.10", True), ("5.16.11", False),
                      ("5.17.0", False), ("5.17", False), ("6.1.0", False),
                      ("5.8.0", True), ("5.12.19", True), ("5.15.24", True),
                      ("5.15.25", False), ("5.7.19", False)):
        expect("Dirty Pipe %s" % rel, entry_is_vulnerable(dp, K(rel)), want)

    # Unlisted EOL branch between introduced and mainline fix: vulnerable.
    cf = _by_id(kernel_doc, "CVE-2026-31431")
    for rel, want in (("4.19.325", True), ("5.4.300", True), ("4.9.337", False),
                      ("6.12.84", True), ("6.12.85", False), ("6.19.12", False),
                      ("7.0.0", False), ("7.1.3", False), ("6.17.9", True)):
        expect("Copy Fail %s" % rel, entry_is_vulnerable(cf, K(rel)), want)

    cow = _by_id(kernel_doc, "CVE-2016-5195")
    expect("Dirty COW 4.4.25", entry_is_vulnerable(cow, K("4.4.25")), True)
    expect("Dirty COW 4.4.26", entry_is_vulnerable(cow, K("4.4.26")), False)
    expect("Dirty COW 2.6.21", entry_is_vulnerable(cow, K("2.6.21")), False)
    expect("Dirty COW 2.6.32", entry_is_vulnerable(cow, K("2.6.32")), True)
    expect("Dirty COW 5.4.0", entry_is_vulnerable(cow, K("5.4.0")), False)

    # -rc kernels are pre-releases of the mainline fix.
    expect("Dirty Pipe 5.17.0-rc5", entry_is_vulnerable(dp, K("5.17.0-rc5")), True)

    # --- engine cases ---------------------------------------------------------------
    lv = _by_id(engine_doc, "CVE-2024-21626", "runc")
    for ver, want in (("1.1.11", True), ("1.1.12", False), ("1.0.0-rc92", False),
                      ("1.0.0-rc93", True), ("1.0.3", True), ("1.2.0", False),
                      ("1.1.12-0ubuntu2~22.04.1", False),
                      ("1.1.5+ds1-1+deb12u1", True)):
        expect("runc %s CVE-2024-21626" % ver,
               entry_is_vulnerable(lv, P(ver)), want)

    r25 = _by_id(engine_doc, "CVE-2025-31133", "runc")
    for ver, want in (("1.2.7", True), ("1.2.8", False), ("1.3.2", True),
                      ("1.3.3", False), ("1.4.0-rc.2", True), ("1.4.0-rc.3", False),
                      ("1.4.0", False), ("1.1.15", True), ("1.0.0-rc10", True)):
        expect("runc %s CVE-2025-31133" % ver, entry_is_vulnerable(r25, P(ver)), want)

    az = _by_id(engine_doc, "CVE-2024-41110", "docker")
    for ver, want in (("27.1.0", True), ("27.1.1", False), ("26.1.4", True),
                      ("26.1.5", False), ("26.0.2", True), ("25.0.5", True),
                      ("25.0.6", False), ("24.0.9", True), ("23.0.15", False),
                      ("20.10.24+dfsg1-1+deb12u1", True), ("18.09.9", False),
                      ("28.0.0", False)):
        expect("docker %s CVE-2024-41110" % ver, entry_is_vulnerable(az, P(ver)), want)

    ctd = _by_id(engine_doc, "CVE-2024-25621", "containerd")
    for ver, want in (("1.6.38", True), ("1.7.28", True), ("1.7.29", False),
                      ("2.0.6", True), ("2.0.7", False), ("2.2.0-rc.1", True),
                      ("2.2.0", False), ("2.3.0", False)):
        expect("containerd %s CVE-2024-25621" % ver,
               entry_is_vulnerable(ctd, P(ver)), want)

    bk = _by_id(engine_doc, "CVE-2024-23653", "buildkit")
    for ver, want in (("0.12.4", True), ("0.12.5", False), ("0.11.6", True),
                      ("0.13.0", False)):
        expect("buildkit %s CVE-2024-23653" % ver, entry_is_vulnerable(bk, P(ver)), want)

    return failures


# ---------------------------------------------------------------------------


def load(path):
    with open(path, "r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(REPO_ROOT / "data"))
    ap.add_argument("--docs", default=None,
                    help="docs/data.md to cross-check (default: the repository's, "
                    "unless --data-dir is given)")
    ap.add_argument("--kernel", metavar="RELEASE",
                    help="list kernel CVEs whose version range matches RELEASE")
    ap.add_argument("--engine", nargs=2, metavar=("COMPONENT", "VERSION"),
                    help="list engine CVEs whose version range matches")
    args = ap.parse_args(argv)

    data_dir = Path(args.data_dir)
    kpath, epath = data_dir / "kernel-cves.yaml", data_dir / "engine-cves.yaml"
    try:
        kdoc, edoc = load(kpath), load(epath)
    except (OSError, yaml.YAMLError) as exc:
        print("cannot load data: %s" % exc, file=sys.stderr)
        return 1

    if args.kernel or args.engine:
        if args.kernel:
            v = normalize_kernel_release(args.kernel)
            if v is None:
                print("cannot parse kernel release %r" % args.kernel, file=sys.stderr)
                return 2
            for e in kdoc["cves"]:
                if entry_is_vulnerable(e, v):
                    req = ",".join(e.get("requires", [])) or "-"
                    print("%-16s %-8s %-20s requires=%s  %s"
                          % (e["id"], e["severity"], e["class"], req, e["name"]))
        if args.engine:
            comp, ver = args.engine
            if comp not in COMPONENTS:
                print("component must be one of %s" % (COMPONENTS,), file=sys.stderr)
                return 2
            v = normalize_package_version(ver)
            if v is None:
                print("cannot parse version %r" % ver, file=sys.stderr)
                return 2
            for e in edoc["cves"]:
                if e["component"] == comp and entry_is_vulnerable(e, v):
                    print("%-16s %-8s %s" % (e["id"], e["severity"], e["name"]))
        return 0

    rep = Report()
    validate_kernel(kdoc, rep)
    validate_engine(edoc, rep)
    # the registry table (audit registry): the engine format, component "distribution"
    rpath = data_dir / "registry-cves.yaml"
    if rpath.exists():
        try:
            validate_engine(load(rpath), rep, "registry-cves.yaml", ("distribution",))
        except (OSError, yaml.YAMLError) as exc:
            rep.err("registry-cves.yaml", "cannot load: %s" % exc)
    docs = args.docs
    if docs is None and Path(args.data_dir).resolve() == (REPO_ROOT / "data").resolve():
        docs = str(REPO_ROOT / "docs" / "data.md")
    if docs and not rep.errors:
        try:
            with open(docs, "r", encoding="utf-8") as fh:
                validate_docs(fh.read(), kdoc, edoc, rep)
        except OSError as exc:
            rep.err(docs, "cannot read: %s" % exc)
    for line in rep.errors:
        print("ERROR " + line)
    if rep.errors:
        print("%d validation error(s); self-tests skipped" % len(rep.errors))
        return 1

    failures = self_test(kdoc, edoc)
    for line in failures:
        print("SELFTEST FAIL " + line)
    if failures:
        return 1

    counts = {}
    for e in edoc["cves"]:
        counts[e["component"]] = counts.get(e["component"], 0) + 1
    print("ok: kernel-cves.yaml %d entries; engine-cves.yaml %d entries (%s)"
          % (len(kdoc["cves"]), len(edoc["cves"]),
             ", ".join("%s %d" % (c, counts.get(c, 0)) for c in COMPONENTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
