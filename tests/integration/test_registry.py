"""Pulling from real registries: Debian's docker-registry (distribution 2.8) on loopback, open,
with htpasswd basic auth behind a self-signed certificate, and with bearer tokens from a token
server of ours; images pushed through the distribution API (registry_util.Client)."""
import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

import image_util as iu
import registry_util as ru

pytestmark = pytest.mark.skipif(not os.access(ru.REGISTRY, os.X_OK),
                                reason="docker-registry is not installed (scripts/deps.sh)")

GH_TOKEN = "ghp_" + "R3gistryT0kenLeak9xQ2mZ7wB5nK8vL4pJ1d"
PASSWORD = "wonderland-7f3a91"


def secret_layers():
    return [iu.Layer([iu.D("etc"), iu.F("etc/hostname", "box\n")], comp="gzip"),
            iu.Layer([iu.D("app"), iu.F("app/.env", f"GITHUB_TOKEN={GH_TOKEN}\n"),
                      iu.F("app/run", "#!/bin/sh\n", mode=0o4755)], comp="gzip")]


@pytest.fixture(scope="module")
def open_reg(tmp_path_factory):
    base = tmp_path_factory.mktemp("open")
    r = ru.Registry(base / "reg")
    try:
        c = ru.Client(f"http://{r.host}")
        layers = secret_layers()
        r.layers = layers
        r.digest, _ = c.push_image("team/app", "1.0", layers)
        c.push_image("team/docker", "1", layers, docker_types=True)
        amd = [iu.Layer([iu.F("arch", "amd64")])]
        arm = [iu.Layer([iu.F("arch", "arm64")])]
        d1, m1 = c.push_image("team/multi", "amd64-only", amd,
                              config_bytes=iu.config_for(amd, arch="amd64"))
        d2, m2 = c.push_image("team/multi", "arm64-only", arm,
                              config_bytes=iu.config_for(arm, arch="arm64"))
        c.push_index("team/multi", "1", [(d1, len(m1), "linux", "amd64"),
                                         (d2, len(m2), "linux", "arm64")])
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def tls_reg(tmp_path_factory):
    """htpasswd basic auth over TLS with a self-signed certificate made by openssl."""
    base = tmp_path_factory.mktemp("tls")
    crt, key = ru.self_signed(base)
    pw = ru.htpasswd_file(base / "htpasswd", {"alice": PASSWORD})
    r = ru.Registry(base / "reg", tls=(crt, key),
                    auth={"htpasswd": {"realm": "bulwark-test", "path": str(pw)}})
    r.crt = crt
    try:
        c = ru.Client(f"https://{r.host}", "alice", PASSWORD, cafile=crt)
        c.push_image("private/app", "2.0", secret_layers())
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def token_reg(tmp_path_factory):
    base = tmp_path_factory.mktemp("token")
    ts = ru.TokenServer(base, {"reader": (PASSWORD, ["pull"], "refresh-" + PASSWORD),
                               "writer": (PASSWORD, ["pull", "push"])})
    r = ru.Registry(base / "reg", auth=ts.registry_auth())
    try:
        c = ru.Client(f"http://{r.host}", "writer", PASSWORD)
        c.push_image("tok/app", "3", secret_layers())
        r.ts = ts
        yield r
    finally:
        r.stop()
        ts.stop()


def findings_of(bulwark, target, *extra):
    doc = json.loads(bulwark("scan", "-f", "json", "--fail-on", "none", *extra, target,
                             check=0).stdout)
    return sorted((f["id"], f["location"].get("path"), f["severity"], f.get("evidence"))
                  for f in doc["findings"]), doc


def pull(bulwark, ref, out, *args, check=0, **kw):
    return bulwark("registry", "pull", ref, "-o", out, *args, check=check, **kw)


# ---- pulling ---------------------------------------------------------------------------------
def test_pull_scans_like_docker_save(bulwark, open_reg, tmp_path):
    """Pulled from the registry, the image scans exactly as its docker-save tarball does."""
    out = tmp_path / "layout"
    pull(bulwark, f"{open_reg.host}/team/app:1.0", out)
    idx = json.loads((out / "index.json").read_text())
    assert idx["manifests"][0]["digest"] == open_reg.digest
    assert idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    saved = iu.docker_save(tmp_path / "img.tar", open_reg.layers)
    got, doc = findings_of(bulwark, out)
    want, _ = findings_of(bulwark, saved)
    assert got == want
    assert any(f[0].startswith("github") or "token" in f[0] for f in got), got
    assert GH_TOKEN not in json.dumps(doc)
    # Docker v2 schema 2 media types too
    out2 = tmp_path / "docker"
    pull(bulwark, f"{open_reg.host}/team/docker:1", out2)
    assert findings_of(bulwark, out2)[0] == want


def test_pull_by_digest_and_platform(bulwark, open_reg, tmp_path):
    pull(bulwark, f"{open_reg.host}/team/app@{open_reg.digest}", tmp_path / "d")
    assert json.loads((tmp_path / "d" / "index.json").read_text())["manifests"][0][
        "digest"] == open_reg.digest
    for arch in ("amd64", "arm64"):
        out = tmp_path / arch
        pull(bulwark, f"{open_reg.host}/team/multi:1", out, "--platform", f"linux/{arch}")
        cfgs = [json.loads(p.read_bytes()) for p in (out / "blobs" / "sha256").iterdir()
                if p.read_bytes().startswith(b'{"architecture"')]
        assert [c["architecture"] for c in cfgs] == [arch]
    p = pull(bulwark, f"{open_reg.host}/team/multi:1", tmp_path / "s390", "--platform",
             "linux/s390x", check=2)
    assert "no image for linux/s390x (it has: linux/amd64, linux/arm64)" in p.stderr
    assert not (tmp_path / "s390").exists()


def test_pull_errors_name_the_object(bulwark, open_reg, tmp_path):
    p = pull(bulwark, f"{open_reg.host}/team/app:nope", tmp_path / "a", check=2)
    assert p.stderr.count("\n") == 1
    assert f"manifest team/app:nope not found on registry {open_reg.host} (HTTP 404)" in p.stderr
    assert "check the repository name and the tag" in p.stderr
    assert not (tmp_path / "a").exists()
    p = pull(bulwark, f"{open_reg.host}/Team/App", tmp_path / "b", check=2)
    assert "image reference" in p.stderr and "lowercase" in p.stderr
    (tmp_path / "exists").mkdir()
    p = pull(bulwark, f"{open_reg.host}/team/app:1.0", tmp_path / "exists", check=2)
    assert "it exists" in p.stderr


def test_tls_basic_auth(bulwark, tls_reg, tmp_path):
    ref = f"{tls_reg.host}/private/app:2.0"
    # TLS verification is on by default: a self-signed certificate is refused
    p = pull(bulwark, ref, tmp_path / "a", check=2)
    assert "did not verify" in p.stderr and "--ca-cert" in p.stderr
    # trusted, but anonymous: 401 names the registry and how to log in
    p = pull(bulwark, ref, tmp_path / "b", "--ca-cert", tls_reg.crt, check=2,
             env={"DOCKER_CONFIG": str(tmp_path / "none")})
    assert f"registry {tls_reg.host} requires authentication" in p.stderr
    assert f"docker login {tls_reg.host}" in p.stderr
    # a wrong password is refused without being printed
    p = pull(bulwark, ref, tmp_path / "c", "--ca-cert", tls_reg.crt, "--username", "alice",
             "--password-stdin", input="wrong-pass-123\n", check=2)
    assert "wrong-pass-123" not in p.stderr + p.stdout
    assert "HTTP 401" in p.stderr
    # --username + --password-stdin
    p = pull(bulwark, ref, tmp_path / "d", "--ca-cert", tls_reg.crt, "--username", "alice",
             "--password-stdin", input=PASSWORD + "\n")
    assert PASSWORD not in p.stderr + p.stdout
    assert (tmp_path / "d" / "index.json").exists()
    # ~/.docker/config.json auths
    cfgdir = tmp_path / "dockercfg"
    cfgdir.mkdir()
    import base64
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    (cfgdir / "config.json").write_text(json.dumps({"auths": {tls_reg.host: {"auth": auth}}}))
    pull(bulwark, ref, tmp_path / "e", "--ca-cert", tls_reg.crt,
         env={"DOCKER_CONFIG": str(cfgdir)})
    # credsStore through the docker-credential-* protocol
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-bwktest"
    helper.write_text("#!/bin/sh\nread host\n"
                      f"[ \"$host\" = \"{tls_reg.host}\" ] || exit 1\n"
                      f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\","
                      f"\"Secret\":\"{PASSWORD}\"}}' \"$host\"\n")
    helper.chmod(0o755)
    (cfgdir / "config.json").write_text(json.dumps({"credsStore": "bwktest"}))
    p = pull(bulwark, ref, tmp_path / "f", "--ca-cert", tls_reg.crt,
             env={"DOCKER_CONFIG": str(cfgdir), "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert (tmp_path / "f" / "index.json").exists()
    # a helper that is not installed is named
    (cfgdir / "config.json").write_text(json.dumps({"credHelpers": {tls_reg.host: "absent"}}))
    p = pull(bulwark, ref, tmp_path / "g", "--ca-cert", tls_reg.crt, check=2,
             env={"DOCKER_CONFIG": str(cfgdir)})
    assert "docker-credential-absent cannot be run" in p.stderr


def test_token_auth(bulwark, token_reg, tmp_path):
    ref = f"{token_reg.host}/tok/app:3"
    p = pull(bulwark, ref, tmp_path / "a", check=2, env={"DOCKER_CONFIG": str(tmp_path)})
    assert "HTTP 401" in p.stderr or "refused anonymous access" in p.stderr
    pull(bulwark, ref, tmp_path / "b", "--username", "reader", "--password-stdin",
         input=PASSWORD)
    assert (tmp_path / "b" / "index.json").exists()
    # docker login --oauth's identity token: exchanged as an OAuth2 refresh token
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {token_reg.host: {
        "auth": "", "identitytoken": "refresh-" + PASSWORD}}}))
    n = len(token_reg.ts.posted)
    p = pull(bulwark, ref, tmp_path / "c", env={"DOCKER_CONFIG": str(cfg)})
    assert len(token_reg.ts.posted) > n
    assert token_reg.ts.posted[-1]["client_id"] == ["bulwark"]
    assert "refresh-" not in p.stderr


# ---- the audit -------------------------------------------------------------------------------
def audit(bulwark, url, *args, check=None, **kw):
    p = bulwark("audit", "registry", url, "-f", "json", "--fail-on", "none", *args, check=check,
                **kw)
    doc = json.loads(p.stdout)
    return {f["id"] for f in doc["findings"]}, doc


def uploads_left(reg):
    """Upload data and blobs in the registry's storage. (distribution 2.8's cancel leaves an
    empty hash state behind, holding no data: it is purged with the other stale uploads.)"""
    root = reg.base / "data"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and ("_uploads" in p.parts and p.name == "data" or
                                      "blobs" in p.parts))


def test_audit_open_registry(bulwark, open_reg):
    before = uploads_left(open_reg)
    ids, doc = audit(bulwark, open_reg.host, check=0)
    assert {"registry-plain-http", "registry-anonymous-catalog", "registry-anonymous-pull",
            "registry-anonymous-push"} <= ids
    assert doc["facts"]["registry.scheme"] == "http"
    checks = {c["id"]: c["status"] for c in doc["checks"]}
    assert checks["registry-anonymous-push"] == "fail"
    assert checks["registry-tls-self-signed"] == "skip"
    # the push probe never leaves data behind
    assert uploads_left(open_reg) == before
    # the JSON report follows docs/report-schema.json
    import jsonschema
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" /
                         "report-schema.json").read_text())
    jsonschema.validate(doc, schema)
    # text and SARIF too
    t = bulwark("audit", "registry", open_reg.host, "--fail-on", "none", check=0).stdout
    assert "registry-anonymous-push" in t and "fix:" in t
    s = json.loads(bulwark("audit", "registry", open_reg.host, "-f", "sarif", "--fail-on",
                           "none", check=0).stdout)
    assert {r["ruleId"] for r in s["runs"][0]["results"]} == ids
    # the default gate fails on the critical finding
    bulwark("audit", "registry", open_reg.host, check=1)


def test_audit_tls_registry(bulwark, tls_reg):
    env = {"DOCKER_CONFIG": "/nonexistent"}
    before = uploads_left(tls_reg)
    ids, doc = audit(bulwark, f"https://{tls_reg.host}/private/app", env=env, check=0)
    assert "registry-tls-self-signed" in ids
    assert not ids & {"registry-plain-http", "registry-anonymous-catalog",
                      "registry-anonymous-pull", "registry-anonymous-push"}
    assert doc["facts"]["registry.auth"] == "basic"
    # trusted with --ca-cert: no TLS finding; alice may push
    ids, doc = audit(bulwark, f"https://{tls_reg.host}/private/app", "--ca-cert", tls_reg.crt,
                     "--username", "alice", "--password-stdin", input=PASSWORD, env=env,
                     check=0)
    assert doc["facts"]["registry.tls"] == "verified"
    assert "registry-tls-self-signed" not in ids
    assert "registry-user-push" in ids
    assert PASSWORD not in json.dumps(doc)
    assert uploads_left(tls_reg) == before


def test_audit_token_registry(bulwark, token_reg):
    ids, doc = audit(bulwark, token_reg.host, env={"DOCKER_CONFIG": "/nonexistent"}, check=0)
    assert "registry-token-over-http" in ids
    assert doc["facts"]["registry.auth"] == "bearer"
    assert not ids & {"registry-anonymous-catalog", "registry-anonymous-push"}


@pytest.mark.parametrize("kind", ["expired", "wrong-name"])
def test_audit_tls_problems(bulwark, tmp_path, kind):
    if kind == "expired":
        ca, crt, key = ru.ca_signed(tmp_path, "srv", expired=True)
        want = "registry-tls-expired"
    else:
        ca, crt, key = ru.ca_signed(tmp_path, "srv", dns="other.example", ip=None)
        want = "registry-tls-wrong-name"
    r = ru.Registry(tmp_path / "reg", tls=(crt, key))
    try:
        ids, doc = audit(bulwark, f"https://{r.host}", "--ca-cert", ca, check=0)
        assert want in ids, doc["facts"]
        # the probes still ran past the certificate
        assert "registry-anonymous-catalog" in ids
    finally:
        r.stop()


def test_audit_old_tls(bulwark, tmp_path):
    crt, key = ru.self_signed(tmp_path)
    r = ru.Registry(tmp_path / "reg", tls=(crt, key), tls_min="tls1.0")
    try:
        ids, doc = audit(bulwark, f"https://{r.host}", "--ca-cert", crt, check=0)
        assert "registry-tls-old-protocol" in ids
        assert doc["facts"]["registry.tls"] == "verified"
    finally:
        r.stop()
    # negative control: distribution's default (TLS 1.2 and later)
    r = ru.Registry(tmp_path / "reg2", tls=(crt, key))
    try:
        ids, doc = audit(bulwark, f"https://{r.host}", "--ca-cert", crt, check=0)
        assert "registry-tls-old-protocol" not in ids
        assert {c["id"]: c["status"] for c in doc["checks"]}["registry-tls-old-protocol"] == \
            "pass"
    finally:
        r.stop()


def test_audit_unreachable(bulwark):
    port = ru.free_port()
    p = bulwark("audit", "registry", f"127.0.0.1:{port}", "--timeout", "2000", check=2)
    assert "is the registry running" in p.stderr
    p = bulwark("audit", "registry", check=2)
    assert "needs the registry's URL" in p.stderr


def test_rules_lists_registry_rules(bulwark):
    out = bulwark("rules", "registry-anonymous-push", check=0).stdout
    assert "critical" in out and "upload" in out
    doc = json.loads(bulwark("rules", "-f", "json", check=0).stdout)
    rows = doc if isinstance(doc, list) else doc.get("rules", [])
    assert {r["id"] for r in rows if r.get("category") == "registry"} >= {
        "registry-plain-http", "registry-anonymous-pull", "registry-token-over-http"}


def test_every_registry_rule_is_a_check(bulwark, open_reg):
    """Each row of the registry table carries its check and the audit runs every row: the
    checks are exactly the registry rules `bulwark rules` lists (the CVE rows and --scan-all's
    listing rule aside), each once, the certificate first and the push probes last; --scan-all
    adds its listing check right after them."""
    p = bulwark("rules", "--format", "json", "--category", "registry")
    rules = [r["id"] for r in json.loads(p.stdout) if not r["id"].startswith("CVE-")]
    assert "registry-images-not-listed" in rules
    env = {"DOCKER_CONFIG": "/nonexistent"}
    _, doc = audit(bulwark, open_reg.host, env=env, check=0)
    checks = [c["id"] for c in doc["checks"]]
    assert sorted(checks + ["registry-images-not-listed"]) == sorted(rules), checks
    assert len(set(checks)) == len(checks), checks
    assert checks[0] == "registry-tls-self-signed" and checks[-1] == "registry-user-push"
    _, doc = audit(bulwark, open_reg.host, "--scan-all", "--repo", "team/app:1.0", env=env,
                   check=0)
    listed = [c["id"] for c in doc["checks"]]
    assert listed[:len(checks) + 1] == checks + ["registry-images-not-listed"], listed


# ---- scanning by reference (the registry row of the image source table) ---------------------
def scan_doc(bulwark, target, *extra):
    return json.loads(bulwark("scan", "-f", "json", "--fail-on", "none", *extra, target,
                              check=0).stdout)


def comparable(doc, with_layer=False):
    return sorted((f["id"], f["location"].get("path"), f["location"].get("layerIndex"),
                   f["location"].get("layer") if with_layer else None, f["severity"],
                   f.get("evidence"), f.get("message")) for f in doc["findings"])


def test_scan_by_reference(bulwark, open_reg, tmp_path):
    """The same findings as the docker-save tarball of the image; and identical to the same
    image pulled into an OCI layout, layer digests and image digest included."""
    ref = f"{open_reg.host}/team/app:1.0"
    by_ref = scan_doc(bulwark, ref)
    assert by_ref["facts"]["image.source"] == "registry"
    assert by_ref["facts"]["image.digest"].startswith("sha256:")
    saved = iu.docker_save(tmp_path / "img.tar", open_reg.layers)
    by_tar = scan_doc(bulwark, saved)
    assert comparable(by_ref) == comparable(by_tar)
    assert any(f[0] == "github-pat-classic" for f in comparable(by_ref))
    assert GH_TOKEN not in json.dumps(by_ref)
    pull(bulwark, ref, tmp_path / "layout")
    by_layout = scan_doc(bulwark, tmp_path / "layout")
    assert comparable(by_ref, True) == comparable(by_layout, True)
    assert by_ref["facts"]["image.digest"] == by_layout["facts"]["image.digest"]
    # the explicit prefix, Docker v2 media types, a platform out of an index
    assert comparable(scan_doc(bulwark, f"registry:{ref}")) == comparable(by_ref)
    assert comparable(scan_doc(bulwark, f"{open_reg.host}/team/docker:1")) == comparable(by_tar)
    doc = scan_doc(bulwark, f"{open_reg.host}/team/multi:1", "--platform", "linux/arm64")
    assert doc["facts"]["image.platform"] == "linux/arm64"
    # nothing of the image is left on disk: the layers streamed through
    # (the scan's working files would live in TMPDIR)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    bulwark("scan", "--fail-on", "none", ref, env={"TMPDIR": str(tmp)}, check=0)
    assert list(tmp.iterdir()) == []


def test_scan_by_reference_errors(bulwark, open_reg, tls_reg, tmp_path):
    p = bulwark("scan", f"{open_reg.host}/team/app:nope", check=2)
    assert "manifest team/app:nope not found" in p.stderr and p.stderr.count("\n") == 1
    # a short Docker Hub name is a path unless prefixed: no network for a typo
    p = bulwark("scan", "no-such-image:1", check=2)
    assert "cannot open" in p.stderr or "No such file" in p.stderr
    # a missing path that reads as HOST:PORT/REPO says it was taken for a reference
    port = ru.free_port()
    p = bulwark("scan", "--registry-timeout", "2000", f"127.0.0.1:{port}/nothing/here.tar",
                check=2)
    assert "(no such file: taken for a registry reference)" in p.stderr
    assert p.stderr.count("\n") == 1
    # registry flags: CA and credentials
    ref = f"{tls_reg.host}/private/app:2.0"
    p = bulwark("scan", ref, check=2, env={"DOCKER_CONFIG": str(tmp_path)})
    assert "--ca-cert" in p.stderr
    doc = json.loads(bulwark("scan", "-f", "json", "--fail-on", "none", "--ca-cert", tls_reg.crt,
                             "--username", "alice", "--password-stdin", ref, input=PASSWORD,
                             check=0).stdout)
    assert doc["facts"]["image.source"] == "registry"
    assert PASSWORD not in json.dumps(doc)
    # inspect and sbom take the same flags
    out = bulwark("inspect", "--ca-cert", tls_reg.crt, "--username", "alice", "--password-stdin",
                  ref, input=PASSWORD, check=0).stdout
    assert "source:   registry" in out
    sb = json.loads(bulwark("sbom", "--ca-cert", tls_reg.crt, "--username", "alice",
                            "--password-stdin", ref, input=PASSWORD, check=0).stdout)
    assert sb["bomFormat"] == "CycloneDX"
    p = bulwark("inspect", "--ca-cert", tls_reg.crt, ref, check=2,
                env={"DOCKER_CONFIG": str(tmp_path)})
    assert "requires authentication" in p.stderr


def test_scan_tampered_blob(bulwark, tmp_path):
    """A layer blob that does not match its digest: a finding in scan (report mode, as for a
    local archive), an error where the image is used (unpack)."""
    r = ru.Registry(tmp_path / "reg")
    try:
        layers = secret_layers()
        ru.Client(f"http://{r.host}").push_image("evil/app", "1", layers)
        # replace the stored blob's bytes behind the registry's back
        blob = next(p for p in (tmp_path / "reg" / "data").rglob("data")
                    if p.parent.name == layers[1].digest[7:])
        blob.write_bytes(layers[0].blob)
        doc = scan_doc(bulwark, f"{r.host}/evil/app:1")
        assert "layer-digest-mismatch" in {f["id"] for f in doc["findings"]}, doc["findings"]
        p = bulwark("unpack", f"{r.host}/evil/app:1", tmp_path / "out", check=2)
        assert "digest" in p.stderr and p.stderr.count("\n") == 1
        assert not (tmp_path / "out").exists()
    finally:
        r.stop()


def test_registry_form_every_command(tmp_path):
    """The registry row answers every command as the other sources do (the agreement test of
    test_image_sources.py): same source, same config digest as the docker-save archive, same
    files unpacked and the same command run."""
    from test_image_sources import CFG, call, check_agreement, image_layers, \
        what_each_command_sees
    r = ru.Registry(tmp_path / "reg")
    try:
        ls = image_layers()
        ru.Client(f"http://{r.host}").push_image("demo/app", "1", ls,
                                                  config_bytes=iu.config_for(ls, config=CFG))
        tar = iu.docker_save(tmp_path / "img.tar", ls, tags=["demo:1"], config=CFG)
        rc, out, err = call("inspect", tar, check=0)
        want = next(l.split(":", 1)[1].strip() for l in out.splitlines()
                    if l.startswith("config:"))
        for i, arg in enumerate((f"registry:{r.host}/demo/app:1", f"{r.host}/demo/app:1")):
            tmp = tmp_path / str(i)
            tmp.mkdir()
            seen = what_each_command_sees(arg, None, tmp)
            check_agreement(arg, seen, "registry", True)
            assert seen["inspect"][1] == want
    finally:
        r.stop()
