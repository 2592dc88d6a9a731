"""Helpers for the `bulwark audit` tests: hardened base documents for each input kind and
the mutations that make one rule fire (true positive) or almost fire (near miss)."""
import copy
import json
import os
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[2]
FIX = TOP / "tests" / "fixtures" / "audit"
DIGEST = "sha256:" + "ab" * 32
# fake credentials shaped like real ones (the secret rules' own test examples)
AWS_KEY = "AKIAIOSFODNN7REALKEY"
PASSWORD = "Xk9#mP2$vL7qRz"
GH_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


def k8s_base():
    return yaml.safe_load_all((FIX / "k8s" / "hardened.yaml").read_text())


def k8s_deployment():
    for d in k8s_base():
        if d and d.get("kind") == "Deployment":
            return d
    raise AssertionError("no Deployment in hardened.yaml")


def compose_base():
    return yaml.safe_load((FIX / "compose" / "hardened.yaml").read_text())


def oci_base():
    return json.loads((FIX / "oci" / "hardened.json").read_text())


def inspect_base():
    return json.loads((FIX / "inspect" / "hardened.json").read_text())


# --- accessors used by the mutation table -------------------------------------------------

def kc(d):
    """the first container of a Deployment"""
    return d["spec"]["template"]["spec"]["containers"][0]


def kpod(d):
    return d["spec"]["template"]["spec"]


def ksc(d):
    return kc(d).setdefault("securityContext", {})


def cs(d):
    """the web service of the compose base"""
    return d["services"]["web"]


def hc(d):
    return d[0]["HostConfig"]


def cfg(d):
    return d[0]["Config"]


def add_k8s_hostpath(d, path, mount, read_only=False, prop=None):
    vm = {"name": "hp", "mountPath": mount}
    if read_only:
        vm["readOnly"] = True
    if prop:
        vm["mountPropagation"] = prop
    kc(d).setdefault("volumeMounts", []).append(vm)
    kpod(d).setdefault("volumes", []).append({"name": "hp", "hostPath": {"path": path}})


def add_inspect_bind(d, src, dst, rw=True, prop="rprivate"):
    d[0]["Mounts"].append({"Type": "bind", "Source": src, "Destination": dst, "Mode": "",
                           "RW": rw, "Propagation": prop})


def add_oci_bind(d, src, dst, opts):
    d["mounts"].append({"destination": dst, "type": "bind", "source": src, "options": opts})


def _set(obj, key, value):
    obj[key] = value


# rule id -> kind -> (true-positive mutation, near-miss mutation); each takes the document
MUTATIONS = {
    "privileged-container": {
        "compose": (lambda d: _set(cs(d), "privileged", True),
                    lambda d: _set(cs(d), "privileged", False)),
        "k8s": (lambda d: _set(ksc(d), "privileged", True),
                lambda d: _set(ksc(d), "privileged", False)),
        "inspect": (lambda d: _set(hc(d), "Privileged", True),
                    lambda d: _set(hc(d), "Privileged", False)),
    },
    "dangerous-capability": {
        "compose": (lambda d: _set(cs(d), "cap_add", ["SYS_ADMIN"]),
                    lambda d: _set(cs(d), "cap_add", ["NET_BIND_SERVICE"])),
        "k8s": (lambda d: ksc(d)["capabilities"].update(add=["CAP_SYS_PTRACE"]),
                lambda d: ksc(d)["capabilities"].update(add=["NET_BIND_SERVICE"])),
        "inspect": (lambda d: _set(hc(d), "CapAdd", ["DAC_READ_SEARCH"]),
                    lambda d: _set(hc(d), "CapAdd", ["CHOWN"])),
        "oci": (lambda d: d["process"]["capabilities"].update(bounding=["CAP_SYS_MODULE"]),
                lambda d: d["process"]["capabilities"].update(bounding=["CAP_KILL"])),
    },
    "capabilities-not-dropped": {
        "compose": (lambda d: cs(d).pop("cap_drop"),
                    lambda d: _set(cs(d), "cap_drop", ["all", "NET_RAW"])),
        "k8s": (lambda d: _set(ksc(d), "capabilities", {"drop": ["NET_RAW"]}),
                lambda d: _set(ksc(d), "capabilities", {"drop": ["ALL"], "add": ["CHOWN"]})),
        "inspect": (lambda d: _set(hc(d), "CapDrop", ["NET_RAW", "MKNOD"]),
                    lambda d: _set(hc(d), "CapDrop", ["ALL"])),
        "oci": (lambda d: d["process"]["capabilities"].update(bounding=["CAP_CHOWN"]),
                lambda d: d["process"]["capabilities"].update(
                    bounding=["CAP_NET_BIND_SERVICE", "CAP_KILL"])),
    },
    "host-pid": {
        "compose": (lambda d: _set(cs(d), "pid", "host"),
                    lambda d: _set(cs(d), "pid", "service:db")),
        "k8s": (lambda d: _set(kpod(d), "hostPID", True),
                lambda d: _set(kpod(d), "hostPID", False)),
        "inspect": (lambda d: _set(hc(d), "PidMode", "host"),
                    lambda d: _set(hc(d), "PidMode", "container:abc")),
        "oci": (lambda d: d["linux"].update(namespaces=[n for n in d["linux"]["namespaces"]
                                                        if n["type"] != "pid"]),
                lambda d: [n.update(path="/proc/4242/ns/pid") for n in d["linux"]["namespaces"]
                           if n["type"] == "pid"]),
    },
    "host-ipc": {
        "compose": (lambda d: _set(cs(d), "ipc", "host"),
                    lambda d: _set(cs(d), "ipc", "shareable")),
        "k8s": (lambda d: _set(kpod(d), "hostIPC", True),
                lambda d: _set(kpod(d), "hostIPC", False)),
        "inspect": (lambda d: _set(hc(d), "IpcMode", "host"),
                    lambda d: _set(hc(d), "IpcMode", "private")),
        "oci": (lambda d: d["linux"].update(namespaces=[n for n in d["linux"]["namespaces"]
                                                        if n["type"] != "ipc"]),
                lambda d: None),
    },
    "host-network": {
        "compose": (lambda d: _set(cs(d), "network_mode", "host"),
                    lambda d: _set(cs(d), "network_mode", "bridge")),
        "k8s": (lambda d: _set(kpod(d), "hostNetwork", True),
                lambda d: _set(kpod(d), "hostNetwork", False)),
        "inspect": (lambda d: _set(hc(d), "NetworkMode", "host"),
                    lambda d: _set(hc(d), "NetworkMode", "none")),
        "oci": (lambda d: [n.update(path="/proc/1/ns/net") for n in d["linux"]["namespaces"]
                           if n["type"] == "network"],
                lambda d: [n.update(path="/var/run/netns/app") for n in d["linux"]["namespaces"]
                           if n["type"] == "network"]),
    },
    "host-uts": {
        "compose": (lambda d: _set(cs(d), "uts", "host"), lambda d: _set(cs(d), "uts", "")),
        "inspect": (lambda d: _set(hc(d), "UTSMode", "host"),
                    lambda d: _set(hc(d), "UTSMode", "")),
        "oci": (lambda d: d["linux"].update(namespaces=[n for n in d["linux"]["namespaces"]
                                                        if n["type"] != "uts"]),
                lambda d: None),
    },
    "host-userns": {
        "compose": (lambda d: _set(cs(d), "userns_mode", "host"),
                    lambda d: _set(cs(d), "userns_mode", "")),
        "inspect": (lambda d: _set(hc(d), "UsernsMode", "host"),
                    lambda d: _set(hc(d), "UsernsMode", "")),
    },
    "sensitive-host-mount": {
        "compose": (lambda d: cs(d)["volumes"].append("/var/run/docker.sock:/var/run/docker.sock"),
                    lambda d: cs(d)["volumes"].append("/etc/ssl/certs:/etc/ssl/certs:ro")),
        "k8s": (lambda d: add_k8s_hostpath(d, "/etc", "/host/etc", read_only=True),
                lambda d: add_k8s_hostpath(d, "/etc/localtime", "/etc/localtime",
                                           read_only=True)),
        "inspect": (lambda d: add_inspect_bind(d, "/root", "/root-of-host", rw=False),
                    lambda d: add_inspect_bind(d, "/srv/app/config", "/config", rw=True)),
        "oci": (lambda d: add_oci_bind(d, "/boot", "/boot", ["rbind", "ro"]),
                lambda d: add_oci_bind(d, "/bootstrap", "/boot", ["rbind", "rw"])),
    },
    "mount-propagation-shared": {
        "compose": (lambda d: cs(d)["volumes"].append("/srv/shared:/shared:rshared"),
                    lambda d: cs(d)["volumes"].append("/srv/shared:/shared:rslave")),
        "k8s": (lambda d: add_k8s_hostpath(d, "/srv/x", "/x", prop="Bidirectional"),
                lambda d: add_k8s_hostpath(d, "/srv/x", "/x", prop="HostToContainer")),
        "inspect": (lambda d: add_inspect_bind(d, "/srv/x", "/x", prop="shared"),
                    lambda d: add_inspect_bind(d, "/srv/x", "/x", prop="rslave")),
        "oci": (lambda d: add_oci_bind(d, "/srv/x", "/x", ["rbind", "shared"]),
                lambda d: add_oci_bind(d, "/srv/x", "/x", ["rbind", "slave"])),
    },
    "hostpath-volume": {
        "k8s": (lambda d: add_k8s_hostpath(d, "/srv/data", "/data"),
                lambda d: kpod(d)["volumes"].append({"name": "cfg",
                                                     "configMap": {"name": "api"}})),
    },
    "host-device": {
        "compose": (lambda d: _set(cs(d), "devices", ["/dev/fuse:/dev/fuse"]),
                    lambda d: _set(cs(d), "devices", [])),
        "inspect": (lambda d: _set(hc(d), "Devices", [{"PathOnHost": "/dev/sda",
                                                       "PathInContainer": "/dev/sda",
                                                       "CgroupPermissions": "rwm"}]),
                    lambda d: _set(hc(d), "Devices", [])),
        "oci": (lambda d: d["linux"].setdefault("devices", []).append(
            {"path": "/dev/kvm", "type": "c", "major": 10, "minor": 232}),
                lambda d: d["linux"].setdefault("devices", []).append(
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3})),
    },
    "seccomp-unconfined": {
        "compose": (lambda d: cs(d).setdefault("security_opt", []).append("seccomp:unconfined"),
                    lambda d: cs(d).setdefault("security_opt", []).append(
                        "seccomp=/etc/docker/seccomp-strict.json")),
        "k8s": (lambda d: _set(ksc(d), "seccompProfile", {"type": "Unconfined"}),
                lambda d: _set(ksc(d), "seccompProfile", {"type": "Localhost",
                                                          "localhostProfile": "api.json"})),
        "inspect": (lambda d: hc(d)["SecurityOpt"].append("seccomp=unconfined"),
                    lambda d: hc(d)["SecurityOpt"].append("seccomp={\"defaultAction\":"
                                                          "\"SCMP_ACT_ERRNO\"}")),
        "oci": (lambda d: d["linux"].pop("seccomp"),
                lambda d: d["linux"]["seccomp"].update(defaultAction="SCMP_ACT_KILL")),
    },
    "apparmor-unconfined": {
        "compose": (lambda d: cs(d).setdefault("security_opt", []).append("apparmor:unconfined"),
                    lambda d: cs(d).setdefault("security_opt", []).append("apparmor:web")),
        "k8s": (lambda d: _set(ksc(d), "appArmorProfile", {"type": "Unconfined"}),
                lambda d: _set(ksc(d), "appArmorProfile", {"type": "RuntimeDefault"})),
        "inspect": (lambda d: hc(d)["SecurityOpt"].append("apparmor=unconfined"),
                    lambda d: hc(d)["SecurityOpt"].append("apparmor=docker-default")),
        "oci": (lambda d: d["process"].update(apparmorProfile="unconfined"),
                lambda d: d["process"].update(apparmorProfile="docker-default")),
    },
    "selinux-disabled": {
        "compose": (lambda d: cs(d).setdefault("security_opt", []).append("label:disable"),
                    lambda d: cs(d).setdefault("security_opt", []).append(
                        "label:type:svirt_apache_t")),
        "k8s": (lambda d: _set(ksc(d), "seLinuxOptions", {"type": "spc_t"}),
                lambda d: _set(ksc(d), "seLinuxOptions", {"type": "container_t"})),
        "inspect": (lambda d: hc(d)["SecurityOpt"].append("label=disable"),
                    lambda d: hc(d)["SecurityOpt"].append("label=level:s0:c100,c200")),
        "oci": (lambda d: d["process"].update(
            selinuxLabel="system_u:system_r:spc_t:s0"),
                lambda d: d["process"].update(
            selinuxLabel="system_u:system_r:container_t:s0:c1,c2")),
    },
    "no-new-privileges-not-set": {
        "compose": (lambda d: _set(cs(d), "security_opt", ["no-new-privileges:false"]),
                    lambda d: _set(cs(d), "security_opt", ["no-new-privileges"])),
        "k8s": (lambda d: _set(ksc(d), "allowPrivilegeEscalation", True),
                lambda d: _set(ksc(d), "allowPrivilegeEscalation", False)),
        "inspect": (lambda d: _set(hc(d), "SecurityOpt", []),
                    lambda d: _set(hc(d), "SecurityOpt", ["no-new-privileges:true"])),
        "oci": (lambda d: d["process"].update(noNewPrivileges=False),
                lambda d: d["process"].update(noNewPrivileges=True)),
    },
    "runs-as-root": {
        "compose": (lambda d: _set(cs(d), "user", "root"),
                    lambda d: _set(cs(d), "user", "nobody")),
        "k8s": (lambda d: (kpod(d)["securityContext"].pop("runAsNonRoot"),
                           kpod(d)["securityContext"].pop("runAsUser")),
                lambda d: kpod(d)["securityContext"].pop("runAsUser")),
        "inspect": (lambda d: _set(cfg(d), "User", ""),
                    lambda d: _set(cfg(d), "User", "app")),
        "oci": (lambda d: d["process"].update(user={"uid": 0, "gid": 1000}),
                lambda d: d["process"].update(user={"uid": 1, "gid": 0})),
    },
    "rootfs-writable": {
        "compose": (lambda d: _set(cs(d), "read_only", False),
                    lambda d: _set(cs(d), "read_only", "true")),
        "k8s": (lambda d: ksc(d).pop("readOnlyRootFilesystem"),
                lambda d: _set(ksc(d), "readOnlyRootFilesystem", True)),
        "inspect": (lambda d: _set(hc(d), "ReadonlyRootfs", False),
                    lambda d: _set(hc(d), "ReadonlyRootfs", True)),
        "oci": (lambda d: d["root"].update(readonly=False), lambda d: None),
    },
    "no-memory-limit": {
        "compose": (lambda d: cs(d).pop("mem_limit"),
                    lambda d: (cs(d).pop("mem_limit"),
                               _set(cs(d), "deploy", {"resources": {"limits":
                                                                    {"memory": "512M"}}}))),
        "k8s": (lambda d: kc(d)["resources"]["limits"].pop("memory"),
                lambda d: kc(d)["resources"]["limits"].update(memory="1Gi")),
        "inspect": (lambda d: _set(hc(d), "Memory", 0),
                    lambda d: _set(hc(d), "Memory", 6291456)),
        "oci": (lambda d: d["linux"]["resources"].pop("memory"),
                lambda d: d["linux"]["resources"]["memory"].update(limit=1 << 30)),
    },
    "no-cpu-limit": {
        "compose": (lambda d: cs(d).pop("cpus"),
                    lambda d: (cs(d).pop("cpus"),
                               _set(cs(d), "deploy", {"resources": {"limits":
                                                                    {"cpus": "0.25"}}}))),
        "k8s": (lambda d: kc(d)["resources"]["limits"].pop("cpu"),
                lambda d: kc(d)["resources"]["limits"].update(cpu=2)),
        "inspect": (lambda d: _set(hc(d), "NanoCpus", 0),
                    lambda d: (_set(hc(d), "NanoCpus", 0), _set(hc(d), "CpuQuota", 50000))),
        "oci": (lambda d: d["linux"]["resources"].pop("cpu"),
                lambda d: d["linux"]["resources"]["cpu"].update(quota=200000)),
    },
    "no-pids-limit": {
        "compose": (lambda d: cs(d).pop("pids_limit"),
                    lambda d: (cs(d).pop("pids_limit"),
                               _set(cs(d), "deploy", {"resources": {"limits": {"pids": 64}}}))),
        "inspect": (lambda d: _set(hc(d), "PidsLimit", None),
                    lambda d: _set(hc(d), "PidsLimit", 1)),
        "oci": (lambda d: d["linux"]["resources"].pop("pids"),
                lambda d: d["linux"]["resources"]["pids"].update(limit=32)),
    },
    "admin-port-exposed": {
        "compose": (lambda d: _set(cs(d), "ports", ["6379:6379"]),
                    lambda d: _set(cs(d), "ports", ["127.0.0.1:6379:6379", "8443:8443"])),
        "k8s": (lambda d: _set(kc(d), "ports", [{"containerPort": 22, "hostPort": 2222}]),
                lambda d: _set(kc(d), "ports", [{"containerPort": 22}])),
        "inspect": (lambda d: _set(hc(d), "PortBindings",
                                   {"27017/tcp": [{"HostIp": "", "HostPort": "27017"}]}),
                    lambda d: _set(hc(d), "PortBindings",
                                   {"27017/tcp": [{"HostIp": "10.0.0.5", "HostPort": "27017"}]})),
    },
    "restart-unbounded": {
        "compose": (lambda d: _set(cs(d), "restart", "always"),
                    lambda d: _set(cs(d), "restart", "on-failure:3")),
        "inspect": (lambda d: _set(hc(d), "RestartPolicy", {"Name": "unless-stopped",
                                                            "MaximumRetryCount": 0}),
                    lambda d: _set(hc(d), "RestartPolicy", {"Name": "on-failure",
                                                            "MaximumRetryCount": 3})),
    },
    "image-mutable-tag": {
        "compose": (lambda d: _set(cs(d), "image", "nginx:1.25"),
                    lambda d: _set(cs(d), "image", "nginx:1.25@" + DIGEST)),
        "k8s": (lambda d: _set(kc(d), "image", "registry.example.com/api:v2"),
                lambda d: _set(kc(d), "image", "registry.example.com:5000/api@" + DIGEST)),
        "inspect": (lambda d: _set(cfg(d), "Image", "redis:latest"),
                    lambda d: _set(cfg(d), "Image", "redis@" + DIGEST)),
    },
    "secret-in-env": {
        "compose": (lambda d: cs(d)["environment"].update(AWS_ACCESS_KEY_ID=AWS_KEY),
                    lambda d: cs(d)["environment"].update(DB_PASSWORD="${DB_PASSWORD}")),
        "k8s": (lambda d: kc(d)["env"].append({"name": "DB_PASSWORD", "value": PASSWORD}),
                lambda d: kc(d)["env"].append({"name": "DB_PASSWORD", "valueFrom": {
                    "secretKeyRef": {"name": "db", "key": "password"}}})),
        "inspect": (lambda d: cfg(d)["Env"].append("GITHUB_TOKEN=" + GH_TOKEN),
                    lambda d: cfg(d)["Env"].append("GITHUB_TOKEN_FILE=/run/secrets/gh")),
        "oci": (lambda d: d["process"]["env"].append("AWS_ACCESS_KEY_ID=" + AWS_KEY),
                lambda d: d["process"]["env"].append("AWS_REGION=eu-central-1")),
    },
    "automount-service-account-token": {
        "k8s": (lambda d: kpod(d).pop("automountServiceAccountToken"),
                lambda d: _set(kpod(d), "automountServiceAccountToken", False)),
    },
}

KINDS = ("compose", "k8s", "inspect", "oci")


def base(kind):
    return {"compose": compose_base, "k8s": k8s_deployment, "inspect": inspect_base,
            "oci": oci_base}[kind]()


def write_doc(kind, doc, path: Path):
    if kind in ("compose", "k8s"):
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    else:
        path.write_text(json.dumps(doc, indent=1))
    return path


def mutated(kind, mutation):
    d = copy.deepcopy(base(kind))
    mutation(d)
    return d


def audit_json(bulwark, *args, check=None):
    p = bulwark("audit", "--format", "json", *args, check=check)
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    return json.loads(p.stdout)["findings"]


def ids(findings, min_sev=None):
    order = ["info", "low", "medium", "high", "critical"]
    return sorted({f["id"] for f in findings
                   if min_sev is None or order.index(f["severity"]) >= order.index(min_sev)})


# --- throwaway TLS material for Engine API endpoints (openssl CLI) ------------------------

def _openssl(*args, cwd):
    import subprocess
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name="bwk-test-ca"):
    """A self-signed CA in d/ca.pem (key d/ca-key.pem); EC keys keep this fast."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return d / "ca.pem", d / "ca-key.pem"


def make_cert(ca_dir, out_dir, stem, server):
    """A leaf signed by ca_dir's CA: out_dir/STEM-cert.pem and STEM-key.pem. A server cert
    names 127.0.0.1 and localhost; a client cert is for client authentication only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = out_dir / f"{stem}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                   if server else "extendedKeyUsage=clientAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{stem}-key.pem", "-out", f"{stem}.csr", "-subj",
             "/CN=localhost" if server else "/CN=bwk-client", cwd=out_dir)
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", ca_dir / "ca.pem", "-CAkey",
             ca_dir / "ca-key.pem", "-set_serial", "0x" + os.urandom(8).hex(), "-days", "2",
             "-out", f"{stem}-cert.pem", "-extfile", ext.name, cwd=out_dir)
    return out_dir / f"{stem}-cert.pem", out_dir / f"{stem}-key.pem"


def docker_cert_dir(d, ca, cert, key):
    """A DOCKER_CERT_PATH directory as the docker CLI expects it."""
    import shutil
    d.mkdir(parents=True, exist_ok=True)
    for src, name in ((ca, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")):
        if src is not None:
            shutil.copy(src, d / name)
    return d
