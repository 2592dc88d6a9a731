"""config.json properties that the OCI lifecycle applies, as the runtime-tools validation suite
checks them (tests/conformance/run.sh runs that suite itself when it is built): the cgroup v1
resources beyond memory/pids/cpu quota (cpuset, real-time budget, swappiness, the OOM killer,
the TCP buffer limit, block I/O, net_cls/net_prio, hugetlb), the process's scheduler, I/O
priority, persona and seccomp flags, and `start` returning only once the container's process
runs its own program."""
import json
import os
import uuid
from pathlib import Path

import pytest

from conftest import BULWARK
from test_oci_lifecycle import Runtime, reaper, rt, wait_exit, wait_for  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

CG = Path("/sys/fs/cgroup")
V1 = (CG / "memory").is_dir()
v1_only = pytest.mark.skipif(not V1, reason="cgroup v1 hierarchies needed")


def read(ctrl, rel, name):
    return (CG / ctrl / rel.lstrip("/") / name).read_text().strip()


def test_start_returns_once_the_program_runs(rt):
    """The signal test of the suite: a kill right after start must reach the program (with its
    handlers), not the runtime's init that has not executed it yet."""
    def slow_setup(c):  # a seccomp filter that takes the init a while to compile before exec
        c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": i, "op": "SCMP_CMP_EQ"}]} for i in range(3000)]}

    b = rt.bundle(["sleep", "30"], edit=slow_setup)
    for _ in range(3):
        cid, pid = rt.create(b)
        rt("start", cid)
        assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0030\x00"
        rt("delete", "--force", cid)


@v1_only
def test_cpuset_realtime_and_memory_knobs(rt):
    rel = "/bwk-cfg-" + uuid.uuid4().hex[:8]

    def edit(c):
        c["linux"]["cgroupsPath"] = rel
        res = c["linux"]["resources"]
        res["cpu"] = {"cpus": "0", "mems": "0", "shares": 512}
        if (CG / "cpu" / "cpu.rt_period_us").exists():
            res["cpu"].update(realtimePeriod=1000000, realtimeRuntime=10000)
        res["memory"] = {"limit": 64 << 20, "swappiness": 10, "disableOOMKiller": True,
                         "kernelTCP": 16 << 20}

    b = rt.bundle(["sleep", "30"], edit=edit)
    cid, pid = rt.create(b)
    try:
        assert read("cpuset", rel, "cpuset.cpus") == "0"
        assert read("cpuset", rel, "cpuset.mems") == "0"
        assert str(pid) in read("cpuset", rel, "cgroup.procs").split()
        if (CG / "cpu" / "cpu.rt_period_us").exists():
            assert read("cpu", rel, "cpu.rt_runtime_us") == "10000"
        assert read("memory", rel, "memory.swappiness") == "10"
        assert "oom_kill_disable 1" in read("memory", rel, "memory.oom_control")
        assert read("memory", rel, "memory.kmem.tcp.limit_in_bytes") == str(16 << 20)
    finally:
        rt("delete", "--force", cid)
    assert not (CG / "cpuset" / rel.lstrip("/")).exists()


def block_device():
    for d in sorted(Path("/sys/block").iterdir()):
        dev = d / "dev"
        if dev.exists() and not d.name.startswith(("loop", "ram", "zram")):
            return dev.read_text().strip()
    return None


@v1_only
def test_block_io_throttle_and_weight(rt):
    dev = block_device()
    if not dev:
        pytest.skip("no block device")
    major, minor = map(int, dev.split(":"))
    rel = "/bwk-cfg-" + uuid.uuid4().hex[:8]

    def edit(c):
        c["linux"]["cgroupsPath"] = rel
        c["linux"]["resources"]["blockIO"] = {
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 300}]}

    cid, pid = rt.create(rt.bundle(["sleep", "30"], edit=edit))
    try:
        assert read("blkio", rel, "blkio.throttle.read_bps_device") == f"{dev} 1048576"
        assert read("blkio", rel, "blkio.throttle.write_iops_device") == f"{dev} 300"
    finally:
        rt("delete", "--force", cid)

    def weight(c):
        edit(c)
        c["linux"]["resources"]["blockIO"]["weight"] = 500

    b = rt.bundle(["true"], name="w", edit=weight)
    if (CG / "blkio" / "blkio.weight").exists() or (CG / "blkio" / "blkio.bfq.weight").exists():
        cid, pid = rt.create(b)
        rt("delete", "--force", cid)
    else:  # no CFQ/BFQ: a weight that cannot be applied is an error, not ignored
        _, p = rt.create(b, check=1)
        assert "linux.resources.blockIO" in p.stderr and "blkio.weight" in p.stderr


@v1_only
def test_network_and_hugetlb_need_their_controllers(rt):
    cases = [("network", {"classID": 0x100001, "priorities": [{"name": "lo", "priority": 2}]},
              "net_cls", "net_cls.classid", str(0x100001)),
             ("hugepageLimits", [{"pageSize": "2MB", "limit": 4 << 20}],
              "hugetlb", "hugetlb.2MB.limit_in_bytes", str(4 << 20))]
    for key, value, ctrl, f, want in cases:
        rel = "/bwk-cfg-" + uuid.uuid4().hex[:8]

        def edit(c, key=key, value=value, rel=rel):
            c["linux"]["cgroupsPath"] = rel
            c["linux"]["resources"][key] = value

        b = rt.bundle(["sleep", "30"], name=key, edit=edit)
        if (CG / ctrl).exists():
            cid, pid = rt.create(b)
            try:
                assert read(ctrl, rel, f) == want
            finally:
                rt("delete", "--force", cid)
        else:  # asked for and not there: refused, naming the property and the controller
            _, p = rt.create(b, check=1)
            assert f"linux.resources.{key}" in p.stderr and ctrl in p.stderr, p.stderr
            assert not (CG / "memory" / rel.lstrip("/")).exists()  # nothing left behind


def test_apparmor_profile_is_applied_or_refused(rt):
    """A profile asked for is never silently dropped: refused where AppArmor is off (as runc
    and crun do); where it is on, an unknown profile makes the start fail."""
    b = rt.bundle(["true"], edit=lambda c: c["process"].__setitem__(
        "apparmorProfile", "bwk-no-such-profile"))
    enabled = Path("/sys/module/apparmor/parameters/enabled")
    if enabled.exists() and enabled.read_text().startswith("Y"):
        cid, pid = rt.create(b)
        rt("start", cid)
        assert wait_for(lambda: rt.state(cid)["status"] == "stopped")
    else:
        _, p = rt.create(b, check=1)
        assert "process.apparmorProfile 'bwk-no-such-profile'" in p.stderr, p.stderr
        assert "AppArmor is not enabled" in p.stderr


# ---- linux.personality, process.scheduler, process.ioPriority, linux.seccomp.flags (#13) ----

def run_out(rt, b, check=0):
    p = rt("run", "-b", b, "bwk-sch-" + uuid.uuid4().hex[:8], check=check)
    return p


def applets(b, *names):
    for n in names:
        link = b / "rootfs" / "bin" / n
        if not link.exists():
            link.symlink_to("busybox")


def test_personality_linux32(rt):
    b = rt.bundle(["sh", "-c", "cat /proc/self/personality; uname -m"], edit=lambda c: c[
        "linux"].__setitem__("personality", {"domain": "LINUX32"}))
    applets(b, "uname")
    out = run_out(rt, b).stdout.split()
    assert int(out[0], 16) & 0xff == 0x0008, out  # PER_LINUX32
    if os.uname().machine == "x86_64":
        assert out[1] == "i686", out
    b2 = rt.bundle(["true"], name="bad", edit=lambda c: c["linux"].__setitem__(
        "personality", {"domain": "LINUX64"}))
    _, p = rt.create(b2, check=1)
    assert "linux.personality.domain: 'LINUX64' is not LINUX or LINUX32" in p.stderr, p.stderr


RT_GROUPS = (CG / "cpu" / "cpu.rt_period_us").exists() or (CG / "cpu.rt_period_us").exists()


def stat_fields(text):
    # /proc/PID/stat: after the ")" of comm, fields from 3 on
    rest = text[text.rindex(")") + 2:].split()
    return {"priority": int(rest[18 - 3]), "nice": int(rest[19 - 3]),
            "rt_priority": int(rest[40 - 3]), "policy": int(rest[41 - 3])}


def test_scheduler_is_set_before_exec(rt):
    cases = [({"policy": "SCHED_BATCH", "nice": 7}, {"policy": 3, "nice": 7}),
             ({"policy": "SCHED_IDLE"}, {"policy": 5}),
             ({"policy": "SCHED_FIFO", "priority": 12}, {"policy": 1, "rt_priority": 12}),
             ({"policy": "SCHED_RR", "priority": 3}, {"policy": 2, "rt_priority": 3})]
    def edit(c, s):
        c["process"]["scheduler"] = s
        if s["policy"] in ("SCHED_FIFO", "SCHED_RR") and RT_GROUPS:
            # with real-time group scheduling a cgroup needs a budget for real-time tasks
            c["linux"]["cgroupsPath"] = "/bwk-cfg-" + uuid.uuid4().hex[:8]
            c["linux"]["resources"]["cpu"] = {"realtimePeriod": 1000000,
                                              "realtimeRuntime": 10000}

    for i, (sched, want) in enumerate(cases):
        b = rt.bundle(["cat", "/proc/self/stat"], name=f"s{i}",
                      edit=lambda c, s=sched: edit(c, s))
        p = run_out(rt, b)
        got = stat_fields(p.stdout)
        assert {k: got[k] for k in want} == want, (sched, got, p.stderr)


def test_scheduler_deadline(rt):
    ms = 1000 * 1000
    b = rt.bundle(["cat", "/proc/self/stat"], edit=lambda c: c["process"].__setitem__(
        "scheduler", {"policy": "SCHED_DEADLINE", "runtime": 2 * ms, "deadline": 10 * ms,
                      "period": 10 * ms}))
    p = rt("run", "-b", b, "bwk-dl-" + uuid.uuid4().hex[:8], check=None)
    if p.returncode == 0:
        assert stat_fields(p.stdout)["policy"] == 6, p.stdout
    else:  # the kernel may refuse deadline tasks (admission control, cgroup v1 rt budget):
        # then the start fails naming the step, it never runs under another policy
        assert "process.scheduler (sched_setattr)" in p.stderr, p.stderr


def test_scheduler_combinations_are_refused(rt):
    bad = [({"policy": "SCHED_OTHER", "priority": 5}, "only SCHED_FIFO and SCHED_RR"),
           ({"policy": "SCHED_FIFO", "runtime": 100}, "SCHED_DEADLINE only"),
           ({"policy": "SCHED_DEADLINE", "runtime": 10, "deadline": 5}, "runtime <= deadline"),
           ({"policy": "SCHED_OTHER", "nice": 40}, "outside -20..19"),
           ({"policy": "SCHED_FAST"}, "policy 'SCHED_FAST'"),
           ({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_FAST"]}, "flags")]
    for i, (sched, msg) in enumerate(bad):
        b = rt.bundle(["true"], name=f"b{i}", edit=lambda c, s=sched: c[
            "process"].__setitem__("scheduler", s))
        _, p = rt.create(b, check=1)
        assert "process.scheduler" in p.stderr and msg in p.stderr, (sched, p.stderr)


def test_io_priority(rt):
    for i, (cls, prio, want) in enumerate([("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
                                           ("IOPRIO_CLASS_IDLE", 0, "idle"),
                                           ("IOPRIO_CLASS_RT", 2, "realtime: prio 2")]):
        b = rt.bundle(["ionice"], name=f"io{i}", edit=lambda c, k=cls, v=prio: c[
            "process"].__setitem__("ioPriority", {"class": k, "priority": v}))
        applets(b, "ionice")
        assert run_out(rt, b).stdout.strip() == want
    b = rt.bundle(["true"], name="bad", edit=lambda c: c["process"].__setitem__(
        "ioPriority", {"class": "IOPRIO_CLASS_FAST", "priority": 1}))
    _, p = rt.create(b, check=1)
    assert "process.ioPriority.class: 'IOPRIO_CLASS_FAST'" in p.stderr, p.stderr


def test_seccomp_flags_reach_the_kernel(rt):
    """The flags are seccomp(2)'s: LOG, SPEC_ALLOW and TSYNC load with the filter;
    WAIT_KILLABLE_RECV, which the kernel takes only with a notification listener, makes the
    load fail (so the flags are passed, not dropped); an unknown flag is refused at create."""
    def sc(flags):
        return lambda c: c["linux"].__setitem__("seccomp", {
            "defaultAction": "SCMP_ACT_ALLOW", "flags": flags,
            "syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    ok = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
          "SECCOMP_FILTER_FLAG_TSYNC"]
    b = rt.bundle(["sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/x || echo denied"],
                  name="ok", edit=sc(ok))
    out = run_out(rt, b).stdout
    assert "Seccomp:\t2" in out and "denied" in out, out
    b = rt.bundle(["true"], name="kr", edit=sc(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]))
    p = run_out(rt, b, check=None)
    assert p.returncode != 0 and "seccomp" in p.stderr, p.stderr
    b = rt.bundle(["true"], name="bad", edit=sc(["SECCOMP_FILTER_FLAG_FAST"]))
    _, p = rt.create(b, check=1)
    assert "linux.seccomp.flags[0]: 'SECCOMP_FILTER_FLAG_FAST'" in p.stderr, p.stderr


def test_exec_process_gets_them_too(rt):
    """`exec --process`: the process's own scheduler and I/O priority, the container's persona."""
    b = rt.bundle(["sleep", "60"], edit=lambda c: c["linux"].__setitem__(
        "personality", {"domain": "LINUX32"}))
    applets(b, "ionice")
    cid, pid = rt.create(b)
    rt("start", cid)
    proc = rt.base / "p.json"
    proc.write_text(json.dumps({
        "args": ["sh", "-c", "cat /proc/self/personality; ionice; cat /proc/self/stat"],
        "cwd": "/", "env": ["PATH=/bin"],
        "scheduler": {"policy": "SCHED_BATCH", "nice": 4},
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 5}}))
    p = rt("exec", "-p", proc, cid)
    lines = p.stdout.splitlines()
    assert int(lines[0], 16) & 0xff == 0x0008, p.stdout
    assert lines[1] == "best-effort: prio 5", p.stdout
    got = stat_fields(lines[2])
    assert got["policy"] == 3 and got["nice"] == 4, got
    proc.write_text(json.dumps({"args": ["true"], "cwd": "/",
                                "scheduler": {"policy": "SCHED_FAST"}}))
    p = rt("exec", "-p", proc, cid, check=None)
    assert p.returncode != 0 and "process.scheduler: policy 'SCHED_FAST'" in p.stderr, p.stderr
    assert "Bad address" not in p.stderr, p.stderr


def cap_lines(text):
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in text.splitlines()
                                       if line.startswith("Cap"))}


def test_unknown_capabilities_are_left_out_with_a_warning(rt):
    """As runc and crun: a capability name unknown to bulwark or to this kernel (an engine's
    list may be newer than the host) is left out of every set with one warning line in the
    runtime log naming it; the known ones are applied. Leaving one out only grants less:
    "ALL" or a name without its CAP_ prefix is not a shorthand here."""
    names = ["CAP_CHOWN", "CAP_TEST", "ALL", "kill", "CAP_TEST"]
    sets = ("bounding", "effective", "permitted", "inheritable", "ambient")
    b = rt.bundle(["sh", "-c", "grep ^Cap /proc/self/status"], edit=lambda c: c[
        "process"].__setitem__("capabilities", {k: names for k in sets}))
    log = rt.base / "log.json"
    out = rt.base / "out"
    cid, pid = rt.create(b, out=out, extra=("--log", log, "--log-format", "json"))
    rt("start", cid)
    wait_exit(pid)
    got = cap_lines(out.read_text())
    assert got == {"CapInh": 1, "CapPrm": 1, "CapEff": 1, "CapBnd": 1, "CapAmb": 1}, got
    warn = [json.loads(line) for line in log.read_text().splitlines()]
    warn = [w for w in warn if w["level"] == "warning"]
    assert len(warn) == 1, warn
    assert warn[0]["msg"] == ("ignoring unknown or unavailable capabilities: "
                              "CAP_TEST ALL kill"), warn
    # exec --process: the same, the warning on stderr
    rt("delete", cid)
    b2 = rt.bundle(["sleep", "60"], name="b2")
    cid, pid = rt.create(b2)
    rt("start", cid)
    proc = rt.base / "p.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "grep ^Cap /proc/self/status"],
                                "cwd": "/", "capabilities": {k: names for k in sets}}))
    p = rt("exec", "-p", proc, cid)
    assert cap_lines(p.stdout)["CapBnd"] == 1, p.stdout
    assert "ignoring unknown or unavailable capabilities: CAP_TEST ALL kill" in p.stderr


@pytest.mark.serial  # another `bulwark run` meanwhile reaps the stale run cgroup itself
def test_runs_reaper_leaves_oci_containers_cgroups_alone(rt):
    """`bulwark run` removes the run-PID@HEX cgroups a killed run leaked; an OCI container's
    bulwark/<id> is never one of them, even stopped (nothing in it, no lock) with an id shaped
    like a run's older names: '@' is not in an OCI id."""
    import glob
    import subprocess
    pid_max = int(open("/proc/sys/kernel/pid_max").read())  # never a live pid
    cid = f"run-{pid_max}-{uuid.uuid4().hex[:8]}"
    b = rt.bundle(["true"], edit=lambda c: c["linux"].pop("cgroupsPath", None))
    _, pid = rt.create(b, cid=cid)
    rt("start", cid)
    wait_exit(pid)
    mine = glob.glob(f"/sys/fs/cgroup/*/bulwark/{cid}") + glob.glob(f"/sys/fs/cgroup/bulwark/{cid}")
    assert mine
    # a leaked run cgroup where every run reaps: its pids hierarchy (v1), or the v2 tree
    leaked = [os.path.join(os.path.dirname(d), f"run-{pid_max}@cafe") for d in mine
              if d.startswith(("/sys/fs/cgroup/pids/", "/sys/fs/cgroup/bulwark/"))]
    assert leaked, mine
    for d in leaked:
        os.mkdir(d)
    try:
        for _ in range(2):
            p = subprocess.run([BULWARK, "run", "-q", "--rootfs",
                                str(b / "rootfs"), "true"], capture_output=True, text=True,
                               timeout=60)
            assert p.returncode == 0, p.stderr
        assert all(os.path.isdir(d) for d in mine), mine
        assert not any(os.path.isdir(d) for d in leaked), leaked
    finally:
        for d in leaked:
            if os.path.isdir(d):
                os.rmdir(d)
    rt("delete", cid)
    assert not any(os.path.isdir(d) for d in mine)
