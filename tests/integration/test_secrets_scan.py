"""Secret scanning end to end: credentials planted in every placement of generated images
(docker-save and OCI; uncompressed, gzip and zstd layers) are all found with the right rule,
category, layer and path; no raw secret appears in any output format; user rules files add,
disable and allowlist; the ignore file suppresses; hostile rules files are refused."""
import io
import json
import os
import pty
import select
import subprocess
import tarfile
import zipfile
import gzip

import pytest

from conftest import BULWARK, run_bulwark
import image_util as u

# Test tokens of a shape no built-in rule knows, detected by a user rule: these tests exercise
# placements and plumbing, independent of the built-in table's ids.
USER_RULES = """version: 1
rules:
  - id: itest-token
    title: Integration test token
    severity: critical
    regex: '\\b(ITK_[A-Za-z0-9]{24})\\b'
    secret_group: 1
    keywords: [itk_]
"""


def tok(n):
    """A distinct, high-entropy token per placement."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    x = (n * 7919 + 104729) & 0xFFFFFFFFFFFF
    s = ""
    for i in range(24):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        s += alphabet[(x >> 33) % len(alphabet)]
    return "ITK_" + s


def zip_bytes(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def targz_bytes(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def planted_image(tmp_path, comp="gzip", form="docker"):
    """An image with one token per placement; returns (image path, expected findings)."""
    T = {k: tok(i) for i, k in enumerate(
        ["deleted", "shipped", "env", "label", "history", "jar", "tgz", "nested", "long",
         "crlf", "cmd", "overwritten", "gz"])}
    long_line = ("x" * 300_000 + " " + T["long"] + " " + "y" * 200_000 + "\n").encode()
    crlf = ("a=1\r\nb=2\r\ntoken=" + T["crlf"] + "\r\n").encode()
    jar = zip_bytes([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
                     ("config/creds.properties", ("user=x\npassword=" + T["jar"] + "\n").encode())])
    inner = zip_bytes([("x.txt", ("k=" + T["nested"] + "\n").encode())])
    tgz = targz_bytes([("etc/app.conf", ("\n\nkey " + T["tgz"] + "\n").encode()),
                       ("lib/inner.zip", inner)])
    l1 = u.Layer([u.D("app"), u.F("app/secret.env", "TOKEN=" + T["deleted"] + "\n"),
                  u.F("app/keep.cfg", "# c\ntoken: " + T["shipped"] + "\n"),
                  u.F("app/over.cfg", "t=" + T["overwritten"] + "\n")], comp=comp)
    l2 = u.Layer([u.W("app/secret.env"), u.F("app/over.cfg", "t=none\n"),
                  u.D("opt"), u.F("opt/lib.jar", jar), u.F("opt/bundle.tar.gz", tgz),
                  u.F("opt/long.txt", long_line), u.F("opt/crlf.ini", crlf),
                  u.F("opt/notes.txt.gz", gzip.compress(("\n" + T["gz"] + "\n").encode()))],
                 comp=comp)
    config = {"Env": ["PATH=/bin", "API_TOKEN=" + T["env"]],
              "Labels": {"org.example.key": T["label"]},
              "Cmd": ["/app/run", "--token", T["cmd"]]}
    history = [{"created": "2024-01-01T00:00:00Z",
                "created_by": "|1 TOKEN=" + T["history"] + " /bin/sh -c make"},
               {"created": "2024-01-01T00:00:00Z", "created_by": "COPY . /opt"}]
    layers = [l1, l2]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": config,
                      "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
                      "history": history}).encode()
    if form == "docker":
        img = u.docker_save(tmp_path / "img.tar", layers, config_bytes=cfg)
    else:
        img = u.oci_layout(tmp_path / "oci", [{"layers": layers, "config": config}])
    exp = {  # token -> (layer index or None, path or None, key or None, line)
        T["deleted"]: (0, "app/secret.env", None, 1),
        T["shipped"]: (0, "app/keep.cfg", None, 2),
        T["overwritten"]: (0, "app/over.cfg", None, 1),
        T["jar"]: (1, "opt/lib.jar!/config/creds.properties", None, 2),
        T["tgz"]: (1, "opt/bundle.tar.gz!/etc/app.conf", None, 3),
        T["nested"]: (1, "opt/bundle.tar.gz!/lib/inner.zip!/x.txt", None, 1),
        T["long"]: (1, "opt/long.txt", None, 1),
        T["crlf"]: (1, "opt/crlf.ini", None, 3),
        T["gz"]: (1, "opt/notes.txt.gz!/data", None, 2),
        T["env"]: (None, None, "config.Env[1]", 0),
        T["label"]: (None, None, "config.Labels[org.example.key]", 0),
        T["cmd"]: (None, None, "config.Cmd", 0),
    }
    if form == "docker":
        exp[T["history"]] = (None, None, "history[0].created_by", 0)
    return img, exp, T


def scan_json(tmp_path, img, *extra):
    rules = tmp_path / "rules.yaml"
    rules.write_text(USER_RULES)
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", "--rules", rules,
                    *extra, img, check=0)
    return json.loads(p.stdout), p


def secret_findings(doc, rule="itest-token"):
    return [f for f in doc["findings"] if f["id"] == rule]


@pytest.mark.parametrize("comp,form", [("none", "docker"), ("gzip", "docker"),
                                       ("zstd", "docker"), ("gzip", "oci")])
def test_every_placement_found(tmp_path, comp, form):
    img, exp, T = planted_image(tmp_path, comp, form)
    doc, _ = scan_json(tmp_path, img)
    found = secret_findings(doc)
    assert len(found) == len(exp), json.dumps(found, indent=1)
    by_fp = {}
    for f in found:
        loc = f["location"]
        assert f["category"] == "secret"
        key = (loc.get("layer_index", loc.get("layerIndex")), loc.get("path"), loc.get("key"))
        by_fp[key] = f
    for t, (layer, path, key, line) in exp.items():
        match = [f for f in found if f["location"].get("path") == path and
                 f["location"].get("key") == key]
        assert len(match) == 1, (t, path, key, found)
        f = match[0]
        loc = f["location"]
        if path is not None:
            assert loc.get("layer", "").startswith("sha256:"), loc
            assert loc.get("line", 0) == line, (path, loc)
        # the evidence keeps at most the first 4 and last 2 characters
        assert t not in json.dumps(f)
        assert f["evidence"].startswith(t[:4]) and f["evidence"].endswith(t[-2:])
    deleted = [f for f in found if f["location"].get("path") == "app/secret.env"][0]
    assert "removed in layer 2, still shipped in layer 1" in deleted.get("message", "")
    over = [f for f in found if f["location"].get("path") == "app/over.cfg"][0]
    assert "still shipped in layer 1" in over.get("message", "")
    keep = [f for f in found if f["location"].get("path") == "app/keep.cfg"][0]
    assert "removed" not in keep.get("message", "")


def test_layer_index_reported(tmp_path):
    img, exp, T = planted_image(tmp_path, "gzip", "docker")
    doc, _ = scan_json(tmp_path, img, "-j", "2")
    layers = {}
    for f in secret_findings(doc):
        loc = f["location"]
        if loc.get("path"):
            layers[loc["path"]] = loc["layer"]
    assert layers["app/secret.env"] == layers["app/keep.cfg"]
    assert layers["opt/lib.jar!/config/creds.properties"] != layers["app/keep.cfg"]


def test_no_raw_secret_in_any_format(tmp_path):
    img, exp, T = planted_image(tmp_path, "gzip", "docker")
    rules = tmp_path / "rules.yaml"
    rules.write_text(USER_RULES)
    for fmt in ("text", "json", "sarif"):
        out = tmp_path / f"report.{fmt}"
        p = run_bulwark("scan", "-q", "--format", fmt, "-o", out, "--rules", rules, "-v", img)
        assert p.returncode == 1, p.stderr  # critical findings, default --fail-on high
        text = out.read_text() + p.stdout + p.stderr
        for t in T.values():
            assert t not in text, (fmt, t)
            assert t[4:20] not in text, (fmt, t)


def test_sarif_locations(tmp_path):
    img, exp, T = planted_image(tmp_path, "gzip", "docker")
    rules = tmp_path / "rules.yaml"
    rules.write_text(USER_RULES)
    p = run_bulwark("scan", "-q", "--format", "sarif", "--fail-on", "none", "--rules", rules,
                    img, check=0)
    sarif = json.loads(p.stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "itest-token"]
    assert len(results) == len(exp)
    for r in results:
        assert r["partialFingerprints"]
        for loc in r["locations"]:
            uri = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri", "")
            assert not uri.startswith("/") and str(tmp_path) not in uri, uri
    ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert "itest-token" in ids


def test_user_rules_disable_and_allowlist(tmp_path):
    img, exp, T = planted_image(tmp_path, "gzip", "docker")
    rules = tmp_path / "rules.yaml"
    rules.write_text(USER_RULES + "allowlist:\n  paths: ['^opt/']\n  values: ['^" + T["env"] +
                     "$']\n")
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", "--rules", rules,
                    img, check=0)
    found = secret_findings(json.loads(p.stdout))
    paths = {f["location"].get("path") for f in found}
    assert not any(x and x.startswith("opt/") for x in paths), paths
    assert "app/keep.cfg" in paths
    assert not any(f["location"].get("key") == "config.Env[1]" for f in found)
    # disable: the user's own rule can be switched off by a second file's logic too
    rules.write_text(USER_RULES + "disable: [itest-token]\n")
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", "--rules", rules,
                    img, check=0)
    assert secret_findings(json.loads(p.stdout)) == []


def test_ignore_file_suppresses(tmp_path):
    img, exp, T = planted_image(tmp_path, "gzip", "docker")
    doc, _ = scan_json(tmp_path, img)
    fp = [f for f in secret_findings(doc) if f["location"].get("path") == "app/keep.cfg"][0]
    ign = tmp_path / "ignore"
    ign.write_text(f"# accepted\nitest-token opt/*\n{fp['fingerprint']}\n")
    doc2, _ = scan_json(tmp_path, img, "--ignore-file", ign)
    left = {f["location"].get("path") for f in secret_findings(doc2)
            if not f.get("suppressed")}
    assert "app/keep.cfg" not in left
    assert not any(x and x.startswith("opt/") for x in left)
    assert "app/secret.env" in left


@pytest.mark.parametrize("text,needle", [
    ("version: 1\ndisable: [no-such-rule]\n", "no-such-rule"),
    ("version: 1\nrules:\n  - id: x\n    severity: high\n    regex: 'a(b'\n    keywords: [a]\n",
     "rule x"),
    ("version: 1\nrules:\n  - id: x\n    severity: high\n    regex: 'ab'\n    keywords: [a]\n"
     "    alow: [c]\n", "alow"),
    ("rules: [", "YAML"),
])
def test_bad_rules_file(tmp_path, busybox_rootfs, text, needle):
    rules = tmp_path / "r.yaml"
    rules.write_text(text)
    p = run_bulwark("scan", "--rules", rules, busybox_rootfs, check=2)
    assert needle in p.stderr and p.stderr.startswith("bulwark: ")
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_untrusted_system_rules_file_ignored(tmp_path, busybox_rootfs):
    if os.geteuid() != 0:
        pytest.skip("needs root to write /etc/bulwark")
    os.makedirs("/etc/bulwark", exist_ok=True)
    path = f"/etc/bulwark/itest-{os.getpid()}.yaml"
    (busybox_rootfs / "app.cfg").write_text("k=" + tok(99) + "\n")
    try:
        with open(path, "w") as f:
            f.write(USER_RULES)
        os.chmod(path, 0o666)
        p = run_bulwark("scan", "--format", "json", "--fail-on", "none", "--rules", path,
                        busybox_rootfs, check=0)
        assert "ignored" in p.stderr and path in p.stderr
        assert secret_findings(json.loads(p.stdout)) == []
        os.chmod(path, 0o644)
        p = run_bulwark("scan", "--format", "json", "--fail-on", "none", "--rules", path,
                        busybox_rootfs, check=0)
        assert len(secret_findings(json.loads(p.stdout))) == 1 and p.stderr == ""
    finally:
        os.unlink(path)


def test_progress_only_on_a_tty(tmp_path, busybox_rootfs):
    (busybox_rootfs / "big.txt").write_bytes(b"abc\n" * 500_000)
    p = run_bulwark("scan", "--fail-on", "none", busybox_rootfs, check=0)
    assert "scanning" not in p.stderr
    # on a terminal: progress lines, and none with --quiet
    for quiet, expect in ((False, True), (True, False)):
        pid, fd = pty.fork()
        if pid == 0:
            args = [BULWARK, "scan", "--fail-on", "none",
                    "-o", str(tmp_path / "r.txt")] + (["-q"] if quiet else []) + \
                   [str(busybox_rootfs)]
            os.execv(args[0], args)
        out = b""
        while True:
            r, _, _ = select.select([fd], [], [], 60)
            if not r:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        assert (b"scanning" in out) == expect, out[-500:]


def test_archive_bombs_and_depth_are_bounded(tmp_path, busybox_rootfs):
    """A gzip bomb (1 GiB of zeros in ~1 MB) and a zip nested five deep inside the image: the
    scan finishes, reports the token where the depth allows and nothing crashes."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(USER_RULES)
    z = subprocess.run("head -c 1073741824 /dev/zero | gzip -1", shell=True,
                       capture_output=True, check=True).stdout
    (busybox_rootfs / "bomb.gz").write_bytes(z)
    inner = ("k=" + tok(7) + "\n").encode()
    data = zip_bytes([("lvl0.txt", inner)])
    for i in range(1, 5):
        data = zip_bytes([(f"lvl{i}.zip", data)])
    (busybox_rootfs / "deep.zip").write_bytes(data)
    two = zip_bytes([("a.zip", zip_bytes([("x.txt", inner)]))])
    (busybox_rootfs / "two.zip").write_bytes(two)
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", "--rules", rules,
                    busybox_rootfs, check=0, timeout=120)
    paths = {f["location"]["path"] for f in secret_findings(json.loads(p.stdout))}
    assert "two.zip!/a.zip!/x.txt" in paths
    assert not any(x.startswith("deep.zip") for x in paths), paths


def test_config_with_builtin_rules(tmp_path):
    """The built-in table on the image config: KEY=VALUE env entries and build args get the
    .env rules (generic assignments) and the shape rules; placeholders and the fingerprints
    official images set (GPG_KEY) stay quiet."""
    layer = u.Layer([u.D("app"), u.F("app/x", "x")], comp="gzip")
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", "DB_PASSWORD=Zx9kQ2mLp7Rt",
           "AWS_SECRET_ACCESS_KEY=k8Jd2LmQ9zXv4TpW7rNs1YbH6cFgA3eU5iOqKlMn",
           "PASSWORD=${DB_PASSWORD}", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
           "PYTHON_SHA256=8fb5f9fbc7609fa822cb31549884575db7fd9657cbffb89510b5d7975963a83a"]
    hist = [{"created_by": "|1 NPM_TOKEN=npm_Qm7Zt2Kp9Lx4Wn8Rv3HyTq6Jd1Fs5Gb0Nc4V "
                           "/bin/sh -c npm ci"},
            {"created_by": "/bin/sh -c #(nop)  CMD [\"python3\"]"}]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Env": env, "Cmd": ["python3"]},
                      "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                      "history": hist}).encode()
    img = u.docker_save(tmp_path / "cfg.tar", [layer], config_bytes=cfg)
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", img, check=0)
    found = {}
    for f in json.loads(p.stdout)["findings"]:
        if f["category"] == "secret":
            found.setdefault(f["location"].get("key"), set()).add(f["id"])
    # the AWS reading (critical) is kept next to the .env reading (high) of the same value
    assert "aws-secret-access-key" in found.get("config.Env[2]", ()), found
    assert "npm-access-token" in found.get("history[0].created_by", ()), found
    assert "config.Env[1]" in found, found
    for quiet in ("config.Env[0]", "config.Env[3]", "config.Env[4]", "config.Env[5]",
                  "history[1].created_by", "config.Cmd"):
        assert quiet not in found, (quiet, found)
    assert "Zx9kQ2mLp7Rt" not in p.stdout
