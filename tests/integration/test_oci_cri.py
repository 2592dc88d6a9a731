"""bulwark under Kubernetes' Container Runtime Interface: a private containerd with its CRI plugin
on and a runtime handler `bulwark` (the runc shim, BinaryName = bulwark: the configuration of
docs/kubernetes.md), driven over its gRPC socket as a kubelet drives it: Version, ImageStatus,
RunPodSandbox with runtime_handler "bulwark", CreateContainer, StartContainer, ContainerStatus,
UpdateContainerResources, ExecSync, StopContainer, RemoveContainer, StopPodSandbox,
RemovePodSandbox. The client is ours: cri/runtime_v1.proto, a subset of CRI runtime.v1 with
Kubernetes' field numbers, compiled by protoc at test time and called through grpc's generic
unary calls. The same pod through the handler `runc` is the control: the client and containerd
are right, and what differs is bulwark's (the hardening policy the pod's annotation asks for).

The pods are on a pod network (Debian's CNI plugins: a bridge of the test's own, with no
address on the host) or on the node's (NamespaceOption network=NODE, hostNetwork); the sandbox
("pause") image is a busybox one built here and imported into the k8s.io namespace, so nothing
is pulled."""
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import image_util as u
from conftest import BULWARK, make_busybox_rootfs
from containerd_util import Containerd

try:
    import grpc
except ImportError:
    grpc = None

PROTO = Path(__file__).parent / "cri" / "runtime_v1.proto"
CNI_BIN = "/usr/lib/cni"  # containernetworking-plugins
POD_SUBNET = "10.237.64.0/24"  # on a bridge with no address on the host: routed nowhere
PAUSE = "docker.io/library/bwk-cri-pause:1"
IMAGE = "docker.io/library/bwk-cri-busybox:1"
CRI_NS = "k8s.io"  # the containerd namespace of the CRI plugin's images and containers
# the runtime handlers: bulwark, and runc as the control
RUNTIMES = {"bulwark": BULWARK, "runc": shutil.which("runc") or "runc"}

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("containerd") or not shutil.which("protoc") or
    grpc is None or importlib.util.find_spec("google.protobuf") is None or
    not Path(CNI_BIN, "bridge").exists(),
    reason="needs root, containerd, protoc, python3-grpcio, python3-protobuf and "
    "containernetworking-plugins")


def bridge_of(base: Path) -> str:
    """The pod network's bridge: one per test run, as other tests share the host's network."""
    return "bwkcri" + base.name[-8:].replace("_", "0")


def cri_config(base: Path, wrappers) -> str:
    """The CRI plugin's section: docs/kubernetes.md's handler (plus the runc control), each
    binary behind a wrapper that logs its command line, and no path outside `base`. The pod
    network is Debian's CNI plugins: a bridge of its own without an address on the host (no
    route, no NAT: nothing of the host's network changes but one link), host-local addresses."""
    (base / "cni").mkdir()
    (base / "cni" / "10-bwk-cri.conflist").write_text(json.dumps({
        "cniVersion": "0.4.0", "name": "bwk-cri", "plugins": [
            {"type": "bridge", "bridge": bridge_of(base), "isGateway": False, "ipMasq": False,
             "ipam": {"type": "host-local", "dataDir": str(base / "ipam"),
                      "ranges": [[{"subnet": POD_SUBNET}]]}},
            {"type": "loopback"}]}))
    text = (f'[plugins."io.containerd.grpc.v1.cri"]\n'
            f'  sandbox_image = "{PAUSE}"\n'
            # not below containerd's own: the sandbox's -998 needs CAP_SYS_RESOURCE, which a
            # node has and a container running this suite may lack (runc fails there too)
            '  restrict_oom_score_adj = true\n'
            # the pods' network namespaces under the private state, not /var/run/netns
            '  netns_mounts_under_state_dir = true\n'
            '  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
            f'[plugins."io.containerd.grpc.v1.cri".cni]\n'
            f'  bin_dir = "{CNI_BIN}"\n  conf_dir = "{base}/cni"\n')
    for name, binary in wrappers.items():
        sect = f'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]'
        text += (f'{sect}\n  runtime_type = "io.containerd.runc.v2"\n'
                 '  pod_annotations = ["org.bulwark.*"]\n'
                 '  container_annotations = ["org.bulwark.*"]\n'
                 f'{sect[:-1]}.options]\n  BinaryName = "{binary}"\n'
                 f'  Root = "{base}/{name}-root"\n  SystemdCgroup = false\n')
    return text


class Cri:
    """A CRI client on containerd's socket: cri("Method", field=value, …) sends a
    MethodRequest and returns the MethodResponse (the messages of runtime_v1.proto)."""

    def __init__(self, base: Path, pb):
        self.base, self.pb = base, pb
        self.channel = grpc.insecure_channel(f"unix://{base / 'c.sock'}")

    def __call__(self, method, **fields):
        """One unary call; `fields` are the request's (a CRI `timeout` among them: the
        client's own deadline is fixed, two minutes)."""
        service = "ImageService" if method == "ImageStatus" else "RuntimeService"
        req = getattr(self.pb, method + "Request")(**fields)
        resp = getattr(self.pb, method + "Response")
        call = self.channel.unary_unary(f"/runtime.v1.{service}/{method}",
                                        request_serializer=req.__class__.SerializeToString,
                                        response_deserializer=resp.FromString)
        return call(req, timeout=120)


@pytest.fixture(scope="module")
def cri():
    base = Path(tempfile.mkdtemp(prefix="bwk-cri-"))
    # compile the client: the message classes only (no grpc service stubs are needed)
    (base / "pb").mkdir()
    subprocess.run(["protoc", f"-I{PROTO.parent}", f"--python_out={base / 'pb'}", str(PROTO)],
                   check=True, capture_output=True)
    sys.path.insert(0, str(base / "pb"))
    try:
        pb = importlib.import_module("runtime_v1_pb2")
    finally:
        sys.path.remove(str(base / "pb"))
    # BinaryName wrappers: each logs the command line the shim gave it, then is the runtime
    wrappers = {}
    for name, real in RUNTIMES.items():
        w = base / f"{name}-wrapper"
        w.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{base}/{name}.argv"\n'
                     f'exec "{real}" "$@"\n')
        w.chmod(0o755)
        wrappers[name] = w
    c = Containerd(base, cri=cri_config(base, wrappers), namespace=CRI_NS)
    client = None
    try:
        rootfs = make_busybox_rootfs(base / "rootfs")
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                             check=True).stdout
        env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        # the pause image: sleeps until the sandbox is stopped
        pause = u.docker_save(base / "pause.tar", [u.Layer(raw_tar=tar)],
                              tags=(PAUSE.split("/", 2)[2],),
                              config={"Env": env, "Entrypoint": [
                                  "/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 86400 & wait"]})
        app = u.docker_save(base / "app.tar", [u.Layer(raw_tar=tar)],
                            tags=(IMAGE.split("/", 2)[2],), config={"Env": env, "Cmd": ["/bin/sh"]})
        c.ctr("image", "import", pause)
        c.ctr("image", "import", app)
        client = Cri(base, pb)
        yield client
    finally:
        if client is not None:
            client.channel.close()
        c.stop()
        # the pods' /dev/shm mounts, had a RemovePodSandbox not run
        for line in reversed(Path("/proc/self/mountinfo").read_text().splitlines()):
            mnt = line.split()[4]
            if mnt.startswith(str(base) + "/"):
                subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(["ip", "link", "del", bridge_of(base)], capture_output=True)
        # the pods' cgroup parents (the runtimes removed the containers' own), in every
        # hierarchy: /sys/fs/cgroup/BASE on cgroup v2, /sys/fs/cgroup/*/BASE on v1
        for top in [Path("/sys/fs/cgroup")] + list(Path("/sys/fs/cgroup").iterdir()):
            for pod in sorted(top.glob(f"{base.name}/*")) + [top / base.name]:
                if pod.is_dir() and not pod.is_symlink():
                    try:
                        pod.rmdir()
                    except OSError:
                        pass  # (a co-mounted hierarchy's other name: cpu and cpu,cpuacct)


def run_pod(cri, handler, name, network):
    """One pod as a kubelet would run it, on the pod network (network=POD) or the node's
    (NODE, hostNetwork), with the pod annotation org.bulwark.harden=true (forwarded by
    pod_annotations to the runtime): what the client saw at each step."""
    base = cri.base
    seen = {"name": name}
    meta = cri.pb.PodSandboxMetadata(name=name, uid=f"uid-{name}", namespace="default")
    sec = cri.pb.LinuxSandboxSecurityContext(
        namespace_options=cri.pb.NamespaceOption(network=network))
    logdir = base / "pods" / name
    logdir.mkdir(parents=True)
    # the pod's cgroup parent, as a kubelet gives one (/kubepods/…/pod<uid>): the test's own
    linux = cri.pb.LinuxPodSandboxConfig(cgroup_parent=f"/{base.name}/{name}",
                                         security_context=sec)
    pod = cri.pb.PodSandboxConfig(metadata=meta, log_directory=str(logdir),
                                  annotations={"org.bulwark.harden": "true"}, linux=linux)
    sid = cri("RunPodSandbox", config=pod, runtime_handler=handler).pod_sandbox_id
    cid = None
    try:
        st = cri("PodSandboxStatus", pod_sandbox_id=sid, verbose=True)
        assert st.status.state == cri.pb.SANDBOX_READY, st.status
        assert st.status.runtime_handler == handler, st.status
        seen["sandbox"], seen["pod_ip"] = sid, st.status.network.ip
        seen["sandbox_netns"] = os.stat(f"/proc/{json.loads(st.info['info'])['pid']}/ns/net")
        ctr = cri.pb.ContainerConfig(
            metadata=cri.pb.ContainerMetadata(name="app"),
            image=cri.pb.ImageSpec(image=IMAGE),
            command=["/bin/sh", "-c"],
            args=["echo app-started; trap 'exit 5' TERM; sleep 86400 & wait"],
            log_path="app/0.log",
            linux=cri.pb.LinuxContainerConfig(security_context=cri.pb.LinuxContainerSecurityContext(
                namespace_options=cri.pb.NamespaceOption(network=network,
                                                         pid=cri.pb.CONTAINER))))
        cid = cri("CreateContainer", pod_sandbox_id=sid, config=ctr,
                  sandbox_config=pod).container_id
        seen["container"] = cid
        assert cri("ContainerStatus", container_id=cid).status.state == cri.pb.CONTAINER_CREATED
        cri("StartContainer", container_id=cid)
        st = cri("ContainerStatus", container_id=cid, verbose=True)
        assert st.status.state == cri.pb.CONTAINER_RUNNING, st.status
        seen["pid"] = json.loads(st.info["info"])["pid"]
        # the runtime's own view (`state` under the handler's Root, per namespace)
        p = subprocess.run([RUNTIMES[handler], "--root", base / f"{handler}-root" / CRI_NS,
                            "state", cid], capture_output=True, text=True)
        seen["state"] = json.loads(p.stdout) if p.returncode == 0 else p.stderr
        seen["cgroup"] = Path(f"/proc/{seen['pid']}/cgroup").read_text()
        # the container's memory limit, then the kubelet's in-place resize to 200 MiB
        seen["memory"] = [memory_limit(seen["pid"])]
        cri("UpdateContainerResources", container_id=cid, linux=cri.pb.LinuxContainerResources(
            memory_limit_in_bytes=200 << 20))
        seen["memory"].append(memory_limit(seen["pid"]))
        r = cri("ExecSync", container_id=cid, timeout=60, cmd=[
            "sh", "-c", "echo exec-out; grep -E '^(Seccomp|NoNewPrivs):' /proc/1/status; exit 3"])
        seen["exec"] = (r.exit_code, r.stdout.decode(), r.stderr.decode())
        seen["netns"] = os.stat(f"/proc/{seen['pid']}/ns/net")
        r = cri("ExecSync", container_id=cid, timeout=60,
                cmd=["busybox", "ip", "-4", "-o", "addr", "show"])
        seen["addrs"] = r.stdout.decode()
        seen["log.json"] = read_runtime_log(base, cid)
        cri("StopContainer", container_id=cid, timeout=10)  # SIGTERM, then the trap's exit 5
        st = cri("ContainerStatus", container_id=cid).status
        seen["stopped"] = (st.state, st.exit_code, st.reason)
        deadline = time.time() + 10
        log = logdir / "app" / "0.log"
        while "app-started" not in (log.read_text() if log.exists() else "") and \
                time.time() < deadline:
            time.sleep(0.1)
        seen["stdout"] = log.read_text() if log.exists() else ""
        cri("RemoveContainer", container_id=cid)
        cid = None
    finally:
        if cid is not None:
            cri("RemoveContainer", container_id=cid)
        cri("StopPodSandbox", pod_sandbox_id=sid)
        cri("RemovePodSandbox", pod_sandbox_id=sid)
    try:
        cri("PodSandboxStatus", pod_sandbox_id=sid)
        seen["removed"] = "still there"
    except grpc.RpcError as e:
        seen["removed"] = e.code()
    return seen


def memory_limit(pid):
    """The memory limit of the cgroup of `pid` (None: unlimited), cgroup v1 or v2."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            v = (Path("/sys/fs/cgroup/memory" + path) / "memory.limit_in_bytes").read_text()
            return None if int(v) >= 1 << 62 else int(v)
        if ctrls == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            v = (Path("/sys/fs/cgroup" + path) / "memory.max").read_text().strip()
            return None if v == "max" else int(v)
    raise AssertionError(f"no memory cgroup for {pid}")


def read_runtime_log(base: Path, cid: str):
    """The runtime's log (the shim gives it --log BUNDLE/log.json): bulwark's messages."""
    log = base / "state" / "io.containerd.runtime.v2.task" / CRI_NS / cid / "log.json"
    if not log.exists():
        return []
    return [json.loads(l)["msg"] for l in log.read_text().splitlines() if l.strip()]


def test_cri_version_and_images(cri):
    v = cri("Version", version="v1")
    assert v.runtime_name == "containerd" and v.runtime_api_version == "v1", v
    for ref in (PAUSE, IMAGE):
        img = cri("ImageStatus", image=cri.pb.ImageSpec(image=ref)).image
        assert ref in img.repo_tags and img.id.startswith("sha256:"), (ref, img)


def argv_of(cri, handler):
    """The command lines the shim gave a handler's binary."""
    f = cri.base / f"{handler}.argv"
    return f.read_text().splitlines() if f.exists() else []


def check_pod(cri, handler, seen):
    sid, cid = seen["sandbox"], seen["container"]
    # the handler's binary (the runc shim's BinaryName) ran both containers, each through its
    # whole life, and the other handler's never saw them
    # (each line: runc's global options, then the command, its options, the id[, signal])
    cmds = [l.split(" --log-format json ", 1)[-1].split() for l in argv_of(cri, handler)]
    ran = {(c[0], c[-2] if c[0] == "kill" else c[-1]) for c in cmds}
    for want in (("create", sid), ("start", sid), ("create", cid), ("start", cid),
                 ("exec", cid), ("kill", cid), ("delete", cid), ("kill", sid), ("delete", sid)):
        assert want in ran, (want, cmds)
    assert ["kill", cid, "15"] in cmds, cmds  # StopContainer's SIGTERM, before any SIGKILL
    other = next(h for h in RUNTIMES if h != handler)
    assert not any(sid in l or cid in l for l in argv_of(cri, other)), argv_of(cri, other)
    # running: the runtime's state agrees with containerd's pid
    assert isinstance(seen["state"], dict), seen["state"]
    assert seen["state"]["status"] == "running" and seen["state"]["pid"] == seen["pid"], seen
    # in the pod's cgroup parent, under the container's own cgroup
    assert f"/{cri.base.name}/{seen['name']}/{cid}" in seen["cgroup"], seen["cgroup"]
    # UpdateContainerResources reached the runtime (`update`), and the cgroup has the limit
    assert ("update", cid) in ran, cmds
    assert seen["memory"][1] == 200 << 20, seen["memory"]
    # ExecSync in the container, and the container's log through the CRI's log file
    code, out, err = seen["exec"]
    assert code == 3 and out.startswith("exec-out\n"), seen["exec"]
    assert "stdout F app-started" in seen["stdout"], seen["stdout"]
    # StopContainer: SIGTERM, which the container's trap turns into exit status 5
    assert seen["stopped"][:2] == (cri.pb.CONTAINER_EXITED, 5), seen["stopped"]
    # and nothing of either container is left, in containerd or in the runtime's state
    assert seen["removed"] == grpc.StatusCode.NOT_FOUND, seen["removed"]
    for i in (sid, cid):
        p = subprocess.run([RUNTIMES[handler], "--root", cri.base / f"{handler}-root" / CRI_NS,
                            "state", i], capture_output=True, text=True)
        assert p.returncode != 0, (i, p.stdout)
    return dict(l.split(":\t") for l in out.splitlines()[1:])


def check_network(cri, seen, network):
    """The pod's containers share the sandbox's network namespace (joined by its path): the
    pod network's, with the address the CNI plugin gave the pod, or the node's."""
    same = lambda a, b: (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    assert same(seen["netns"], seen["sandbox_netns"]), seen
    if network == cri.pb.POD:
        assert not same(seen["netns"], os.stat("/proc/self/ns/net")), seen
        assert seen["pod_ip"].startswith(POD_SUBNET.rsplit(".", 1)[0] + "."), seen["pod_ip"]
        assert f"inet {seen['pod_ip']}/24" in seen["addrs"], seen["addrs"]
        assert " eth0 " in seen["addrs"].replace(":", " "), seen["addrs"]
    else:
        assert same(seen["netns"], os.stat("/proc/self/ns/net")), seen


@pytest.mark.parametrize("network", ["POD", "NODE"])
def test_cri_pod_through_bulwark(cri, network):
    """The pod through the handler `bulwark`, with the pod annotation org.bulwark.harden=true
    that pod_annotations hands on to the runtime: bulwark's hardening policy is on inside the
    container (a seccomp filter, no_new_privs: the CRI request asked for neither), and each
    change is in the runtime log the shim gave bulwark."""
    seen = run_pod(cri, "bulwark", f"bwk-cri-{network.lower()}", getattr(cri.pb, network))
    status = check_pod(cri, "bulwark", seen)
    check_network(cri, seen, getattr(cri.pb, network))
    assert status == {"NoNewPrivs": "1", "Seccomp": "2"}, status
    assert seen["memory"][0] == 512 << 20, seen["memory"]  # the policy's; the pod set none
    msgs = seen["log.json"]
    assert all(m.startswith("harden: ") for m in msgs), msgs
    for what in ("seccomp: ", "process.noNewPrivileges set", "capabilities dropped: ",
                 "read-only root filesystem", "memory limit 512 MiB",
                 # a pod's containers share the sandbox's IPC namespace (one the host's root
                 # owns), so the policy adds no user namespace to them and says so
                 "no user namespace added: the bundle joins the ipc namespace"):
        assert any(what in m for m in msgs), (what, msgs)


def test_cri_pod_through_runc(cri):
    """The control: the same pod and client through the handler `runc` (runc ignores the
    annotation): the flow is the CRI's and containerd's, not bulwark's, and without bulwark
    the container has neither a seccomp filter nor no_new_privs."""
    seen = run_pod(cri, "runc", "bwk-cri-control", cri.pb.POD)
    status = check_pod(cri, "runc", seen)
    check_network(cri, seen, cri.pb.POD)
    assert status == {"NoNewPrivs": "0", "Seccomp": "0"}, status
    assert seen["memory"][0] is None, seen["memory"]
    assert seen["log.json"] == [], seen["log.json"]
