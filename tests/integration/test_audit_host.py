"""`bulwark audit host` against fixture /proc and /sys trees (--proc-root/--sys-root/--root),
plus one run on the real host."""
import json
import os
from pathlib import Path

import pytest

from audit_util import audit_json, ids

HARDENED = {
    "sys/user/max_user_namespaces": "0",
    "sys/kernel/unprivileged_bpf_disabled": "2",
    "sys/kernel/kptr_restrict": "1",
    "sys/kernel/dmesg_restrict": "1",
    "sys/kernel/yama/ptrace_scope": "1",
    "sys/fs/protected_symlinks": "1",
    "sys/fs/protected_hardlinks": "1",
    "sys/fs/protected_fifos": "1",
    "sys/fs/protected_regular": "2",
    "sys/kernel/io_uring_disabled": "2",
    "self/status": "Name:\tbulwark\nSeccomp:\t0\nSeccomp_filters:\t0\n",
}
V2_MOUNTINFO = ("25 1 0:23 / / rw - ext4 /dev/vda1 rw\n"
                "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
V1_MOUNTINFO = ("25 1 0:23 / / rw - ext4 /dev/vda1 rw\n"
                "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                "32 25 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n")


def make_host(tmp: Path, release="6.18.44", overrides=None, mountinfo=V2_MOUNTINFO,
              apparmor="Y", subtree="cpuset cpu io memory pids", extra=None):
    proc, sys_, root = tmp / "proc", tmp / "sys", tmp / "root"
    files = dict(HARDENED)
    files["sys/kernel/osrelease"] = release
    files["version"] = f"Linux version {release} (builder@host) #1 SMP PREEMPT_DYNAMIC\n"
    files["1/mountinfo"] = mountinfo
    files.update(overrides or {})
    for rel, text in files.items():
        if text is None:
            continue
        p = proc / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + ("" if text.endswith("\n") else "\n"))
    s = {"module/apparmor/parameters/enabled": apparmor,
         "fs/cgroup/cgroup.subtree_control": subtree}
    s.update(extra or {})
    for rel, text in s.items():
        if text is None:
            continue
        p = sys_ / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
    (root / "etc").mkdir(parents=True, exist_ok=True)
    return ["--proc-root", proc, "--sys-root", sys_, "--root", root]


def test_hardened_host_is_clean(bulwark, tmp_path):
    found = audit_json(bulwark, "host", *make_host(tmp_path))
    assert found == [], found


@pytest.mark.parametrize("rel,value,rule", [
    ("sys/user/max_user_namespaces", "63000", "host-unprivileged-userns"),
    ("sys/kernel/unprivileged_bpf_disabled", "0", "host-unprivileged-bpf"),
    ("sys/kernel/kptr_restrict", "0", "host-kptr-restrict"),
    ("sys/kernel/dmesg_restrict", "0", "host-dmesg-restrict"),
    ("sys/kernel/yama/ptrace_scope", "0", "host-ptrace-scope"),
    ("sys/kernel/yama/ptrace_scope", None, "host-ptrace-scope"),
    ("sys/fs/protected_symlinks", "0", "host-protected-links"),
    ("sys/fs/protected_hardlinks", "0", "host-protected-links"),
    ("sys/fs/protected_fifos", "0", "host-protected-fifos"),
    ("sys/fs/protected_regular", "0", "host-protected-fifos"),
    ("self/status", "Name:\tbulwark\nNoNewPrivs:\t0\n", "host-seccomp-unavailable"),
])
def test_each_weak_setting(bulwark, tmp_path, rel, value, rule):
    found = audit_json(bulwark, "host", *make_host(tmp_path, overrides={rel: value}))
    assert ids(found) == [rule], found


def test_near_misses(bulwark, tmp_path):
    # stricter than required values, and the Debian-only userns knob set to 0
    found = audit_json(bulwark, "host", *make_host(tmp_path, overrides={
        "sys/user/max_user_namespaces": "63000",
        "sys/kernel/unprivileged_userns_clone": "0",
        "sys/kernel/kptr_restrict": "2",
        "sys/kernel/yama/ptrace_scope": "3",
        "sys/kernel/unprivileged_bpf_disabled": "1"}))
    assert found == [], found


def test_lsm_and_cgroups(bulwark, tmp_path):
    a = make_host(tmp_path / "a", apparmor="N")
    assert ids(audit_json(bulwark, "host", *a)) == ["host-no-lsm"]
    b = make_host(tmp_path / "b", apparmor=None, extra={"fs/selinux/enforce": "1"})
    assert ids(audit_json(bulwark, "host", *b)) == []
    c = make_host(tmp_path / "c", apparmor=None, extra={"fs/selinux/enforce": "0"})
    assert ids(audit_json(bulwark, "host", *c)) == ["host-no-lsm"]
    d = make_host(tmp_path / "d", mountinfo=V1_MOUNTINFO)
    assert ids(audit_json(bulwark, "host", *d)) == ["host-cgroup-v1"]
    e = make_host(tmp_path / "e", subtree="cpuset io")
    found = audit_json(bulwark, "host", *e)
    assert ids(found) == ["host-cgroup-controllers"]
    assert "memory pids cpu" in found[0]["message"]


def test_kernel_cves_and_preconditions(bulwark, tmp_path):
    # 5.10.100: Dirty Pipe (fixed 5.10.102) and CVE-2022-27666 (needs user namespaces)
    args = make_host(tmp_path / "a", release="5.10.100",
                     overrides={"sys/user/max_user_namespaces": "63000"})
    found = audit_json(bulwark, "host", *args)
    sev = {f["id"]: f["severity"] for f in found}
    assert sev["CVE-2022-0847"] == "high"
    assert sev["CVE-2022-27666"] == "high"
    assert "CVE-2022-0185" not in sev  # fixed in 5.10.93
    assert "CVE-2021-3493" not in sev  # Ubuntu-only entry on a non-Ubuntu host
    dp = next(f for f in found if f["id"] == "CVE-2022-0847")
    assert dp["category"] == "host" and "5.10.102" in dp["message"]
    # user namespaces disabled: the entries that need them drop to info
    args = make_host(tmp_path / "b", release="5.10.100")
    sev = {f["id"]: f["severity"] for f in audit_json(bulwark, "host", *args)}
    assert sev["CVE-2022-0847"] == "high" and sev["CVE-2022-27666"] == "info"
    # a patched stable kernel of the same branch
    args = make_host(tmp_path / "c", release="5.10.250")
    assert not [i for i in ids(audit_json(bulwark, "host", *args)) if i == "CVE-2022-0847"]


def test_distribution_kernel_versions(bulwark, tmp_path):
    # Debian: uname -r says 5.10.0-28-amd64, /proc/version carries the real 5.10.209
    args = make_host(tmp_path / "a", release="5.10.0-28-amd64", overrides={
        "version": "Linux version 5.10.0-28-amd64 (debian-kernel@lists.debian.org) #1 SMP "
                   "Debian 5.10.209-2 (2024-01-31)"})
    found = audit_json(bulwark, "host", *args)
    assert "CVE-2022-0847" not in ids(found)
    assert any("5.10.209" in (f["location"].get("key") or "") for f in found)
    # Ubuntu: version_signature, and Ubuntu-only entries apply
    args = make_host(tmp_path / "b", release="5.4.0-42-generic", overrides={
        "version_signature": "Ubuntu 5.4.0-42.46-generic 5.4.44",
        "sys/user/max_user_namespaces": "63000"})
    found = ids(audit_json(bulwark, "host", *args))
    assert "CVE-2021-3493" in found


def test_data_override(bulwark, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "kernel-cves.yaml").write_text(
        "version: 1\nupdated: 2026-01-01\ncves:\n"
        "  - id: CVE-2099-0001\n    name: Test bug\n    severity: critical\n"
        "    class: container-escape\n    introduced: \"6.0\"\n    fixed: [\"6.18.50\", \"6.19\"]\n"
        "    description: A test entry.\n    remediation: Upgrade.\n"
        "    references: [\"https://example.invalid/\"]\n")
    args = make_host(tmp_path / "h")
    found = audit_json(bulwark, "host", "--data", data, *args)
    assert ids(found) == ["CVE-2099-0001"] and found[0]["severity"] == "critical"
    (data / "kernel-cves.yaml").write_text("version: 2\ncves: []\n")
    p = bulwark("audit", "host", "--data", data, *args)
    assert p.returncode == 2 and "data format version is not 1" in p.stderr
    p = bulwark("audit", "host", "--data", tmp_path / "nope", *args)
    assert p.returncode == 2 and "kernel-cves.yaml" in p.stderr


def test_docker_root_filesystem(bulwark, tmp_path):
    args = make_host(tmp_path)
    root = Path(args[args.index("--root") + 1])
    (root / "var" / "lib" / "docker").mkdir(parents=True)
    assert ids(audit_json(bulwark, "host", *args)) == ["host-docker-root-shared-fs"]


def test_env_proc_root(bulwark, tmp_path):
    args = make_host(tmp_path, overrides={"sys/kernel/kptr_restrict": "0"})
    env = {"BWK_PROC_ROOT": str(args[1]), "BWK_SYS_ROOT": str(args[3])}
    p = bulwark("audit", "host", "--format", "json", "--root", args[5], env=env, check=0)
    assert "host-kptr-restrict" in {f["id"] for f in json.loads(p.stdout)["findings"]}


def test_real_host(bulwark):
    p = bulwark("audit", "host", "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    assert '"command": "audit host"' in p.stdout


def host_report(bulwark, args, *extra, fmt="json"):
    p = bulwark("audit", "-f", fmt, *extra, "host", *args)
    assert p.returncode in (0, 1), p.stderr
    return p


def test_report_carries_the_facts_it_judged(bulwark, tmp_path):
    args = make_host(tmp_path, release="6.1.0-28-amd64",
                     overrides={"version": "Linux version 6.1.0-28-amd64 (debian-kernel@lists."
                                "debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1\n",
                                "sys/kernel/unprivileged_userns_clone": "0"},
                     extra={"kernel/security/lsm": "lockdown,capability,landlock,yama,apparmor"})
    (tmp_path / "root" / "etc" / "os-release").write_text(
        'NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    doc = json.loads(host_report(bulwark, args).stdout)
    f = doc["facts"]
    assert f["host.kernel"] == "6.1.0-28-amd64"
    assert f["host.kernel.upstream"].startswith("6.1.119")
    assert f["host.os"] == "Debian GNU/Linux 12 (bookworm)"
    assert f["host.cgroup"].startswith("v2 (unified), controllers: cpuset cpu io memory pids")
    assert f["host.lsm"].startswith("lockdown,capability,landlock,yama,apparmor (AppArmor enabled")
    # every user-namespace switch is reported, the absent one named as absent
    assert f["host.userns"] == ("user.max_user_namespaces=0 kernel.unprivileged_userns_clone=0, "
                                "kernel.apparmor_restrict_unprivileged_userns absent")
    sarif = json.loads(host_report(bulwark, args, fmt="sarif").stdout)
    props = sarif["runs"][0]["properties"]
    assert props["facts"] == f and props["checks"] == doc["checks"]
    text = host_report(bulwark, args, fmt="text").stdout
    assert "  host.os: Debian GNU/Linux 12 (bookworm)\n" in text


def test_every_check_is_listed_with_its_status(bulwark, tmp_path):
    rules = json.loads(bulwark("rules", "-f", "json", "--category", "host", check=0).stdout)
    host_rules = {r["id"] for r in rules if not r["id"].startswith("CVE-")}
    # a hardened host: everything evaluated passes; /var/lib/docker is absent: skipped
    args = make_host(tmp_path / "a")
    doc = json.loads(host_report(bulwark, args).stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert host_rules <= set(checks), host_rules - set(checks)
    assert "host-kernel-cves" in checks
    assert checks["host-docker-root-shared-fs"]["status"] == "skip"
    assert checks["host-docker-root-shared-fs"]["detail"] == "no /var/lib/docker"
    assert all(c["status"] == "pass" for i, c in checks.items()
               if i not in ("host-docker-root-shared-fs", "host-kernel-cves")), checks
    s = doc["summary"]["checks"]
    assert s["total"] == len(checks) == s["passed"] + s["failed"] + s["skipped"]
    # one weak setting fails its check and only that one; an unreadable one is skipped
    args = make_host(tmp_path / "b", overrides={"sys/kernel/kptr_restrict": "0",
                                                "sys/kernel/dmesg_restrict": None})
    doc = json.loads(host_report(bulwark, args).stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["host-kptr-restrict"]["status"] == "fail"
    assert checks["host-dmesg-restrict"] == {
        "id": "host-dmesg-restrict", "title": checks["host-dmesg-restrict"]["title"],
        "status": "skip", "detail": "kernel.dmesg_restrict not readable on this host"}
    failed = {i for i, c in checks.items() if c["status"] == "fail"}
    assert failed == {"host-kptr-restrict"} | ({"host-kernel-cves"} if any(
        x["id"].startswith("CVE-") for x in doc["findings"]) else set())
    # text: the count line always; every check with --show-passed
    text = host_report(bulwark, args, fmt="text").stdout
    n = doc["summary"]["checks"]
    assert (f"{n['total']} checks: {n['passed']} passed, {n['failed']} failed, "
            f"{n['skipped']} skipped (--show-passed lists them)") in text
    assert "[PASS]" not in text
    text = host_report(bulwark, args, "--show-passed", fmt="text").stdout
    assert "  [FAIL] host-kptr-restrict  " in text and "  [PASS] host-unprivileged-bpf  " in text
    assert "  [SKIP] host-dmesg-restrict  " in text


def test_every_host_rule_is_a_check(bulwark, tmp_path):
    """Each row of the host table carries its check and the audit runs every row: the checks
    a report lists are exactly the host rules `bulwark rules` lists (the CVE rows aside), in
    the table's order, each run once."""
    p = bulwark("rules", "--format", "json", "--category", "host")
    rules = [r["id"] for r in json.loads(p.stdout) if not r["id"].startswith("CVE-")]
    p = bulwark("audit", "--format", "json", "host", *make_host(tmp_path), check=None)
    checks = [c["id"] for c in json.loads(p.stdout)["checks"]]
    assert sorted(checks) == sorted(rules) and len(set(checks)) == len(checks), checks
    assert checks[-1] == "host-kernel-cves" and checks[0] == "host-unprivileged-userns"
