"""Hostile registries (a test server of ours on loopback): each attack must end in one clear
error line within a bounded time, and a failed pull leaves nothing behind."""
import hashlib
import http.server
import json
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

import image_util as iu

MAX_MANIFEST = 4 << 20
TIMEOUT_MS = 2000
BOUND_S = 15  # every hostile case ends well within this


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


CFG = iu.config_for([iu.Layer([iu.F("a", "b")])])
LAYER = iu.Layer([iu.F("a", "b")])
GOOD_MAN = iu.oci_manifest([LAYER], CFG)
# a layer that is not a tar from its first block on, and whose download stalls after STALL_SENT
# bytes (less than the reading thread takes in before the walk sees the first block)
STALL_LAYER = iu.Layer(raw_tar=b"\xff" * 512 + random.Random(14).randbytes(4 << 20),
                       comp="gzip")
STALL_CFG = iu.config_for([STALL_LAYER])
STALL_MAN = iu.oci_manifest([STALL_LAYER], STALL_CFG)
STALL_SENT = 16 << 10
# a manifest whose config the server will answer with other bytes
EVIL_CFG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'


class Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "distribution/2.7.1"  # a version with known CVEs, for the audit
    sys_version = ""
    hits = {}

    def log_message(self, *a):
        pass

    def send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def manifest(self, body):
        self.send(200, body, "application/vnd.oci.image.manifest.v1+json",
                  [("Docker-Content-Digest", digest(body))])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path.split("?")[0]
        Hostile.hits[p] = Hostile.hits.get(p, 0) + 1
        if p.startswith("/v2/") and self.headers.get("Host", "").startswith("tokenhang"):
            return self.send(401, b"{}", headers=[
                ("WWW-Authenticate", f'Bearer realm="http://127.0.0.1:{self.server.port}'
                                     '/hang-token",service="x"')])
        if p == "/v2/":
            return self.send(200, b"{}", headers=[
                ("Docker-Distribution-Api-Version", "registry/2.0")])
        if p == "/v2/big/manifests/1":
            pad = b" " * (MAX_MANIFEST + 10)
            return self.manifest(GOOD_MAN[:-1] + pad + b"}")
        if p == "/v2/big/manifests/chunked":
            # no Content-Length: the bound applies while reading
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(MAX_MANIFEST // len(chunk) + 8):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if p in ("/v2/baddigest/manifests/1", "/v2/dripblob/manifests/1"):
            return self.manifest(GOOD_MAN)
        if p == "/v2/baddigest/blobs/" + digest(CFG):
            return self.send(200, EVIL_CFG, "application/octet-stream")
        if p == "/v2/dripblob/blobs/" + digest(CFG):
            self.send_response(200)
            self.send_header("Content-Length", str(len(CFG)))
            self.end_headers()
            try:
                for b in CFG:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if p == "/v2/stall/manifests/1":
            return self.manifest(STALL_MAN)
        if p == "/v2/stall/blobs/" + digest(STALL_CFG):
            return self.send(200, STALL_CFG, "application/octet-stream")
        if p == "/v2/stall/blobs/" + STALL_LAYER.digest:
            self.send_response(200)
            self.send_header("Content-Length", str(len(STALL_LAYER.blob)))
            self.end_headers()
            try:
                self.wfile.write(STALL_LAYER.blob[:STALL_SENT])
                self.wfile.flush()
                time.sleep(60)
            except OSError:
                pass
            return
        if p == "/v2/loop/manifests/1":
            return self.send(302, b"", headers=[("Location", "/v2/loop/manifests/1")])
        if p == "/v2/drip/manifests/1":
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(GOOD_MAN)))
            self.end_headers()
            try:
                for b in GOOD_MAN:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        if p == "/hang-token":
            time.sleep(60)
            return
        if p == "/v2/flaky/manifests/1":
            if Hostile.hits[p] % 2 == 1:
                return self.send(429, b"{}", headers=[("Retry-After", "1")])
            return self.manifest(GOOD_MAN)
        if p == "/v2/flaky/blobs/" + digest(CFG):
            return self.send(200, CFG, "application/octet-stream")
        if p == "/v2/flaky/blobs/" + LAYER.digest:
            return self.send(200, LAYER.blob, "application/octet-stream")
        if p == "/v2/down/manifests/1":
            return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"down\\x1b[31m"}]}')
        if p == "/v2/slowretry/manifests/1":
            return self.send(503, b"{}", headers=[("Retry-After", "3600")])
        if p == "/v2/_catalog":
            return self.send(401, b"{}")
        self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

    def do_POST(self):
        self.send(401, b"{}")


@pytest.fixture(scope="module")
def hostile():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    srv.daemon_threads = True
    srv.port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.port}"
    srv.shutdown()
    srv.server_close()


def attack(bulwark, tmp_path, ref, *args):
    out = tmp_path / "out"
    t0 = time.monotonic()
    p = bulwark("registry", "pull", ref, "-o", out, "--registry-timeout", str(TIMEOUT_MS),
                *args, check=2, timeout=60)
    took = time.monotonic() - t0
    assert took < BOUND_S, took
    assert p.stderr.startswith("bulwark: ") and p.stderr.count("\n") == 1, p.stderr
    assert not out.exists(), "a failed pull must leave nothing behind"
    return p.stderr, took


def test_manifest_over_the_bound(bulwark, hostile, tmp_path):
    err, _ = attack(bulwark, tmp_path, f"{hostile}/big:1")
    assert "larger than the 4096 KiB allowed" in err
    err, _ = attack(bulwark, tmp_path, f"{hostile}/big:chunked")
    assert "larger than the 4096 KiB allowed" in err


def test_blob_with_wrong_digest(bulwark, hostile, tmp_path):
    err, _ = attack(bulwark, tmp_path, f"{hostile}/baddigest:1")
    assert f"blob {digest(CFG)} of baddigest does not match its digest" in err
    assert "altered" in err


def test_redirect_loop(bulwark, hostile, tmp_path):
    err, _ = attack(bulwark, tmp_path, f"{hostile}/loop:1")
    assert "more than 5 redirects" in err


def test_slow_drip(bulwark, hostile, tmp_path):
    err, took = attack(bulwark, tmp_path, f"{hostile}/drip:1")
    assert f"no complete answer within {TIMEOUT_MS} ms" in err
    err, took = attack(bulwark, tmp_path, f"{hostile}/dripblob:1")
    assert "the download stalled" in err


def test_error_while_a_layer_download_stalls(bulwark, hostile):
    """The layer is read on a thread of its own while the walk parses it (#14): when the walk
    fails on the first block while that thread waits on a stalled download, the scan ends with
    the error at once, not after the stall limit (the download is cancelled)."""
    t0 = time.monotonic()
    p = bulwark("scan", "--registry-timeout", "30000", f"{hostile}/stall:1", check=2, timeout=90)
    took = time.monotonic() - t0
    assert took < 10, took
    assert p.stderr.startswith("bulwark: ") and p.stderr.count("\n") == 1, p.stderr
    assert "layer 1" in p.stderr and "not a tar archive" in p.stderr, p.stderr


def test_token_endpoint_never_answers(bulwark, hostile, tmp_path):
    port = hostile.split(":")[1]
    # the same server under another name answers /v2/ with a challenge whose realm hangs;
    # --insecure-registry lets that name use plain HTTP
    err, _ = attack(bulwark, tmp_path, f"tokenhang.localhost:{port}/x:1", "--insecure-registry",
                    f"tokenhang.localhost:{port}")
    assert "getting a token from" in err and "no complete answer" in err


def test_retries(bulwark, hostile, tmp_path):
    # 429 with Retry-After: 1, then success
    Hostile.hits.clear()
    t0 = time.monotonic()
    bulwark("registry", "pull", f"{hostile}/flaky:1", "-o", tmp_path / "ok", check=0)
    assert time.monotonic() - t0 >= 1.0
    assert Hostile.hits["/v2/flaky/manifests/1"] == 2
    # 503 every time: retried, then one line with the registry's message made printable
    Hostile.hits.clear()
    err, _ = attack(bulwark, tmp_path, f"{hostile}/down:1")
    assert Hostile.hits["/v2/down/manifests/1"] == 4
    assert "HTTP 503" in err and "still after retries" in err and "\x1b" not in err
    # a Retry-After beyond the cap is not waited for
    err, took = attack(bulwark, tmp_path, f"{hostile}/slowretry:1")
    assert "retry after more than 30 s" in err and took < 5


def test_404_names_repo_and_tag(bulwark, hostile, tmp_path):
    err, _ = attack(bulwark, tmp_path, f"{hostile}/some/repo:v9")
    assert f"manifest some/repo:v9 not found on registry {hostile} (HTTP 404)" in err
    assert "manifest unknown" in err


def test_audit_version_cves(bulwark, hostile):
    doc = json.loads(bulwark("audit", "registry", hostile, "-f", "json", "--fail-on", "none",
                             check=0).stdout)
    ids = {f["id"] for f in doc["findings"]}
    # 2.7.1: affected by CVE-2023-2253 (fixed in 2.8.2), not by CVE-2017-11468 (fixed in 2.6.2)
    assert "CVE-2023-2253" in ids and "CVE-2017-11468" not in ids
    assert doc["facts"]["registry.version"] == "2.7.1"
    checks = {c["id"]: c["status"] for c in doc["checks"]}
    assert checks["registry-version-cves"] == "fail"
    assert checks["registry-anonymous-catalog"] == "pass"


def test_registry_cves_come_from_data(bulwark, hostile, tmp_path):
    """The registry CVEs are data (data/registry-cves.yaml, embedded; --data replaces it), and
    `bulwark rules` lists them as the audit reports them."""
    rows = json.loads(bulwark("rules", "-f", "json", check=0).stdout)
    reg = {r["id"]: r for r in rows if r.get("category") == "registry"}
    assert {"CVE-2017-11468", "CVE-2023-2253"} <= set(reg)
    assert reg["CVE-2023-2253"]["severity"] == "high" and reg["CVE-2023-2253"]["command"] == "audit"
    # a table of our own: its entry, and only it, is matched against the Server header (2.7.1)
    top = Path(__file__).resolve().parents[2] / "data"
    for f in ("kernel-cves.yaml", "engine-cves.yaml"):
        shutil.copy(top / f, tmp_path / f)
    (tmp_path / "registry-cves.yaml").write_text(
        "version: 1\ncves:\n"
        "  - {id: CVE-2099-0001, name: test entry, component: distribution, severity: critical,\n"
        "     introduced: '2.7.0', fixed: ['2.7.2'], description: d, remediation: r,\n"
        "     references: ['https://example.invalid/']}\n")
    doc = json.loads(bulwark("audit", "registry", hostile, "-f", "json", "--fail-on", "none",
                             "--data", str(tmp_path), check=0).stdout)
    ids = {f["id"] for f in doc["findings"]}
    assert "CVE-2099-0001" in ids and "CVE-2023-2253" not in ids
    hit = [f for f in doc["findings"] if f["id"] == "CVE-2099-0001"][0]
    assert hit["severity"] == "critical" and "2.7.1" in hit["message"]
    rows = json.loads(bulwark("rules", "-f", "json", "--data", str(tmp_path), check=0).stdout)
    assert "CVE-2099-0001" in {r["id"] for r in rows}
