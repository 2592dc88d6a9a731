"""`bulwark audit daemon`: configuration files and dockerd command lines offline (fixture
/proc), and real private dockerds: one listening on tcp://127.0.0.1:2375 without TLS, one
hardened."""
import json
import os
import socket
import stat

import pytest

from audit_util import audit_json, docker_cert_dir, ids, make_ca, make_cert

HARDENED_CFG = {
    "icc": False,
    "no-new-privileges": True,
    "live-restore": True,
    "userland-proxy": False,
    "userns-remap": "default",
    "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}},
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
}
# what a hardened daemon still shows below medium when user namespaces cannot be used here
EMPTY_DATA = "version: 1\nupdated: 2026-01-01\ncves: []\n"


def fake_proc(tmp, argv):
    proc = tmp / "proc"
    if proc.exists():
        return proc
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "comm").write_text("dockerd\n")
    (proc / "4242" / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    # an unrelated process
    (proc / "77").mkdir()
    (proc / "77" / "comm").write_text("sshd\n")
    (proc / "77" / "cmdline").write_bytes(b"sshd\0-D\0")
    (proc / "self").mkdir()
    return proc


def offline(bulwark, tmp, cfg, argv=("dockerd",), extra=()):
    path = tmp / "daemon.json"
    path.write_text(json.dumps(cfg) if not isinstance(cfg, str) else cfg)
    root = tmp / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    args = ["daemon", "--no-engine", "--no-probe", "--daemon-config", path,
            "--proc-root", fake_proc(tmp, list(argv)), "--root", root, *extra]
    return audit_json(bulwark, *args)


def empty_data(tmp):
    d = tmp / "data"
    d.mkdir(exist_ok=True)
    (d / "kernel-cves.yaml").write_text(EMPTY_DATA)
    (d / "engine-cves.yaml").write_text(EMPTY_DATA)
    return d


def test_offline_checks_and_facts(bulwark, tmp_path):
    """Without an engine: the settings checks ran on the files, the socket and version checks
    are skipped with the reason, and the report says which files and process it read."""
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"icc": False, "debug": True}))
    (tmp_path / "root" / "etc").mkdir(parents=True)
    p = bulwark("audit", "-f", "json", "daemon", "--no-engine", "--no-probe", "--daemon-config",
                path, "--proc-root", fake_proc(tmp_path, ["dockerd", "-H", f"unix://{tmp_path}/none.sock"]),
                "--root", tmp_path / "root", "--host", f"unix://{tmp_path}/none.sock")
    doc = json.loads(p.stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["daemon-icc-enabled"]["status"] == "pass"
    assert checks["daemon-debug-logging"]["status"] == "fail"
    assert checks["daemon-socket-permissions"]["status"] == "skip"
    assert checks["daemon-socket-permissions"]["detail"] == f"no socket at {tmp_path}/none.sock"
    assert checks["daemon-engine-cves"] == {
        "id": "daemon-engine-cves", "title": checks["daemon-engine-cves"]["title"],
        "status": "skip", "detail": "--no-engine: versions unknown"}
    assert doc["facts"]["daemon.config"] == str(path)
    assert doc["facts"]["daemon.process"] == "dockerd pid 4242 (3 arguments)"


def test_hardened_config_is_clean(bulwark, tmp_path):
    assert offline(bulwark, tmp_path, HARDENED_CFG) == []


@pytest.mark.parametrize("change,rule", [
    ({"icc": True}, "daemon-icc-enabled"),
    ({"no-new-privileges": False}, "daemon-no-new-privileges-off"),
    ({"live-restore": False}, "daemon-live-restore-off"),
    ({"userland-proxy": True}, "daemon-userland-proxy-on"),
    ({"userns-remap": ""}, "daemon-userns-remap-off"),
    ({"default-ulimits": {}}, "daemon-default-ulimits-unset"),
    ({"log-driver": "none"}, "daemon-log-driver"),
    ({"log-opts": {"max-file": "3"}}, "daemon-log-driver"),
    ({"experimental": True}, "daemon-experimental"),
    ({"seccomp-profile": "unconfined"}, "daemon-seccomp-unconfined"),
    ({"log-level": "debug"}, "daemon-debug-logging"),
    ({"insecure-registries": ["registry.local:5000"]}, "daemon-insecure-registry"),
    ({"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}, "daemon-tcp-no-tls"),
    ({"hosts": ["tcp://10.0.0.1:2376"], "tls": True}, "daemon-tcp-no-client-auth"),
])
def test_each_weak_setting(bulwark, tmp_path, change, rule):
    found = offline(bulwark, tmp_path, {**HARDENED_CFG, **change})
    assert ids(found) == [rule], found


@pytest.mark.parametrize("change", [
    {"icc": True, "bridge": "none"},
    {"log-driver": "journald"},
    {"log-driver": "local"},
    {"seccomp-profile": "/etc/docker/seccomp.json"},
    {"log-level": "info"},
    {"insecure-registries": []},
    {"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True, "tlscacert": "/etc/docker/ca.pem"},
    {"hosts": ["unix:///run/docker.sock", "fd://"]},
])
def test_near_misses(bulwark, tmp_path, change):
    assert offline(bulwark, tmp_path, {**HARDENED_CFG, **change}) == []


def test_command_line_overrides_config(bulwark, tmp_path):
    argv = ["/usr/sbin/dockerd", "-H", "fd://", "-H=tcp://127.0.0.1:2375", "--icc=true",
            "--insecure-registry", "10.1.2.3:5000", "--experimental", "--log-level", "debug"]
    found = offline(bulwark, tmp_path, HARDENED_CFG, argv=argv)
    assert ids(found) == ["daemon-debug-logging", "daemon-experimental", "daemon-icc-enabled",
                          "daemon-insecure-registry", "daemon-tcp-no-tls"]
    tcp = next(f for f in found if f["id"] == "daemon-tcp-no-tls")
    assert tcp["severity"] == "critical" and "tcp://127.0.0.1:2375" in tcp["message"]


def test_config_file_from_command_line(bulwark, tmp_path):
    """Without --daemon-config, the config named by dockerd's --config-file is audited."""
    cfg = tmp_path / "conf" / "daemon.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({**HARDENED_CFG, "experimental": True}))
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    proc = fake_proc(tmp_path, ["dockerd", "--config-file", str(cfg)])
    found = audit_json(bulwark, "daemon", "--no-engine", "--no-probe", "--proc-root", proc)
    assert "daemon-experimental" in ids(found)


def test_malformed_config(bulwark, tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"icc": false,\n "icc": true}')
    p = bulwark("audit", "daemon", "--no-engine", "--daemon-config", path,
                "--proc-root", fake_proc(tmp_path, ["dockerd"]), check=2)
    assert f"{path}:2: invalid JSON" in p.stderr and p.stderr.count("bulwark:") == 1
    p = bulwark("audit", "daemon", "--no-engine", "--daemon-config", tmp_path / "missing.json",
                check=2)
    assert "missing.json" in p.stderr


def test_socket_permissions_and_group(bulwark, tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\ndocker:x:105:alice,bob\n")
    sock_path = tmp_path / "docker.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    try:
        def run():
            return audit_json(bulwark, "daemon", "--no-engine", "--no-probe", "--host",
                              f"unix://{sock_path}", "--daemon-config", cfg, "--root", root,
                              "--proc-root", fake_proc(tmp_path / "p", ["dockerd"]))
        cfg = tmp_path / "daemon.json"
        cfg.write_text(json.dumps(HARDENED_CFG))
        os.chown(sock_path, 0, 105)
        os.chmod(sock_path, 0o660)
        found = run()
        assert ids(found) == ["daemon-docker-group-members"]
        assert "alice,bob" in found[0]["message"] and found[0]["severity"] == "info"
        os.chmod(sock_path, 0o666)
        bad = [f for f in run() if f["id"] == "daemon-socket-permissions"]
        assert bad and bad[0]["severity"] == "critical"
        os.chmod(sock_path, 0o660)
        os.chown(sock_path, 0, 50)
        bad = [f for f in run() if f["id"] == "daemon-socket-permissions"]
        assert bad and bad[0]["severity"] == "medium" and "staff" in bad[0]["message"]
        os.chown(sock_path, 0, 0)
        assert "daemon-socket-permissions" not in ids(run())
    finally:
        s.close()


def test_engine_unreachable_is_reported(bulwark, tmp_path):
    found = audit_json(bulwark, "daemon", "--no-probe", "--host",
                       f"unix://{tmp_path}/nothing.sock", "--daemon-config",
                       _write(tmp_path, HARDENED_CFG),
                       "--proc-root", fake_proc(tmp_path, ["dockerd"]), "--timeout", "500")
    assert ids(found) == ["daemon-engine-unreachable"]


def _write(tmp, cfg):
    p = tmp / "cfg.json"
    p.write_text(json.dumps(cfg))
    return p


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def insecure_dockerd(dockerd_factory):
    # the issue asks for 2375; fall back to a free port when a parallel run holds it
    port = 2375
    if not _port_free(port):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    d = dockerd_factory(daemon_json={"experimental": True},
                        args=("-H", f"tcp://127.0.0.1:{port}", "--bridge=none",
                              "--iptables=false", "--ip-masq=false"))
    d.tcp_port = port
    return d


def test_live_insecure_daemon(bulwark, insecure_dockerd, tmp_path):
    d = insecure_dockerd
    # exactly what was set up: the TCP listener and experimental, plus the defaults this
    # daemon.json leaves alone (no default bridge, so icc does not apply)
    cfg_only = audit_json(bulwark, "daemon", "--host", d.host, "--data", empty_data(tmp_path))
    assert ids(cfg_only) == ["daemon-default-ulimits-unset", "daemon-experimental",
                             "daemon-live-restore-off", "daemon-log-driver",
                             "daemon-no-new-privileges-off", "daemon-tcp-no-tls",
                             "daemon-userland-proxy-on", "daemon-userns-remap-off"], cfg_only
    assert ids(cfg_only, "medium") == ["daemon-tcp-no-tls"]
    found = audit_json(bulwark, "daemon", "--host", d.host)
    by = {}
    for f in found:
        by.setdefault(f["id"], []).append(f)
    tcp = by["daemon-tcp-no-tls"][0]
    assert tcp["severity"] == "critical"
    assert f"tcp://127.0.0.1:{d.tcp_port}" in tcp["message"]
    assert "answered GET /_ping without authentication" in tcp["message"]
    assert "daemon-experimental" in by
    assert "daemon-engine-unreachable" not in by
    # engine components from /version against the data: Debian 12's runc 1.1.5 predates
    # the CVE-2024-21626 fix (1.1.12)
    runc = [f for f in found if f["id"] == "CVE-2024-21626"]
    assert runc and "1.1.5" in runc[0]["location"]["key"] and runc[0]["category"] == "daemon"
    # DOCKER_HOST is honoured, and the TCP endpoint is an engine too
    p = bulwark("audit", "daemon", "--format", "json", env={"DOCKER_HOST": d.host})
    assert "daemon-tcp-no-tls" in {f["id"] for f in json.loads(p.stdout)["findings"]}
    p = bulwark("audit", "daemon", "--format", "json", "--host",
                f"tcp://127.0.0.1:{d.tcp_port}")
    got = {f["id"] for f in json.loads(p.stdout)["findings"]}
    assert "CVE-2024-21626" in got and "daemon-engine-unreachable" not in got
    # the facts it judged and every check: versions from the live engine, the CVE check ran
    p = bulwark("audit", "daemon", "--format", "json", "--host", d.host)
    doc = json.loads(p.stdout)
    facts, checks = doc["facts"], {c["id"]: c["status"] for c in doc["checks"]}
    assert facts["daemon.endpoint"] == d.host
    assert facts["daemon.version.runc"].startswith("1.1.5") and "daemon.version.Engine" in facts
    assert checks["daemon-engine-cves"] == "fail" and checks["daemon-tcp-no-tls"] == "fail"
    assert checks["daemon-engine-unreachable"] == "pass" and checks["daemon-icc-enabled"] == "pass"
    # --no-probe: still reported (the configuration is wrong), but nothing was contacted
    found = audit_json(bulwark, "daemon", "--host", d.host, "--no-probe")
    tcp = next(f for f in found if f["id"] == "daemon-tcp-no-tls")
    assert "probe" not in tcp["message"]


def test_plain_tcp_endpoint_is_exposed(bulwark, insecure_dockerd, tmp_path):
    """An engine that answers over tcp:// without TLS is the critical finding even when its
    configuration is not on this host (a remote daemon): the answer is the proof."""
    d = insecure_dockerd
    url = f"tcp://127.0.0.1:{d.tcp_port}"
    found = audit_json(bulwark, "daemon", "--host", url, "--daemon-config",
                       _write(tmp_path, HARDENED_CFG), "--data", empty_data(tmp_path),
                       "--proc-root", fake_proc(tmp_path, ["sshd"]))
    tcp = [f for f in found if f["id"] == "daemon-tcp-no-tls"]
    assert len(tcp) == 1 and tcp[0]["severity"] == "critical", found
    assert url in tcp[0]["message"] and "plain TCP" in tcp[0]["message"]
    # the local dockerd serving that port is found by its listener and reported once
    found = audit_json(bulwark, "daemon", "--host", url, "--data", empty_data(tmp_path))
    tcp = [f for f in found if f["id"] == "daemon-tcp-no-tls"]
    assert len(tcp) == 1 and "answered GET /_ping" in tcp[0]["message"], found
    assert "daemon-experimental" in ids(found)
    # TLS asked of this plain port: an error that says so, not an unreachable engine
    make_ca(tmp_path / "ca")
    cert, key = make_cert(tmp_path / "ca", tmp_path / "ca", "client", server=False)
    certs = docker_cert_dir(tmp_path / "certs", tmp_path / "ca" / "ca.pem", cert, key)
    p = bulwark("audit", "daemon", "--host", url, check=2,
                env={"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)})
    assert p.stderr.count("bulwark:") == 1 and url in p.stderr, p.stderr
    assert "does not seem to speak TLS" in p.stderr, p.stderr


def test_live_hardened_daemon(bulwark, dockerd_factory, tmp_path):
    # icc=false needs iptables, which private test daemons must not touch: this one has no
    # default bridge at all, so there is no inter-container traffic for icc to govern.
    # userns-remap cannot start here (the factory's 0700 data root denies the remapped root
    # o+x): it is covered offline above, and its absence is the one low finding expected.
    cfg = dict(HARDENED_CFG)
    cfg.pop("icc")
    cfg.pop("userns-remap")
    d = dockerd_factory(daemon_json=cfg, args=("--bridge=none", "--iptables=false",
                                               "--ip-masq=false"))
    found = audit_json(bulwark, "daemon", "--host", d.host, "--data", empty_data(tmp_path))
    assert ids(found, "medium") == [], found
    assert ids(found, "low") == ["daemon-userns-remap-off"], found
    # with the real tables the same daemon's component versions are still checked
    found = audit_json(bulwark, "daemon", "--host", d.host)
    assert any(f["id"].startswith("CVE-") for f in found)
    assert not [f for f in found if f["id"].startswith("daemon-") and
                f["severity"] in ("medium", "high", "critical")]


def test_systemd_unit_when_dockerd_is_not_running(bulwark, tmp_path):
    root = tmp_path / "root"
    unit = root / "lib" / "systemd" / "system" / "docker.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Unit]\nDescription=Docker\n[Service]\nType=notify\n"
                    "ExecStart=/usr/bin/dockerd -H fd:// \\\n  -H tcp://0.0.0.0:2375 "
                    "--containerd=/run/containerd/containerd.sock\n")
    proc = tmp_path / "proc"
    (proc / "77").mkdir(parents=True)
    (proc / "77" / "comm").write_text("sshd\n")
    (proc / "77" / "cmdline").write_bytes(b"sshd\0")
    cfg = _write(tmp_path, HARDENED_CFG)
    args = ["daemon", "--no-engine", "--no-probe", "--daemon-config", cfg, "--proc-root", proc,
            "--root", root]
    found = audit_json(bulwark, *args)
    assert ids(found) == ["daemon-tcp-no-tls"]
    # a drop-in that resets ExecStart replaces the command line
    dropin = root / "etc" / "systemd" / "system" / "docker.service.d"
    dropin.mkdir(parents=True)
    (dropin / "override.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// --experimental\n")
    assert ids(audit_json(bulwark, *args)) == ["daemon-experimental"]


def test_every_daemon_rule_is_a_check(bulwark, tmp_path):
    """Each row of the daemon table carries its check and the audit runs every row, also
    offline: the checks are exactly the daemon rules `bulwark rules` lists (the CVE rows
    aside), each run once, the engine CVE check last."""
    p = bulwark("rules", "--format", "json", "--category", "daemon")
    rules = [r["id"] for r in json.loads(p.stdout) if not r["id"].startswith("CVE-")]
    (tmp_path / "root" / "etc").mkdir(parents=True)
    p = bulwark("audit", "--format", "json", "daemon", "--no-engine", "--no-probe",
                "--daemon-config", _write(tmp_path, {}), "--root", tmp_path / "root",
                "--proc-root", fake_proc(tmp_path, ["dockerd"]), check=None)
    checks = [c["id"] for c in json.loads(p.stdout)["checks"]]
    assert sorted(checks) == sorted(rules) and len(set(checks)) == len(checks), checks
    assert checks[0] == "daemon-tcp-no-tls" and checks[-1] == "daemon-engine-cves"
