"""Go binaries: the build information Debian's Go toolchain embeds, read from an image layer as
the file streams by (never executed), and matched against Go vulnerability records."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
import image_util as u  # noqa: E402

GO = "go"

MAIN = """package main

import (
	"example.com/lib"
	"example.com/old"
)

func main() { println(lib.Hello(), old.Name()) }
"""


@pytest.fixture(scope="module")
def gobin(tmp_path_factory):
    """A static Go binary with two vendored dependencies, one of them replaced by another
    module version (go.mod `replace`), and `go version -m`'s view of it."""
    d = tmp_path_factory.mktemp("go")
    app = d / "app"
    (app / "vendor/example.com/lib").mkdir(parents=True)
    (app / "vendor/example.com/old").mkdir(parents=True)
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/lib v1.2.3\n"
        "\texample.com/old v0.1.0\n)\n\nreplace example.com/old v0.1.0 => example.com/new v0.2.0\n")
    (app / "main.go").write_text(MAIN)
    (app / "vendor/example.com/lib/lib.go").write_text(
        'package lib\n\nfunc Hello() string { return "hi" }\n')
    (app / "vendor/example.com/old/old.go").write_text(
        'package old\n\nfunc Name() string { return "new" }\n')
    (app / "vendor/modules.txt").write_text(
        "# example.com/lib v1.2.3\n## explicit\nexample.com/lib\n"
        "# example.com/old v0.1.0 => example.com/new v0.2.0\n## explicit\nexample.com/old\n"
        "# example.com/old v0.1.0 => example.com/new v0.2.0\n")
    env = dict(os.environ, GOFLAGS="-mod=vendor", CGO_ENABLED="0", GOCACHE=str(d / "cache"),
               GOPATH=str(d / "gopath"), GOPROXY="off", GOTOOLCHAIN="local")
    out = d / "server"
    subprocess.run([GO, "build", "-o", str(out), "."], cwd=app, env=env, check=True,
                   capture_output=True)
    info = subprocess.run([GO, "version", "-m", str(out)], env=env, check=True,
                          capture_output=True, text=True).stdout
    return out.read_bytes(), info


def expected(info):
    """(name, version) of every module `go version -m` lists, as we must list them: stdlib at
    the Go version, deps (a replacement in its module's place), no "(devel)" main module."""
    lines = [l.split("\t") for l in info.splitlines()[1:]]
    gover = info.splitlines()[0].split(": ", 1)[1].strip()
    v = gover[2:]
    if v.count(".") == 1:
        v += ".0"
    want = [("stdlib", v)]
    for f in lines:
        f = [x for x in f if x != ""]
        if not f:
            continue
        if f[0] == "dep":
            want.append((f[1], f[2]))
        elif f[0] == "=>":
            want[-1] = (f[1], f[2])
        elif f[0] == "mod" and f[2] != "(devel)":
            want.append((f[1], f[2]))
    return sorted(want)


def go_image(tmp_path, name, binary, mode=0o755, extra=()):
    layers = [u.Layer([u.D("etc"), u.F("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")],
                      comp="gzip"),
              u.Layer([u.D("app"), u.F("app/server", binary, mode=mode), *extra], comp="zstd")]
    return u.docker_save(tmp_path / f"{name}.tar", layers)


def test_go_binary_inventory(tmp_path, gobin):
    binary, info = gobin
    want = expected(info)
    assert ("example.com/new", "v0.2.0") in want and ("example.com/lib", "v1.2.3") in want
    doc = json.loads(run_bulwark("sbom", "-f", "json", go_image(tmp_path, "go", binary),
                                 check=0).stdout)
    got = sorted((p["name"], p["version"]) for p in doc["packages"])
    assert got == want
    by = {p["name"]: p for p in doc["packages"]}
    assert by["example.com/lib"]["ecosystem"] == "golang"
    assert by["example.com/lib"]["purl"] == "pkg:golang/example.com/lib@v1.2.3"
    assert by["example.com/lib"]["path"] == "app/server"
    assert by["example.com/lib"]["layer_index"] == 1
    assert doc["warnings"] == []
    # not executable: not looked at
    doc = json.loads(run_bulwark("sbom", "-f", "json", go_image(tmp_path, "noexec", binary,
                                                                 mode=0o644), check=0).stdout)
    assert doc["packages"] == []


def test_go_truncated_and_garbage(tmp_path, gobin):
    binary, _ = gobin
    at = binary.index(b"\xff Go buildinf:")
    cases = {
        "cut": binary[:at + 40],                      # ends inside the build information
        "garbage": binary[:at + 32] + b"\xff" * 64,   # a length varint that never ends
        "old": binary[:at + 15] + b"\x00" + binary[at + 16:],  # flags: pointer format
    }
    for name, data in cases.items():
        doc = json.loads(run_bulwark("sbom", "-f", "json", go_image(tmp_path, name, data),
                                     check=0).stdout)
        assert [p for p in doc["packages"] if p["ecosystem"] == "golang"] == [], name
    doc = json.loads(run_bulwark("sbom", "-f", "json", go_image(tmp_path, "old2", cases["old"]),
                                 check=0).stdout)
    assert any("Go < 1.18" in w for w in doc["warnings"])


def osv(id_, name, events):
    return {"id": id_, "modified": "2024-01-01T00:00:00Z", "summary": f"{name} issue",
            "affected": [{"package": {"ecosystem": "Go", "name": name},
                          "ranges": [{"type": "SEMVER", "events": events}]}]}


def test_go_matching(tmp_path, gobin):
    binary, info = gobin
    stdv = dict(expected(info))["stdlib"]
    major, minor, patch = (stdv.split("-")[0].split(".") + ["0"])[:3]
    recs = [
        osv("GO-2024-0001", "example.com/lib", [{"introduced": "0"}, {"fixed": "1.2.4"}]),
        # near misses: fixed in exactly the installed version; the module replaced away
        osv("GO-2024-0002", "example.com/lib", [{"introduced": "0"}, {"fixed": "1.2.3"}]),
        osv("GO-2024-0003", "example.com/old", [{"introduced": "0"}, {"fixed": "0.9.0"}]),
        osv("GO-2024-0004", "example.com/new", [{"introduced": "0.2.0"}, {"fixed": "0.2.1"}]),
        osv("GO-2024-0005", "stdlib",
            [{"introduced": "0"}, {"fixed": f"{major}.{minor}.{int(patch) + 1}"}]),
    ]
    d = tmp_path / "osv"
    d.mkdir()
    for r in recs:
        (d / f"{r['id']}.json").write_text(json.dumps(r))
    db = tmp_path / "vuln.db"
    run_bulwark("db", "--db", db, "import", d, check=0)
    p = run_bulwark("scan", "-f", "json", "--fail-on", "none", "--db", db,
                    go_image(tmp_path, "m", binary), check=0)
    doc = json.loads(p.stdout)
    got = sorted((f["id"], f["evidence"]) for f in doc["findings"]
                 if f.get("category") == "vulnerability")
    assert got == sorted([("GO-2024-0001", "example.com/lib v1.2.3"),
                          ("GO-2024-0004", "example.com/new v0.2.0"),
                          ("GO-2024-0005", f"stdlib {stdv}")])
