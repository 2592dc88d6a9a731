"""Published ports and bridge networks of `bulwark run` (issue #18 section 4): as root a veth on
a host bridge with the kernel's NAT (nftables), for other users slirp4netns. Many connections
through a published port, a busy port, -p without --net, two containers on a named network,
the host's loopback out of reach, and nothing left behind after a SIGKILL."""
import concurrent.futures
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs

sys.path.insert(0, str(Path(__file__).parent))
from run_util import world_tmpdir  # noqa: E402

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the bridge network needs root"),
              pytest.mark.hostnet]


@pytest.fixture(scope="module")
def rfs():
    d = world_tmpdir()
    root = make_busybox_rootfs(d / "rootfs")
    os.chmod(root, 0o755)
    for a in ("nc", "httpd", "ip", "wget", "seq", "nslookup"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    (root / "www").mkdir()
    (root / "www" / "index.html").write_text("hello from the container\n")
    yield root
    subprocess.run(["rm", "-rf", str(d)])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def nft_tables():
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return set(re.findall(r"table ip (bulwark_\S+)", out))


def get(port, host="127.0.0.1", timeout=5):
    with socket.create_connection((host, port), timeout=timeout) as c:
        c.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            data += b
    return data


def wait_serving(port, proc, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1])
        try:
            if b"hello" in get(port, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the published port never answered")


def serve(rfs, port, *extra, user_cmd=None, preexec=None):
    cmd = [BULWARK, "run", "-q", *extra, "-p", f"{port}:80", "--rootfs", str(rfs), "--",
           "/bin/httpd", "-f", "-p", "80", "-h", "/www"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec, cwd="/")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert "AddressSanitizer" not in err and "runtime error:" not in err, err
    return out, err


def test_many_connections_without_net_flag(rfs):
    """-p alone (no --net) publishes through the bridge: 2000 sequential and 50 concurrent
    connections all succeed (slirp4netns' listener, with its backlog of 1, lost many)."""
    port = free_port()
    proc = serve(rfs, port)
    try:
        wait_serving(port, proc)
        before = nft_tables()
        assert before, "no nftables table of bulwark's while publishing"
        for i in range(2000):
            assert b"hello from the container" in get(port), i
        with concurrent.futures.ThreadPoolExecutor(50) as ex:
            got = list(ex.map(lambda _: get(port, timeout=20), range(500)))
        assert all(b"hello from the container" in g for g in got)
    finally:
        stop(proc)
    assert not (before & nft_tables()), "the container's table outlived it"


def test_busy_port_is_one_clear_line(rfs):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        p = subprocess.run([BULWARK, "run", "-p", f"{port}:80", "--rootfs", str(rfs), "true"],
                           capture_output=True, text=True, timeout=60)
    finally:
        busy.close()
    assert p.returncode == 125, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert lines == [f"bulwark: cannot publish 127.0.0.1:{port}/tcp: address already in use"], \
        p.stderr


def test_host_loopback_unreachable(rfs):
    """The host's 127.0.0.1 services are out of reach, through the gateway or otherwise,
    although route_localnet is set on the bridge (for publishing on 127.0.0.1)."""
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen(8)
    hport = host.getsockname()[1]
    try:
        p = subprocess.run(
            [BULWARK, "run", "-q", "--net", "bridge", "--rootfs", str(rfs), "--", "/bin/sh",
             "-c", f"ip route; for a in 10.213.0.1 127.0.0.1; do nc -w 2 $a {hport} </dev/null"
             f" && echo OPEN $a; done; ip route add 127.1.0.0/16 via 10.213.0.1 && "
             f"nc -w 2 127.1.0.1 {hport} </dev/null && echo OPEN routed; echo done"],
            capture_output=True, text=True, timeout=60)
    finally:
        host.close()
    assert "default via 10.213.0.1" in p.stdout, p.stderr
    assert "done" in p.stdout and "OPEN" not in p.stdout, (p.stdout, p.stderr)


def test_named_network_containers_talk(rfs):
    """Two containers on --network NAME reach each other by address (bridge bwk-NAME)."""
    name = f"t{os.getpid() % 100000}"
    a = subprocess.Popen(
        [BULWARK, "run", "-q", "--network", name, "--rootfs", str(rfs), "--", "/bin/sh", "-c",
         "ip -4 -o addr show eth0; exec /bin/httpd -f -p 80 -h /www"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = a.stdout.readline()
        m = re.search(r"inet (10\.213\.\d+\.\d+)/24", line)
        assert m, (line, a.stderr.read() if a.poll() is not None else "")
        ip = m.group(1)
        assert not ip.startswith("10.213.0."), ip  # not the default network's subnet
        b = subprocess.run(
            [BULWARK, "run", "-q", "--network", name, "--rootfs", str(rfs), "--", "/bin/sh",
             "-c", f"for i in $(seq 50); do wget -q -O- http://{ip}/index.html && exit 0; "
             "sleep 0.1; done; exit 1"], capture_output=True, text=True, timeout=60)
        assert "hello from the container" in b.stdout, b.stderr
        # the default network is another bridge: not reachable from there
        c = subprocess.run(
            [BULWARK, "run", "-q", "--net", "bridge", "--rootfs", str(rfs), "--", "/bin/sh",
             "-c", f"wget -q -T 2 -O- http://{ip}/index.html"], capture_output=True,
            text=True, timeout=60)
        assert "hello" not in c.stdout
        assert os.path.exists(f"/sys/class/net/bwk-{name}")
    finally:
        stop(a)
    # the last container out removes the named network's bridge and number
    assert not os.path.exists(f"/sys/class/net/bwk-{name}")
    assert not os.path.exists(f"/run/bulwark/net/{name}.net")


def test_sigkill_leaves_nothing_for_long(rfs):
    """A SIGKILLed bulwark leaves its nftables table and lease: the next start removes them;
    nothing of slirp4netns stays in /tmp."""
    port = free_port()
    proc = serve(rfs, port)
    wait_serving(port, proc)
    mine = nft_tables()
    leases = set(os.listdir("/run/bulwark/net/leases"))
    proc.kill()
    proc.communicate(timeout=30)
    assert mine & nft_tables()  # the kill left it (the test would prove nothing otherwise)
    p = subprocess.run([BULWARK, "run", "-q", "--net", "bridge", "--rootfs", str(rfs), "true"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    left = nft_tables()
    gone = {t for t in mine if t not in left}
    assert gone, (mine, left)
    assert not any(t.replace("bulwark_", "").replace("_", ".") in os.listdir(
        "/run/bulwark/net/leases") for t in gone), leases
    # the port is free again
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.close()


def test_stale_table_without_lease_is_taken_over(rfs):
    """A `bulwark_A_B_C_D` table whose lease is gone (/run/bulwark/net wiped, a lease file
    lost) has no owner left: the next start removes it; tables not named exactly so stay."""
    orphan, other = "bulwark_10_213_250_250", f"bulwark_keep{os.getpid() % 100000}"
    assert not os.path.exists("/run/bulwark/net/leases/10.213.250.250")
    for t in (orphan, other):
        subprocess.run(["nft", "add", "table", "ip", t], check=True)
        subprocess.run(["nft", "add", "chain", "ip", t, "pre",
                        "{ type nat hook prerouting priority -100; }"], check=True)
    try:
        p = subprocess.run([BULWARK, "run", "-q", "--net", "bridge", "--rootfs", str(rfs),
                            "true"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        left = nft_tables()
        assert orphan not in left and other in left, left
    finally:
        for t in (orphan, other):
            subprocess.run(["nft", "delete", "table", "ip", t], capture_output=True)


def docker_resolv_conf():
    """What Docker's default bridge would give from this host's files (libnetwork's rules)."""
    text = Path("/etc/resolv.conf").read_text()
    servers = re.findall(r"^nameserver\s+(\S+)", text, re.M)
    if servers == ["127.0.0.53"]:
        text = Path("/run/systemd/resolve/resolv.conf").read_text()
    keep, any_ns = [], False
    for line in text.splitlines():
        m = re.match(r"nameserver\s+(\S+)", line)
        if m and (m.group(1).startswith("127.") or ":" in m.group(1)):
            continue
        any_ns |= bool(m)
        keep.append(line)
    if not any_ns:
        keep += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    return "\n".join(keep) + "\n"


def test_bridge_dns_is_the_hosts_by_dockers_rules(rfs):
    """/etc/resolv.conf on a root bridge: the host's servers (loopback ones dropped, resolved's
    stub replaced), and a name resolves there when it does on the host."""
    for net in (["--net", "bridge"], ["--network", f"d{os.getpid() % 100000}"]):
        p = subprocess.run([BULWARK, "run", "-q", *net, "--rootfs", str(rfs), "--", "/bin/sh",
                            "-c", "cat /etc/resolv.conf; echo ==; nslookup deb.debian.org"],
                           capture_output=True, text=True, timeout=60)
        conf, _, look = p.stdout.partition("==\n")
        assert conf == docker_resolv_conf(), (conf, p.stderr)
        try:
            socket.getaddrinfo("deb.debian.org", 80)
        except OSError:
            continue  # the host itself resolves nothing here: only the file is checked
        assert "Address" in look.split("deb.debian.org", 1)[-1], (net, look, p.stderr)


def in_own_network(script, timeout=90):
    """sh -c script as root in a network namespace and mount namespace of its own, with an
    empty /run/bulwark: bulwark's bridges, routes, nftables and state there are the test's
    alone, and go with the namespaces however the test ends."""
    os.makedirs("/run/bulwark", mode=0o711, exist_ok=True)
    return subprocess.run(
        ["unshare", "-m", "-n", "--propagation", "private", "sh", "-ec",
         "mount -t tmpfs -o mode=711 tmpfs /run/bulwark; ip link set lo up; " + script],
        capture_output=True, text=True, timeout=timeout)


def test_named_network_skips_a_subnet_the_host_routes(rfs):
    """A 10.213.N.0/24 routed on the host through another device (here a bridge left by a
    bulwark whose /run/bulwark was wiped, as in a fresh root sharing the host's network: its
    first named network took N=1, a bridge of the host's had it, DNS replies went there) is
    skipped, as Docker skips a pool overlapping a route: the container talks to the host."""
    p = in_own_network(
        "ip link add bwk-gone type bridge; ip addr add 10.213.1.1/24 dev bwk-gone; "
        "ip link set bwk-gone up; echo hello-from-host | timeout 60 busybox nc -l -p 7777 "
        ">/dev/null 2>&1 & trap \"kill $! 2>/dev/null || true\" EXIT; "
        f"{BULWARK} run -q --network skip --rootfs {rfs} -- /bin/sh -c "
        "'ip -4 -o addr show eth0; set -- $(ip route | grep default); "
        "nc -w 3 $3 7777 </dev/null'")
    assert p.returncode == 0, (p.stdout, p.stderr)
    m = re.search(r"inet (10\.213\.(\d+)\.\d+)/24", p.stdout)
    assert m and m.group(2) not in ("0", "1"), p.stdout
    assert "hello-from-host" in p.stdout, (p.stdout, p.stderr)


def test_default_subnet_routed_elsewhere_is_one_clear_line(rfs):
    """The default network's subnet is fixed: routed through another device it is refused in
    one line that names the device, rather than a container whose replies go astray."""
    p = in_own_network(
        "ip link add other0 type bridge; ip addr add 10.213.0.1/24 dev other0; "
        f"ip link set other0 up; {BULWARK} run -q --net bridge --rootfs {rfs} true || "
        "echo rc=$?")
    assert "rc=125" in p.stdout, (p.stdout, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert lines == ["bulwark: the default network's 10.213.0.0/24 is routed through other0 "
                     "on this host: remove that route, or use a named network (--network)"], \
        p.stderr


def test_sigkill_on_named_network_leaves_no_bridge(rfs):
    """The last container of a named network killed with its bulwark (SIGKILL): the next
    start, on any network, removes the bridge, its route and its number."""
    p = in_own_network(
        f"{BULWARK} run -q --network gone --rootfs {rfs} -- /bin/sh -c 'echo up; sleep 60' "
        ">/run/bulwark/out & pid=$!; i=0; until grep -q up /run/bulwark/out; do "
        "i=$((i+1)); [ $i -lt 300 ]; sleep 0.1; done; kill -9 $pid; wait $pid || true; "
        "ip -o link; ls /run/bulwark/net; echo ==; "
        f"{BULWARK} run -q --net bridge --rootfs {rfs} true; ip -o link; "
        "ls /run/bulwark/net; ip route")
    before, _, after = p.stdout.partition("==\n")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "bwk-gone" in before and "gone.net" in before, before  # the kill left them
    assert "bwk-gone" not in after and "gone.net" not in after, after
    assert "10.213.1." not in after, after


def test_two_roots_on_one_network_keep_apart(rfs):
    """Two bulwarks with their own /run/bulwark on one network namespace (a root of another
    system in a chroot, a fresh root sharing the host's network): the second neither takes the
    first's address (its veth says it is in use) nor removes its nftables table as an orphan."""
    p = in_own_network(
        f"{BULWARK} run -q --net bridge --rootfs {rfs} -- /bin/sh -c "
        "'ip -4 -o addr show eth0; echo up; sleep 30' >/run/bulwark/a.out & pid=$!; "
        "trap \"kill $pid 2>/dev/null || true\" EXIT; i=0; "
        "until grep -q up /run/bulwark/a.out; do i=$((i+1)); [ $i -lt 300 ]; sleep 0.1; done; "
        "cat /run/bulwark/a.out; echo ==; "
        "unshare -m sh -c 'mount -t tmpfs -o mode=711 tmpfs /run/bulwark && "
        f"exec {BULWARK} run -q --net bridge --rootfs {rfs} -- ip -4 -o addr show eth0'; "
        "echo ==; nft list tables")
    assert p.returncode == 0, (p.stdout, p.stderr)
    first, second, tables = p.stdout.split("==\n")
    assert "inet 10.213.0.2/24" in first, first
    assert "inet 10.213.0.3/24" in second, second
    assert "bulwark_10_213_0_2" in tables, tables  # the first's, still there


def test_forward_rules_there_run_no_iptables(rfs):
    """Under a FORWARD policy DROP (iptables-nft), the first start on a bridge inserts its
    three rules with the iptables program; a later start sees them in the nft ruleset it reads
    anyway and runs no iptables (each -C was a process of its own, ~20 ms).
    /usr/sbin/iptables is a wrapper that logs its arguments here."""
    # the bind lands on the symlinks' target, xtables-nft-multi (or -legacy-): the wrapper
    # runs a copy of the real one, named so that it is iptables-nft
    p = in_own_network(
        "iptables-nft -P FORWARD DROP; mkdir /run/bulwark/xt; "
        "cp \"$(readlink -f /usr/sbin/iptables-nft)\" /run/bulwark/xt/iptables-nft; "
        "printf '#!/bin/sh\\necho \"$*\" >>/run/bulwark/ipt.log\\n"
        "exec /run/bulwark/xt/iptables-nft \"$@\"\\n' >/run/bulwark/ipt; "
        "chmod 755 /run/bulwark/ipt; mount --bind /run/bulwark/ipt /usr/sbin/iptables; "
        f"for i in 1 2; do {BULWARK} run -q --net bridge --rootfs {rfs} true; "
        "cat /run/bulwark/ipt.log; echo ==; done; /run/bulwark/xt/iptables-nft -S FORWARD")
    assert p.returncode == 0, (p.stdout, p.stderr)
    first, second, rules = p.stdout.split("==\n")
    for r in ("-i bulwark0 -j ACCEPT",
              "-o bulwark0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
              "-o bulwark0 -m conntrack --ctstate DNAT -j ACCEPT"):
        assert f"-C FORWARD {r}" in first and f"-I FORWARD {r}" in first, first
        assert f"-A FORWARD {r}" in rules, rules
    assert second == first, second  # no iptables run by the second start


def iptables_save():
    return subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout


def test_containers_talk_under_dockers_forward_drop(rfs, dockerd_factory):
    """A dockerd with its iptables rules on this host, and the filter FORWARD policy DROP it
    sets where it switched forwarding on itself (here bulwark had: it is set as dockerd
    would): containers on a bridge network still reach each other (br_netfilter, which
    Docker loads, sends bridged traffic through FORWARD)."""
    before = iptables_save()
    chains_before = set(re.findall(r"^-N (\S+)", before, re.M))
    policy = re.search(r"^-P FORWARD (\S+)", before, re.M).group(1)
    name = f"f{os.getpid() % 100000}"
    d = dockerd_factory(args=("--bridge=none", "--iptables=true", "--ip-masq=false"))
    a = None
    try:
        assert "DOCKER-USER" in iptables_save()  # dockerd's chains are there
        subprocess.run(["iptables", "-P", "FORWARD", "DROP"], check=True)
        a = subprocess.Popen(
            [BULWARK, "run", "-q", "--network", name, "--rootfs", str(rfs), "--", "/bin/sh",
             "-c", "ip -4 -o addr show eth0; exec /bin/httpd -f -p 80 -h /www"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        m = re.search(r"inet (10\.213\.\d+\.\d+)/24", a.stdout.readline())
        assert m, a.stderr.read() if a.poll() is not None else ""
        time.sleep(0.5)  # httpd listens (its start is a few ms)
        # no `wget -T`: busybox's wget crashes when its timeout fires; a dropped SYN is
        # retried for minutes, so the timeout is ours
        try:
            b = subprocess.run(
                [BULWARK, "run", "-q", "--network", name, "--rootfs", str(rfs), "--", "wget",
                 "-q", "-O-", f"http://{m.group(1)}/index.html"], capture_output=True,
                text=True, timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("dropped in FORWARD:\n" + iptables_save())
        assert "hello from the container" in b.stdout, (b.stderr, iptables_save())
        assert f"-A FORWARD -i bwk-{name} -j ACCEPT" in iptables_save()
    finally:
        if a:
            stop(a)
        subprocess.run(["iptables", "-P", "FORWARD", policy], check=True)
        d.stop()
        for c in set(re.findall(r"^-N (\S+)", iptables_save(), re.M)) - chains_before:
            if c.startswith("DOCKER"):
                rules = [l for l in iptables_save().splitlines() if f"-j {c}" in l]
                for r in rules:
                    subprocess.run(["iptables", *r.replace("-A ", "-D ", 1).split()])
                subprocess.run(["iptables", "-F", c])
        for c in set(re.findall(r"^-N (\S+)", iptables_save(), re.M)) - chains_before:
            if c.startswith("DOCKER"):
                subprocess.run(["iptables", "-X", c])
    # the network's bridge went with its last container, and its FORWARD rules with it
    assert f"bwk-{name}" not in iptables_save()


def helpers_of(port):
    """Running pasta/slirp4netns processes whose command line names the port."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines()
            if ("pasta" in l or "slirp4netns" in l) and f"/{port}:" in l]


@pytest.mark.parametrize("net", [[], ["--net", "slirp"]], ids=["pasta", "slirp"])
def test_rootless_publish_sigkill_leaves_nothing(rfs, net):
    """As a normal user -p uses pasta when installed (else, or with --net slirp,
    slirp4netns): many connections succeed, a SIGKILL of bulwark leaves no helper running and
    no socket in /tmp, and a busy port is the same one line as root's."""
    if not net and not os.path.exists("/usr/bin/pasta"):
        pytest.skip("pasta (Debian package passt) is not installed")
    port = free_port()
    # this host's /dev/net/tun may be root's only (Debian's is 0666): a private mount
    # namespace with a usable node, the host's left alone
    drop = ["unshare", "-m", "sh", "-c", "mount -t tmpfs none /dev/net && mknod -m 666 "
            "/dev/net/tun c 10 200 && exec setpriv --reuid 65534 --regid 65534 "
            '--clear-groups "$@"', "sh"]
    proc = subprocess.Popen(
        [*drop, BULWARK, "run", "-q", *net, "-p", f"{port}:80", "--rootfs", str(rfs), "--",
         "/bin/httpd", "-f", "-p", "80", "-h", "/www"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        wait_serving(port, proc)
        if not net:
            assert any("pasta" in l for l in helpers_of(port)), helpers_of(port)
        for _ in range(300):
            assert b"hello" in get(port)
        if not net:  # libslirp listens with a backlog of 1: 50 at once time out there
            with concurrent.futures.ThreadPoolExecutor(50) as ex:
                got = list(ex.map(lambda _: get(port, timeout=20), range(200)))
            assert all(b"hello" in g for g in got)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    time.sleep(0.5)
    assert not helpers_of(port)
    assert not [f for f in os.listdir("/tmp") if f.startswith("bulwark-slirp-")]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bport = busy.getsockname()[1]
    try:
        p = subprocess.run([*drop, BULWARK, "run", *net, "-p", f"{bport}:80", "--rootfs",
                            str(rfs), "true"], capture_output=True, text=True, timeout=60, cwd="/")
    finally:
        busy.close()
    assert p.returncode == 125 and \
        f"cannot publish 127.0.0.1:{bport}/tcp: address already in use" in p.stderr, p.stderr
