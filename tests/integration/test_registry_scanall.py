"""`bulwark audit registry URL --scan-all`: every image a real docker-registry (distribution
2.8, on loopback) lists is scanned as `bulwark scan` scans one, and the one report names, image
by image, the ones that leak credentials."""
import json
import os
import shutil

import pytest

import image_util as iu
import registry_util as ru

pytestmark = pytest.mark.skipif(not os.access(ru.REGISTRY, os.X_OK),
                                reason="docker-registry is not installed (scripts/deps.sh)")

TOKENS = {"leaky/env:1": "ghp_" + "L3akyEnvT0ken9xQ2mZ7wB5nK8vL4pJ1dAb",
          "mixed/app:leak": "ghp_" + "M1xedAppT0ken4tR7yU2iO9pA3sD6fG0hJk"}


def clean_layers(name):
    return [iu.Layer([iu.D("etc"), iu.F("etc/hostname", f"{name}\n")], comp="gzip")]


def leaky_layers(name, token):
    return clean_layers(name) + [
        iu.Layer([iu.D("app"), iu.F("app/.env", f"GITHUB_TOKEN={token}\n")], comp="gzip")]


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    base = tmp_path_factory.mktemp("scanall")
    r = ru.Registry(base / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        c.push_image("clean/a", "1", clean_layers("a1"))
        c.push_image("clean/a", "2", clean_layers("a2"))
        c.push_image("leaky/env", "1", leaky_layers("env", TOKENS["leaky/env:1"]))
        c.push_image("mixed/app", "clean", clean_layers("app"))
        c.push_image("mixed/app", "leak", leaky_layers("app", TOKENS["mixed/app:leak"]),
                     docker_types=True)
        # an image whose layer is gone from the registry: its scan fails, the others go on
        broken = [iu.Layer([iu.F("gone", "x" * 100)], comp="gzip")]
        c.push_image("zz/broken", "1", broken)
        st, _, _ = c.request("DELETE", f"/v2/zz/broken/blobs/{broken[0].digest}")
        assert st == 202, st
        yield r
    finally:
        r.stop()


def scan_all(bulwark, url, *args, fmt="json", check=None):
    return bulwark("audit", "registry", url, "--scan-all", "-f", fmt, "--fail-on", "none",
                   *args, check=check)


def test_scan_all_names_the_leaky_images(bulwark, reg):
    doc = json.loads(scan_all(bulwark, reg.host, "--jobs", "2").stdout)
    h = reg.host
    images = [f"{h}/clean/a:1", f"{h}/clean/a:2", f"{h}/leaky/env:1", f"{h}/mixed/app:clean",
              f"{h}/mixed/app:leak", f"{h}/zz/broken:1"]
    # one group per listed image, after the registry's own
    assert [t["target"] for t in doc["targets"]] == [h] + images
    by_target = {t["target"]: t for t in doc["targets"]}
    leaking = {f["location"]["target"] for f in doc["findings"]
               if f["category"] == "secret"}
    assert leaking == {f"{h}/leaky/env:1", f"{h}/mixed/app:leak"}
    # each secret is where it was planted, redacted
    for f in doc["findings"]:
        if f["category"] == "secret":
            assert f["location"]["path"] == "app/.env"
            tok = TOKENS[f["location"]["target"].split("/", 1)[1]]
            assert tok not in json.dumps(f)
    # the broken image: an error for that image, a finding naming it, the rest scanned
    assert by_target[f"{h}/zz/broken:1"]["error"]
    assert all(by_target[i]["error"] is None for i in images[:-1])
    failed = [f for f in doc["findings"] if f["id"] == "image-not-scanned"]
    assert [f["location"]["target"] for f in failed] == [f"{h}/zz/broken:1"]
    # the registry's own findings are still there, under the registry
    own = {f["id"] for f in doc["findings"] if f["location"]["target"] == h}
    assert {"registry-anonymous-catalog", "registry-anonymous-push"} <= own
    import jsonschema
    from pathlib import Path
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" /
                         "report-schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_scan_all_text_and_sarif_grouped(bulwark, reg):
    h = reg.host
    t = scan_all(bulwark, h, fmt="text").stdout
    sections = {}
    cur = None
    for line in t.splitlines():
        if line.startswith("== "):
            cur = line[3:].split(": ", 1)[0]
            sections[cur] = [line]
        elif cur:
            sections[cur].append(line)
    assert list(sections) == [h, f"{h}/clean/a:1", f"{h}/clean/a:2", f"{h}/leaky/env:1",
                              f"{h}/mixed/app:clean", f"{h}/mixed/app:leak",
                              f"{h}/zz/broken:1"]
    leaky = {k for k, v in sections.items() if any("at /app/.env:1" in l for l in v)}
    assert leaky == {f"{h}/leaky/env:1", f"{h}/mixed/app:leak"}
    assert "finding" in sections[f"{h}/clean/a:1"][0]  # its image-config findings
    assert "NOT SCANNED" in sections[f"{h}/zz/broken:1"][0]
    s = json.loads(scan_all(bulwark, h, fmt="sarif").stdout)
    res = s["runs"][0]["results"]
    sec = {r["properties"]["target"] for r in res if r["properties"]["category"] == "secret"}
    assert sec == {f"{h}/leaky/env:1", f"{h}/mixed/app:leak"}
    # the same file in two images stays two results
    fps = {json.dumps(r["partialFingerprints"], sort_keys=True) for r in res}
    assert len(fps) == len(res)


def test_scan_all_exit_status_and_bounds(bulwark, reg):
    h = reg.host
    # --fail-on across every image: the leaked tokens are high or critical
    bulwark("audit", "registry", h, "--scan-all", "--fail-on", "high", check=1)
    # one repository of the URL, bounded by --max-images (the tag list is cut, and said so)
    doc = json.loads(scan_all(bulwark, f"{h}/mixed/app", "--max-images", "1").stdout)
    assert [t["target"] for t in doc["targets"]] == [f"{h}/mixed/app", f"{h}/mixed/app:clean"]
    assert "lists more" in doc["facts"]["registry.scan_all"]
    assert not [f for f in doc["findings"] if f["category"] == "secret"]
    # flags without --scan-all, and bad values, are usage errors
    bulwark("audit", "registry", h, "--jobs", "2", check=2)
    bulwark("audit", "registry", h, "--scan-all", "--max-images", "0", check=2)
    bulwark("audit", "host", "--scan-all", check=2)


def test_scan_all_paginates(bulwark, tmp_path):
    """More tags than one page (100): every one is listed and scanned."""
    r = ru.Registry(tmp_path / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        _, man = c.push_image("many/tags", "t000", clean_layers("many"))
        for i in range(1, 103):
            c.put_manifest("many/tags", f"t{i:03d}", man,
                           "application/vnd.oci.image.manifest.v1+json")
        doc = json.loads(scan_all(bulwark, r.host, "--max-images", "200").stdout)
        tags = [t["target"] for t in doc["targets"]][1:]
        assert tags == [f"{r.host}/many/tags:t{i:03d}" for i in range(103)]
        assert all(t["error"] is None for t in doc["targets"])
        assert "lists more" not in doc["facts"]["registry.scan_all"]
    finally:
        r.stop()


def test_scan_all_shares_compiled_rules_across_workers(bulwark, tmp_path):
    """The secret and YARA rules are compiled once and shared by the workers (#14): every
    image's secret and malware are still found, in each image alone, and --jobs 2 reports
    exactly what --jobs 1 does."""
    from test_scan_malware import EICAR
    r = ru.Registry(tmp_path / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        want = {}
        for i in range(6):
            tok = "ghp_" + f"Sh4redRul3s{i}T0ken9xQ2mZ7wB5nK8vL4pJ1"[:36]
            files = [iu.D("app"), iu.F("app/.env", f"GITHUB_TOKEN={tok}\n")]
            if i % 2:
                files.append(iu.F("app/eicar.com", EICAR))
            c.push_image(f"img/n{i}", "1", [iu.Layer(files, comp="gzip")])
            want[f"{r.host}/img/n{i}:1"] = i % 2 == 1
        docs = [json.loads(scan_all(bulwark, r.host, "--jobs", j).stdout) for j in ("1", "2")]
        for doc in docs:
            secrets = [f["location"]["target"] for f in doc["findings"]
                       if f["category"] == "secret"]
            assert sorted(secrets) == sorted(want)
            mal = {f["location"]["target"] for f in doc["findings"]
                   if f["category"] == "malware" and f["location"].get("path") == "app/eicar.com"}
            assert mal == {t for t, m in want.items() if m}
        assert docs[0]["findings"] == docs[1]["findings"]
    finally:
        r.stop()


def not_listed(doc):
    return [f for f in doc["findings"] if f["id"] == "registry-images-not-listed"]


def test_scan_all_catalog_closed(bulwark, tmp_path):
    """A registry that lets anyone pull but lists its catalog to no one (token auth: the
    catalog scope is not granted): the audit's findings, one finding saying the catalog could
    not be listed, why and what to do, and the exit status of the findings; --repo names the
    images to scan instead (#14)."""
    ts = ru.TokenServer(tmp_path, {"writer": ("pw-" + "w" * 8, ["pull", "push"])},
                        anon_actions=["pull"])
    r = ru.Registry(tmp_path / "reg", auth=ts.registry_auth())
    try:
        c = ru.Client(f"http://{r.host}", "writer", "pw-" + "w" * 8)
        c.push_image("team/app", "1", clean_layers("app1"))
        c.push_image("team/app", "2", clean_layers("app2"))
        c.push_image("leaky/env", "1", leaky_layers("env", TOKENS["leaky/env:1"]))
        h = r.host
        p = scan_all(bulwark, h, check=0)
        doc = json.loads(p.stdout)
        [f] = not_listed(doc)
        assert f["location"]["target"] == h and f["location"]["key"] == "/v2/_catalog"
        assert "HTTP 401" in f["message"] and "--repo NAME[:TAG]" in f["message"], f
        assert "requires authentication" in f["evidence"], f
        assert f["severity"] == "medium"
        assert [t["target"] for t in doc["targets"]] == [h]
        assert "registry-plain-http" in {x["id"] for x in doc["findings"]}
        assert not [x for x in doc["findings"] if x["id"] == "image-not-scanned"]
        # exit by findings: plain HTTP is high (the default gate), the closed catalog medium
        bulwark("audit", "registry", h, "--scan-all", check=1)
        bulwark("audit", "registry", h, "--scan-all", "--fail-on", "critical", check=0)
        # the images named instead: every tag of a repository, or the one given
        doc = json.loads(scan_all(bulwark, h, "--repo", "team/app", "--repo",
                                  "leaky/env:1").stdout)
        assert [t["target"] for t in doc["targets"]] == [h, f"{h}/team/app:1",
                                                         f"{h}/team/app:2", f"{h}/leaky/env:1"]
        assert all(t["error"] is None for t in doc["targets"])
        assert not not_listed(doc)
        assert {x["location"]["target"] for x in doc["findings"]
                if x["category"] == "secret"} == {f"{h}/leaky/env:1"}
        # --repo goes with --scan-all, and is a repository path without the host
        bulwark("audit", "registry", h, "--repo", "team/app", check=2)
        p = bulwark("audit", "registry", h, "--scan-all", "--repo", f"{h}/team/app", check=2)
        assert "--repo" in p.stderr and p.stderr.count("\n") == 1
    finally:
        r.stop()
        ts.stop()


@pytest.mark.parametrize("status,body,why", [
    (404, b'{"errors":[{"code":"NOT_FOUND","message":"catalog disabled"}]}', "HTTP 404"),
    (200, b"<html>not the API</html>", "not a JSON object"),
    (200, b'{"repositories":"team/app"}', "'repositories' is not a list"),
    (200, b'{"names":[]}', "'repositories' is missing"),
])
def test_scan_all_catalog_missing_or_malformed(bulwark, reg, status, body, why):
    """A catalog that is disabled (404) or answers something else than its list: one finding
    with the reason, the audit's findings kept, no error exit (#14)."""
    px = ru.Proxy(reg)
    try:
        px.catalog = (status, body)
        doc = json.loads(scan_all(bulwark, px.host).stdout)
        [f] = not_listed(doc)
        assert why in f["message"] and "--repo" in f["message"], f["message"]
        assert [t["target"] for t in doc["targets"]] == [px.host]
        assert "registry-plain-http" in {x["id"] for x in doc["findings"]}
        # the same repositories named: scanned through the same proxy
        doc = json.loads(scan_all(bulwark, px.host, "--repo", "leaky/env").stdout)
        assert [t["target"] for t in doc["targets"]] == [px.host, f"{px.host}/leaky/env:1"]
        assert not not_listed(doc)
    finally:
        px.stop()


def test_scan_all_untrusted_certificate(bulwark, tmp_path):
    """A registry whose certificate does not verify (self-signed, no --ca-cert): the audit
    reports the certificate, and --scan-all says once that the images were not scanned and
    what to pass — not one failure per image (#14). With --ca-cert they are scanned."""
    crt, key = ru.self_signed(tmp_path)
    r = ru.Registry(tmp_path / "reg", tls=(crt, key))
    try:
        c = ru.Client(f"https://{r.host}", cafile=crt)
        for i in range(3):
            c.push_image(f"team/n{i}", "1", clean_layers(f"n{i}"))
        h = r.host
        for extra in ((), ("--repo", "team/n0:1", "--repo", "team/n1")):
            doc = json.loads(scan_all(bulwark, h, *extra).stdout)
            [f] = not_listed(doc)
            assert f["location"]["key"] == "tls.certificate"
            assert "not trusted" in f["message"] and "--ca-cert FILE" in f["message"]
            assert "self-signed" in f["message"]
            assert not [x for x in doc["findings"] if x["id"] == "image-not-scanned"]
            assert [t["target"] for t in doc["targets"]] == [h]
            assert "registry-tls-self-signed" in {x["id"] for x in doc["findings"]}
        # exit by findings (anonymous push is critical), not an error
        bulwark("audit", "registry", h, "--scan-all", check=1)
        doc = json.loads(scan_all(bulwark, h, "--ca-cert", crt).stdout)
        assert [t["target"] for t in doc["targets"]] == [h] + [f"{h}/team/n{i}:1"
                                                               for i in range(3)]
        assert all(t["error"] is None for t in doc["targets"])
        assert not not_listed(doc)
    finally:
        r.stop()


class CountingProxy:
    """A TCP relay on loopback in front of a registry: counts the connections made to it and
    the requests for /v2/ (the first contact) in what the client sends."""

    def __init__(self, upstream_port):
        import socket
        import threading
        self.up = upstream_port
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.srv.getsockname()[1]}"
        self.connections = 0
        self.sent = []
        self.lock = threading.Lock()
        self.threads = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        import socket
        import threading
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.up))
            buf = bytearray()
            with self.lock:
                self.connections += 1
                self.sent.append(buf)
            for a, b, log in ((c, u, buf), (u, c, None)):
                t = threading.Thread(target=self.pump, args=(a, b, log), daemon=True)
                t.start()

    def pump(self, a, b, log):
        import socket
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if log is not None:
                    with self.lock:
                        log += d
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pings(self):
        with self.lock:
            return sum(bytes(b).count(b"GET /v2/ HTTP/1.1\r\n") for b in self.sent)

    def requests(self):
        with self.lock:
            return sum(bytes(b).count(b" HTTP/1.1\r\n") for b in self.sent)

    def close(self):
        self.srv.close()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_all_keeps_connections_and_first_contact(bulwark, reg, jobs):
    """The images of --scan-all are fetched over kept connections, and the registry's scheme,
    found once, is not asked again for every image (#14): far fewer connections than
    requests, and as many first contacts (GET /v2/) for six images as for one. Same
    findings."""
    p = CountingProxy(reg.port)
    try:
        scan_all(bulwark, p.host, "--jobs", jobs, "--repo", "clean/a:1")
        one_image_pings = p.pings()
        p.connections, p.sent = 0, []
        doc = json.loads(scan_all(bulwark, p.host, "--jobs", jobs).stdout)
    finally:
        p.close()
    images = doc["targets"][1:]
    assert len(images) == 6
    # each image: a manifest, a config and its layers at least
    assert p.requests() >= 4 * len(images)
    assert p.connections * 3 <= p.requests(), (p.connections, p.requests())
    assert p.pings() == one_image_pings, (p.pings(), one_image_pings)
    secret = sorted(f["location"]["target"].split("/", 1)[1] for f in doc["findings"]
                    if f["category"] == "secret")
    assert secret == ["leaky/env:1", "mixed/app:leak"]
    assert [t["error"] is None for t in images] == [True] * 5 + [False]


def test_scan_all_largest_first(bulwark, tmp_path):
    """With several workers, --scan-all scans the largest image first (#14): the sizes come
    from the manifests (an index resolved to the host's manifest), asked before the scans, and
    the large image listed last has its blobs asked before nearly every small image's — listed
    order would ask them last. Each manifest is fetched once per image all the same (the size
    lookup's copy serves the scan), and the report is exactly what --jobs 1 gives."""
    import platform
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    r = ru.Registry(tmp_path / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        small = [f"a/s{i}" for i in range(10)]
        for i, repo in enumerate(small):
            # a few KiB that do not compress: more than an index's own size
            c.push_image(repo, "1", [iu.Layer([iu.F("pad", os.urandom(3000).hex())],
                                              comp="gzip")])
        big = [iu.Layer([iu.F(f"big{i}", os.urandom(400 << 10))], comp="gzip")
               for i in range(2)]
        d, man = c.push_image("zz/large", "m", big)
        c.push_index("zz/large", "1", [(d, len(man), "linux", arch)])
        p = ru.Proxy(r)
        repos = [x for repo in small + ["zz/large"] for x in ("--repo", repo + ":1")]
        try:
            docs, gets = {}, {}
            for jobs in ("1", "2"):
                p.reset()
                docs[jobs] = json.loads(scan_all(bulwark, p.host, "--jobs", jobs, *repos).stdout)
                gets[jobs] = [path for m, path, _ in p.requests if m == "GET"]
        finally:
            p.stop()
        for doc in docs.values():
            assert [t["target"] for t in doc["targets"]][1:] == [
                f"{p.host}/{repo}:1" for repo in small + ["zz/large"]]
            assert all(t["error"] is None for t in doc["targets"])
        # the same report, byte for byte, as one worker in list order
        assert docs["1"] == docs["2"]
        reqs = gets["2"]

        def first_blob(repo):
            return next(i for i, path in enumerate(reqs) if path.startswith(f"/v2/{repo}/blobs/"))
        large_at = first_blob("zz/large")
        later = [repo for repo in small if first_blob(repo) > large_at]
        # the other worker starts a small image meanwhile (more under load); in list order
        # the large image would come after every one
        assert len(later) >= len(small) - 4, (later, reqs)
        # one worker: list order, the large image last (its blobs after every small one's;
        # the manifests are all asked first, for the sizes and the shared layers)
        g1 = gets["1"]
        assert min(i for i, path in enumerate(g1) if path.startswith("/v2/zz/large/blobs/")) > max(
            i for i, path in enumerate(g1) if path.startswith("/v2/a/s") and "/blobs/" in path)
        # no manifest fetched more than without the size lookup: its copy serves the scan
        for repo in small + ["zz/large"]:
            for ref in ("1", d):
                path = f"/v2/{repo}/manifests/{ref}"
                assert gets["2"].count(path) == gets["1"].count(path), (path, reqs)
        assert gets["2"].count(f"/v2/zz/large/manifests/{d}") == 1
    finally:
        r.stop()


def test_scan_all_size_lookup_failure_is_the_scans_error(bulwark, reg):
    """An image whose size cannot be asked (no such manifest) is scanned last, not dropped: its
    scan reports the error as without the lookup, the others are scanned, the report keeps the
    listed order (#14)."""
    h = reg.host
    doc = json.loads(scan_all(bulwark, h, "--jobs", "2", "--repo", "nope/gone:1",
                              "--repo", "clean/a:1").stdout)
    targets = {t["target"]: t for t in doc["targets"][1:]}
    assert list(targets) == [f"{h}/nope/gone:1", f"{h}/clean/a:1"]
    assert targets[f"{h}/clean/a:1"]["error"] is None
    assert "nope/gone" in targets[f"{h}/nope/gone:1"]["error"]
    failed = [f["location"]["target"] for f in doc["findings"] if f["id"] == "image-not-scanned"]
    assert failed == [f"{h}/nope/gone:1"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_all_shared_layer_fetched_once(bulwark, tmp_path, jobs):
    """Images that share a layer (a base image) under --scan-all: the shared blob is fetched,
    inflated and verified once in the run (#14), and each image still reports what the layer
    holds — the secret in the shared layer is a finding of every image that has it, exactly
    as `bulwark scan` of that image alone reports it."""
    token = "ghp_" + "Sh4redBaseT0ken7xQ2mZ9wB5nK8vL4pJ1d"
    shared = iu.Layer([iu.D("app"), iu.F("app/.env", f"GITHUB_TOKEN={token}\n")], comp="gzip")
    r = ru.Registry(tmp_path / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        names = ["base/one:1", "base/two:1", "base/two:2"]
        for i, name in enumerate(names):
            repo, tag = name.split(":")
            own = iu.Layer([iu.D("etc"), iu.F("etc/hostname", f"image {i}\n")], comp="gzip")
            c.push_image(repo, tag, [shared, own])
        p = ru.Proxy(r)
        try:
            doc = json.loads(scan_all(bulwark, p.host, "--jobs", jobs).stdout)
            gets = [path for m, path, _ in p.requests if m == "GET"]
            alone = {n: json.loads(bulwark("scan", "-f", "json", "--fail-on", "none",
                                           f"{p.host}/{n}").stdout) for n in names}
        finally:
            p.stop()
        fetched = [g for g in gets if g.endswith(f"/blobs/{shared.digest}")]
        # one fetch with one worker; with two, both may start on it before either kept it
        assert 1 <= len(fetched) <= int(jobs), fetched
        # each image's own layer is still fetched
        assert len([g for g in gets if "/blobs/" in g]) <= 2 * len(names) + int(jobs)
        for n in names:
            ref = f"{p.host}/{n}"
            mine = [f for f in doc["findings"] if f["location"]["target"] == ref]
            secrets = [f for f in mine if f["category"] == "secret"]
            assert [(f["location"]["path"], f["location"]["layer"]) for f in secrets] == [
                ("app/.env", shared.digest)], (n, secrets)
            assert token not in json.dumps(secrets)
            # exactly the findings of scanning that image alone
            def key(f):
                return json.dumps({k: f.get(k) for k in ("id", "location", "message")},
                                  sort_keys=True)
            assert sorted(map(key, mine)) == sorted(map(key, alone[n]["findings"])), n
        assert all(t["error"] is None for t in doc["targets"])
    finally:
        r.stop()


def test_scan_all_shared_layer_that_fails_its_digest_is_not_kept(bulwark, tmp_path):
    """A shared layer whose bytes do not match its digest (altered in the registry's storage) is
    never kept for the other images of the run: each image fetches it again and reports the
    mismatch itself, as `bulwark scan` of it alone does (#14)."""
    shared = iu.Layer([iu.D("app"), iu.F("app/pad", "a" * 64)], comp="none")
    r = ru.Registry(tmp_path / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        names = ["alt/one:1", "alt/two:1"]
        for i, name in enumerate(names):
            repo, tag = name.split(":")
            own = iu.Layer([iu.D("etc"), iu.F("etc/hostname", f"image {i}\n")], comp="gzip")
            c.push_image(repo, tag, [shared, own])
        hexd = shared.digest.split(":")[1]
        data = tmp_path / "reg/data/docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"
        blob = data.read_bytes()
        assert blob.count(b"a" * 64) == 1
        data.write_bytes(blob.replace(b"a" * 64, b"a" * 63 + b"b"))
        p = ru.Proxy(r)
        try:
            doc = json.loads(scan_all(bulwark, p.host, "--jobs", "1").stdout)
            fetched = [d for d, _ in p.blob_gets() if d == shared.digest]
        finally:
            p.stop()
        assert len(fetched) == len(names), fetched
        for n in names:
            bad = [f for f in doc["findings"] if f["id"] == "layer-digest-mismatch" and
                   f["location"]["target"] == f"{p.host}/{n}"]
            assert bad and all(f["location"].get("layer") == shared.digest for f in bad), (n, bad)
    finally:
        r.stop()
