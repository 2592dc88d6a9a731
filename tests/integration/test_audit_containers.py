"""`bulwark audit containers` against real containers started with risky flags on a private
dockerd, and a hardened one that must show nothing at medium or above."""
import json

import pytest

from audit_util import audit_json, ids
from conftest import make_busybox_rootfs

SLEEP = ["sleep", "600"]
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--user", "65534:65534", "--memory", "64m", "--pids-limit", "64", "--cpus", "0.5",
            "--restart", "on-failure:3"]


@pytest.fixture(scope="module")
def engine(dockerd_factory, tmp_path_factory):
    d = dockerd_factory(args=("--bridge=none", "--iptables=false", "--ip-masq=false"))
    rootfs = make_busybox_rootfs(tmp_path_factory.mktemp("bb") / "rootfs")
    d.import_rootfs(rootfs, "bwk-busybox:1")
    run = lambda name, *flags: d.docker("run", "-d", "--name", name, *flags, "bwk-busybox:1",
                                        *SLEEP)
    # each risky container adds exactly one risk to the hardened baseline
    run("hardened", *HARDENED)
    run("sock", *HARDENED, "-v", f"{d.sock}:/var/run/docker.sock")
    run("hostnet", *HARDENED, "--network", "host")
    run("hostpid", *HARDENED, "--pid", "host")
    run("sysadmin", *HARDENED, "--cap-add", "SYS_ADMIN")
    run("hostroot", *HARDENED, "-v", "/:/host:ro")
    run("seccomp", *HARDENED, "--security-opt", "seccomp=unconfined")
    # the docker run defaults: no limits, root, writable, escalation allowed
    run("defaults")
    # privileged containers cannot start in this VM (a capability is missing from the
    # bounding set), and ports need the bridge: created, not started
    d.docker("create", "--name", "privileged", "--privileged", "bwk-busybox:1", *SLEEP)
    d.docker("create", "--name", "redis-port", *HARDENED, "-p", "6379:6379",
             "bwk-busybox:1", *SLEEP)
    return d


def by_container(findings, min_sev="medium"):
    order = ["info", "low", "medium", "high", "critical"]
    out = {}
    for f in findings:
        if order.index(f["severity"]) < order.index(min_sev):
            continue
        name = f["location"]["key"].split(".")[0]
        out.setdefault(name, set()).add(f["id"])
    return out


def test_running_containers(bulwark, engine):
    found = audit_json(bulwark, "containers", "--host", engine.host)
    got = by_container(found)
    assert got == {
        "sock": {"sensitive-host-mount"},
        "hostnet": {"host-network"},
        "hostpid": {"host-pid"},
        "sysadmin": {"dangerous-capability"},
        "hostroot": {"sensitive-host-mount"},
        "seccomp": {"seccomp-unconfined"},
        "defaults": {"no-memory-limit", "no-pids-limit", "runs-as-root",
                     "no-new-privileges-not-set"},
    }, got
    sev = {(f["location"]["key"].split(".")[0], f["id"]): f["severity"] for f in found}
    assert sev[("sock", "sensitive-host-mount")] == "critical"
    assert sev[("hostroot", "sensitive-host-mount")] == "high"  # read-only
    # below medium: the defaults container also keeps its capabilities and writable root
    low = by_container(found, "low")
    assert {"capabilities-not-dropped", "rootfs-writable", "no-cpu-limit"} <= low["defaults"]
    assert "hardened" not in low


def test_all_containers(bulwark, engine):
    got = by_container(audit_json(bulwark, "containers", "--all", "--host", engine.host))
    assert got["privileged"] == {"privileged-container", "no-memory-limit", "no-pids-limit",
                                 "runs-as-root"}
    assert got["redis-port"] == {"admin-port-exposed"}
    assert "hardened" not in got


def test_docker_host_env_and_inspect_roundtrip(bulwark, engine, tmp_path):
    """The same containers through `docker inspect` output give the same findings."""
    p = bulwark("audit", "containers", "--all", "--format", "json",
                env={"DOCKER_HOST": engine.host})
    assert p.returncode == 1, p.stderr
    live = by_container(json.loads(p.stdout)["findings"])
    names = engine.docker("ps", "-aq").stdout.decode().split()
    out = tmp_path / "inspect.json"
    out.write_bytes(engine.docker("inspect", *names).stdout)
    offline = audit_json(bulwark, out)
    # offline keys are array indexes: map them back to names
    doc = json.loads(out.read_text())
    idx = {f"[{i}]": c["Name"].lstrip("/") for i, c in enumerate(doc)}
    got = {}
    for f in offline:
        if f["severity"] in ("medium", "high", "critical"):
            got.setdefault(idx[f["location"]["key"].split(".")[0]], set()).add(f["id"])
    assert got == live


def test_engine_errors(bulwark, tmp_path):
    p = bulwark("audit", "containers", "--host", f"unix://{tmp_path}/none.sock", check=2)
    assert "none.sock" in p.stderr and "DOCKER_HOST" in p.stderr
    p = bulwark("audit", "containers", "--host", "ssh://user@host", check=2)
    assert "only unix:// and tcp://" in p.stderr
