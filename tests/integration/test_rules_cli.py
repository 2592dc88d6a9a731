"""`bulwark rules`: every rule of scan and audit listed (table and JSON), explained by id,
filtered, extended by a user rules file; and every rule id that a scan or an audit of the test
inputs reports is in the list."""
import copy
import json
import re
from pathlib import Path

import pytest
import yaml

import image_util as u
from audit_util import KINDS, MUTATIONS, base, write_doc
from conftest import TOP
from test_audit_host import make_host

SEVERITIES = ["info", "low", "medium", "high", "critical"]
SCHEMA = json.loads((TOP / "docs" / "report-schema.json").read_text())

USER_RULES = """version: 1
disable: [aws-access-key-id]
rules:
  - id: itest-rules-token
    title: Integration test token for rules
    description: A token of the test suite.
    remediation: Rotate the test token.
    severity: critical
    regex: '\\b(RTK_[A-Za-z0-9]{24})\\b'
    secret_group: 1
    keywords: [rtk_]
    references: ['https://example.invalid/rtk']
"""


def rules_json(bulwark, *args):
    p = bulwark("rules", "-f", "json", *args, check=0)
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def all_rules(bulwark):
    return rules_json(bulwark)


def by_id(rules):
    return {r["id"]: r for r in rules}


def user_rules_file(tmp_path, text=USER_RULES):
    p = tmp_path / "rules.yaml"
    p.write_text(text)
    p.chmod(0o600)
    return p


def test_list_has_every_kind(bulwark, all_rules):
    p = bulwark("rules", check=0)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["ID", "COMMAND", "CATEGORY", "SEVERITY", "TITLE"]
    rows = [l.split(None, 4) for l in lines[1:] if l.strip() and not re.match(r"^\d+ rules?$", l)]
    assert re.fullmatch(r"\d+ rules", lines[-1]) and int(lines[-1].split()[0]) == len(rows)
    assert len(rows) == len(all_rules) > 400
    table = {r[0]: r for r in rows}
    # one of each kind: file hygiene, image config, integrity, secret, workload, host, daemon,
    # kernel CVE, engine CVE
    expect = {
        "setuid-file": ("scan", "config", "medium"),
        "image-user-root": ("scan", "config", "medium"),
        "layer-digest-mismatch": ("scan", "integrity", "critical"),
        "aws-access-key-id": ("scan", "secret", "critical"),
        "private-key-rsa": ("scan", "secret", None),
        "privileged-container": ("audit", "workload", "critical"),
        "sensitive-host-mount": ("audit", "workload", "high"),
        "host-ptrace-scope": ("audit", "host", None),
        "daemon-tcp-no-tls": ("audit", "daemon", "critical"),
        "CVE-2022-0847": ("audit", "host", "high"),
        "CVE-2019-5736": ("audit", "daemon", "high"),
    }
    for rid, (cmd, cat, sev) in expect.items():
        assert rid in table, rid
        assert table[rid][1:3] == [cmd, cat], table[rid]
        if sev:
            assert table[rid][3] == sev, table[rid]
    assert "Setuid or setgid executable" in table["setuid-file"][4]
    # sorted by command, then id
    keys = [(r[1], r[0]) for r in rows]
    assert keys == sorted(keys)


def test_json_entries_are_complete(all_rules):
    ids = [r["id"] for r in all_rules]
    assert len(ids) == len(set(ids)), "duplicate ids"
    # docs/report-schema.json's rule object (checked by hand: no jsonschema on Debian's python)
    rdef = SCHEMA["$defs"]["rule"]
    fprops = SCHEMA["$defs"]["finding"]["properties"]
    id_re = re.compile(fprops["id"]["pattern"])
    for r in all_rules:
        assert r["description"].strip(), r["id"]
        assert r["remediation"].strip(), r["id"]
        assert r["title"].strip(), r["id"]
        assert r["command"] in ("scan", "audit")
        assert set(r) == set(rdef["required"]) == set(rdef["properties"]), r["id"]
        assert id_re.match(r["id"]), r["id"]
        assert r["category"] in fprops["category"]["enum"], r["id"]
        assert r["severity"] in fprops["severity"]["enum"], r["id"]
        assert r["command"] in rdef["properties"]["command"]["enum"]
        assert all(isinstance(x, str) and x for x in r["references"]), r["id"]
    # same order as the table: command, then id
    keys = [(r["command"], r["id"]) for r in all_rules]
    assert keys == sorted(keys)
    # the secret rules are the ones of rules/secrets.yaml, with their text
    doc = yaml.safe_load((TOP / "rules" / "secrets.yaml").read_text())
    secret = {r["id"]: r for r in all_rules if r["category"] == "secret"}
    # plus secret-scan, the check a report lists for all of them together, and the keystore
    # checks (src/lib/scan/secrets_keystore.c: PKCS#12 and Java keystores are not regexes)
    assert set(secret) == {r["id"] for r in doc["rules"]} | {
        "secret-scan", "pkcs12-keystore-weak-password", "java-keystore-weak-password"}
    aws = next(r for r in doc["rules"] if r["id"] == "aws-access-key-id")
    assert secret["aws-access-key-id"]["remediation"] == aws["remediation"]
    assert secret["aws-access-key-id"]["references"] == aws["references"]


def test_explain_rules(bulwark, all_rules):
    p = bulwark("rules", "sensitive-host-mount", "aws-access-key-id", check=0)
    out = p.stdout
    assert out.index("sensitive-host-mount") < out.index("aws-access-key-id")
    rules = by_id(all_rules)
    for rid in ("sensitive-host-mount", "aws-access-key-id"):
        r = rules[rid]
        assert r["title"] in out
        # wrapped text: compare words
        words = " ".join(out.split())
        assert " ".join(r["remediation"].split()) in words
        assert " ".join(r["description"].split()) in words
        for ref in r["references"]:
            assert "  - " + ref in out
    assert "fix:" in out and "risk:" in out and "severity: high" in out
    assert "command:  audit" in out and "category: workload" in out
    # JSON for named rules: exactly those, in the order asked
    named = rules_json(bulwark, "setuid-file", "CVE-2019-5736")
    assert [r["id"] for r in named] == ["setuid-file", "CVE-2019-5736"]
    assert named[0] == rules["setuid-file"]
    # a CVE listed for two components is one rule naming both
    c = rules["CVE-2022-24769"]
    assert "containerd" in c["title"] and "docker" in c["title"]


def test_unknown_rule(bulwark):
    p = bulwark("rules", "sensitve-host-mount", check=2)
    assert p.stderr.startswith("bulwark: unknown rule 'sensitve-host-mount' "
                               "(see 'bulwark rules')"), p.stderr
    assert "did you mean 'sensitive-host-mount'?" in p.stderr
    assert p.stdout == ""
    p = bulwark("rules", "setuid", check=2)  # a prefix
    assert "did you mean 'setuid-file'?" in p.stderr
    p = bulwark("rules", "qqqqqqqqqqqqqqq", check=2)
    assert p.stderr.strip() == "bulwark: unknown rule 'qqqqqqqqqqqqqqq' (see 'bulwark rules')"
    # one unknown id among known ones fails the command
    p = bulwark("rules", "setuid-file", "nope-nope-nope", check=2)
    assert "unknown rule 'nope-nope-nope'" in p.stderr


def test_filters(bulwark, all_rules):
    scan = rules_json(bulwark, "--command", "scan")
    assert scan and {r["command"] for r in scan} == {"scan"}
    assert scan == [r for r in all_rules if r["command"] == "scan"]
    audit = rules_json(bulwark, "--command", "audit")
    assert len(scan) + len(audit) == len(all_rules)
    secret = rules_json(bulwark, "--category", "secret")
    assert secret == [r for r in all_rules if r["category"] == "secret"] and len(secret) > 300
    high = rules_json(bulwark, "--severity-min", "high")
    assert high == [r for r in all_rules if r["severity"] in ("high", "critical")]
    both = rules_json(bulwark, "--command", "audit", "--category", "daemon",
                      "--severity-min", "critical")
    assert both and all(r["command"] == "audit" and r["category"] == "daemon" and
                        r["severity"] == "critical" for r in both)
    assert "daemon-tcp-no-tls" in by_id(both)
    # the text table filters the same way
    p = bulwark("rules", "--category", "host", "--command", "audit", check=0)
    rows = [l.split()[0] for l in p.stdout.splitlines()[1:-2]]
    assert sorted(rows) == sorted(r["id"] for r in all_rules if r["category"] == "host")
    assert p.stdout.splitlines()[-1] == f"{len(rows)} rules"


@pytest.mark.parametrize("args,needle", [
    (["--command", "run"], "unknown --command 'run'"),
    (["--category", "nope"], "unknown category 'nope'"),
    (["--severity-min", "none"], "unknown --severity-min level 'none'"),
    (["--severity-min", "huge"], "unknown --severity-min level 'huge'"),
    (["-f", "sarif"], "SARIF is for findings"),
    (["-f", "xml"], "unknown format 'xml'"),
    (["--bogus"], "unknown option '--bogus'"),
    (["--rules"], "needs a value"),
    (["--rules", "/nonexistent/rules.yaml"], "/nonexistent/rules.yaml"),
    (["--data", "/nonexistent-data"], "/nonexistent-data"),
])
def test_usage_errors(bulwark, args, needle):
    p = bulwark("rules", *args, check=2)
    assert p.stderr.startswith("bulwark: ") and needle in p.stderr, p.stderr
    assert p.stdout == ""


def test_help(bulwark):
    p = bulwark("rules", "--help", check=0)
    assert p.stdout.startswith("usage: bulwark rules") and "--severity-min" in p.stdout
    assert "sarif" in p.stdout.lower()
    assert "rules" in bulwark("--help", check=0).stdout


@pytest.mark.parametrize("cmd", ["scan", "audit", "run", "unpack", "inspect", "rules"])
def test_help_examples_name_real_rules(bulwark, cmd, all_rules):
    """Every rule id a help text shows (`bulwark rules ID`, `--rule ID`, `.bulwarkignore`
    lines) is one bulwark has: help once explained the unknown docker-socket-mount."""
    known = {r["id"] for r in all_rules}
    text = bulwark("help", cmd, check=0).stdout
    shown = re.findall(r"bulwark rules ([a-z0-9][a-z0-9-]+)\b", text)
    for rid in shown:
        assert rid in known, f"'bulwark help {cmd}' shows unknown rule {rid}"
    if cmd == "rules":
        assert shown, "the rules help shows no example rule id"


def test_user_rules_file(bulwark, tmp_path, all_rules):
    f = user_rules_file(tmp_path)
    got = by_id(rules_json(bulwark, "--rules", f))
    assert "aws-access-key-id" not in got  # disable:
    u_ = got["itest-rules-token"]
    assert u_ == {"id": "itest-rules-token", "category": "secret", "severity": "critical",
                  "title": "Integration test token for rules",
                  "description": "A token of the test suite.",
                  "remediation": "Rotate the test token.",
                  "references": ["https://example.invalid/rtk"], "command": "scan"}
    assert len(got) == len(all_rules)  # one out, one in
    assert "itest-rules-token" not in by_id(all_rules)
    p = bulwark("rules", "--rules", f, "itest-rules-token", check=0)
    assert "Rotate the test token." in p.stdout
    p = bulwark("rules", "--rules", f, "aws-access-key-id", check=2)
    assert "unknown rule 'aws-access-key-id'" in p.stderr
    # a scan with the same file reports that rule id, which is listed
    root = tmp_path / "rootfs"
    (root / "app").mkdir(parents=True)
    (root / "app" / "t.txt").write_text("token RTK_Ab3dEf6hIj9kLm2nOp5qRs8t\n")
    p = bulwark("scan", "-f", "json", "--fail-on", "none", "--rules", f, root, check=0)
    assert "itest-rules-token" in {x["id"] for x in json.loads(p.stdout)["findings"]}


@pytest.mark.parametrize("text,needle", [
    ("version: 1\ndisable: [no-such-rule]\n", "no-such-rule"),
    ("version: 1\nrules:\n  - id: aws-access-key-id\n    severity: high\n    regex: 'x'\n"
     "    keywords: [x]\n", "duplicate id"),
    ("version: 1\nrules: [\n", "rules.yaml"),
])
def test_bad_user_rules_file(bulwark, tmp_path, text, needle):
    p = bulwark("rules", "--rules", user_rules_file(tmp_path, text), check=2)
    assert needle in p.stderr and p.stdout == ""


# ---- every rule id a finding can carry is listed ---------------------------------------------
def secret_examples():
    """Each built-in secret rule's positive examples in a file of its own (rules scoped to a
    path are written where they apply when the example's rule names a simple file name)."""
    doc = yaml.safe_load((TOP / "rules" / "secrets.yaml").read_text())
    out = []
    for r in doc["rules"]:
        for i, ex in enumerate(r.get("examples", {}).get("positive", [])[:2]):
            out.append(u.F(f"app/secrets/{r['id']}-{i}.txt", ex + "\n"))
    return out


def scan_ids(bulwark, target):
    p = bulwark("scan", "-q", "-f", "json", "--fail-on", "none", target, check=0)
    return {x["id"] for x in json.loads(p.stdout)["findings"]}


def audit_ids(bulwark, *args):
    p = bulwark("audit", "-f", "json", "--fail-on", "none", *args)
    assert p.returncode == 0, p.stderr
    return {x["id"] for x in json.loads(p.stdout)["findings"]}


def test_every_reported_rule_is_listed(bulwark, tmp_path, all_rules):
    listed = {r["id"] for r in all_rules}
    found = set()
    # a demo-like image: setuid binary, world-writable directory, secrets in files and in the
    # config, root user, an admin port, no healthcheck; a second one with a swapped blob
    base_layer = u.Layer([u.D("bin"), u.F("bin/su", b"\x7fELF", mode=0o4755),
                          u.D("data", mode=0o777), *secret_examples()], comp="gzip")
    cfg = {"Env": ["PATH=/bin", "AWS_ACCESS_KEY_ID=AKIAIOMVHPCXMFQN4VWZ"],
           "Cmd": ["/bin/sh"], "ExposedPorts": {"22/tcp": {}, "2375/tcp": {}}}
    img = u.docker_save(tmp_path / "demo.tar", [base_layer], config=cfg)
    found |= scan_ids(bulwark, img)
    good = u.Layer([u.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n")], comp="gzip")
    evil = u.Layer([u.F("etc/passwd", "root::0:0::/root:/bin/sh\n")], comp="gzip")
    oci = u.oci_layout(tmp_path / "oci", [{"layers": [good]}])
    (oci / "blobs/sha256" / good.digest[7:]).write_bytes(evil.blob)
    found |= scan_ids(bulwark, oci)
    for rid in ("setuid-file", "world-writable-dir", "image-user-root",
                "image-exposed-admin-port", "image-no-healthcheck", "layer-digest-mismatch",
                "aws-access-key-id", "private-key-rsa"):
        assert rid in found, (rid, sorted(found))
    assert len([i for i in found if by_id(all_rules).get(i, {}).get("category") == "secret"]) > 200

    # audit: the workload fixtures, every true-positive mutation, a weak host with an old
    # kernel, a weak daemon configuration
    fixtures = sorted(str(p) for p in (TOP / "tests" / "fixtures" / "audit").rglob("*")
                      if p.is_file())
    found |= audit_ids(bulwark, *fixtures)
    docs = []
    for rid, per_kind in MUTATIONS.items():
        for kind, (positive, _near) in per_kind.items():
            d = copy.deepcopy(base(kind))
            positive(d)
            ext = "yaml" if kind in ("compose", "k8s") else "json"
            docs.append(str(write_doc(kind, d, tmp_path / f"{rid}-{kind}.{ext}")))
    mutated = audit_ids(bulwark, *docs)
    assert set(MUTATIONS) <= mutated, set(MUTATIONS) - mutated
    found |= mutated
    weak = {"sys/user/max_user_namespaces": "63000",
            "sys/kernel/unprivileged_bpf_disabled": "0", "sys/kernel/kptr_restrict": "0",
            "sys/kernel/dmesg_restrict": "0", "sys/kernel/yama/ptrace_scope": "0",
            "sys/fs/protected_symlinks": "0", "sys/fs/protected_fifos": "0"}
    host = audit_ids(bulwark, "host", *make_host(tmp_path / "host", release="4.4.0",
                                                 overrides=weak, apparmor="N"))
    assert "CVE-2016-5195" in host and "host-ptrace-scope" in host, host
    found |= host
    cfgp = tmp_path / "daemon.json"
    cfgp.write_text(json.dumps({"icc": True, "experimental": True, "log-level": "debug",
                                "insecure-registries": ["r.local:5000"],
                                "hosts": ["tcp://0.0.0.0:2375"]}))
    proc = tmp_path / "dproc"
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "comm").write_text("dockerd\n")
    (proc / "4242" / "cmdline").write_bytes(b"dockerd\0")
    (proc / "self").mkdir()
    root = tmp_path / "droot"
    (root / "etc").mkdir(parents=True)
    daemon = audit_ids(bulwark, "daemon", "--no-engine", "--no-probe", "--daemon-config", cfgp,
                       "--proc-root", proc, "--root", root)
    assert "daemon-tcp-no-tls" in daemon, daemon
    found |= daemon

    missing = found - listed
    assert not missing, f"reported but not listed by `bulwark rules`: {sorted(missing)}"


def test_every_rule_in_the_sources_is_listed(all_rules):
    """Rule tables written in C: every id of a BWK_RULE row is listed (a new table that
    `bulwark rules` does not gather fails here)."""
    listed = {r["id"] for r in all_rules}
    src = TOP / "src" / "lib"
    ids = set()
    for f in list((src / "scan").glob("rules_*.c")) + list((src / "audit").glob("*.c")):
        text = f.read_text()
        ids |= set(re.findall(r'\bBWK_RULE\(\s*"([a-z0-9-]+)"', text))
    assert len(ids) >= 40, sorted(ids)
    assert ids <= listed, sorted(ids - listed)
