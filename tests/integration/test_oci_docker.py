"""bulwark as Docker's OCI runtime: a private dockerd with `--add-runtime bulwark=BULWARK`
(containerd-shim-runc-v2 then calls bulwark with runc's command line) runs a locally built image
with `docker run --runtime bulwark`: output, exit status, stop and kill, exec, pause, a TTY and
the usual hardening flags."""
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dockerd"),
                                reason="needs root and dockerd")


@pytest.fixture(scope="module")
def engine(dockerd_factory, tmp_path_factory):
    d = dockerd_factory(args=("--bridge=none", "--iptables=false", "--ip-masq=false",
                              "--add-runtime", f"bulwark={BULWARK}"))
    rootfs = make_busybox_rootfs(tmp_path_factory.mktemp("img") / "rootfs")
    d.import_rootfs(rootfs, "bwk-oci-busybox:1")
    return d


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
