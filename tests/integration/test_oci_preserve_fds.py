"""runc's --preserve-fds N for create, run and exec (issue #13): descriptors 3 to 3+N-1 of the
runtime reach the container's process as they are (the same numbers, open across its exec);
the ones above are not passed, and the runtime sets no LISTEN_FDS."""
import os
import subprocess
import uuid

import pytest

from conftest import BULWARK
from test_oci_lifecycle import Runtime, reaper, rt, wait_exit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

# what the container's process reports: fd 3 read, a line through fd 4, whether 5 and 6 exist
PROBE = ("read l <&3; echo \"got $l\"; echo via-4 >&4; "
         "for f in 5 6; do [ -e /proc/self/fd/$f ] && echo leak-$f; done; "
         "env | grep LISTEN_ || true")


def with_fds(tmp_path, argv, timeout=60):
    """argv run with fd 3 reading a file ("line-3"), fd 4 writing tmp_path/out4, and fds 5 and
    6 open too (above what is preserved)."""
    src = tmp_path / "in3"
    src.write_text("line-3\n")
    out4 = tmp_path / "out4"
    sh = 'exec 3<"$1" 4>"$2" 5<"$1" 6<"$1"; shift 2; exec "$@"'
    # files, not pipes: a created container's init keeps its stdio open
    with open(tmp_path / "stdout", "w+") as o, open(tmp_path / "stderr", "w+") as e:
        p = subprocess.run(["/bin/sh", "-c", sh, "sh", str(src), str(out4), *map(str, argv)],
                           stdout=o, stderr=e, timeout=timeout, stdin=subprocess.DEVNULL)
    p.stdout = (tmp_path / "stdout").read_text()
    p.stderr = (tmp_path / "stderr").read_text()
    assert "AddressSanitizer" not in p.stderr, p.stderr
    return p, out4


def check_probe(stdout, out4):
    assert "got line-3" in stdout, stdout
    assert out4.read_text() == "via-4\n"
    assert "leak" not in stdout and "LISTEN_" not in stdout, stdout


def test_run_preserve_fds(rt, tmp_path):
    b = rt.bundle(["/bin/sh", "-c", PROBE])
    cid = "bwk-pf-" + uuid.uuid4().hex[:8]
    p, out4 = with_fds(tmp_path, [BULWARK, "--root", rt.root, "run", "--preserve-fds", "2",
                                  "-b", b, cid])
    assert p.returncode == 0, p.stderr
    check_probe(p.stdout, out4)


def test_create_preserve_fds(rt, tmp_path):
    b = rt.bundle(["/bin/sh", "-c", "{ " + PROBE + "; } > /probe"],
                  edit=lambda c: c["root"].update(readonly=False))
    cid = "bwk-pf-" + uuid.uuid4().hex[:8]
    pidf = tmp_path / "pid"
    p, out4 = with_fds(tmp_path, [BULWARK, "--root", rt.root, "create", "-preserve-fds=2",
                                  "--pid-file", pidf, "-b", b, cid])
    assert p.returncode == 0, p.stderr
    rt.ids.append(cid)
    pid = int(pidf.read_text())
    rt.reaper.append(pid)
    rt("start", cid)
    wait_exit(pid)
    check_probe((b / "rootfs" / "probe").read_text(), out4)


def test_exec_preserve_fds(rt, tmp_path):
    cid, pid = rt.create(rt.bundle(["/bin/sleep", "60"]))
    rt("start", cid)
    p, out4 = with_fds(tmp_path, [BULWARK, "--root", rt.root, "exec", "--preserve-fds", "2",
                                  cid, "/bin/sh", "-c", PROBE])
    assert p.returncode == 0, p.stderr
    check_probe(p.stdout, out4)
    # without it, nothing of the runtime's reaches the process
    p, out4 = with_fds(tmp_path, [BULWARK, "--root", rt.root, "exec", cid, "/bin/sh", "-c",
                                  "[ -e /proc/self/fd/3 ] && echo leak-3; true"])
    assert p.returncode == 0 and "leak" not in p.stdout, (p.stdout, p.stderr)


@pytest.mark.parametrize("cmd", ["create", "run", "exec"])
def test_preserve_fds_usage_errors(rt, tmp_path, cmd):
    b = rt.bundle(["/bin/true"])
    tail = ["x-" + uuid.uuid4().hex[:6]] + (["/bin/true"] if cmd == "exec" else [])
    head = [] if cmd == "exec" else ["-b", str(b)]
    for bad in ("x", "-1", "4097", "1x"):
        p = rt(cmd, "--preserve-fds", bad, *head, *tail, check=2)
        assert "--preserve-fds" in p.stderr.splitlines()[0], p.stderr
    # more than are open: named, nothing created
    p = rt(cmd, "--preserve-fds", "40", *head, *tail, check=2)
    assert "--preserve-fds 40: descriptor" in p.stderr and "is not open" in p.stderr, p.stderr
    assert not (rt.root / tail[0]).exists()
