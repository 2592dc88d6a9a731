"""docker:NAME against a stand-in Engine API on a unix socket, serving archives a real engine
may send but our test dockerd (20.10) does not: Docker 25 OCI-style archives, layers in
reverse order, identical layers sharing one blob."""
import json
import http.server
import os
import socketserver
import threading

import pytest

import image_util as u


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        images = self.server.images
        name = self.path.split("/")[2] if self.path.startswith("/images/") else ""
        from urllib.parse import unquote
        data = images.get(unquote(name))
        if data is None or not self.path.endswith("/get"):
            body = b'{"message":"reference does not exist"}'
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-tar")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine(tmp_path):
    sock = tmp_path / "engine.sock"
    srv = _Server(str(sock), _Handler)
    srv.images = {}
    # BaseHTTPRequestHandler wants a client address tuple
    srv.get_request = lambda: (srv.socket.accept()[0], ("local", 0))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, {"DOCKER_HOST": f"unix://{sock}"}
    srv.shutdown()
    srv.server_close()


def layers():
    empty = u.Layer([])
    return [u.Layer([u.D("etc"), u.F("etc/a", "1"), u.F("etc/secret", "s")], comp="none"),
            empty,
            u.Layer([u.W("etc/secret"), u.F("etc/b", "2")], comp="none"),
            empty]


@pytest.mark.parametrize("oci_style", [False, True])
def test_engine_out_of_order_and_shared_blobs(bulwark, engine, tmp_path, oci_style):
    srv, env = engine
    ls = layers()
    arch = u.docker_save(tmp_path / "i.tar", ls, tags=["app:1"], oci_style=oci_style,
                         reverse_layers=True)
    srv.images["app:1"] = arch.read_bytes()
    p = bulwark("inspect", "docker:app:1", env=env, check=0)
    assert "layer 4:" in p.stdout
    bulwark("unpack", "docker:app:1", tmp_path / "out", env=env, check=0)
    out = tmp_path / "out"
    assert (out / "etc/a").read_text() == "1" and (out / "etc/b").read_text() == "2"
    assert not (out / "etc/secret").exists()
    p = bulwark("unpack", "--layers", "--cache", tmp_path / "c", "docker:app:1", env=env, check=0)
    assert len(p.stdout.split()) == 4


def test_engine_tampered_layer(bulwark, engine, tmp_path):
    srv, env = engine
    good = u.Layer([u.F("x", "good")])
    evil = u.Layer([u.F("x", "evil")])
    arch = u.docker_save(tmp_path / "i.tar", [good], tags=["t:1"])
    srv.images["t:1"] = arch.read_bytes().replace(good.blob, evil.blob)
    assert srv.images["t:1"] != arch.read_bytes()
    p = bulwark("unpack", "docker:t:1", tmp_path / "out", env=env, check=2)
    assert "digest mismatch" in p.stderr
    assert not (tmp_path / "out").exists()
    p = bulwark("scan", "-f", "json", "docker:t:1", env=env)
    assert p.returncode == 1
    assert "layer-digest-mismatch" in {f["id"] for f in json.loads(p.stdout)["findings"]}
