"""Every workload rule, in every input kind that can express it: a true positive (the hardened
base plus one risky change) and a near miss (a similar change that is safe). Also: the
hardened base of each kind has nothing at medium or above, and rules never fire in kinds that
cannot express their fix."""
import pytest

from audit_util import KINDS, MUTATIONS, audit_json, base, ids, mutated, write_doc

CASES = [(rule, kind) for rule, kinds in MUTATIONS.items() for kind in kinds]
EXT = {"compose": "compose.yaml", "k8s": "deploy.yaml", "inspect": "inspect.json",
       "oci": "config.json"}


@pytest.mark.parametrize("kind", KINDS)
def test_hardened_base_is_clean(bulwark, tmp_path, kind):
    f = write_doc(kind, base(kind), tmp_path / EXT[kind])
    found = audit_json(bulwark, f)
    assert ids(found, "low") == [], found


@pytest.mark.parametrize("rule,kind", CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_true_positive(bulwark, tmp_path, rule, kind):
    tp, _ = MUTATIONS[rule][kind]
    f = write_doc(kind, mutated(kind, tp), tmp_path / EXT[kind])
    found = audit_json(bulwark, f)
    assert rule in ids(found), found


@pytest.mark.parametrize("rule,kind", CASES, ids=[f"{r}-{k}" for r, k in CASES])
def test_near_miss(bulwark, tmp_path, rule, kind):
    _, nm = MUTATIONS[rule][kind]
    f = write_doc(kind, mutated(kind, nm), tmp_path / EXT[kind])
    found = audit_json(bulwark, f)
    assert rule not in ids(found), found


def test_rules_fire_only_where_expressible(bulwark, tmp_path):
    """A rule without a mutation for a kind has no field there: it must never fire on the
    riskiest fixtures of that kind."""
    from audit_util import FIX
    risky = {"compose": FIX / "compose" / "risky.yaml", "k8s": FIX / "k8s" / "risky.yaml",
             "inspect": FIX / "inspect" / "risky.json", "oci": FIX / "oci" / "risky.json"}
    for kind, path in risky.items():
        fired = set(ids(audit_json(bulwark, path)))
        never = {r for r, kinds in MUTATIONS.items() if kind not in kinds}
        assert not (fired & never), (kind, fired & never)
