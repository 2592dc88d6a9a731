"""Recall over the whole built-in table: every positive example of every rule in
rules/secrets.yaml is planted in several placements of one generated image — a file that a later
layer deletes, a member of a zip inside a tar.gz, the same text with CRLF line endings, after a
300 KB line, and (single-line examples of rules without `path`) an Env entry of the config —
and each must come back as a finding of that rule at that place. Negative examples planted the
same way must not be reported by their rule."""
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import TOP, run_bulwark
import image_util as u

RULES = yaml.safe_load((TOP / "rules" / "secrets.yaml").read_text())["rules"]

# Paths for path-scoped rules (tests/tools/check_secret_rules.py's canonical credential paths).
CANDIDATES = [
    "var/www/html/wp-config.php", "root/.docker/config.json", "home/app/.docker/config.json", "run/containers/0/auth.json",
    "root/.npmrc", "app/.npmrc", "app/.yarnrc.yml", "root/.pypirc", "root/.netrc",
    "home/ci/_netrc", "root/.git-credentials", "root/.aws/credentials", "root/.s3cfg",
    "root/.kube/config", "etc/kubernetes/admin.conf", "app/.env", "srv/app/.env.production",
    "etc/shadow", "etc/shadow-", "etc/nginx/.htpasswd", "var/www/.htpasswd", "root/.pgpass",
    "root/.my.cnf", "etc/mysql/debian.cnf", "etc/redis/redis.conf", "root/.m2/settings.xml",
    "app/gradle.properties", "root/.nuget/NuGet/NuGet.Config", "root/.composer/auth.json",
    "usr/local/tomcat/conf/tomcat-users.xml", "root/.azure/msal_token_cache.json",
    "app/mysite/settings.py", "app/config/master.key", "app/config/credentials/production.key",
    "etc/app/config.yaml", "opt/app/application.properties", "app/appsettings.json",
]


def path_for(rule):
    if not rule.get("path"):
        return None
    rx = re.compile(rule["path"])
    for p in CANDIDATES:
        if rx.search(p):
            return p
    raise AssertionError(f"rule {rule['id']}: no candidate path matches {rule['path']}")


def placements(rule, idx, text):
    """(path in the image, bytes, layer) for one example; paths keep the credential file's
    name at the end so that path-scoped rules apply."""
    base = path_for(rule) or "config.txt"
    d = f"recall/{rule['id']}/{idx}"
    out = [
        (f"{d}/deleted/{base}", text.encode(), "deleted"),
        (f"{d}/crlf/{base}", re.sub(r"(?<!\r)\n", "\r\n", text).encode(), "crlf"),
        (f"{d}/long/{base}", ("#" + "x" * 300_000 + "\n" + text).encode(), "long"),
    ]
    return out


def zip_of(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return b.getvalue()


def tgz_of(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def build(tmp_path, kind):
    l1, l2, zipped, env, expect = [], [], [], [], []
    for rule in RULES:
        for i, ex in enumerate((rule.get("examples") or {}).get(kind) or []):
            for path, data, where in placements(rule, i, ex):
                (l1 if where == "deleted" else l2).append(u.F(path, data))
                expect.append((rule["id"], path, where))
            zpath = f"recall/{rule['id']}/{i}/zip/{path_for(rule) or 'config.txt'}"
            zipped.append((zpath, ex.encode()))
            expect.append((rule["id"], "opt/bundle.tar.gz!/lib/all.zip!/" + zpath, "zip"))
            if "\n" not in ex and "\r" not in ex and not rule.get("path"):
                expect.append((rule["id"], f"config.Env[{len(env)}]", "env"))
                env.append(ex)
    layer1 = u.Layer(l1, comp="gzip")
    whiteouts = [u.W(p) for (_r, p, w) in expect if w == "deleted"]
    layer2 = u.Layer(whiteouts + l2 + [u.F("opt/bundle.tar.gz",
                                           tgz_of([("lib/all.zip", zip_of(zipped))]))],
                     comp="gzip")
    layers = [layer1, layer2]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Env": env, "Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
                      "history": [{"created_by": "x"}, {"created_by": "y"}]}).encode()
    img = u.docker_save(tmp_path / "recall.tar", layers, config_bytes=cfg)
    return img, expect


def scan(img):
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", img, check=0)
    found = set()
    hidden = {}
    for f in json.loads(p.stdout)["findings"]:
        loc = f["location"]
        where = loc.get("path") or loc.get("key")
        found.add((f["id"], where))
        if "removed in layer 2" in (f.get("message") or ""):
            hidden[(f["id"], where)] = True
        assert f["category"] == "secret" or not where.startswith("recall/")
    return found, hidden


def test_every_rule_found_in_every_placement(tmp_path):
    img, expect = build(tmp_path, "positive")
    assert len(expect) >= len(RULES) * 4
    found, hidden = scan(img)
    missing = [e for e in expect if (e[0], e[1]) not in found]
    assert not missing, f"{len(missing)} of {len(expect)} missing, e.g. {missing[:15]}"
    for rid, path, where in expect:
        if where == "deleted":
            assert hidden.get((rid, path)), (rid, path)


def test_negative_examples_stay_quiet(tmp_path):
    img, expect = build(tmp_path, "negative")
    found, _ = scan(img)
    reported = [e for e in expect if (e[0], e[1]) in found]
    assert not reported, f"{len(reported)} negative examples reported, e.g. {reported[:15]}"
