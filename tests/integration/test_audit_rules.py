"""Every workload rule, in every input kind that can express it: a true positive (the hardened
base plus one risky change) and a near miss (a similar change that is safe). Also: the
hardened base of each kind has nothing at low or above, and rules never fire in kinds that
cannot express their fix. All documents go through one `bulwark audit FILE…` run (the
findings name their file), which keeps the suite fast under ASan."""
import json

import pytest

from audit_util import FIX, KINDS, MUTATIONS, base, ids, mutated, write_doc

CASES = [(rule, kind) for rule, kinds in MUTATIONS.items() for kind in kinds]
EXT = {"compose": "yaml", "k8s": "yaml", "inspect": "json", "oci": "json"}


@pytest.fixture(scope="module")
def results(bulwark, tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    files = {}
    for kind in KINDS:
        files[("base", kind)] = write_doc(kind, base(kind), d / f"base-{kind}.{EXT[kind]}")
    for rule, kind in CASES:
        tp, nm = MUTATIONS[rule][kind]
        for tag, mut in (("tp", tp), ("nm", nm)):
            files[(tag, rule, kind)] = write_doc(kind, mutated(kind, mut),
                                                 d / f"{tag}-{rule}-{kind}.{EXT[kind]}")
    p = bulwark("audit", "--format", "json", "--fail-on", "none", *files.values(), check=0)
    per_file = {}
    for f in json.loads(p.stdout)["findings"]:
        per_file.setdefault(f["location"]["target"], []).append(f)
    return {k: per_file.get(str(v), []) for k, v in files.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_hardened_base_is_clean(results, kind):
    found = results[("base", kind)]
    assert ids(found, "low") == [], found


@pytest.mark.parametrize("rule,kind", CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_true_positive(results, rule, kind):
    found = results[("tp", rule, kind)]
    assert rule in ids(found), found


@pytest.mark.parametrize("rule,kind", CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_near_miss(results, rule, kind):
    found = results[("nm", rule, kind)]
    assert rule not in ids(found), found


def test_rules_fire_only_where_expressible(bulwark):
    """A rule without a mutation for a kind has no field there: it must never fire on the
    riskiest fixtures of that kind."""
    risky = {"compose": FIX / "compose" / "risky.yaml", "k8s": FIX / "k8s" / "risky.yaml",
             "inspect": FIX / "inspect" / "risky.json", "oci": FIX / "oci" / "risky.json"}
    p = bulwark("audit", "--format", "json", *risky.values(), check=1)
    findings = json.loads(p.stdout)["findings"]
    for kind, path in risky.items():
        fired = {f["id"] for f in findings if f["location"]["target"] == str(path)}
        assert fired, kind
        never = {r for r, kinds in MUTATIONS.items() if kind not in kinds}
        assert not (fired & never), (kind, fired & never)


def test_every_workload_rule_has_cases(bulwark):
    """The matrix covers the whole workload rule table, as `bulwark rules` lists it from the
    table the checks run from, and docs/audit.md documents every one of them."""
    p = bulwark("rules", "--category", "workload", "--format", "json")
    listed = {r["id"] for r in json.loads(p.stdout)}
    assert listed == set(MUTATIONS), (listed - set(MUTATIONS), set(MUTATIONS) - listed)
    doc = (FIX.parents[2] / "docs" / "audit.md").read_text()
    for rule in listed:
        assert f"`{rule}`" in doc, rule
