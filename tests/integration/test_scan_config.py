"""bulwark scan: image best practices (category config) on a generated image built like a
Dockerfile, a near-miss image that must stay quiet, and the build step behind every finding on
a file (text, JSON, SARIF), including a file a later step removes."""
import json

import image_util as u

PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
          "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          "toor:x:0:0::/root:/bin/sh\n"
          "app:x:10001:10001::/home/app:/bin/sh\n")
SHADOW = "root::19000:0:99999:7:::\ndaemon:$6$s$h:19000::::::\napp:!:19000::::::\n"


def careless_image(tmp_path):
    """FROM base / RUN apt-get update / COPY . /app / RUN curl | sh / RUN rm tool,
    with the empty-layer steps (ENV, USER, CMD) a real history has between them."""
    layers = [
        u.Layer([u.D("etc"), u.F("etc/passwd", PASSWD), u.F("etc/shadow", SHADOW, mode=0o640),
                 u.D("usr/bin"), u.F("usr/bin/passwd", "x", mode=0o4755),
                 u.F("usr/bin/sudo", "x", mode=0o4755)]),
        u.Layer([u.F("var/lib/apt/lists/deb.debian.org_Packages", "Package: x\n")]),
        u.Layer([u.D("app"), u.F("app/main.py", "print(1)\n", uid=1000),
                 u.F("app/tool", "x", mode=0o4755), u.F("app/run.sh", "x", mode=0o777)]),
        u.Layer([u.F("usr/local/bin/x", "x", mode=0o755)]),
        u.Layer([u.W("app/tool")]),
    ]
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:0ab in / "},
        {"created_by": "/bin/sh -c #(nop)  ENV LANG=C.UTF-8", "empty_layer": True},
        {"created_by": "RUN /bin/sh -c apt-get update # buildkit"},
        {"created_by": "WORKDIR /app", "empty_layer": True},
        {"created_by": "COPY . /app # buildkit"},
        {"created_by": "RUN |1 NPM_TOKEN=npm_abc /bin/sh -c curl -fsSL https://x.io/i | sh"
                       " # buildkit"},
        {"created_by": "RUN /bin/sh -c rm -f /app/tool # buildkit"},
        {"created_by": "CMD [\"/bin/sh\" \"-c\" \"python3 /app/main.py\"]", "empty_layer": True},
    ]
    config = {"User": "web", "ExposedPorts": {"22/tcp": {}, "5432/tcp": {}},
              "Volumes": {"/etc": {}}, "Cmd": ["/bin/sh", "-c", "python3 /app/main.py"],
              "StopSignal": "SIGQUIT",
              "Labels": {"org.opencontainers.image.base.name": "docker.io/library/debian"}}
    cfg = u.config_for(layers, config=config, history=history)
    return u.docker_save(tmp_path / "careless.tar", layers, config_bytes=cfg)


def careful_image(tmp_path):
    """The near miss of each rule above."""
    layers = [
        u.Layer([u.D("etc"), u.F("etc/passwd", PASSWD.replace("toor:x:0:", "toor:x:999:")),
                 u.F("etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:*:19000::::::\n"),
                 u.D("usr/bin"), u.F("usr/bin/sudoedit.txt", "x")]),
        u.Layer([u.D("app", mode=0o755), u.F("app/main.py", "print(1)\n", uid=10001),
                 u.D("tmp", mode=0o1777), u.F("var/lib/apt/lists/lock", "")]),
    ]
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:0ab in / "},
        {"created_by": "RUN /bin/sh -c apt-get update && apt-get install -y curl && "
                       "curl -fsSL https://x.io/a.tgz | tar -xz # buildkit"},
        {"created_by": "USER app", "empty_layer": True},
    ]
    config = {"User": "app", "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/var/lib/app": {}},
              "Entrypoint": ["/app/main.py"], "Healthcheck": {"Test": ["CMD", "true"]},
              "StopSignal": "SIGQUIT",
              "Labels": {"org.opencontainers.image.base.name": "docker.io/library/debian:12"}}
    cfg = u.config_for(layers, config=config, history=history)
    return u.docker_save(tmp_path / "careful.tar", layers, config_bytes=cfg)


def scan(bulwark, img, *args):
    p = bulwark("scan", "--fail-on", "none", *args, img, check=0)
    return p.stdout


def config_findings(bulwark, img):
    doc = json.loads(scan(bulwark, img, "-f", "json"))
    return [f for f in doc["findings"] if f["category"] == "config"]


EXPECTED = {
    "image-user-unknown", "account-empty-password", "account-extra-uid0",
    "account-service-password", "setuid-file", "world-writable-file", "file-owner-unknown",
    "history-pipe-to-shell", "history-update-alone", "history-build-arg-secret",
    "package-cache-left", "sudo-installed", "base-image-unpinned", "image-exposed-admin-port",
    "image-no-healthcheck", "entrypoint-shell-form", "volume-system-path",
    "stopsignal-ignored",
}


def test_careless_image_every_rule(bulwark, tmp_path):
    got = {f["id"] for f in config_findings(bulwark, careless_image(tmp_path))}
    assert EXPECTED <= got, EXPECTED - got


def test_careful_image_quiet(bulwark, tmp_path):
    got = [(f["id"], f.get("message")) for f in config_findings(bulwark, careful_image(tmp_path))]
    assert got == []


def test_known_setuid_lower(bulwark, tmp_path):
    f = config_findings(bulwark, careless_image(tmp_path))
    sev = {x["location"]["path"]: x["severity"] for x in f if x["id"] == "setuid-file"}
    assert sev["usr/bin/passwd"] == "low" and sev["app/tool"] == "medium"
    ports = {x["location"]["key"]: x["severity"] for x in f
             if x["id"] == "image-exposed-admin-port"}
    assert ports == {"config.ExposedPorts.22/tcp": "medium",
                     "config.ExposedPorts.5432/tcp": "low"}


def test_stopsignal_every_format(bulwark, tmp_path):
    """The STOPSIGNAL a shell as PID 1 drops: its risk and fix in text, JSON and SARIF."""
    img = careless_image(tmp_path)
    f = [x for x in config_findings(bulwark, img) if x["id"] == "stopsignal-ignored"]
    assert len(f) == 1 and f[0]["severity"] == "info"
    assert f[0]["location"]["key"] == "config.StopSignal"
    assert "SIGQUIT goes to `/bin/sh -c` (PID 1, CMD)" in f[0]["message"]
    assert "exec form" in f[0]["remediation"]
    text = scan(bulwark, img, "--severity", "info")
    assert "stopsignal-ignored" in text and "SIGQUIT goes to `/bin/sh -c`" in text
    sarif = json.loads(scan(bulwark, img, "-f", "sarif"))
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "exec form" in json.dumps(rules["stopsignal-ignored"])
    assert any(r["ruleId"] == "stopsignal-ignored" for r in sarif["runs"][0]["results"])


def test_provenance_json(bulwark, tmp_path):
    f = config_findings(bulwark, careless_image(tmp_path))
    by = {(x["id"], x["location"].get("path")): x for x in f}
    assert by[("world-writable-file", "app/run.sh")]["addedBy"] == "COPY . /app (step 5 of 8)"
    assert "removedBy" not in by[("world-writable-file", "app/run.sh")]
    tool = by[("setuid-file", "app/tool")]
    assert tool["addedBy"] == "COPY . /app (step 5 of 8)"
    assert tool["removedBy"] == "RUN rm -f /app/tool (step 7 of 8)"
    cache = by[("package-cache-left", "var/lib/apt/lists/deb.debian.org_Packages")]
    assert cache["addedBy"] == "RUN apt-get update (step 3 of 8)"
    # config findings have no layer, so no step
    assert all("addedBy" not in x for x in f if x["location"].get("key"))


def test_provenance_text_and_sarif(bulwark, tmp_path):
    img = careless_image(tmp_path)
    text = scan(bulwark, img)
    assert "added by: COPY . /app (step 5 of 8); removed by: RUN rm -f /app/tool (step 7 of 8)" \
        in text
    # build args are never shown in a step, only their names in the rule's message
    assert "npm_abc" not in text
    sarif = json.loads(scan(bulwark, img, "-f", "sarif"))
    res = sarif["runs"][0]["results"]
    tool = [r for r in res if r["ruleId"] == "setuid-file"
            and "app/tool" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]]
    assert tool[0]["properties"]["addedBy"] == "COPY . /app (step 5 of 8)"
    assert tool[0]["properties"]["removedBy"] == "RUN rm -f /app/tool (step 7 of 8)"
    assert "added by: COPY . /app" in tool[0]["message"]["text"]


def test_provenance_secret_finding(bulwark, tmp_path):
    """Every category benefits: a secret in a file names its step too."""
    layers = [u.Layer([u.F("etc/os-release", "ID=x\n")]),
              u.Layer([u.F("app/.env", "GITHUB_TOKEN=ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3Nb7V\n")])]
    history = [{"created_by": "/bin/sh -c #(nop) ADD file:0ab in / "},
               {"created_by": "COPY .env /app/ # buildkit"}]
    img = u.docker_save(tmp_path / "s.tar", layers,
                        config_bytes=u.config_for(layers, history=history))
    doc = json.loads(scan(bulwark, img, "-f", "json"))
    sec = [f for f in doc["findings"] if f["category"] == "secret"]
    assert sec and all(f["addedBy"] == "COPY .env /app/ (step 2 of 2)" for f in sec)


def test_provenance_unaligned_history(bulwark, tmp_path):
    """History that does not match the layers names no step rather than a wrong one."""
    layers = [u.Layer([u.F("a", "x", mode=0o777)]), u.Layer([u.F("b", "x")])]
    history = [{"created_by": "COPY a / # buildkit"}]
    img = u.docker_save(tmp_path / "s.tar", layers,
                        config_bytes=u.config_for(layers, history=history))
    f = config_findings(bulwark, img)
    ww = [x for x in f if x["id"] == "world-writable-file"]
    assert ww and "addedBy" not in ww[0]
