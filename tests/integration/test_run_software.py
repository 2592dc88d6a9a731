"""Real server software from the host's Debian packages under `bulwark run` with its defaults
(issue #18's compatibility table, docs/run.md): python3's http.server, Node.js 18, OpenJDK 17,
PostgreSQL 15 (USER postgres), redis 7 (USER redis, VOLUME /data) and bash with apt. Each root filesystem is built here from the
installed package's files and the libraries ldd names (hard links, so it costs no copy); each
server is published with -p alone (as root: the bridge network), queried through that port and
stopped with SIGTERM sent to `bulwark run`, as `docker stop` or systemd would. The same root
and command also run under the private dockerd (docker's column of the table). The OpenJDK
test server is compiled here with javac (openjdk-17-jdk-headless: the JRE has no compiler,
and `java Srv.java` needs the jdk.compiler module too)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BULWARK

sys.path.insert(0, str(Path(__file__).parent))
from run_util import world_tmpdir  # noqa: E402

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="-p needs root (the bridge network)"),
              pytest.mark.hostnet]

JDK = Path("/usr/lib/jvm/java-17-openjdk-amd64")
PG = Path("/usr/lib/postgresql/15")
PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
          "postgres:x:100:102::/var/lib/postgresql:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\npostgres:x:102:\nnogroup:x:65534:\n"


def ldd(f, libdir=None):
    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir)) if libdir else None
    out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, env=env).stdout
    return {w for line in out.splitlines() for w in line.split() if w.startswith("/")}


def host_root(base: Path, paths, elfs=()):
    """A root filesystem of host files: `paths` (files or whole directories, hard-linked,
    symbolic links resolved) and the shared libraries the `elfs` need; busybox for a shell."""
    root = base / "rootfs"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "run", "root", "var/tmp", "usr/bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    os.chmod(root / "tmp", 0o1777)
    libs = set()
    for e in elfs:
        libs |= ldd(e)
    for p in [*paths, *sorted(libs)]:
        subprocess.run(["cp", "-rlL", "--parents", str(p), str(root)], capture_output=True)
    shutil.copy2("/bin/busybox", root / "bin" / "busybox")
    for a in ("sh", "cat", "sleep", "wget", "ls"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    return root


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_get(port, path="/", deadline=60.0):
    """GET through the published port, retried until the server listens."""
    end = time.time() + deadline
    last = None
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
                data = b""
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    data += b
                if data:
                    return data.decode(errors="replace")
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"no answer on port {port}: {last}")


class Served:
    """`bulwark run -p PORT:CPORT ROOT CMD` in the background; stop() sends SIGTERM."""

    def __init__(self, root, cport, cmd, opts=()):
        self.port = free_port()
        target = ["--rootfs", str(root), "--"] if Path(root).is_dir() else [str(root)]
        env = dict(os.environ, NO_COLOR="1")
        self.p = subprocess.Popen([BULWARK, "run", "-q", "-p", f"127.0.0.1:{self.port}:{cport}",
                                   *opts, *target, *cmd],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env, cwd="/")

    def stop(self, timeout=20):
        t0 = time.time()
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=timeout)
        assert "ERROR: AddressSanitizer" not in err, err
        return self.p.returncode, time.time() - t0, out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


def serve_and_stop(root, cport, cmd, want, path="/", opts=(), codes=(0, 143)):
    s = Served(root, cport, cmd, opts)
    try:
        body = http_get(s.port, path)
        assert want in body, body[:500]
        rc, took, out, err = s.stop()
    finally:
        s.kill()
    # SIGTERM reached the server (not the SIGKILL 10 s later: 137), the exit status as docker's
    assert rc in codes and took < 9, (rc, took, out[-2000:], err[-2000:])
    return out, err


@pytest.fixture(scope="module")
def work():
    d = world_tmpdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- python3 -m http.server ------------------------------------------------------------------
@pytest.fixture(scope="module")
def py_root(work):
    py = Path(os.path.realpath("/usr/bin/python3"))
    lib = Path(f"/usr/lib/{py.name}")
    if not lib.is_dir():
        pytest.skip("python3's standard library not found")
    root = host_root(work / "py", [py, lib], [py])
    (root / "usr/bin/python3").symlink_to(py.name)
    (root / "srv").mkdir()
    (root / "srv/index.html").write_text("hello from python\n")
    return root


def test_python_http_server(py_root):
    serve_and_stop(py_root, 8000, ["python3", "-m", "http.server", "-d", "/srv", "8000"],
                   "hello from python", "/index.html")


# ---- Node.js 18 ------------------------------------------------------------------------------
NODE_JS = ("const h=require('http');const s=h.createServer((q,r)=>r.end('hello from node '+"
           "process.version+'\\n'));s.listen(3000);"
           "process.on('SIGTERM',()=>s.close(()=>process.exit(0)));")


@pytest.mark.skipif(not Path("/usr/bin/node").exists(), reason="nodejs not installed")
def test_nodejs_http(work):
    node = Path(os.path.realpath("/usr/bin/node"))
    # Debian's node 18 (libnode.so.108) loads some of its built-in modules from other packages'
    # files at start (NODE_SHARED_BUILTIN_*_PATH) and aborts without them; nodesource's node
    # has them inside
    shared = [d for d in (Path("/usr/share/nodejs") / n
                          for n in ("cjs-module-lexer", "undici", "acorn", "acorn-walk"))
              if d.exists()]
    root = host_root(work / "node", [node, *shared], [node])
    if node != Path("/usr/bin/node"):
        (root / "usr/bin/node").symlink_to(node)
    serve_and_stop(root, 3000, ["/usr/bin/node", "-e", NODE_JS], "hello from node v", codes=(0,))


# ---- OpenJDK 17: an HTTP server that reports the heap it sized from the memory limit ---------
JAVA_SRC = """
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
public class Srv {
  public static void main(String[] a) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress(8080), 16);
    s.createContext("/", x -> {
      byte[] b = ("maxheap " + Runtime.getRuntime().maxMemory() + "\\n").getBytes();
      x.sendResponseHeaders(200, b.length); x.getResponseBody().write(b); x.close(); });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> s.stop(0)));
    s.start();
  }
}
"""


@pytest.fixture(scope="module")
def jdk_root(work):
    if not (JDK / "bin" / "javac").exists():
        pytest.skip("javac not installed (openjdk-17-jdk-headless, scripts/deps.sh)")
    elfs = [JDK / "bin/java", *JDK.glob("lib/*.so"), JDK / "lib/server/libjvm.so"]
    root = host_root(work / "jdk", [JDK / "bin/java", JDK / "lib", JDK / "conf", JDK / "release"],
                     elfs)
    app = root / "app"
    app.mkdir()
    (work / "Srv.java").write_text(JAVA_SRC)
    subprocess.run([str(JDK / "bin/javac"), "-d", str(app), str(work / "Srv.java")], check=True)
    return root


def heap(body):
    return int(body.split("maxheap ")[1].split()[0])


def test_openjdk_http_sizes_its_heap_from_the_limit(jdk_root):
    # the default memory limit (512 MiB): the JVM's default heap is a quarter of it, not of
    # the host's RAM (the cgroup view at /sys/fs/cgroup)
    s = Served(jdk_root, 8080, [str(JDK / "bin/java"), "-cp", "/app", "Srv"])
    try:
        body = http_get(s.port)
        assert 64 << 20 <= heap(body) <= 128 << 20, body
        rc, took, out, err = s.stop()
    finally:
        s.kill()
    assert rc == 143 and took < 9, (rc, took, err[-2000:])  # the JVM's own SIGTERM exit


def test_openjdk_sees_its_limit_with_host_network(jdk_root):
    # --net host keeps the host's /sys: the cgroup view must still be the container's own
    p = subprocess.run([BULWARK, "run", "-q", "--net", "host", "--memory", "1g", "--rootfs",
                        str(jdk_root), "--", str(JDK / "bin/java"), "-XshowSettings:system",
                        "-version"], capture_output=True, text=True, timeout=120, cwd="/")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Memory Limit: 1.00G" in p.stderr, p.stderr[-2000:]


# ---- PostgreSQL 15, USER postgres: the postmaster's smart shutdown on SIGTERM ----------------
@pytest.mark.skipif(not (PG / "bin" / "initdb").exists(), reason="postgresql-15 not installed")
def test_postgresql_serves_through_its_port_and_stops_on_sigterm(work):
    from test_run_storage import pg_image
    img = pg_image(work / "pg.tar")  # USER postgres, VOLUME /var/lib/postgresql/data
    # clients arrive from the bridge's gateway, as through docker's: the official image's
    # "host all all all" line
    script = ("initdb -A trust >/tmp/i.log 2>&1 || { cat /tmp/i.log; exit 1; }; "
              "echo 'host all all all trust' >>\"$PGDATA/pg_hba.conf\"; "
              "exec postgres -c listen_addresses='*'")
    s = Served(img, 5432, ["sh", "-c", script], opts=("--cache", str(work / "cache")))
    try:
        end = time.time() + 60
        while True:
            # a connection the proxy accepts before postgres listens must not hang the test
            try:
                q = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(s.port), "-U",
                                    "postgres", "-tAc", "select 40+2"], capture_output=True,
                                   text=True, timeout=15,
                                   env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
            except subprocess.TimeoutExpired as e:
                q = subprocess.CompletedProcess(e.cmd, 1, "", "psql timed out")
            if q.returncode == 0 or time.time() > end:
                break
            assert s.p.poll() is None, s.p.communicate()
            time.sleep(0.3)
        assert q.stdout.strip() == "42", (q.stdout, q.stderr)
        rc, took, out, err = s.stop()
    finally:
        s.kill()
    # the postmaster's smart shutdown: exit 0, no crash recovery on the next start
    assert rc == 0 and took < 9, (rc, took, out[-2000:], err[-2000:])
    assert "database system is shut down" in err, err[-2000:]


# ---- bash and apt: the read-only root, --read-write and its bound ----------------------------
@pytest.fixture(scope="module")
def apt_root(work):
    if not Path("/usr/bin/apt-get").exists():
        pytest.skip("apt not installed")
    elfs = ["/usr/bin/bash", "/usr/bin/apt-get", "/usr/bin/dpkg", "/usr/bin/dd",
            *Path("/usr/lib/apt/methods").glob("*")]
    root = host_root(work / "apt", ["/usr/bin/bash", "/usr/bin/apt-get", "/usr/bin/apt-config",
                                    "/usr/bin/dpkg", "/usr/bin/dd", "/usr/lib/apt",
                                    "/usr/share/dpkg", "/var/lib/dpkg/status"], elfs)
    for d in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
              "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial",
              "var/cache/apt/archives/partial", "var/log/apt", "var/lib/dpkg/info",
              "var/lib/dpkg/updates"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text("")  # no mirror: the tests stay offline
    with open(root / "etc/passwd", "a") as f:
        f.write("_apt:x:42:65534::/nonexistent:/bin/false\n")
    return root


def run_root(root, *args, opts=()):
    p = subprocess.run([BULWARK, "run", "-q", *opts, "--rootfs", str(root), "--", *args],
                       capture_output=True, text=True, timeout=120, cwd="/",
                       env=dict(os.environ, NO_COLOR="1"))
    assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
    return p


def test_apt_get_update_writes_its_state_and_read_only_refuses(apt_root):
    # apt writes its lists, caches, lock and log under /var/lib, /var/cache and /var/log: the
    # writable state directories (the default) take them; /usr and /etc stay read-only
    script = "apt-get update && echo list > /var/lib/apt/lists/deb.debian.org_Release"
    ok = script + " && apt-get check && echo ok"
    for opts in ((), ("--read-write",)):
        p = run_root(apt_root, "bash", "-c", ok, opts=opts)
        assert p.returncode == 0 and p.stdout.strip().endswith("ok"), (opts, p.stdout, p.stderr)
        assert "Read-only" not in p.stderr, p.stderr
    p = run_root(apt_root, "bash", "-c", "echo > /usr/lib/apt/x || echo > /etc/apt/x")
    assert p.returncode != 0, p.stderr
    for f in ("/usr/lib/apt/x", "/etc/apt/x"):
        assert f"{f}: Read-only file system" in p.stderr, p.stderr
    # --read-only: offline (no sources), apt only warns that it cannot write its lists; what it
    # would download then fails as a write under /var/lib/apt does, with the hint
    p = run_root(apt_root, "bash", "-c", script, opts=("--read-only",))
    assert p.returncode != 0
    assert "(30: Read-only file system)" in p.stderr, p.stderr
    assert "the root filesystem is read-only" in p.stderr and "--read-write" in p.stderr, p.stderr


def test_read_write_root_holds_100_mib_and_its_bound_hints(apt_root):
    fill = "dd if=/dev/zero of=/var/big bs=1M count=100 && echo wrote"
    p = run_root(apt_root, "bash", "-c", fill, opts=("--read-write",))
    assert p.returncode == 0 and p.stdout.strip() == "wrote", p.stderr[-2000:]
    p = run_root(apt_root, "bash", "-c", fill, opts=("--read-write", "--writable-size", "64m"))
    assert p.returncode != 0
    assert "No space left on device" in p.stderr and "raise --writable-size" in p.stderr, p.stderr


# ---- docker's column: the same roots and commands under the private dockerd ------------------
def test_docker_runs_the_same_workloads(dockerd, py_root, apt_root, work):
    ref = dockerd.import_rootfs(py_root, "bwk-sw-py:1")
    port = free_port()
    cid = dockerd.docker("run", "-d", "--network", "host", ref, "python3", "-m", "http.server",
                         "-d", "/srv", str(port)).stdout.decode().strip()
    try:
        assert "hello from python" in http_get(port, "/index.html")
        dockerd.docker("stop", "-t", "2", cid)
        st = dockerd.docker("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.decode().strip()
        # docker has no init by default: python is pid 1 and ignores SIGTERM, so `docker stop`
        # kills it (137) after its timeout; bulwark's init delivers it (143, at once)
        assert st == "137", st
    finally:
        dockerd.docker("rm", "-f", cid, check=False)
    ref = dockerd.import_rootfs(apt_root, "bwk-sw-apt:1")
    p = dockerd.docker("run", "--rm", ref, "bash", "-c",
                       "apt-get update >/dev/null && dd if=/dev/zero of=/var/big bs=1M count=100 "
                       "2>/dev/null && echo ok", check=False)
    assert p.returncode == 0 and p.stdout.decode().strip() == "ok", p.stderr.decode()[-2000:]


# ---- nginx 1.22 and redis 7: Debian's packages unpacked (dpkg -x), never installed -----------
def debs(work, name, pkgs):
    """The packages' files in work/name/x, fetched with `apt-get download` (skips when the
    Debian mirror cannot be reached: these two are not installed on the test host)."""
    d = work / name
    x = d / "x"
    if x.is_dir():
        return x
    d.mkdir(parents=True, exist_ok=True)
    try:
        p = subprocess.run(["apt-get", "download", *pkgs], cwd=d, capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"apt-get download: {e}")
    got = sorted(d.glob("*.deb"))
    if p.returncode != 0 or len(got) < len(pkgs):
        pytest.skip(f"the Debian mirror is unreachable: {p.stderr.strip()[-200:]}")
    for deb in got:
        subprocess.run(["dpkg", "-x", str(deb), str(x)], check=True)
    return x


def graft(root, tree):
    subprocess.run(["cp", "-a", f"{tree}/.", str(root)], check=True)


NGINX_CONF = """user www-data;
worker_processes 2;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 256; }
http { include /etc/nginx/mime.types; access_log /var/log/nginx/access.log;
  server { listen 80; root /srv; } }
"""


def test_nginx_runs_with_defaults(work):
    x = debs(work, "nginx", ["nginx", "nginx-common"])
    root = host_root(work / "nginx-root", [], [x / "usr/sbin/nginx"])
    graft(root, x)
    (root / "etc/nginx/nginx.conf").write_text(NGINX_CONF)
    (root / "var/lib/nginx").mkdir(parents=True, exist_ok=True)
    (root / "srv").mkdir()
    (root / "srv/index.html").write_text("hello from nginx\n")
    with open(root / "etc/passwd", "a") as f:
        f.write("www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n")
    with open(root / "etc/group", "a") as f:
        f.write("www-data:x:33:\n")
    cmd = ["/usr/sbin/nginx", "-g", "daemon off;"]
    # Debian's nginx writes its logs and request bodies under /var/log and /var/lib: the state
    # directories of /var are writable by default (in memory, discarded at exit), -p alone
    serve_and_stop(root, 80, cmd, "hello from nginx", "/index.html")
    # nothing of it reached the root filesystem it ran from
    assert not list((root / "var/log/nginx").iterdir())
    assert not list((root / "var/lib/nginx").iterdir())
    # a fully read-only root: refused at once, with the hint naming what allows it
    p = run_root(root, *cmd, opts=("--read-only",))
    assert p.returncode != 0 and "Read-only file system" in p.stderr, p.stderr
    assert "--read-write" in p.stderr, p.stderr


# ---- redis 7, USER redis, VOLUME /data: its automatic save and its save on SIGTERM -----------
REDIS = Path("/usr/bin/redis-check-rdb")  # Debian's redis-server is a link to it


def redis_image(path):
    """An image laid out as the official redis one: Debian's redis-server and its libraries,
    USER redis (999:999), WORKDIR and VOLUME /data; busybox for a shell."""
    from image_util import D, F, L, Layer, docker_save
    files, dirs, entries = {str(REDIS), *ldd(REDIS)}, set(), []
    for f in sorted(files):
        parts = f.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append(D(d))
        real = os.path.realpath(f)
        entries.append(F(f.lstrip("/"), Path(real).read_bytes(), os.stat(real).st_mode & 0o755))
    for d in ("bin", "etc", "run", "var", "tmp"):
        if d not in dirs:
            entries.append(D(d, 0o1777 if d == "tmp" else 0o755))
    entries += [F("bin/busybox", Path("/bin/busybox").read_bytes(), 0o755),
                L("bin/sh", "busybox"), L("usr/bin/redis-server", "redis-check-rdb"),
                F("etc/passwd", "root:x:0:0::/root:/bin/sh\nredis:x:999:999::/data:/bin/sh\n"),
                F("etc/group", "root:x:0:\nredis:x:999:\n"), D("data", 0o755, 999, 999)]
    cfg = {"Env": ["PATH=/usr/bin:/bin"], "User": "redis", "WorkingDir": "/data",
           "Volumes": {"/data": {}}, "Cmd": ["redis-server"]}
    return docker_save(path, [Layer(entries)], config=cfg)


def resp(port, *cmds, deadline=30.0):
    """Send each command (RESP arrays) on one connection; the raw replies, one per command."""
    end = time.time() + deadline
    while True:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.1)
    out = []
    with c, c.makefile("rb") as f:
        for cmd in cmds:
            c.sendall(f"*{len(cmd)}\r\n".encode() +
                      b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in cmd))
            line = f.readline()
            if line.startswith(b"$") and int(line[1:]) >= 0:
                line += f.read(int(line[1:]) + 2)
            out.append(line.decode())
    return out


def wait_pong(s, deadline=30.0):
    end = time.time() + deadline
    while True:
        try:
            if resp(s.port, ["PING"], deadline=2) == ["+PONG\r\n"]:
                return
        except (OSError, ValueError):
            pass
        if s.p.poll() is not None or time.time() > end:
            s.kill()
            out, err = s.p.communicate(timeout=10)
            raise AssertionError(f"redis never answered PING: {out[-2000:]} {err[-2000:]}")
        time.sleep(0.2)


# the official image's command line: every interface, no protected mode
REDIS_CMD = ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]


@pytest.mark.skipif(not REDIS.exists(), reason="redis-server not installed")
def test_redis_serves_saves_and_stops_on_sigterm(work):
    img = redis_image(work / "redis.tar")
    # a save point one second after one write, so that the automatic save happens here
    s = Served(img, 6379, [*REDIS_CMD, "--save", "1 1"], opts=("--cache", str(work / "cache")))
    try:
        wait_pong(s)
        assert resp(s.port, ["SET", "k", "v"], ["GET", "k"]) == ["+OK\r\n", "$1\r\nv\r\n"]
        # the automatic save: the data directory (the image's VOLUME) is writable by redis
        end = time.time() + 20
        while True:
            info = resp(s.port, ["INFO", "persistence"])[0]
            if "rdb_changes_since_last_save:0" in info or time.time() > end:
                break
            time.sleep(0.3)
        assert "rdb_last_bgsave_status:ok" in info and "rdb_changes_since_last_save:0" in info, info
        assert resp(s.port, ["SET", "k2", "v2"]) == ["+OK\r\n"]
        rc, took, out, err = s.stop()
    finally:
        s.kill()
    log = out + err
    # SIGTERM reached redis (USER redis, not the init's uid): it saved and exited 0
    assert rc == 0 and took < 9, (rc, took, log[-3000:])
    assert "Saving the final RDB snapshot" in log and "DB saved on disk" in log, log[-3000:]
    assert "ready to exit" in log, log[-3000:]


@pytest.mark.skipif(not REDIS.exists(), reason="redis-server not installed")
def test_redis_that_cannot_save_is_killed_at_the_stop_timeout_and_says_so(work):
    img = redis_image(work / "redis.tar")
    # its data directory on the read-only root: redis answers SIGTERM with "can't exit" (as
    # under docker, where `docker stop` then kills it too); bulwark says why it died
    s = Served(img, 6379, [*REDIS_CMD, "--dir", "/", "--save", "1 1"],
               opts=("--cache", str(work / "cache"), "--stop-timeout", "2"))
    try:
        wait_pong(s)
        rc, took, out, err = s.stop()
    finally:
        s.kill()
    assert rc == 137 and 1.5 < took < 6, (rc, took, err[-2000:])
    assert "Error trying to save the DB, can't exit" in out, out[-2000:]
    assert "did not stop within 2 s of SIGTERM: killed" in err, err
