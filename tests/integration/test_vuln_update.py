"""`bulwark db update`: OSV exports fetched over HTTPS from a local server started here (its
certificate made by openssl for the test), with conditional requests: an unchanged export
costs one request answered 304 and no import; a failed update changes nothing."""
import hashlib
import http.server
import json
import ssl
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
from test_vuln import DEBIAN_RECS, LANG_RECS  # noqa: E402

OPENSSL = "openssl"


def zip_of(path, recs):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for r in recs:
            z.writestr(r["id"] + ".json", json.dumps(r))
    return path.read_bytes()


class Server:
    """HTTPS on 127.0.0.1: GET /NAME/all.zip from `files`, with a strong ETag; a matching
    If-None-Match is answered 304. Every request is logged (path, status)."""

    def __init__(self, tmp_path):
        self.files, self.log = {}, []
        cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       capture_output=True)
        self.cert = cert
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = srv.files.get(self.path)
                if body is None:
                    status = 404
                else:
                    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                    status = 304 if self.headers.get("If-None-Match") == etag else 200
                srv.log.append((self.path, status))
                self.send_response(status)
                if body is not None:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
                self.send_header("Content-Length", str(len(body) if status == 200 else 0))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.close()


def update(server, db, *sources, check=0, cacert=True):
    args = ["db", "--db", db, "update"]
    for s in sources:
        args += ["--source", server.url + s]
    if cacert:
        args += ["--cacert", server.cert]
    return run_bulwark(*args, check=check)


def test_update_conditional_and_atomic(tmp_path, server):
    server.files["/Debian/all.zip"] = zip_of(tmp_path / "d.zip", DEBIAN_RECS)
    server.files["/PyPI/all.zip"] = zip_of(tmp_path / "p.zip", LANG_RECS[:2])
    db = tmp_path / "cache" / "vuln.db"
    p = update(server, db, "/Debian/all.zip", "/PyPI/all.zip")
    assert f"imported {len(DEBIAN_RECS) + 2} advisories" in p.stdout
    assert server.log == [("/Debian/all.zip", 200), ("/PyPI/all.zip", 200)]
    status = run_bulwark("db", "--db", db, "status", check=0).stdout
    assert f"({len(DEBIAN_RECS) + 2} advisories)" in status
    # nothing changed: two 304s, the database file not rewritten
    before = db.stat()
    server.log.clear()
    p = update(server, db, "/Debian/all.zip", "/PyPI/all.zip")
    assert "2 source(s) unchanged" in p.stdout
    assert server.log == [("/Debian/all.zip", 304), ("/PyPI/all.zip", 304)]
    assert (db.stat().st_ino, db.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # one export changed: only it is downloaded and imported
    server.files["/PyPI/all.zip"] = zip_of(tmp_path / "p2.zip", LANG_RECS)
    server.log.clear()
    p = update(server, db, "/Debian/all.zip", "/PyPI/all.zip")
    assert server.log == [("/Debian/all.zip", 304), ("/PyPI/all.zip", 200)]
    assert f"imported {len(LANG_RECS)} advisories" in p.stdout
    # a broken export fails the update: database, kept exports and validators unchanged, so
    # the next update asks for it again (200, not 304)
    before = db.read_bytes()
    server.files["/PyPI/all.zip"] = b"PK\x03\x04 this is no zip"
    p = update(server, db, "/Debian/all.zip", "/PyPI/all.zip", check=2)
    assert "unchanged" in p.stderr
    assert db.read_bytes() == before
    server.log.clear()
    update(server, db, "/PyPI/all.zip", check=2)
    assert server.log == [("/PyPI/all.zip", 200)]
    exports = sorted(x.name for x in (db.parent / "exports").iterdir())
    assert len(exports) == 4 and all(x.endswith((".zip", ".meta")) for x in exports)


def test_update_refuses_untrusted_and_plain_http(tmp_path, server):
    server.files["/Debian/all.zip"] = zip_of(tmp_path / "d.zip", DEBIAN_RECS)
    db = tmp_path / "vuln.db"
    # the test CA not given: TLS verification fails, nothing is written
    p = update(server, db, "/Debian/all.zip", check=2, cacert=False)
    assert server.url in p.stderr and not db.exists()
    p = run_bulwark("db", "--db", db, "update", "--source",
                    server.url.replace("https", "http") + "/Debian/all.zip", check=2)
    assert "http://" in p.stderr and not db.exists()
    # a 404 names the source and its status
    p = update(server, db, "/Nope/all.zip", check=2)
    assert "HTTP status 404" in p.stderr
    # sources from a file
    src = tmp_path / "sources"
    src.write_text(f"# OSV exports\n{server.url}/Debian/all.zip\n\n")
    p = run_bulwark("db", "--db", db, "update", "--sources", src, "--cacert", server.cert,
                    check=0)
    assert f"imported {len(DEBIAN_RECS)} advisories" in p.stdout
