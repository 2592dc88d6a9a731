"""Registries for the registry tests: Debian's docker-registry (distribution 2.8) started on
loopback in three configurations — open, htpasswd basic auth behind a self-signed TLS
certificate, and bearer tokens from a token server of our own — and a push helper speaking
the distribution API (POST/PUT blobs, PUT manifest), so images built by image_util go in
without a docker daemon."""
import base64
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import image_util as iu

REGISTRY = "/usr/bin/docker-registry"
OPENSSL = "openssl"
HTPASSWD = "htpasswd"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def self_signed(d: Path, cn="localhost", san="DNS:localhost,IP:127.0.0.1", days=30,
                name="server"):
    """A self-signed certificate and key (openssl at test time)."""
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", str(days), "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName={san}"], check=True, capture_output=True)
    return crt, key


def ca_signed(d: Path, name, dns="localhost", ip="127.0.0.1", expired=False):
    """A CA and a server certificate it signed for `dns`/`ip`; expired: valid only in 2020.
    (python-cryptography, as openssl 3.0's x509 cannot set the validity dates.)"""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name_of(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name_of("bulwark test CA"))
          .issuer_name(name_of("bulwark test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=3650))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc) if expired else \
        now - datetime.timedelta(days=1)
    end = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc) if expired else \
        now + datetime.timedelta(days=30)
    sans = [x509.DNSName(dns)] + ([x509.IPAddress(ipaddress.ip_address(ip))] if ip else [])
    crt = (x509.CertificateBuilder().subject_name(name_of(dns)).issuer_name(ca.subject)
           .public_key(key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(start).not_valid_after(end)
           .add_extension(x509.SubjectAlternativeName(sans), critical=False)
           .sign(ca_key, hashes.SHA256()))
    paths = d / f"{name}-ca.crt", d / f"{name}.crt", d / f"{name}.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(crt.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class Registry:
    """docker-registry serving on 127.0.0.1:port from a private directory."""

    def __init__(self, base: Path, auth=None, tls=None, extra=None, tls_min=None):
        self.base = base
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        base.mkdir(parents=True, exist_ok=True)
        (base / "data").mkdir(exist_ok=True)
        http_cfg = {"addr": self.host, "secret": "test-secret"}
        if tls:
            http_cfg["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
            if tls_min:
                # Go offers only CBC suites below TLS 1.2
                http_cfg["tls"]["minimumtls"] = tls_min
                http_cfg["tls"]["ciphersuites"] = ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                                                   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
        cfg = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
               "storage": {"filesystem": {"rootdirectory": str(base / "data")},
                           "delete": {"enabled": True}},
               "http": http_cfg}
        if auth:
            cfg["auth"] = auth
        if extra:
            cfg.update(extra)
        (base / "config.yml").write_text(json.dumps(cfg))  # YAML is a superset of JSON
        self.log = open(base / "registry.log", "wb")
        self.proc = subprocess.Popen([REGISTRY, "serve", str(base / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.scheme = "https" if tls else "http"
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start: " +
                           (base / "registry.log").read_text()[-2000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def htpasswd_file(path: Path, users):
    lines = []
    for user, pw in users.items():
        r = subprocess.run([HTPASSWD, "-nbB", user, pw], capture_output=True, text=True,
                           check=True)
        lines.append(r.stdout.strip())
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- the push helper -------------------------------------------------------------------------
class Client:
    """Minimal distribution API client for pushing test images (basic or bearer auth)."""

    def __init__(self, base_url, user=None, password=None, cafile=None):
        self.base = base_url.rstrip("/")
        self.auth = None
        self.user, self.password = user, password
        self.ctx = ssl.create_default_context(cafile=str(cafile)) if cafile else None
        if base_url.startswith("https") and not cafile:
            self.ctx = ssl._create_unverified_context()

    def _basic(self):
        tok = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return "Basic " + tok

    def request(self, method, url, data=None, headers=None, retry=True):
        if not url.startswith("http"):
            url = self.base + url
        h = dict(headers or {})
        if self.auth:
            h["Authorization"] = self.auth
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            if e.code == 401 and retry:
                self._answer(e.headers.get("WWW-Authenticate", ""))
                return self.request(method, url, data, headers, retry=False)
            return e.code, dict(e.headers), e.read()

    def _answer(self, challenge):
        if challenge.lower().startswith("basic"):
            self.auth = self._basic()
            return
        import re
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        q = urllib.parse.urlencode({"service": params.get("service", ""),
                                    "scope": params.get("scope", "")})
        req = urllib.request.Request(params["realm"] + "?" + q)
        if self.user:
            req.add_header("Authorization", self._basic())
        with urllib.request.urlopen(req, timeout=30) as r:
            self.auth = "Bearer " + json.loads(r.read())["token"]

    def put_blob(self, repo, data: bytes):
        digest = "sha256:" + iu.sha(data)
        st, h, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert st == 202, (st, h)
        loc = h["Location"]
        sep = "&" if "?" in loc else "?"
        st, h, body = self.request("PUT", f"{loc}{sep}digest={digest}", data=data,
                                   headers={"Content-Type": "application/octet-stream"})
        assert st == 201, (st, body)
        return digest

    def put_manifest(self, repo, ref, data: bytes, media_type):
        st, h, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", data=data,
                                   headers={"Content-Type": media_type})
        assert st == 201, (st, body)
        return "sha256:" + iu.sha(data)

    def push_image(self, repo, tag, layers, config_bytes=None, docker_types=False):
        """Push an image (image_util Layers); returns (manifest digest, manifest bytes)."""
        cfg = config_bytes or iu.config_for(layers)
        self.put_blob(repo, cfg)
        for l in layers:
            self.put_blob(repo, l.blob)
        if docker_types:
            man = json.dumps({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": "sha256:" + iu.sha(cfg), "size": len(cfg)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"
                            if l.comp == "gzip" else
                            "application/vnd.docker.image.rootfs.diff.tar",
                            "digest": l.digest, "size": len(l.blob)} for l in layers]}).encode()
            mt = "application/vnd.docker.distribution.manifest.v2+json"
        else:
            man = iu.oci_manifest(layers, cfg)
            mt = "application/vnd.oci.image.manifest.v1+json"
        return self.put_manifest(repo, tag, man, mt), man

    def push_index(self, repo, tag, entries):
        """entries: [(manifest digest, size, os, arch)] already pushed by digest."""
        idx = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                         "digest": d, "size": s,
                                         "platform": {"os": o, "architecture": a}}
                                        for d, s, o, a in entries]}).encode()
        return self.put_manifest(repo, tag, idx, "application/vnd.oci.image.index.v1+json")


# ---- a token server for distribution's token auth --------------------------------------------
def _b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class TokenServer:
    """Issues RS256 JWTs for distribution's `auth: token`, signed with a key whose self-signed
    certificate is the registry's rootcertbundle (x5c header). `users`: name -> (password,
    actions allowed); anonymous gets `anon_actions`."""

    def __init__(self, d: Path, users, anon_actions=(), service="bulwark-test"):
        self.crt, self.key = self_signed(d, cn="token", san="DNS:token.invalid", name="token")
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        cert = x509.load_pem_x509_certificate(self.crt.read_bytes())
        der = cert.public_bytes(serialization.Encoding.DER)
        pkey = serialization.load_pem_private_key(self.key.read_bytes(), password=None)
        self.service, self.issuer = service, "bulwark-test-issuer"
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = urllib.parse.urlparse(self.path)
                params = urllib.parse.parse_qs(q.query)
                who, actions = None, set(anon_actions)
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if u not in users or users[u][0] != p:
                        self.send_response(401)
                        self.end_headers()
                        return
                    who, actions = u, set(users[u][1])
                access = []
                for sc in params.get("scope", []):
                    typ, _, rest = sc.partition(":")
                    name, _, acts = rest.rpartition(":")
                    ok = [a for a in acts.split(",") if a in actions]
                    access.append({"type": typ, "name": name, "actions": ok})
                now = int(time.time())
                hdr = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
                claims = {"iss": srv.issuer, "sub": who or "", "aud": srv.service,
                          "exp": now + 300, "nbf": now - 10, "iat": now,
                          "jti": os.urandom(8).hex(), "access": access}
                signing = (_b64url(json.dumps(hdr).encode()) + "." +
                           _b64url(json.dumps(claims).encode()))
                sig = pkey.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
                body = json.dumps({"token": signing + "." + _b64url(sig)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                # OAuth2 refresh token grant (docker login's identity token)
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                tok = form.get("refresh_token", [""])[0]
                who = next((u for u, v in users.items() if len(v) > 2 and v[2] == tok), None)
                if form.get("grant_type") != ["refresh_token"] or not who:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                srv.posted.append(form)
                auth = "Basic " + base64.b64encode(f"{who}:{users[who][0]}".encode()).decode()
                del self.headers["Authorization"]
                self.headers["Authorization"] = auth
                self.path = "/token?" + urllib.parse.urlencode(
                    {"service": form.get("service", [""])[0],
                     "scope": form.get("scope", [""])[0]})
                self.do_GET()

        self.posted = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def registry_auth(self):
        return {"token": {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                          "rootcertbundle": str(self.crt)}}

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


import urllib.parse  # noqa: E402  (used by the classes above)


# ---- a counting (and optionally cutting) proxy in front of a registry --------------------------
class Proxy:
    """A plain-HTTP proxy on loopback in front of `upstream` (a Registry): records every
    request as (method, path, Range header) so that tests count what a client downloads, and
    cuts the connection after `cut_after` bytes of the body of the first GET of blob
    `cut_digest` (an interrupted download); `catalog` = (status, body) answers /v2/_catalog
    itself (a catalog that is missing or malformed)."""

    def __init__(self, upstream):
        import http.client
        proxy = self
        self.requests = []
        self.cut_digest, self.cut_after = None, 0
        self.strip_range = False  # a server that ignores Range: always the whole blob
        self.catalog = None  # (status, body): what /v2/_catalog answers instead of upstream
        self.lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                self.forward()

            def do_HEAD(self):
                self.forward()

            def forward(self):
                with proxy.lock:
                    proxy.requests.append((self.command, self.path.split("?")[0],
                                           self.headers.get("Range")))
                    cut = (proxy.cut_digest and self.command == "GET" and
                           self.path.endswith("/blobs/" + proxy.cut_digest))
                    if cut:
                        proxy.cut_digest = None
                    catalog = proxy.catalog if self.path.startswith("/v2/_catalog") else None
                if catalog:
                    self.send_response(catalog[0])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(catalog[1])))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(catalog[1])
                    return
                c = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=30)
                drop = ("host", "range") if proxy.strip_range else ("host",)
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in drop}
                c.request(self.command, self.path, headers=hdrs)
                r = c.getresponse()
                body = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body[:proxy.cut_after] if cut else body)
                    self.wfile.flush()
                if cut:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                c.close()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def blob_gets(self):
        """The GETs of blobs so far: [(digest, Range header or None)]."""
        return [(p.rsplit("/", 1)[1], rng) for m, p, rng in self.requests
                if m == "GET" and "/blobs/" in p]

    def reset(self):
        with self.lock:
            self.requests.clear()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
