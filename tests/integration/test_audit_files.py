"""`bulwark audit FILE…`: the real-world-shaped fixtures, content detection, hostile and
malformed inputs, standard input, several files, report formats and exit status."""
import json
import shutil

import pytest

from audit_util import FIX, audit_json, ids


def at(findings, rule, key_prefix):
    return [f for f in findings if f["id"] == rule and f["location"]["key"].startswith(key_prefix)]


def test_compose_fixture(bulwark):
    found = audit_json(bulwark, FIX / "compose" / "risky.yaml")
    assert at(found, "sensitive-host-mount", "services.portainer.volumes[0]")[0]["severity"] \
        == "critical"
    assert at(found, "privileged-container", "services.cadvisor")
    assert at(found, "host-device", "services.cadvisor.devices[0]")
    assert at(found, "host-pid", "services.node-exporter")
    assert at(found, "host-network", "services.node-exporter")
    caps = {f["message"].split()[2]: f["severity"]
            for f in at(found, "dangerous-capability", "services.vpn")}
    assert caps == {"NET_ADMIN": "medium", "SYS_MODULE": "critical"}
    assert at(found, "seccomp-unconfined", "services.vpn")
    assert at(found, "apparmor-unconfined", "services.vpn")
    assert at(found, "admin-port-exposed", "services.db.ports[0]")
    # the x-env anchor was merged into db's environment; portainer got the logging anchor
    assert at(found, "restart-unbounded", "services.portainer")
    # node-exporter's rslave mount is fine, db's rshared one is not
    assert [f["location"]["key"] for f in found if f["id"] == "mount-propagation-shared"] == \
        ["services.db.volumes[1]"]
    # lines point into the file
    line = at(found, "privileged-container", "services.cadvisor")[0]["location"]["line"]
    text = (FIX / "compose" / "risky.yaml").read_text().splitlines()
    assert text[line - 1].strip() == "image: gcr.io/cadvisor/cadvisor:v0.47.0"


def test_k8s_fixture(bulwark):
    found = audit_json(bulwark, FIX / "k8s" / "risky.yaml")
    names = {f["message"].split(":")[0] + ":" + f["message"].split(":")[1] for f in found}
    # every pod-template kind and the List item are read; init containers too
    for w in ("DaemonSet/logging/log-shipper:shipper", "Deployment/ci/ci-runner:runner",
              "CronJob/db/backup:dump", "CronJob/db/backup:wait", "Pod/default/debug:shell"):
        assert w in names, (w, names)
    assert at(found, "sensitive-host-mount",
              "items[0].spec.template.spec.containers[0].volumeMounts[0]")[0]["severity"] \
        == "critical"
    assert at(found, "apparmor-unconfined", "items[0].")  # via the legacy annotation
    assert at(found, "mount-propagation-shared", "items[0].")
    assert at(found, "admin-port-exposed", "spec.jobTemplate")
    assert not [f for f in found if f["id"] in ("no-pids-limit", "restart-unbounded",
                                                 "host-device", "host-uts")]


def test_k8s_hardened_has_nothing_medium(bulwark):
    assert ids(audit_json(bulwark, FIX / "k8s" / "hardened.yaml"), "medium") == []
    assert ids(audit_json(bulwark, FIX / "compose" / "hardened.yaml"), "medium") == []
    assert ids(audit_json(bulwark, FIX / "inspect" / "hardened.json"), "medium") == []
    assert ids(audit_json(bulwark, FIX / "oci" / "hardened.json"), "medium") == []


def test_k8s_kinds_and_json(bulwark, tmp_path):
    pod = {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}
    docs = [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
         "spec": {"template": {"spec": pod}}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
         "spec": {"template": {"spec": pod}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
         "spec": {"template": {"spec": pod}}},
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
         "template": {"spec": pod}},
        {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
         "spec": {"template": {"spec": pod}}},
    ]
    f = tmp_path / "list.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    found = [x for x in audit_json(bulwark, f) if x["id"] == "privileged-container"]
    assert sorted(x["message"].split(":")[0] for x in found) == [
        "Job/j", "PodTemplate/t", "ReplicaSet/r", "ReplicationController/rc", "StatefulSet/s"]


@pytest.mark.parametrize("name,content,msg", [
    ("bad.json", '{"services": {"a": 1,}}', "bad.json:1: invalid JSON"),
    ("bad.yaml", "services:\n  web:\n    image: [a\n", "bad.yaml:"),
    ("dup.yaml", "services:\n  web: {}\n  web: {}\n", "dup.yaml:3: duplicate mapping key"),
    ("unknown.yaml", "name: my-app\nversion: 2\n", "unknown input"),
    ("unknown.json", '{"name": "x"}', "unknown input"),
    ("empty.yaml", "# nothing here\n", "empty input"),
    ("notk8s.yaml", "apiVersion: v1\nkind: Pod\nspec: {}\n---\nhello: world\n",
     "notk8s.yaml:5: document: not a Kubernetes object"),
    ("bomb.yaml", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
     "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nservices: {x: *g}\n", "alias expansion"),
    ("deep.yaml", "services: " + "[" * 200 + "]" * 200 + "\n", "nesting deeper than"),
    ("binary.yaml", "services:\n  a: \x00\x01\n", "binary.yaml:"),
])
def test_bad_inputs(bulwark, tmp_path, name, content, msg):
    f = tmp_path / name
    f.write_text(content)
    p = bulwark("audit", f, check=2)
    assert msg in p.stderr, p.stderr
    assert p.stderr.count("bulwark:") == 1 and p.stdout == ""


def test_huge_input(bulwark, tmp_path):
    f = tmp_path / "huge.yaml"
    with open(f, "wb") as fh:
        fh.truncate(65 << 20)  # sparse: costs nothing, must be refused before reading
    p = bulwark("audit", f, check=2)
    assert "over the 67108864-byte limit" in p.stderr
    p = bulwark("audit", tmp_path / "missing.yaml", check=2)
    assert "missing.yaml" in p.stderr
    p = bulwark("audit", tmp_path, check=2)
    assert "not a regular file" in p.stderr


def test_stdin_and_several_files(bulwark):
    text = (FIX / "inspect" / "risky.json").read_text()
    p = bulwark("audit", "--format", "json", "-", input=text, check=1)
    assert "privileged-container" in {f["id"] for f in json.loads(p.stdout)["findings"]}
    p = bulwark("audit", "--format", "json", FIX / "oci" / "risky.json",
                FIX / "compose" / "hardened.yaml", check=1)
    targets = {f["location"]["target"] for f in json.loads(p.stdout)["findings"]}
    assert targets == {str(FIX / "oci" / "risky.json")}


def test_exit_status_and_formats(bulwark, tmp_path):
    hardened = FIX / "compose" / "hardened.yaml"
    risky = FIX / "compose" / "risky.yaml"
    bulwark("audit", hardened, check=0)
    bulwark("audit", risky, check=1)
    bulwark("audit", "--fail-on", "none", risky, check=0)
    bulwark("audit", "--fail-on", "info", FIX / "inspect" / "hardened.json", check=1)
    out = tmp_path / "r.sarif"
    bulwark("audit", "--format", "sarif", "-o", out, risky, check=1)
    sarif = json.loads(out.read_text())
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "privileged-container" in rules
    loc = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("tests/fixtures/audit/compose/risky.yaml")
    assert not loc["artifactLocation"]["uri"].startswith("/") and loc["region"]["startLine"] > 1
    p = bulwark("audit", "-v", risky, check=1)
    assert "CIS Docker Benchmark 5.4" in p.stdout and "Pod Security Standards" in p.stdout


def test_sarif_uris_for_host_files(bulwark, tmp_path):
    """A host file's SARIF URI is relative to the working directory when the file is under it;
    elsewhere it keeps its absolute path under a declared file:/// base, never a bogus
    repository path (/tmp/x/compose.yaml once became tmp/x/compose.yaml)."""
    d = tmp_path / "proj"
    (d / "sub").mkdir(parents=True)
    shutil.copy(FIX / "compose" / "risky.yaml", d / "compose.yaml")

    def uris(cwd, arg):
        out = tmp_path / "r.sarif"
        bulwark("audit", "-f", "sarif", "-o", out, arg, cwd=cwd, check=1)
        run = json.loads(out.read_text())["runs"][0]
        locs = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                 r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId"))
                for r in run["results"]}
        return locs, run.get("originalUriBaseIds")

    # under the working directory, named absolutely or relatively: a relative reference
    for cwd, arg in ((d, d / "compose.yaml"), (d, "compose.yaml"), (d, "./compose.yaml"),
                     (tmp_path, "proj/compose.yaml")):
        locs, bases = uris(cwd, arg)
        expect = "compose.yaml" if cwd == d else "proj/compose.yaml"
        assert locs == {(expect, None)}, (cwd, arg, locs)
        assert bases is None
    # outside it: the absolute path under HOSTROOT = file:///
    for arg in (d / "compose.yaml", "../compose.yaml"):
        locs, bases = uris(d / "sub", arg)
        rel = str(d / "compose.yaml").lstrip("/")
        assert locs == {(rel, "HOSTROOT")}, (arg, locs)
        assert bases == {"HOSTROOT": {"uri": "file:///"}}


def test_usage_errors(bulwark):
    p = bulwark("audit", check=2)
    assert "missing what to audit" in p.stderr
    p = bulwark("audit", "host", "extra", check=2)
    assert "takes no further arguments" in p.stderr
    p = bulwark("audit", "--all", "host", check=2)
    assert "--all applies to 'audit containers' only" in p.stderr
    p = bulwark("audit", "--timeout", "0", "daemon", check=2)
    p = bulwark("help", "audit", check=0)
    assert "docker inspect" in p.stdout and "--daemon-config" in p.stdout


def test_compose_long_syntax(bulwark, tmp_path):
    f = tmp_path / "compose.yaml"
    f.write_text("""
services:
  app:
    image: app@sha256:%s
    user: "1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    mem_limit: 128m
    cpus: 1
    pids_limit: 50
    volumes:
      - type: bind
        source: /var/lib/docker
        target: /docker
        read_only: true
      - type: bind
        source: /srv/data
        target: /data
        bind: {propagation: rshared}
      - type: volume
        source: cache
        target: /cache
    ports:
      - target: 3306
        published: 3306
        protocol: tcp
      - target: 5432
        published: 5432
        host_ip: 127.0.0.1
      - "[::]:6379:6379"
      - "[::1]:27017:27017"
    environment:
      - AWS_ACCESS_KEY_ID=AKIAIOSFODNN7REALKEY
      - LOG_LEVEL=debug
    deploy:
      restart_policy: {condition: any}
""" % ("cd" * 32))
    found = audit_json(bulwark, f)
    keys = {(x["id"], x["location"]["key"]) for x in found}
    assert ("sensitive-host-mount", "services.app.volumes[0]") in keys
    assert ("mount-propagation-shared", "services.app.volumes[1]") in keys
    ports = sorted(k for i, k in keys if i == "admin-port-exposed")
    assert ports == ["services.app.ports[0]", "services.app.ports[2]"]
    assert ("secret-in-env", "services.app.environment[0]") in keys
    assert ("restart-unbounded", "services.app") in keys
    assert ids(found, "medium") == ["admin-port-exposed", "mount-propagation-shared",
                                    "secret-in-env", "sensitive-host-mount"]


def test_inspect_binds_without_mounts(bulwark, tmp_path):
    """Older or trimmed inspect output without the top-level Mounts list."""
    doc = json.loads((FIX / "inspect" / "hardened.json").read_text())
    del doc[0]["Mounts"]
    doc[0]["HostConfig"]["Binds"] = ["/etc:/host-etc:ro", "named:/data", "/srv/x:/x:rw,rshared"]
    f = tmp_path / "i.json"
    f.write_text(json.dumps(doc))
    found = audit_json(bulwark, f)
    keys = {(x["id"], x["location"]["key"]) for x in found}
    assert ("sensitive-host-mount", "[0].HostConfig.Binds[0]") in keys
    assert ("mount-propagation-shared", "[0].HostConfig.Binds[2]") in keys
    assert len([k for k in keys if k[0] == "sensitive-host-mount"]) == 1


def test_same_service_in_two_files(bulwark, tmp_path):
    """Findings of identical services in different files are not merged."""
    for n in ("a", "b"):
        (tmp_path / f"{n}.yaml").write_text("services:\n  web:\n    privileged: true\n")
    p = bulwark("audit", "--format", "json", tmp_path / "a.yaml", tmp_path / "b.yaml", check=1)
    priv = [f for f in json.loads(p.stdout)["findings"] if f["id"] == "privileged-container"]
    assert len(priv) == 2
