"""Peak memory of `bulwark audit FILE` on inputs at the caps (security issue #10: 13 MB of
Kubernetes YAML took 563 MiB). The bound is 64 MiB of RSS for a release binary.

How the bound is measured (peak RSS through /usr/bin/time):
- a release binary (BULWARK_RELEASE, else BWK_BUILD/../release/bulwark when it is newer
  than every source file) is held to the bound itself: peak RSS < 64 MiB;
- otherwise the binary under test, the ASan build, whose RSS is the program's plus shadow
  memory, redzones, the quarantine of freed blocks, and one free list per size class (the
  blocks one document's tree frees are not reused for findings, as glibc's would be). We run
  it with a 1 MiB quarantine and no allocation stacks, measure its RSS on a one-Deployment
  input (ASan's and the binary's fixed cost, ~28 MiB) and hold its growth over that to
  64 MiB. ASan only adds to what the program allocates, so this is a weaker check than the
  release one (measured on the 13 MB stream: release 40 MiB in all, ASan growth 53 MiB) and
  still fails the binary before the fix by an order of magnitude (~730 MiB of growth).
The accounted memory of the parser itself (tree, tables, keys) has its own exact bound in
tests/unit/test_yaml_tree.c."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, BULWARK, TOP

MIB = 1 << 20
BOUND = 64 * MIB
TIME = "/usr/bin/time"
ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=0:quarantine_size_mb=1:malloc_context_size=0:"
                            "thread_local_quarantine_size_kb=64"}


def is_asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def release_binary():
    env = os.environ.get("BULWARK_RELEASE")
    if env:
        return env
    cand = BUILD.parent / "release" / "bulwark"
    if not cand.exists() or is_asan(cand):
        return None
    newest = max(p.stat().st_mtime for d in ("src", "include") for p in (TOP / d).rglob("*")
                 if p.is_file())
    return str(cand) if cand.stat().st_mtime >= newest else None


def peak_rss(binary, args, out, env=None, stdin=None):
    """Run to completion; (exit status, peak RSS in bytes, stderr). stdout goes to `out`.
    Through /usr/bin/time: a child forked from this (large) Python process would report
    Python's high-water mark, which ru_maxrss keeps across exec."""
    e = dict(os.environ, NO_COLOR="1")
    e.update(env or {})
    rss_file = Path(str(out) + ".rss")
    with open(out, "wb") as fo, open(stdin or os.devnull, "rb") as fi:
        p = subprocess.run([TIME, "-q", "-f", "%M", "-o", rss_file, binary, *map(str, args)],
                           stdin=fi, stdout=fo, stderr=subprocess.PIPE, env=e, timeout=600)
    err = p.stderr.decode(errors="replace")
    assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err
    return p.returncode, int(rss_file.read_text().split()[-1]) * 1024, err


DEPLOY = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: bench
  labels: {{app: app-{i}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      containers:
      - name: app
        image: registry.example.com/app-{i}:1.{i}
        ports: [{{containerPort: 8080}}]
        env:
        - {{name: LOG_LEVEL, value: info}}
        - {{name: PORT, value: "8080"}}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
"""
SERVICE = """---
apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: bench}}
spec:
  selector: {{app: app-{i}}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def k8s_stream(path, size):
    """Deployments and Services until `size` bytes: five findings per Deployment."""
    n = deploys = 0
    with open(path, "w") as f:
        while f.tell() < size:
            if n % 4 == 3:
                f.write(SERVICE.format(i=n))
            else:
                f.write(DEPLOY.format(i=n))
                deploys += 1
            n += 1
    return deploys


def huge_compose(path, size):
    """One document: services with long environment lists, past the per-document budget."""
    with open(path, "w") as f:
        f.write("services:\n")
        s = 0
        while f.tell() < size:
            f.write(f"  svc{s}:\n    image: registry.example.com/app{s}:1.0\n"
                    "    environment:\n")
            f.writelines(f"      VAR_{e}: value-{s}-{e}-xxxxxxxxxxxxxxxx\n" for e in range(200))
            s += 1


def deep_compose(path, size):
    """Nesting to just under the depth cap (64), repeated until `size` bytes."""
    nest = "[" * 60 + "1" + "]" * 60
    with open(path, "w") as f:
        f.write("services:\n  a:\n    image: x\n    labels:\n")
        i = 0
        while f.tell() < size:
            f.write(f"      k{i}: {nest}\n")
            i += 1


def long_scalars(path, size):
    """Scalars of 1.5 MiB (under the 2 MiB run-without-event cap) until `size` bytes."""
    with open(path, "w") as f:
        f.write("services:\n")
        i = 0
        while f.tell() < size:
            f.write(f"  s{i}:\n    image: x\n    labels:\n      a: {'A' * (3 * MIB // 2)}\n")
            i += 1


def env_pod(path, n, size):
    """A Pod whose environment fits the budget as a tree but not with its copy in the
    workload model: the model is charged to the document's budget too."""
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n"
                "  - name: c\n    image: nginx\n    env:\n")
        f.writelines(f"    - {{name: V{i}, value: \"{'x' * size}\"}}\n" for i in range(n))


def inspect_array(path, n):
    """docker inspect output of `n` privileged containers."""
    c = {"Id": "", "Name": "", "Config": {"Image": "nginx", "Env": ["PATH=/usr/bin"] * 8,
                                          "Labels": {f"l{i}": "v" * 40 for i in range(20)}},
         "HostConfig": {"Privileged": True, "Binds": ["/:/host"], "CapAdd": ["SYS_ADMIN"]}}
    with open(path, "w") as f:
        f.write("[")
        for i in range(n):
            c["Id"], c["Name"] = f"{i:064x}", f"/c{i}"
            f.write(("," if i else "") + json.dumps(c))
        f.write("]")


def measure(tmp_path, name, args, stdin=None):
    """Peak RSS against the bound: the release binary if there is one, else the growth of
    the ASan binary over its fixed cost."""
    rel = release_binary()
    out = tmp_path / (name + ".out")
    if rel:
        rc, rss, err = peak_rss(rel, args, out, stdin=stdin)
        assert rss < BOUND, f"{name}: release peak RSS {rss / MIB:.1f} MiB"
        return rc, err, out
    assert is_asan(BULWARK), "neither a release nor an ASan binary to measure"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(DEPLOY.format(i=0))
    _, base, _ = peak_rss(BULWARK, ["audit", "--fail-on", "none", tiny], out, ASAN_ENV)
    rc, rss, err = peak_rss(BULWARK, args, out, ASAN_ENV, stdin)
    growth = rss - base
    assert growth < BOUND, \
        f"{name}: ASan peak RSS grew by {growth / MIB:.1f} MiB (fixed {base / MIB:.1f} MiB)"
    return rc, err, out


def listing(d):
    return sorted((p.name, p.stat().st_size) for p in Path(d).iterdir())


def test_k8s_stream_13mb(tmp_path):
    """Many documents: audited one at a time; every Deployment still reported."""
    src = tmp_path / "in"
    src.mkdir()
    f = src / "k8s.yaml"
    deploys = k8s_stream(f, 13 * 1000 * 1000 + 1)
    before = listing(src)
    rc, err, out = measure(tmp_path, "k8s", ["audit", "--fail-on", "none", "-f", "json", f])
    assert rc == 0, err
    doc = json.loads(out.read_text())
    by_rule = {}
    for x in doc["findings"]:
        by_rule[x["id"]] = by_rule.get(x["id"], 0) + 1
    assert by_rule["runs-as-root"] == deploys, by_rule
    assert doc["summary"]["total"] == len(doc["findings"])
    assert listing(src) == before  # nothing written next to the input


def test_k8s_stream_stdin(tmp_path):
    """Standard input is streamed like a file, not read whole first."""
    f = tmp_path / "k8s.yaml"
    deploys = k8s_stream(f, 13 * 1000 * 1000 + 1)
    rc, err, out = measure(tmp_path, "stdin", ["audit", "--fail-on", "none", "-f", "json", "-"],
                           stdin=f)
    assert rc == 0, err
    found = [x for x in json.loads(out.read_text())["findings"] if x["id"] == "runs-as-root"]
    assert len(found) == deploys
    assert found[0]["location"]["target"] == "-"


@pytest.mark.parametrize("name,gen,msg", [
    ("huge-compose", lambda p: huge_compose(p, 30 * MIB),
     "document needs more than 16 MiB of memory"),
    ("deep", lambda p: deep_compose(p, 8 * MIB), "deep.yaml:"),
    ("env-model", lambda p: env_pod(p, 3500, 3000),
     "document needs more than 16 MiB of memory"),
    ("long-scalars", lambda p: long_scalars(p, 60 * MIB),
     "document needs more than 16 MiB of memory"),
])
def test_one_document_at_the_caps(tmp_path, name, gen, msg):
    src = tmp_path / "in"
    src.mkdir()
    f = src / f"{name}.yaml"
    gen(f)
    before = listing(src)
    rc, err, _ = measure(tmp_path, name, ["audit", "--fail-on", "none", f])
    # refused with one line naming the input, within the memory bound
    assert rc == 2 and msg in err and err.count("bulwark:") == 1, err
    assert listing(src) == before


def test_scalar_longer_than_the_token_cap(tmp_path):
    f = tmp_path / "long.yaml"
    f.write_text("services:\n  a:\n    image: x\n    labels:\n      a: " + "A" * (3 * MIB) + "\n")
    rc, err, _ = measure(tmp_path, "long", ["audit", "--fail-on", "none", f])
    assert rc == 2 and "bytes without a YAML node" in err and "long.yaml:" in err, err


def test_json_inspect(tmp_path):
    """docker inspect JSON: an array is audited one container at a time (40000 containers,
    55 MB, took 511 MiB); one container past the budget is refused."""
    ok = tmp_path / "inspect.json"
    inspect_array(ok, 40000)
    rc, err, out = measure(tmp_path, "inspect", ["audit", "--fail-on", "none", "-f", "json", ok])
    assert rc == 0, err
    doc = json.loads(out.read_text())
    found = [x for x in doc["findings"] if x["id"] == "privileged-container"]
    assert found and all(x["location"]["key"].startswith("[") for x in found)
    assert doc["summary"]["total"] == 100000  # MAX_FINDINGS: the report is capped, not memory
    big = tmp_path / "big.json"
    with open(big, "w") as f:
        f.write('[{"HostConfig": {}, "Config": {"Labels": {')
        f.write(",".join(f'"l{i}": "{"v" * 200}"' for i in range(100000)))
        f.write("}}}]")
    rc, err, _ = measure(tmp_path, "big", ["audit", "--fail-on", "none", big])
    assert rc == 2 and "big.json: [0]: element" in err and "16 MiB" in err, err
    assert err.count("bulwark:") == 1


def test_long_names(tmp_path):
    """1 MB service and variable names (explicit keys): keys in the model and in findings
    are cut at 512 bytes, instead of one copy per item and finding (400 MiB before)."""
    f = tmp_path / "names.yaml"
    with open(f, "w") as fh:
        fh.write("services:\n")
        for i in range(4):
            fh.write(f"  ? {chr(97 + i) * MIB}\n  :\n    image: nginx\n    privileged: true\n"
                     "    volumes: ['/:/host', '/etc:/etc']\n    ports: ['80:80', '22:22']\n"
                     f"    environment:\n      ? {'K' * MIB}\n      : AKIAIOSFODNN7REALKEY\n")
    rc, err, out = measure(tmp_path, "names", ["audit", "--fail-on", "none", "-f", "json", f])
    assert rc == 0, err
    found = json.loads(out.read_text())["findings"]
    privileged = [x for x in found if x["id"] == "privileged-container"]
    assert len(privileged) == 4
    keys = [x["location"]["key"] for x in found]
    assert max(len(k.encode()) for k in keys) <= 512 + 3
    assert privileged[0]["location"]["key"].startswith("services.aaaa")
    assert privileged[0]["location"]["key"].endswith("\u2026")


@pytest.mark.parametrize("n,ok", [(4096, True), (4097, False), (50000, False)])
def test_items_per_workload(tmp_path, n, ok):
    """Mounts of one service: 4096 audited, more refused in one line (never silently cut)."""
    f = tmp_path / "vols.yaml"
    with open(f, "w") as fh:
        fh.write("services:\n  web:\n    image: nginx\n    volumes:\n")
        fh.writelines(f"      - /srv/d{i}:/d{i}\n" for i in range(n - 1))
        fh.write("      - /var/run/docker.sock:/var/run/docker.sock\n")
    rc, err, out = measure(tmp_path, "vols", ["audit", "--fail-on", "none", "-f", "json", f])
    if ok:
        assert rc == 0, err
        ids = {x["id"] for x in json.loads(out.read_text())["findings"]}
        assert "sensitive-host-mount" in ids, ids
    else:
        assert rc == 2 and "web: more than 4096 mounts" in err, err
        assert err.count("bulwark:") == 1
