"""bulwark as Docker's OCI runtime: a private dockerd with `--add-runtime bulwark=BULWARK`
(containerd-shim-runc-v2 then calls bulwark with runc's command line) runs a locally built image
with `docker run --runtime bulwark`: output, exit status, stop and kill, exec, pause, update
(pids, memory), a TTY session in tmux, a server through a published port, and the usual flags
(--read-only, --user, --cap-add/--cap-drop, --security-opt seccomp=…, --device and
--device-cgroup-rule), each compared with runc on the same dockerd where that helps."""
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BULWARK, Dockerd, make_busybox_rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dockerd"),
                                reason="needs root and dockerd")


def own_bridge():
    """A bridge of this module's own for its dockerd's default network: bwkdtN with
    10.219.N.1/24, N the first whose name and subnet are free (other tests and helpers use
    bulwark0 and bwk-NAME on 10.213.N.0/24 in the same network namespace)."""
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True,
                            check=True).stdout
    for n in range(1, 255):
        name, net = f"bwkdt{n}", f"10.219.{n}."
        if net in routes:
            continue
        if subprocess.run(["ip", "link", "add", "name", name, "type", "bridge"],
                          capture_output=True).returncode != 0:
            continue  # taken by a concurrent run
        try:
            subprocess.run(["ip", "addr", "add", f"{net}1/24", "dev", name], check=True)
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
        except subprocess.CalledProcessError:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
            raise
        return name, net
    raise RuntimeError("no free bwkdtN bridge name or 10.219.N.0/24 subnet")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A private dockerd whose default network is a bridge of its own (veths, libnetwork's
    prestart hook, published ports through docker-proxy) without touching the host's
    firewall or sysctls: no iptables rules, no masquerading, no ip_forward."""
    bridge, net = own_bridge()
    d = None
    try:
        base = Path(tempfile.mkdtemp(prefix="bwk-dockerd-"))
        d = Dockerd(base, args=("--bridge", bridge, "--iptables=false", "--ip6tables=false",
                                "--ip-masq=false", "--ip-forward=false",
                                "--userland-proxy=true", "--add-runtime", f"bulwark={BULWARK}"))
        d.subnet = net
        rootfs = make_busybox_rootfs(tmp_path_factory.mktemp("img") / "rootfs")
        for applet in ("httpd", "ip", "od", "stty", "mknod", "stat", "sed"):
            (rootfs / "bin" / applet).symlink_to("busybox")
        d.import_rootfs(rootfs, "bwk-oci-busybox:1")
        yield d
    finally:
        if d is not None:
            d.stop()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def run(engine, *args, check=True, timeout=120):
    p = engine.docker(*args, check=False, timeout=timeout)
    out, err = p.stdout.decode(), p.stderr.decode()
    if check:
        assert p.returncode == 0, (args, p.returncode, err)
    return p.returncode, out, err


def test_docker_run_with_bulwark(engine):
    rc, out, _ = run(engine, "run", "--rm", "--runtime", "bulwark", "bwk-oci-busybox:1", "sh",
                     "-c", "echo hello; echo $$; grep -e NoNewPrivs -e Seccomp: /proc/self/status")
    lines = out.split("\n")
    assert lines[0] == "hello" and lines[1] == "1"
    assert "Seccomp:\t2" in out  # Docker's default profile, loaded by bulwark
    rc, _, _ = run(engine, "run", "--rm", "--runtime", "bulwark", "bwk-oci-busybox:1", "sh", "-c",
                   "exit 42", check=False)
    assert rc == 42
    # a TTY: the pty master went to the shim through the console socket
    rc, out, _ = run(engine, "run", "--rm", "-t", "--runtime", "bulwark", "bwk-oci-busybox:1",
                     "sh", "-c", "test -t 0 && echo is-a-tty")
    assert "is-a-tty" in out
    # Docker's hardening flags reach the container
    rc, out, _ = run(engine, "run", "--rm", "--runtime", "bulwark", "--read-only", "--user",
                     "65534", "--cap-drop", "ALL", "--pids-limit", "20", "bwk-oci-busybox:1",
                     "sh", "-c", "id -u; touch /x 2>/dev/null || echo ro; "
                     "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max;"
                     " grep CapEff /proc/self/status")
    assert out.split("\n")[:3] == ["65534", "ro", "20"]
    assert "CapEff:\t0000000000000000" in out


def test_docker_lifecycle_with_bulwark(engine):
    name = "bwk-oci-" + str(os.getpid())
    run(engine, "run", "-d", "--name", name, "--runtime", "bulwark", "bwk-oci-busybox:1", "sh",
        "-c", "trap 'echo got-term; exit 5' TERM; echo up; while :; do sleep 0.05; done")
    try:
        deadline = time.time() + 20
        while "up" not in run(engine, "logs", name)[1] and time.time() < deadline:
            time.sleep(0.1)
        rc, out, _ = run(engine, "exec", name, "sh", "-c", "echo in-exec; cat /proc/1/cmdline")
        assert out.startswith("in-exec\nsh\x00-c\x00trap")
        rc, _, _ = run(engine, "exec", name, "sh", "-c", "exit 9", check=False)
        assert rc == 9
        run(engine, "update", "--pids-limit", "33", name)
        rc, out, _ = run(engine, "exec", name, "sh", "-c",
                         "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                         "cat /sys/fs/cgroup/pids.max")
        assert out.strip() == "33"
        run(engine, "pause", name)
        assert run(engine, "inspect", "-f", "{{.State.Status}}", name)[1].strip() == "paused"
        run(engine, "unpause", name)
        run(engine, "stop", "-t", "10", name)
        rc, out, _ = run(engine, "inspect", "-f", "{{.State.ExitCode}}", name)
        assert out.strip() == "5"  # the signal reached the container's process
        assert "got-term" in run(engine, "logs", name)[1]
        # docker kill: SIGKILL, 137; and the runtime's state is gone after rm
        run(engine, "start", name)
        run(engine, "kill", name)
        rc, out, _ = run(engine, "inspect", "-f", "{{.State.ExitCode}}", name)
        assert out.strip() == "137"
    finally:
        run(engine, "rm", "-f", name, check=False)
    state_root = engine.base / "exec" / "runtime-runc" / "moby"
    assert not state_root.exists() or not any(state_root.iterdir())


def test_server_with_a_user_and_volumes_under_harden(dockerd_factory, tmp_path_factory):
    """--harden (runtimeArgs) gives the container a user namespace; a server image with a
    non-root USER still serves from its bind-mounted volume, and what containers write to
    volumes lands on the host with the owners it has without the policy."""
    d = dockerd_factory(daemon_json={"runtimes": {
        "bulwark": {"path": BULWARK},
        "bulwark-hardened": {"path": BULWARK, "runtimeArgs": ["--harden"]}}},
        args=("--bridge=none", "--iptables=false", "--ip-masq=false"))
    base = tmp_path_factory.mktemp("srv")
    os.chmod(base, 0o700)  # a volume under a directory the container's root may not enter
    rootfs = make_busybox_rootfs(base / "rootfs")
    for applet in ("httpd", "stat"):
        (rootfs / "bin" / applet).symlink_to("busybox")
    with open(rootfs / "etc" / "passwd", "a") as f:
        f.write("www:x:1000:1000::/srv:/bin/sh\n")
    with open(rootfs / "etc" / "group", "a") as f:
        f.write("www:x:1000:\n")
    img = d.import_rootfs(rootfs, "bwk-srv:1", changes=("USER www",))
    owners = {}
    for rt_name in ("bulwark", "bulwark-hardened"):
        with socket.socket() as probe:  # a port free now (other tests share the host's)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        srv = base / f"srv-{rt_name}"
        srv.mkdir()
        os.chown(srv, 1000, 1000)
        name = f"bwk-srv-{os.getpid()}-{rt_name}"
        d.docker("run", "-d", "--name", name, "--runtime", rt_name, "--network", "host",
                 "-v", f"{srv}:/srv", img, "sh", "-c",
                 f"echo served > /srv/index.html && exec httpd -f -p 127.0.0.1:{port} -h /srv")
        try:
            body = None
            deadline = time.time() + 20
            while body is None and time.time() < deadline:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html",
                                                  timeout=2).read()
                except OSError:
                    time.sleep(0.2)
            logs = d.docker("logs", name, check=False)
            assert body == b"served\n", (port, logs.stdout, logs.stderr)
            _, out, _ = run(d, "exec", name, "sh", "-c",
                            "id -u; cat /proc/self/uid_map; stat -c %u /bin/busybox")
            uid, umap, bin_owner = out.split("\n")[0], out.split("\n")[1].split(), \
                out.split("\n")[2]
            assert uid == "1000" and bin_owner == "0", out  # the image's owners, as built
            if rt_name == "bulwark-hardened":
                assert umap[0] == "0" and umap[1] != "0" and umap[2] == "65536", out
            else:
                assert umap == ["0", "0", "4294967295"], out
            # a named volume written by root
            d.docker("run", "--rm", "--runtime", rt_name, "--user", "0", "-v",
                     f"vol-{rt_name}:/data", img, "touch", "/data/by-root")
            vol = Path(d.docker("volume", "inspect", "-f", "{{.Mountpoint}}",
                                f"vol-{rt_name}").stdout.decode().strip())
            st_idx, st_root = os.stat(srv / "index.html"), os.stat(vol / "by-root")
            owners[rt_name] = ((st_idx.st_uid, st_idx.st_gid), (st_root.st_uid, st_root.st_gid))
        finally:
            d.docker("rm", "-f", name, check=False)
    assert owners["bulwark"] == ((1000, 1000), (0, 0)), owners
    assert owners["bulwark-hardened"] == owners["bulwark"], owners
    # an image layer that replaced a directory (an opaque directory: trusted.overlay.opaque)
    # hides the lower layer's files under the policy too (the root's overlay is mounted anew
    # from idmapped layers with the engine's attributes readable)
    (rootfs / "data").mkdir()
    (rootfs / "data" / "old").write_text("lower\n")
    img2 = d.import_rootfs(rootfs, "bwk-srv:2")
    ctx = base / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {img2}\nUSER 0\nRUN rm -rf /data && mkdir /data && echo upper > /data/new\n")
    p = subprocess.run(["docker", "-H", d.host, "build", "-q", "-t", "bwk-srv:3", str(ctx)],
                       capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
                       timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    for rt_name in ("bulwark", "bulwark-hardened"):
        _, out, _ = run(d, "run", "--rm", "--runtime", rt_name, "bwk-srv:3", "ls", "/data")
        assert out.split() == ["new"], (rt_name, out)
    # the host's pid namespace (its /proc belongs to the host's user namespace): the policy
    # leaves the user namespace out, and the container runs
    _, out, _ = run(d, "run", "--rm", "--runtime", "bulwark-hardened", "--pid", "host", "--user",
                    "0", img, "cat", "/proc/self/uid_map")
    assert out.split() == ["0", "0", "4294967295"], out


def test_published_port(engine):
    """-p HOSTPORT:CPORT: the container gets an address on the bridge (libnetwork's prestart
    hook joins its network namespace) and a real TCP connection to the host's port reaches
    its server through docker-proxy, and again after `docker restart`; the same as runc."""
    for rt_name in ("bulwark", "runc"):
        with socket.socket() as probe:  # a port free now (other tests share the host's)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        name = f"bwk-port-{os.getpid()}-{rt_name}"
        run(engine, "run", "-d", "--name", name, "--runtime", rt_name, "-p",
            f"127.0.0.1:{port}:8080", "bwk-oci-busybox:1", "sh", "-c",
            "mkdir -p /www && echo served-$(hostname) > /www/index.html && "
            "exec httpd -f -p 8080 -h /www")
        try:
            cid = run(engine, "inspect", "-f", "{{.Id}}", name)[1].strip()
            # again after a restart: a new network namespace, given by the hook again
            for attempt in ("first", "restarted"):
                if attempt == "restarted":
                    run(engine, "restart", "-t", "1", name)
                body = None
                deadline = time.time() + 20
                while body is None and time.time() < deadline:
                    try:
                        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html",
                                                      timeout=2).read().decode()
                    except OSError:
                        time.sleep(0.2)
                assert body == f"served-{cid[:12]}\n", \
                    (attempt, port, body, run(engine, "logs", name, check=False))
                ip = run(engine, "inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                         name)[1].strip()
                assert ip.startswith(engine.subnet), ip
                _, out, _ = run(engine, "exec", name, "ip", "-4", "-o", "addr", "show", "eth0")
                assert f" {ip}/24 " in out, out
        finally:
            run(engine, "rm", "-f", name, check=False)


def cgroup_file(engine, name, controller, leaf):
    """The host's view of a container's cgroup v1 file (its init's cgroup of `controller`)."""
    pid = run(engine, "inspect", "-f", "{{.State.Pid}}", name)[1].strip()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return (Path("/sys/fs/cgroup") / ctrls / path.lstrip("/") / leaf).read_text().strip()
    raise AssertionError(f"no {controller} cgroup for {name}")


@pytest.mark.skipif(not Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists(),
                    reason="the memory controller of cgroup v1 with swap accounting")
def test_update_memory(engine):
    """docker update --memory [--memory-swap]: containerd's shim calls `update --resources`,
    the container's memory and memory+swap limits change (the memory limit as the container
    and the host see it), the same as under runc."""
    seen = {}
    for rt_name in ("bulwark", "runc"):
        name = f"bwk-mem-{os.getpid()}-{rt_name}"
        run(engine, "run", "-d", "--name", name, "--runtime", rt_name, "--memory", "64m",
            "bwk-oci-busybox:1", "sleep", "600")
        try:
            got = []
            # raising the limit above the old memory+swap limit needs memsw written first,
            # lowering it below the old memory limit needs memory first (v1 refuses
            # memory > memsw with EINVAL)
            for mem in ((), ("--memory", "96m"), ("--memory", "48m"),
                        ("--memory", "200m", "--memory-swap", "400m"),
                        ("--memory", "32m", "--memory-swap", "64m")):
                if mem:
                    run(engine, "update", *mem, name)
                inside = run(engine, "exec", name, "cat",
                             "/sys/fs/cgroup/memory/memory.limit_in_bytes")[1].strip()
                host = cgroup_file(engine, name, "memory", "memory.limit_in_bytes")
                memsw = cgroup_file(engine, name, "memory", "memory.memsw.limit_in_bytes")
                assert inside == host, (rt_name, mem, inside, host)
                got.append((int(host) >> 20, int(memsw) >> 20))
            seen[rt_name] = got
        finally:
            run(engine, "rm", "-f", name, check=False)
    assert seen["bulwark"] == [(64, 128), (96, 128), (48, 128), (200, 400), (32, 64)], seen
    assert seen["bulwark"] == seen["runc"], seen


def both(engine, *args):
    """Run one container under bulwark and under runc; their (exit status, output) match."""
    res = {}
    for rt_name in ("bulwark", "runc"):
        rc, out, _ = run(engine, "run", "--rm", "--runtime", rt_name, *args, check=False)
        res[rt_name] = (rc, out)
    assert res["bulwark"] == res["runc"], res
    return res["bulwark"]


CAP_NET_ADMIN, CAP_SYS_TIME = 12, 25


def test_cap_add(engine):
    """--cap-add: the capability is in the container's effective set and usable (NET_ADMIN
    changes the MTU of the container's own lo); without it, neither."""
    script = ("grep CapEff /proc/self/status; ip link set lo mtu 1400 2>/dev/null && "
              "echo mtu-set || echo mtu-denied")
    _, out = both(engine, "--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME",
                   "bwk-oci-busybox:1", "sh", "-c", script)
    eff = int(out.split("\n")[0].split()[1], 16)
    assert eff & (1 << CAP_NET_ADMIN) and eff & (1 << CAP_SYS_TIME), out
    assert "mtu-set" in out
    _, out = both(engine, "bwk-oci-busybox:1", "sh", "-c", script)
    eff2 = int(out.split("\n")[0].split()[1], 16)
    assert not eff2 & (1 << CAP_NET_ADMIN) and not eff2 & (1 << CAP_SYS_TIME), out
    assert eff2 == eff & ~((1 << CAP_NET_ADMIN) | (1 << CAP_SYS_TIME)), (hex(eff), hex(eff2))
    assert "mtu-denied" in out


def test_security_opt_seccomp(engine, tmp_path):
    """--security-opt seccomp=PROFILE.json (the client sends the profile; bulwark loads it):
    mkdir fails with the profile's errno; seccomp=unconfined loads no filter; the default
    profile lets mkdir through."""
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 36}]}))  # ENAMETOOLONG: nothing else explains it
    script = "grep Seccomp: /proc/self/status; mkdir /tmp/d 2>&1 && echo made"
    _, out = both(engine, "--security-opt", f"seccomp={profile}", "bwk-oci-busybox:1", "sh",
                   "-c", script)
    assert out.split("\n")[0] == "Seccomp:\t2", out
    assert "File name too long" in out and "made" not in out, out
    _, out = both(engine, "--security-opt", "seccomp=unconfined", "bwk-oci-busybox:1", "sh",
                   "-c", script)
    assert out.split("\n")[:2] == ["Seccomp:\t0", "made"], out
    _, out = both(engine, "bwk-oci-busybox:1", "sh", "-c", script)
    assert out.split("\n")[:2] == ["Seccomp:\t2", "made"], out


EXP_MAJOR, EXP_MINOR = 60, 77  # "local/experimental use": no driver, open() gives ENXIO


def test_device(engine, tmp_path):
    """--device HOST:CONTAINER[:PERMS] creates the node and allows it in the device cgroup
    with those permissions; --device-cgroup-rule allows a node the container makes itself.
    A node of no driver tells the two apart: the device cgroup refuses with EPERM, an
    allowed open reaches the kernel and fails with ENXIO."""
    if f"\n{EXP_MAJOR} " in Path("/proc/devices").read_text():
        pytest.skip(f"a driver has character major {EXP_MAJOR} here")
    _, out = both(engine, "--device", "/dev/zero:/dev/mydev", "bwk-oci-busybox:1", "sh", "-c",
                   "stat -c %t:%T /dev/mydev; od -An -tx1 -N4 /dev/mydev")
    assert out.split() == ["1:5", "00", "00", "00", "00"], out
    _, out = both(engine, "bwk-oci-busybox:1", "sh", "-c",
                   "test -e /dev/mydev || echo absent")
    assert out == "absent\n"
    node = tmp_path / "exp"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(EXP_MAJOR, EXP_MINOR))
    probe = ("cat /dev/exp 2>&1; (echo x > /dev/exp) 2>&1 | sed 's/^.*: //'")
    _, out = both(engine, "--device", f"{node}:/dev/exp:r", "bwk-oci-busybox:1", "sh", "-c",
                   probe)
    assert out.split("\n")[0].endswith("No such device or address"), out
    assert out.split("\n")[1] == "Operation not permitted", out
    _, out = both(engine, "--device", f"{node}:/dev/exp:rw", "bwk-oci-busybox:1", "sh", "-c",
                   probe)
    assert out.split("\n")[1] == "No such device or address", out
    make = f"mknod /dev/exp c {EXP_MAJOR} {EXP_MINOR} && " + probe
    _, out = both(engine, "--device-cgroup-rule", f"c {EXP_MAJOR}:{EXP_MINOR} rw",
                   "bwk-oci-busybox:1", "sh", "-c", make)
    assert out.split("\n")[:2] == ["cat: can't open '/dev/exp': No such device or address",
                                   "No such device or address"], out
    _, out = both(engine, "bwk-oci-busybox:1", "sh", "-c", make)
    assert out.split("\n")[:2] == ["cat: can't open '/dev/exp': Operation not permitted",
                                   "Operation not permitted"], out


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
def test_tty_session_in_tmux(engine):
    """An interactive session: `docker run -it` in a tmux pane (a real terminal for the
    client). A typed command's output shows in the pane, the container's terminal has the
    pane's size, Ctrl-C interrupts the foreground command (the pty is the shell's controlling
    terminal), and `exit` ends the container and the session. Then `docker exec -it` into a
    running container the same way."""
    sock = f"bwkdt-{os.getpid()}"  # a tmux server of this test's own
    tmux = ["tmux", "-L", sock]
    env = {**os.environ, "TERM": "xterm"}
    name = f"bwk-tty-{os.getpid()}"

    def pane():
        return subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], capture_output=True,
                              text=True, env=env).stdout

    def wait_for(text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in pane():
                return True
            time.sleep(0.1)
        return False

    def keys(*k):
        subprocess.run(tmux + ["send-keys", "-t", "t", *k], check=True, env=env)

    def ended():
        def alive():
            return subprocess.run(tmux + ["has-session", "-t", "t"], capture_output=True,
                                  env=env).returncode == 0
        deadline = time.time() + 30
        while alive() and time.time() < deadline:
            time.sleep(0.2)
        assert not alive(), pane()

    try:
        subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                               f"docker -H {engine.host} run -it --rm --name {name} "
                               "--runtime bulwark bwk-oci-busybox:1 sh"], check=True, env=env)
        assert wait_for("/ #"), pane()  # the prompt (the pane drops its trailing blank)
        keys("echo answer-$((6*7)); tty", "Enter")
        assert wait_for("answer-42"), pane()
        assert wait_for("/dev/pts/0"), pane()
        # the client sets the size through dockerd and the shim once the container started,
        # which under load may come after the first prompt
        for _ in range(20):
            keys("stty size", "Enter")
            if wait_for("30 100", timeout=1):
                break
        assert wait_for("30 100", timeout=1), pane()
        keys("sleep 60; echo wo''ke", "Enter")
        time.sleep(1)
        keys("C-c")
        keys("echo back-$((1+1))", "Enter")
        assert wait_for("back-2", timeout=15), pane()  # not 60 s later
        assert "woke" not in pane().split("\n"), pane()  # the list was interrupted
        keys("exit", "Enter")
        ended()
        assert run(engine, "ps", "-aq", "-f", f"name={name}")[1].strip() == ""
        # `docker exec -it` into a running container: `exec --tty --console-socket`
        run(engine, "run", "-d", "--name", name, "--runtime", "bulwark", "bwk-oci-busybox:1",
            "sleep", "600")
        subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                               f"docker -H {engine.host} exec -it {name} sh"], check=True,
                       env=env)
        assert wait_for("/ #"), pane()
        keys("echo exec-$((2+3)); tty; test -t 0 && echo in-tty; cat /proc/1/cmdline; echo",
             "Enter")
        assert wait_for("exec-5") and wait_for("in-tty") and wait_for("sleep600"), pane()
        assert wait_for("/dev/pts/"), pane()
        keys("exit", "Enter")
        ended()
        assert run(engine, "inspect", "-f", "{{.State.Running}}", name)[1].strip() == "true"
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True, env=env)
        run(engine, "rm", "-f", name, check=False)


def test_more_run_flags(engine):
    """Other flags that reach the runtime through the spec: --ulimit (rlimits; core=-1 is
    written as 2^64-1, above jansson's integers),
    --sysctl (in the container's network namespace), no-new-privileges, --oom-score-adj,
    --hostname, --cpus and --cpu-shares (cgroup v1 cpu); each set, each the same as runc,
    and different from the defaults."""
    script = ("ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
              "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj; hostname; "
              "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares "
              "2>/dev/null || cat /sys/fs/cgroup/cpu.max; ulimit -c")
    _, out = both(engine, "--ulimit", "nofile=64:128", "--ulimit", "core=-1", "--sysctl",
                  "net.ipv4.ip_unprivileged_port_start=1000", "--security-opt",
                  "no-new-privileges", "--oom-score-adj", "321", "--hostname", "bwk-host",
                  "--cpus", "0.5", "--cpu-shares", "512", "bwk-oci-busybox:1", "sh", "-c",
                  script)
    assert out.split("\n")[:8] == ["64", "128", "1000", "NoNewPrivs:\t1", "321", "bwk-host",
                                   "50000", "512"], out
    assert out.split()[-1] == "unlimited", out
    _, dflt = both(engine, "--hostname", "bwk-dflt", "bwk-oci-busybox:1", "sh", "-c", script)
    assert all(a != b for a, b in zip(out.split("\n")[:8], dflt.split("\n")[:8])), (out, dflt)
