"""bulwark scan: image best practices (category config) on a generated image built like a
Dockerfile, and a near-miss image that must stay quiet."""
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
