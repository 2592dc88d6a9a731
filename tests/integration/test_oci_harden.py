"""Hardening as a policy: without it bulwark runs what the bundle asks (an engine's defaults
stand); with the global --harden (as an engine's runtimeArgs), `harden = true` in the runtime
configuration, or the annotation org.bulwark.harden=true it adds what the bundle left out, and
logs each change once: among them a user namespace whose root filesystem and bind mounts are
idmapped (files keep their owners on disk), unless the bundle needs the host's (then the log
says why). Under Docker, the escape probe with --harden finds nothing open."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BULWARK
from run_util import CHECKS, HostBait, parse_probe, probe_rootfs, world_tmpdir
from test_oci_lifecycle import reaper, rt, wait_exit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI runtime needs root")

# weak()'s capabilities within bulwark run's default set: CHOWN, KILL, SETGID, SETUID
KEPT_CAPS = sum(1 << c for c in (0, 5, 6, 7))
REPORT = ("grep -e NoNewPrivs -e CapBnd -e Seccomp: /proc/self/status; "
          "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
          "touch /x 2>/dev/null && echo root-writable; touch /tmp/y && echo tmp-writable; "
          "cat /proc/kpageflags 2>/dev/null | wc -c")


def weak(cfg):
    """What an engine's bundle typically leaves out (Docker's defaults)."""
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_RAW", "CAP_SYS_ADMIN",
            "CAP_MKNOD", "CAP_SYS_CHROOT"]
    cfg["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    cfg["process"]["noNewPrivileges"] = False
    cfg["root"]["readonly"] = False
    cfg["linux"]["resources"] = {}
    cfg["linux"]["maskedPaths"] = ["/proc/kcore"]
    cfg["annotations"] = {}
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                  if n["type"] != "user"]
    cfg["linux"].pop("uidMappings", None)
    cfg["linux"].pop("gidMappings", None)


def run_report(rt, tmp_path, name, edit=None, globals_=(), check=0):
    def ed(cfg):
        weak(cfg)
        if edit:
            edit(cfg)
    b = rt.bundle(["/bin/sh", "-c", REPORT], name=name, edit=ed)
    out = tmp_path / f"{name}.out"
    cid, pid = rt.create(b, out=out, extra=globals_, check=check)
    if check:
        return cid, pid
    rt("start", cid)
    wait_exit(pid)
    text = out.read_text()
    st = {l.split(":")[0]: l.split(":")[1].strip() for l in text.splitlines() if ":" in l}
    return cid, st, text


def assert_hardened(st, text):
    assert st["NoNewPrivs"] == "1", text
    assert int(st["CapBnd"], 16) == KEPT_CAPS, text
    assert st["Seccomp"] == "2", text
    lines = text.splitlines()
    assert "512" in lines and "root-writable" not in lines and "tmp-writable" in lines, text
    assert lines[-1] == "0", text  # /proc/kpageflags masked (bulwark's list, not Docker's)


def test_without_the_policy_the_bundle_stands(rt, tmp_path):
    _, st, text = run_report(rt, tmp_path, "plain")
    assert st["NoNewPrivs"] == "0" and st["Seccomp"] == "0", text
    assert int(st["CapBnd"], 16) & (1 << 21), text  # CAP_SYS_ADMIN, as asked
    assert "root-writable" in text.splitlines(), text


def test_harden_flag_and_its_log(rt, tmp_path):
    log = tmp_path / "log.json"
    cid, st, text = run_report(rt, tmp_path, "flag",
                               globals_=("--harden", "--log", log, "--log-format", "json"))
    assert_hardened(st, text)
    assert rt.state(cid)["annotations"]["org.bulwark.hardened"] == "true"
    msgs = [json.loads(l)["msg"] for l in log.read_text().splitlines()]
    assert all(m.startswith("harden: ") for m in msgs), msgs
    assert len(msgs) == len(set(msgs)), msgs  # each change once
    kinds = " ".join(msgs)
    for what in ("noNewPrivileges", "capabilities dropped: CAP_NET_RAW CAP_SYS_ADMIN",
                 "seccomp", "masked paths added", "memory limit 512 MiB", "pids limit 512",
                 "read-only root", "user namespace added: container ids 0-65535"):
        assert what in kinds, (what, msgs)
    saved = json.loads((rt.root / cid / "config.json").read_text())
    assert saved["process"]["noNewPrivileges"] is True  # the hardened spec is the one saved


USERNS_REPORT = ("cat /proc/self/uid_map; stat -c 'owner %u:%g' /bin/busybox; "
                 "touch /vol/by-root; su -s /bin/sh -c 'touch /vol/by-1000' u1000; ls -ln /vol")


def userns_bundle(rt, tmp_path, name, edit=None):
    """A bundle with a volume (a host directory 0777 under a directory only root may enter,
    as Docker's data root) that root and uid 1000 write to."""
    vol = tmp_path / f"{name}-vol"
    vol.mkdir()
    os.chmod(vol, 0o777)
    os.chmod(tmp_path, 0o700)

    def ed(cfg):
        weak(cfg)
        cfg["mounts"].append({"destination": "/vol", "type": "bind", "source": str(vol),
                              "options": ["rbind", "rw"]})
        if edit:
            edit(cfg)
    b = rt.bundle(["/bin/sh", "-c", USERNS_REPORT], name=name, edit=ed)
    etc = b / "rootfs" / "etc"
    etc.mkdir(exist_ok=True)
    with open(etc / "passwd", "a") as f:
        f.write("root:x:0:0::/:/bin/sh\nu1000:x:1000:1000::/:/bin/sh\n")
    with open(etc / "group", "a") as f:
        f.write("root:x:0:\nu1000:x:1000:\n")
    return b, vol


def run_out(rt, tmp_path, b, name, globals_=()):
    out = tmp_path / f"{name}.out"
    cid, pid = rt.create(b, out=out, extra=globals_)
    rt("start", cid)
    wait_exit(pid)
    return cid, out.read_text()


def test_harden_adds_a_user_namespace_with_idmapped_mounts(rt, tmp_path):
    runs = {}
    for name, g in (("plain", ()), ("hard", ("--harden", "--log", tmp_path / "log.json", "--log-format", "json"))):
        b, vol = userns_bundle(rt, tmp_path, name)
        cid, text = run_out(rt, tmp_path, b, name, g)
        owners = {f: (os.stat(vol / f).st_uid, os.stat(vol / f).st_gid)
                  for f in ("by-root", "by-1000")}
        runs[name] = (cid, text, owners)
    _, plain, plain_owners = runs["plain"]
    cid, hard, hard_owners = runs["hard"]
    assert plain.splitlines()[0].split() == ["0", "0", "4294967295"], plain
    inside, outside, count = hard.splitlines()[0].split()
    assert inside == "0" and int(outside) >= 65536 and count == "65536", hard
    # the image's files still read as root's, the volume's as written
    assert "owner 0:0" in hard, hard
    # on the host, the container's files land with the owners they have without the policy
    assert plain_owners == {"by-root": (0, 0), "by-1000": (1000, 1000)}, plain
    assert hard_owners == plain_owners, hard
    msgs = [json.loads(l)["msg"] for l in (tmp_path / "log.json").read_text().splitlines()]
    assert any(f"host ids {outside}-{int(outside) + 65535}" in m for m in msgs), msgs
    # the saved spec has the namespace (exec joins it) and the slice is claimed until delete
    saved = json.loads((rt.root / cid / "config.json").read_text())
    assert {"type": "user"} in saved["linux"]["namespaces"], saved["linux"]
    assert saved["linux"]["uidMappings"] == [
        {"containerID": 0, "hostID": int(outside), "size": 65536}], saved["linux"]
    b2, _ = userns_bundle(rt, tmp_path, "hard2")
    cid2, second = run_out(rt, tmp_path, b2, "hard2", ("--harden",))
    assert second.splitlines()[0].split()[1] != outside, (hard, second)
    record = Path(os.environ.get("BWK_RUN_DIR", "/run/bulwark")) / "userns-claims" / outside
    claim = Path(os.readlink(record))
    assert claim == (rt.root / cid / "userns.claim").resolve() and claim.read_text() == outside
    rt("delete", cid)
    assert not claim.exists()  # the record names nothing: the slice is free again


def test_harden_leaves_out_the_user_namespace_when_the_bundle_needs_the_host(rt, tmp_path):
    def privileged(cfg):
        for k in ("bounding", "effective", "permitted"):
            cfg["process"]["capabilities"][k].append("CAP_SYS_MODULE")

    def proc_bind(cfg):  # proc refuses idmapped mounts
        cfg["mounts"].append({"destination": "/hostproc", "type": "bind",
                              "source": "/proc/sys/kernel", "options": ["bind", "ro"]})

    def sysctl(cfg):
        cfg["linux"]["sysctl"] = {"kernel.domainname": "x"}
    cases = ((privileged, "the bundle grants CAP_SYS_MODULE, which acts only in the host's"),
             (proc_bind, "/proc/sys/kernel is on a filesystem (proc) that refuses idmapped"),
             (sysctl, "the sysctl kernel.domainname, which its namespaces do not own"))
    for i, (edit, why) in enumerate(cases):
        log = tmp_path / f"log{i}.json"
        b, vol = userns_bundle(rt, tmp_path, f"host{i}", edit)
        _, text = run_out(rt, tmp_path, b, f"host{i}", ("--harden", "--log", log, "--log-format", "json"))
        assert text.splitlines()[0].split() == ["0", "0", "4294967295"], text
        msgs = [json.loads(l)["msg"] for l in log.read_text().splitlines()]
        nouser = [m for m in msgs if "user namespace" in m]
        assert len(nouser) == 1 and "harden: no user namespace added: " in nouser[0], msgs
        assert why in nouser[0], msgs


def test_no_mount_namespace(rt, tmp_path):
    """The spec allows a container in the host's mount namespace: accepted as asked (chrooted,
    no mounts made); the policy adds one."""
    def nomnt(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "mount"]
    b = rt.bundle(["/bin/sh", "-c", "readlink /proc/1/ns/mnt 2>&1; ls /proc | wc -l"],
                  name="nomnt", edit=nomnt)
    out = tmp_path / "nomnt.out"
    cid, pid = rt.create(b, out=out)
    rt("start", cid)
    wait_exit(pid)
    assert out.read_text().split()[-1] == "0", out.read_text()  # no /proc mounted for it
    ns = os.readlink(f"/proc/{os.getpid()}/ns/mnt")
    b = rt.bundle(["/bin/sh", "-c", "sleep 30"], name="nomnt2", edit=nomnt)
    cid, pid = rt.create(b)
    assert os.readlink(f"/proc/{pid}/ns/mnt") == ns
    rt("delete", "--force", cid)
    log = tmp_path / "log.json"
    b = rt.bundle(["/bin/sh", "-c", "sleep 30"], name="nomnt3", edit=nomnt)
    cid, pid = rt.create(b, extra=("--harden", "--log", log, "--log-format", "json"))
    assert os.readlink(f"/proc/{pid}/ns/mnt") != ns
    assert "harden: mount namespace added" in log.read_text()
    rt("delete", "--force", cid)


def test_annotation_and_runtime_config(rt, tmp_path):
    def ann(cfg):
        cfg["annotations"] = {"org.bulwark.harden": "true"}
    _, st, text = run_report(rt, tmp_path, "ann", edit=ann)
    assert_hardened(st, text)
    conf = tmp_path / "runtime.conf"
    conf.write_text("# the administrator's policy\nharden = true\n")
    _, st, text = run_report(rt, tmp_path, "conf", globals_=("--runtime-config", conf))
    assert_hardened(st, text)
    # a bundle cannot turn the administrator's policy off
    def off(cfg):
        cfg["annotations"] = {"org.bulwark.harden": "false"}
    _, st, text = run_report(rt, tmp_path, "off", edit=off,
                             globals_=("--runtime-config", conf))
    assert_hardened(st, text)
    conf.write_text("harden = false\n")
    _, st, text = run_report(rt, tmp_path, "conf-off", globals_=("--runtime-config", conf))
    assert st["NoNewPrivs"] == "0", text
    conf.write_text("harden = yes\n")
    _, p = run_report(rt, tmp_path, "bad", globals_=("--runtime-config", conf), check=1)
    assert "runtime.conf line 1: harden is true or false" in p.stderr, p.stderr
    assert p.stderr.count("bulwark:") == 1, p.stderr


def test_exec_into_a_hardened_container(rt, tmp_path):
    b = rt.bundle(["/bin/sh", "-c", "sleep 60"], name="ex", edit=weak)
    cid, pid = rt.create(b, extra=("--harden",))
    rt("start", cid)
    proc = tmp_path / "process.json"
    caps = ["CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_KILL"]
    proc.write_text(json.dumps({
        "args": ["/bin/sh", "-c", "grep -e NoNewPrivs -e CapBnd /proc/self/status"],
        "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"],
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}}))
    p = rt("exec", "--process", proc, cid)
    st = {l.split(":")[0]: l.split(":")[1].strip() for l in p.stdout.splitlines()}
    assert st["NoNewPrivs"] == "1" and int(st["CapBnd"], 16) == 1 << 5, p.stdout  # KILL
    rt("delete", "--force", cid)


@pytest.mark.skipif(not shutil.which("dockerd"), reason="needs dockerd")
def test_escape_probe_under_docker_with_harden(dockerd_factory):
    d = dockerd_factory(daemon_json={"runtimes": {
        "bulwark": {"path": BULWARK},
        "bulwark-hardened": {"path": BULWARK, "runtimeArgs": ["--harden"]}}},
        args=("--bridge=none", "--iptables=false", "--ip-masq=false"))
    base = world_tmpdir()
    try:
        img = d.import_rootfs(probe_rootfs(base), "bwk-probe:latest")
        res = {}
        for rt_name in ("bulwark", "bulwark-hardened"):
            with HostBait() as bait:
                p = d.docker("run", "--rm", "--runtime", rt_name, img, "/bin/bwk_probe",
                             *bait.probe_args(), check=False, timeout=600)
            res[rt_name] = parse_probe(p.stdout.decode())
            assert all(c in res[rt_name] for c in CHECKS), (rt_name, p.stderr.decode())
        open_ = {n: sorted(c for c in CHECKS if not r[c]["blocked"]) for n, r in res.items()}
        # Docker's own defaults stand without the policy
        for c in ("no_new_privs", "write_rootfs", "fork_bomb", "memory_hog", "raw_socket"):
            assert c in open_["bulwark"], open_
        # with it nothing, the user namespace included (idmapped root and binds)
        why = [l for f in d.base.glob("exec/**/log.json") for l in f.read_text().splitlines()
               if "user namespace" in l]
        assert open_["bulwark-hardened"] == [], (open_, why)
        # docker exec into a hardened container gets the same process hardening, and the
        # changes are in the runtime log the shim gave bulwark
        name = "bwk-h-" + str(os.getpid())
        d.docker("run", "-d", "--name", name, "--runtime", "bulwark-hardened", img, "sleep",
                 "60")
        out = d.docker("exec", name, "grep", "-e", "NoNewPrivs", "-e", "CapBnd",
                       "/proc/self/status").stdout.decode()
        # Docker's default set within bulwark run's: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
        # SETUID NET_BIND_SERVICE
        assert "NoNewPrivs:\t1" in out and "CapBnd:\t00000000000004fb" in out, out
        cid = d.docker("inspect", "-f", "{{.Id}}", name).stdout.decode().strip()
        logs = list(d.base.glob(f"exec/**/{cid}/log.json"))
        assert logs, list(d.base.glob("exec/**/log.json"))
        msgs = [json.loads(l)["msg"] for l in logs[0].read_text().splitlines()]
        assert any("capabilities dropped" in m for m in msgs), msgs
        assert len(msgs) == len(set(msgs)), msgs
        # `bulwark audit containers` tells which containers bulwark runs, and hardened
        d.docker("run", "-d", "--name", name + "-plain", "--runtime", "bulwark", img, "sleep",
                 "60")
        p = subprocess.run([BULWARK, "audit", "containers", "--host", d.host, "--format",
                            "json"], capture_output=True, text=True, timeout=120)
        facts = json.loads(p.stdout)["facts"]
        assert facts[f"containers.{name}.runtime"] == \
            "bulwark-hardened (bulwark, hardened: --harden)", facts
        assert facts[f"containers.{name}-plain.runtime"].startswith(
            "bulwark (bulwark, not hardened"), facts
        assert facts["containers.bulwark"] == "2 under bulwark, 1 of them hardened", facts
        d.docker("rm", "-f", name, name + "-plain")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_features_name_the_annotation(bulwark):
    f = json.loads(bulwark("features", check=0).stdout)
    assert "hardening policy" in f["annotations"]["org.bulwark.harden"], f["annotations"]
