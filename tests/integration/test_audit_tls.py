"""The Docker Engine API over TLS, as the docker CLI configures it (DOCKER_HOST=tcp://…,
DOCKER_TLS_VERIFY, DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem): a private dockerd with
--tlsverify and a throwaway CA, audited and read (docker:NAME) over TLS, and every way the
client side can be wrong giving one clear error."""
import json
import os
import shutil
import socket
import subprocess

import pytest

import image_util as u
from audit_util import docker_cert_dir, ids, make_ca, make_cert


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TLSEngine:
    def __init__(self, d, port, good, base):
        self.d = d
        self.port = port
        self.url = f"tcp://127.0.0.1:{port}"
        self.good = good  # DOCKER_CERT_PATH with the right CA and a client certificate
        self.base = base

    def env(self, cert_path=None, verify="1"):
        e = {"DOCKER_HOST": self.url, "DOCKER_CERT_PATH": str(cert_path or self.good)}
        if verify is not None:
            e["DOCKER_TLS_VERIFY"] = verify
        return e

    def cert_dir(self, name, ca=True, cert=True, key=True):
        """A copy of the good DOCKER_CERT_PATH with some files left out."""
        d = self.base / name
        docker_cert_dir(d, self.good / "ca.pem" if ca else None,
                        self.good / "cert.pem" if cert else None,
                        self.good / "key.pem" if key else None)
        return d

    def docker(self, *args, input=None):
        """The docker CLI over the same TLS endpoint."""
        return subprocess.run(["docker", "-H", self.url, "--tlsverify",
                               "--tlscacert", self.good / "ca.pem",
                               "--tlscert", self.good / "cert.pem",
                               "--tlskey", self.good / "key.pem", *map(str, args)],
                              input=input, capture_output=True, check=True, timeout=120)


@pytest.fixture(scope="module")
def tls_engine(dockerd_factory, tmp_path_factory):
    base = tmp_path_factory.mktemp("tls")
    ca_dir = base / "ca"
    make_ca(ca_dir)
    srv_cert, srv_key = make_cert(ca_dir, base / "server", "server", server=True)
    cli_cert, cli_key = make_cert(ca_dir, base / "client", "client", server=False)
    good = docker_cert_dir(base / "good", ca_dir / "ca.pem", cli_cert, cli_key)
    port = _free_port()
    d = dockerd_factory(args=("--tlsverify", "--tlscacert", ca_dir / "ca.pem",
                              "--tlscert", srv_cert, "--tlskey", srv_key,
                              "-H", f"tcp://127.0.0.1:{port}", "--bridge=none",
                              "--iptables=false", "--ip-masq=false"))
    eng = TLSEngine(d, port, good, base)
    # a tiny image with one obvious finding, loaded over TLS by the docker CLI itself
    img = u.docker_save(base / "img.tar", [
        u.Layer([u.D("bin"), u.F("bin/tool", "#!/bin/sh\n", mode=0o755),
                 u.D("usr"), u.D("usr/bin"), u.F("usr/bin/helper", b"\x7fELF", mode=0o4755)],
                comp="none")], tags=["bwk-tls:1"])
    eng.docker("load", "-i", img)
    return eng


def audit(bulwark, env, *args, check=None):
    return bulwark("audit", "--format", "json", "--timeout", "5000", *args, env=env,
                   check=check)


def one_error(p):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulwark: "), p.stderr
    assert "BEGIN" not in p.stderr and "PRIVATE" not in p.stderr, p.stderr
    return lines[0]


def test_audit_daemon_over_tls(bulwark, tls_engine, tmp_path):
    p = audit(bulwark, tls_engine.env(), "daemon")
    assert p.returncode in (0, 1), p.stderr
    found = json.loads(p.stdout)["findings"]
    got = ids(found)
    # the engine answered over TLS: its versions were checked, nothing unreachable
    assert "daemon-engine-unreachable" not in got, found
    assert any(i.startswith("CVE-") for i in got), found
    # the listener is TLS with client verification: neither exposure finding applies
    assert "daemon-tcp-no-tls" not in got and "daemon-tcp-no-client-auth" not in got, found
    # and the settings came from this dockerd (found by its tcp:// listener), e.g. no
    # daemon.json limits on this test daemon
    assert "daemon-live-restore-off" in got
    # `audit containers` uses the same client
    p = audit(bulwark, tls_engine.env(), "containers", check=0)
    assert json.loads(p.stdout)["findings"] == []
    # --host with the TLS environment for the certificates
    env = tls_engine.env()
    env["DOCKER_HOST"] = "unix:///nonexistent.sock"
    p = audit(bulwark, env, "--host", tls_engine.url, "daemon")
    assert p.returncode in (0, 1), p.stderr
    assert "daemon-engine-unreachable" not in {f["id"] for f in json.loads(p.stdout)["findings"]}


def test_wrong_ca(bulwark, tls_engine):
    other = tls_engine.base / "other-ca"
    make_ca(other, "some-other-ca")
    d = tls_engine.cert_dir("wrong-ca")
    shutil.copy(other / "ca.pem", d / "ca.pem")
    for args in (("audit", "daemon"), ("audit", "containers"), ("scan", "docker:bwk-tls:1")):
        p = bulwark(*args, env=tls_engine.env(d), check=2)
        msg = one_error(p)
        assert tls_engine.url in msg and "certificate" in msg and "verif" in msg, msg
        assert str(d / "ca.pem") in msg, msg


def test_client_certificate_refused(bulwark, tls_engine):
    """A client certificate from another CA: the engine refuses the handshake."""
    other = tls_engine.base / "rogue"
    make_ca(other, "rogue-ca")
    cert, key = make_cert(other, other, "client", server=False)
    d = docker_cert_dir(tls_engine.base / "rogue-client", tls_engine.good / "ca.pem", cert, key)
    p = audit(bulwark, tls_engine.env(d), "daemon", check=2)
    msg = one_error(p)
    assert tls_engine.url in msg and "client certificate" in msg, msg


@pytest.mark.parametrize("missing", ["cert.pem", "key.pem", "ca.pem"])
def test_missing_file_in_cert_path(bulwark, tls_engine, missing):
    d = tls_engine.cert_dir("no-" + missing, ca=missing != "ca.pem",
                            cert=missing != "cert.pem", key=missing != "key.pem")
    for args in (("audit", "daemon"), ("unpack", "docker:bwk-tls:1", d / "out")):
        p = bulwark(*args, env=tls_engine.env(d), check=2)
        msg = one_error(p)
        assert str(d / missing) in msg and "DOCKER_CERT_PATH" in msg, msg
        assert not (d / "out").exists()


def test_cert_files_are_untrusted(bulwark, tls_engine):
    # a directory, a FIFO (must not block), a huge file, a key where the cert should be
    cases = {}
    d = tls_engine.cert_dir("dir-cert", cert=False)
    (d / "cert.pem").mkdir()
    cases[d] = "not a regular file"
    d = tls_engine.cert_dir("fifo-key", key=False)
    os.mkfifo(d / "key.pem")
    cases[d] = "not a regular file"
    d = tls_engine.cert_dir("huge-ca", ca=False)
    with open(d / "ca.pem", "wb") as f:
        f.truncate(8 << 20)
    cases[d] = "larger than"
    for d, want in cases.items():
        p = audit(bulwark, tls_engine.env(d), "daemon", check=2)
        msg = one_error(p)
        assert want in msg and str(d) in msg, msg
    # key material in the certificate's place: an error that never shows the key
    d = tls_engine.cert_dir("swapped", cert=False)
    shutil.copy(d / "key.pem", d / "cert.pem")
    p = audit(bulwark, tls_engine.env(d), "daemon", check=2)
    msg = one_error(p)
    assert str(d / "cert.pem") in msg, msg


def test_tls_port_without_tls_verify(bulwark, tls_engine):
    env = tls_engine.env(verify=None)
    for args in (("audit", "daemon"), ("inspect", "docker:bwk-tls:1")):
        p = bulwark(*args, env=env, check=2)
        msg = one_error(p)
        assert tls_engine.url in msg and "DOCKER_TLS_VERIFY" in msg and "TLS" in msg, msg


def test_scan_and_unpack_over_tls(bulwark, tls_engine, tmp_path):
    env = tls_engine.env()
    p = bulwark("scan", "-f", "json", "--fail-on", "none", "docker:bwk-tls:1", env=env, check=0)
    f = [x for x in json.loads(p.stdout)["findings"] if x["id"] == "setuid-file"]
    assert f and f[0]["location"]["path"] == "usr/bin/helper", p.stdout
    out = tmp_path / "out"
    bulwark("unpack", "docker:bwk-tls:1", out, env=env, check=0)
    assert (out / "bin/tool").read_text() == "#!/bin/sh\n"
    assert (out / "usr/bin/helper").read_bytes() == b"\x7fELF"
    # an unknown image is the engine's 404, still over TLS
    p = bulwark("inspect", "docker:no-such:1", env=env, check=2)
    assert "HTTP 404" in one_error(p)


def _fake_proc(base, *cmdlines):
    """A /proc with the given dockerd command lines (pid 100, 200, …) and nothing else."""
    proc = base / "proc"
    (proc / "self").mkdir(parents=True)
    for i, argv in enumerate(cmdlines):
        pid = proc / str(100 * (i + 1))
        pid.mkdir()
        (pid / "comm").write_text("dockerd\n")
        (pid / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return proc


def test_daemon_found_by_its_tcp_listener(bulwark, tls_engine, tmp_path):
    """Over tcp://, the dockerd audited is the one listening on that port, not just any."""
    cfg = tmp_path / "daemon.json"
    cfg.write_text("{}")
    decoy = ["dockerd", "--experimental", "-H", "tcp://127.0.0.1:1"]
    served = ["dockerd", "--tlsverify", "--tlscacert", "/etc/docker/ca.pem", "--log-level",
              "debug", "-H", "unix:///run/x.sock", "-H", f"tcp://0.0.0.0:{tls_engine.port}"]
    both = _fake_proc(tmp_path / "both", decoy, served)
    found = ids(json.loads(audit(bulwark, tls_engine.env(), "daemon", "--proc-root", both,
                                 "--daemon-config", cfg).stdout)["findings"])
    assert "daemon-debug-logging" in found and "daemon-experimental" not in found, found
    assert "daemon-engine-unreachable" not in found
    only_decoy = _fake_proc(tmp_path / "decoy", decoy)
    found = ids(json.loads(audit(bulwark, tls_engine.env(), "daemon", "--proc-root",
                                 only_decoy, "--daemon-config", cfg).stdout)["findings"])
    assert "daemon-experimental" not in found and "daemon-debug-logging" not in found, found


def test_probe_names_a_tls_only_listener(bulwark, tls_engine, tmp_path):
    """A listener configured with --tls but no --tlsverify is probed with plain HTTP: the
    finding says the port speaks TLS (this engine does, with verification, which the probe
    cannot see; the configuration is what is wrong)."""
    cfg = tmp_path / "daemon.json"
    cfg.write_text("{}")
    proc = _fake_proc(tmp_path, ["dockerd", "--tls", "-H", f"tcp://127.0.0.1:{tls_engine.port}"])
    found = json.loads(audit(bulwark, {}, "daemon", "--no-engine", "--proc-root", proc,
                             "--daemon-config", cfg, "--host",
                             f"tcp://127.0.0.1:{tls_engine.port}").stdout)["findings"]
    f = [x for x in found if x["id"] == "daemon-tcp-no-client-auth"]
    assert f and "speaks TLS only" in f[0]["message"], found
    assert "daemon-tcp-no-tls" not in ids(found)
