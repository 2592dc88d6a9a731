"""`bulwark run` stdio without -t: the container never holds the caller's terminal (or any
other descriptor of the caller). stdout/stderr are pipes relayed by bulwark, stdin is /dev/null
or (-i) a relayed pipe. The caller's terminal here is a real pty (os.openpty) that bulwark gets
as its stdin, stdout and stderr, as an interactive shell would give it; every attack is checked
on the host side (the pty's settings, its input queue, the descriptors of the container's
processes seen from the host), not only by what the container reports."""
import hashlib
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs
from run_util import Pty

sys.path.insert(0, str(Path(__file__).parent))

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1",
       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
       "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", ""),
       # make coverage: libgcov's complaints from inside the container go nowhere, not into
       # the pipes these tests read only at the end (64 KiB of them blocked the relay)
       **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    root = make_busybox_rootfs(tmp_path_factory.mktemp("stdio") / "rootfs")
    for a in ("readlink", "stty", "seq", "sed", "timeout", "od", "sha256sum", "yes", "tr"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    return root


def sanitizer_clean(text):
    assert "ERROR: AddressSanitizer" not in text, text
    assert "runtime error:" not in text, text


@pytest.fixture
def pty():
    t = Pty(ENV)
    yield t
    t.close()


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
                todo += [int(k) for k in kids]
                out += [int(k) for k in kids]
        except OSError:
            pass
    return out


def open_files(pid):
    """(fd, st_dev, st_ino, st_rdev, target) of every descriptor of pid, as the host sees it."""
    res = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return res
    for fd in fds:
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            res.append((int(fd), st.st_dev, st.st_ino, st.st_rdev,
                        os.readlink(f"/proc/{pid}/fd/{fd}")))
        except OSError:
            pass
    return res


@pytest.mark.parametrize("flags,expect", [
    ([], {"pipe", "/dev/null"}), (["-i"], {"pipe"}), (["--no-init"], {"pipe", "/dev/null"}),
    (["-t"], {"/dev/pts/"}), (["-it"], {"/dev/pts/"})])
def test_no_container_process_holds_the_callers_terminal(rfs, pty, flags, expect):
    # host side: every descriptor of every process under bulwark, while the container runs,
    # compared with the caller's pty (given as 0-2 and once more as an inherited descriptor)
    extra = os.dup(pty.slave)
    os.set_inheritable(extra, True)
    try:
        p = pty.start("run", *flags, "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                      "echo STARTED; sleep 30", pass_fds=(extra,))
        assert pty.wait_for("STARTED"), pty.text()
        mine = os.fstat(pty.slave)
        procs = descendants(p.pid)
        assert procs, "no container process found"
        held = [(pid, f) for pid in procs for f in open_files(pid)
                if (f[1], f[2]) == (mine.st_dev, mine.st_ino)]
        # and with it, what the container side's 0-2 are
        kinds = {f[4].split(":")[0] for pid in procs for f in open_files(pid) if f[0] < 3}
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        os.close(extra)
    assert not held, held
    if expect == {"/dev/pts/"}:  # the container's own pty
        assert len(kinds) == 1 and kinds.pop().startswith("/dev/pts/"), kinds
    else:
        assert kinds == expect, kinds


def test_container_sees_pipes_and_no_terminal(rfs, pty):
    rc = pty.run("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                 "for f in 0 1 2; do echo fd$f=$(readlink /proc/self/fd/$f); done; "
                 "for f in 0 1 2; do stty -g <&$f 2>/tmp/e; echo stty$f:$(cat /tmp/e); done; "
                 "ls /proc/self/fd | tr '\\n' ' ' | sed 's/^/fds:/'; echo; "
                 "cat /dev/tty 2>&1 | sed s/^/devtty:/")
    out = pty.text()
    assert rc == 0, out
    lines = dict(l.split("=", 1) for l in out.splitlines() if l[:3] in ("fd0", "fd1", "fd2"))
    assert lines["fd0"] == "/dev/null", out
    assert lines["fd1"].startswith("pipe:[") and lines["fd2"].startswith("pipe:["), out
    assert lines["fd1"] != lines["fd2"], out  # stdout and stderr stay separate streams
    for f in "012":  # tcgetattr on each fails with ENOTTY
        assert f"stty{f}:stty: standard input: Inappropriate ioctl for device" in out, out
    fds = next(l for l in out.splitlines() if l.startswith("fds:")).split(":")[1].split()
    assert fds == ["0", "1", "2", "3"], out  # 3: ls's own directory
    assert "devtty:" in out and "No such device or address" in out, out


STTY_ATTACK = ("stty raw -echo -isig 2>/dev/null; stty raw -echo -isig <&1 2>/dev/null; "
               "stty raw -echo -isig <&2 2>/dev/null; stty raw -echo </dev/tty 2>/dev/null; "
               "stty -F /proc/self/fd/1 raw 2>/dev/null; stty -F /dev/stderr raw 2>/dev/null")


def test_terminal_settings_survive_the_container(rfs, pty):
    before = termios.tcgetattr(pty.slave)
    rc = pty.run("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c", STTY_ATTACK + "; echo END")
    assert rc == 0 and "END" in pty.text(), pty.text()
    assert termios.tcgetattr(pty.slave) == before
    # negative control: the same commands given the terminal do change it
    subprocess.run(["/bin/busybox", "sh", "-c", STTY_ATTACK], stdin=pty.slave,
                   stdout=pty.slave, stderr=subprocess.DEVNULL, timeout=30)
    assert termios.tcgetattr(pty.slave) != before
    termios.tcsetattr(pty.slave, termios.TCSANOW, before)


def test_typed_text_is_not_readable_by_the_container(rfs, pty):
    # what the user types while the container runs stays in the terminal for the shell
    attrs = termios.tcgetattr(pty.slave)
    attrs[3] &= ~termios.ECHO  # no echo, so the secret can only come back through a read
    termios.tcsetattr(pty.slave, termios.TCSANOW, attrs)
    p = pty.start("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                  "echo READY; sleep 2; for f in 0 1 2; do timeout 2 head -c 9 <&$f >>/tmp/r "
                  "2>/dev/null; done; timeout 2 head -c 9 </dev/tty >>/tmp/r 2>/dev/null; "
                  "echo read:$(wc -c </tmp/r); echo DONE")
    assert pty.wait_for("READY"), pty.text()
    os.write(pty.master, b"SECRET42\n")
    assert p.wait(timeout=60) == 0, pty.text()
    assert pty.wait_for("DONE"), pty.text()
    assert "read:0\n" in pty.text(), pty.text()
    assert pty.pending_input() == b"SECRET42\n"


def test_stdin_is_dev_null_without_i(rfs, pty):
    # what the user types meanwhile reaches neither the container nor bulwark
    p = pty.start("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                  "echo READY; sleep 1; readlink /proc/self/fd/0; cat | wc -c | sed s/^/bytes:/")
    assert pty.wait_for("READY"), pty.text()
    os.write(pty.master, b"typed\n")
    assert p.wait(timeout=60) == 0
    assert pty.wait_for("bytes:0"), pty.text()
    assert "/dev/null" in pty.text()
    assert pty.pending_input() == b"typed\n"


def test_interactive_from_the_terminal(rfs, pty):
    before = termios.tcgetattr(pty.slave)
    p = pty.start("run", "-i", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                  "echo READY; read -r l; echo got:$l; cat | wc -c | sed s/^/catbytes:/; "
                  "echo EOF-SEEN")
    assert pty.wait_for("READY"), pty.text()
    os.write(pty.master, b"line one\n")
    assert pty.wait_for("got:line one"), pty.text()
    os.write(pty.master, b"abc\n")
    time.sleep(0.2)
    os.write(pty.master, b"\x04")  # ^D: end of the caller's input ends the container's cat
    assert p.wait(timeout=60) == 0, pty.text()
    assert pty.wait_for("EOF-SEEN"), pty.text()
    assert "catbytes:4\n" in pty.text(), pty.text()
    assert termios.tcgetattr(pty.slave) == before


def big_script(n_out, n_err):
    # both streams at once, so that their relays interleave
    return (f"seq 1 {n_err} | sed s/^/E/ >&2 & seq 1 {n_out}; wait")


def expected(n, prefix=""):
    return "".join(f"{prefix}{i}\n" for i in range(1, n + 1)).encode()


def test_large_output_to_pipes_is_exact_and_separate(rfs):
    # ~20 MB on stdout and ~3 MB on stderr through pipes (the splice path)
    n_out, n_err = 2_700_000, 400_000
    p = subprocess.run([BULWARK, "run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                        big_script(n_out, n_err)], capture_output=True, env=ENV, timeout=600)
    sanitizer_clean(p.stderr.decode(errors="replace")[-5000:])
    assert p.returncode == 0, p.stderr[-2000:]
    assert len(p.stdout) > 20_000_000
    assert hashlib.sha256(p.stdout).digest() == hashlib.sha256(expected(n_out)).digest()
    assert p.stderr == expected(n_err, "E")


def test_large_output_to_files_is_exact(rfs, tmp_path):
    # regular files as stdout/stderr (the copy path)
    n_out, n_err = 1_000_000, 200_000
    with open(tmp_path / "out", "wb") as o, open(tmp_path / "err", "wb") as e:
        p = subprocess.run([BULWARK, "run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                            big_script(n_out, n_err)], stdout=o, stderr=e, env=ENV,
                           timeout=600)
    assert p.returncode == 0
    assert (tmp_path / "out").read_bytes() == expected(n_out)
    assert (tmp_path / "err").read_bytes() == expected(n_err, "E")


def test_output_to_the_terminal_is_complete(rfs, pty):
    # the caller's terminal as stdout (copy path, ends with the container's exit)
    rc = pty.run("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c", "seq 1 100000; echo LAST")
    assert rc == 0
    assert pty.wait_for("LAST")
    body = pty.text()
    assert body.endswith(expected(100000).decode() + "LAST\n"), body[-200:]


def test_back_pressure_not_buffered(rfs, tmp_path):
    # a reader that stops reading stops the container's writer; bulwark holds a bounded amount
    total = 64 * 1024 * 1024
    err = open(tmp_path / "err", "wb")
    p = subprocess.Popen([BULWARK, "run", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                          f"dd if=/dev/zero bs=65536 count={total // 65536} 2>/dev/null; "
                          "echo WROTE-ALL >&2"], stdout=subprocess.PIPE, stderr=err, env=ENV)
    time.sleep(3)
    assert b"WROTE-ALL" not in (tmp_path / "err").read_bytes()
    rss = int(next(l.split()[1] for l in open(f"/proc/{p.pid}/status")
                   if l.startswith("VmRSS:")))
    got = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        got += len(b)
    assert p.wait(timeout=120) == 0
    err.close()
    assert got == total
    assert b"WROTE-ALL" in (tmp_path / "err").read_bytes()
    assert rss < 48 * 1024, rss  # KiB: below the 64 MiB written (an ASan build holds ~13)


def test_interactive_pipe_is_exact_and_eof_ends_cat(rfs):
    data = os.urandom(5 * 1024 * 1024)
    p = subprocess.run([BULWARK, "run", "-i", "--rootfs", str(rfs), "--", "cat"],
                       input=data, capture_output=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout == data


def test_interactive_file_is_exact(rfs, tmp_path):
    data = os.urandom(3 * 1024 * 1024)
    (tmp_path / "in").write_bytes(data)
    with open(tmp_path / "in", "rb") as i, open(tmp_path / "out", "wb") as o:
        p = subprocess.run([BULWARK, "run", "-i", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                            "cat; echo END >&2"], stdin=i, stdout=o, stderr=subprocess.PIPE,
                           env=ENV, timeout=300)
    assert p.returncode == 0 and p.stderr.endswith(b"END\n"), p.stderr[-2000:]
    assert (tmp_path / "out").read_bytes() == data


def test_reader_gone_reaches_the_container(rfs):
    # the caller's pipe closes: the container's writer gets SIGPIPE as it would have
    # directly, bulwark exits with its status (and is not itself killed by SIGPIPE)
    p = subprocess.Popen([BULWARK, "run", "--rootfs", str(rfs), "--", "yes"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert p.stdout.read(10) == b"y\ny\ny\ny\ny\n"
    p.stdout.close()
    assert p.wait(timeout=60) == 128 + signal.SIGPIPE
    sanitizer_clean(p.stderr.read().decode(errors="replace"))


def test_exit_statuses_through_the_relay(rfs, pty, tmp_path):
    assert pty.run("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c", "echo x; exit 7") == 7
    assert pty.run("run", "--rootfs", str(rfs), "nosuchcmd") == 127
    assert "executable file not found" in pty.text()
    assert pty.run("run", "--rootfs", str(rfs), "/etc/passwd") == 126
    assert pty.run("run", "-u", "nosuchuser", "--rootfs", str(rfs), "true") == 125
    assert "unable to find user nosuchuser" in pty.text()
    # a container that fails while its filesystem is built: its message still arrives
    vol = tmp_path / "vol"
    vol.mkdir()
    p = subprocess.run([BULWARK, "run", "-q", "-v", f"{vol}:/etc/passwd", "--rootfs",
                        str(rfs), "true"], capture_output=True, text=True, env=ENV,
                       timeout=120)
    assert p.returncode == 125 and "bulwark:" in p.stderr and "/etc/passwd" in p.stderr, \
        p.stderr


def test_signals_still_forwarded(rfs, pty):
    p = pty.start("run", "--rootfs", str(rfs), "--", "/bin/sh", "-c", "echo UP; sleep 60")
    assert pty.wait_for("UP"), pty.text()
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 128 + signal.SIGTERM
