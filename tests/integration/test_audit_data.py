"""The CVE tables: the data validates, and the C matcher (bwk_version_affected) agrees with
the reference semantics in tests/tools/check_cve_data.py on every entry, for versions around
every boundary and in distribution spellings."""
import importlib.util
import subprocess

import yaml

from audit_util import TOP
from conftest import BUILD

spec = importlib.util.spec_from_file_location("check_cve_data",
                                              TOP / "tests" / "tools" / "check_cve_data.py")
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def test_data_validates():
    p = subprocess.run(["/usr/bin/python3", str(TOP / "tests" / "tools" / "check_cve_data.py")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def candidates(entry):
    """versions just below, at and above introduced and every fixed entry"""
    out = set()
    for v in [entry["introduced"], *entry["fixed"]]:
        out.add(v)
        base, _, pre = v.partition("-")
        if pre:
            tag = pre.rstrip("0123456789").rstrip(".")
            n = int(pre[len(pre.rstrip("0123456789")):])
            out.update({f"{base}-{tag}{n - 1}", f"{base}-{tag}{n + 1}", base})
        nums = [int(x) for x in v.split("-")[0].split(".")]
        while len(nums) < 3:
            nums.append(0)
        a, b, c = nums[:3]
        for d in (-1, 0, 1):
            if c + d >= 0:
                out.add(f"{a}.{b}.{c + d}")
        out.add(f"{a}.{b + 1}.0")
        if b > 0:
            out.add(f"{a}.{b - 1}.99")
    return sorted(out)


def test_c_matcher_agrees_with_reference():
    lines, want = [], []
    for name in ("kernel-cves.yaml", "engine-cves.yaml"):
        doc = yaml.safe_load((TOP / "data" / name).read_text())
        for e in doc["cves"]:
            for v in candidates(e):
                # the distro spellings must not change the verdict
                spellings = [v, f"{v}-18-amd64", f"v{v}"] if name.startswith("kernel") else \
                    [v, f"{v}+dfsg1-1+deb12u1", f"1:{v}~ds1-1"]
                expected = int(ref.entry_is_vulnerable(e, ref.normalize_package_version(v)))
                for s in spellings:
                    lines.append(" ".join([s, e["introduced"], *e["fixed"]]))
                    want.append(expected)
    p = subprocess.run([str(BUILD / "bwk_version_check")], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, check=True)
    got = [int(x) for x in p.stdout.split()]
    assert len(got) == len(want)
    bad = [(lines[i], got[i], want[i]) for i in range(len(want)) if got[i] != want[i]]
    assert not bad, bad[:20]
    assert len(want) > 1000
