"""`bulwark run -t`: the command's terminal is a pty of the container's own devpts, so `tty`
and ttyname() name it (/dev/pts/N in the container; a pty of the host's devpts is "not a
tty" there), its size follows the caller's terminal, and what the container says before the
pty exists (a start-up error) still reaches the caller. The caller's terminal is a real pty
made here (os.openpty), bulwark's controlling terminal as an interactive shell gives it."""
import fcntl
import os
import re
import struct
import termios
import time

import pytest

from conftest import make_busybox_rootfs
from run_util import Pty

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1", "TERM": "xterm",
       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
       "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", ""),
       # make coverage: libgcov's complaints from inside the container go nowhere, not into
       # the pipes these tests read only at the end (64 KiB of them blocked the relay)
       **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    root = make_busybox_rootfs(tmp_path_factory.mktemp("tty") / "rootfs")
    for a in ("tty", "stty", "readlink", "stat"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    return root


class Terminal(Pty):
    """The caller's terminal, sized as asked; its text without any carriage return."""

    def __init__(self, rows=33, cols=101):
        super().__init__(ENV)
        self.resize(rows, cols)

    def resize(self, rows, cols):
        # on the master, as an emulator does: the kernel signals SIGWINCH to the foreground
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def text(self):
        with self.lock:
            return bytes(self.out).replace(b"\r", b"").decode(errors="replace")


@pytest.fixture
def term():
    t = Terminal()
    yield t
    t.close()


@pytest.mark.parametrize("flags", [["-t"], ["-it"], ["-t", "-u", "1000"], ["-t", "--no-init"]])
def test_tty_names_the_containers_own_pty(rfs, term, flags):
    rc = term.run("run", *flags, "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                  "echo TTY=$(tty) rc=$?; for f in 0 1 2; do echo FD$f=$(readlink "
                  "/proc/$$/fd/$f); done; echo PTS=$(ls /dev/pts | tr '\\n' ' '); "
                  "echo OWNER=$(stat -c %u /dev/pts/0); echo SIZE=$(stty size)")
    out = term.text()
    assert rc == 0, out
    # ttyname() (busybox's tty is glibc's) finds the terminal by name in the container
    m = re.search(r"TTY=(/dev/pts/\d+) rc=0", out)
    assert m, out
    for f in range(3):
        assert f"FD{f}={m.group(1)}\n" in out, out
    # the container's devpts holds it: its pty is the only one there
    assert "PTS=0 ptmx\n" in out, out
    assert f"OWNER={1000 if '-u' in flags else 0}\n" in out, out
    assert "SIZE=33 101\n" in out, out


def test_window_size_follows_the_callers_terminal(rfs, term):
    p = term.start("run", "-it", "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                   "echo A=$(stty size); read x; echo B=$(stty size)")
    assert term.wait_for("A=33 101"), term.text()
    term.resize(40, 120)  # bulwark gets SIGWINCH and sizes the container's pty
    time.sleep(0.3)
    os.write(term.master, b"go\r")
    assert p.wait(timeout=60) == 0, term.text()
    assert term.wait_for("B=40 120"), term.text()


def test_start_up_errors_reach_the_caller(rfs, term, tmp_path):
    # before its pty exists the container speaks through pipes: an error while building its
    # filesystem is shown, with exit status 125, as without -t
    bad = make_busybox_rootfs(tmp_path / "bad")
    (bad / "tmp").rmdir()
    (bad / "tmp").symlink_to("/etc")
    rc = term.run("run", "-t", "--rootfs", str(bad), "--", "/bin/true")
    assert rc == 125, term.text()
    assert "/tmp is a symbolic link in the image" in term.text(), term.text()
    # after: through the pty (the command cannot be found)
    rc = term.run("run", "-t", "--rootfs", str(rfs), "--", "/no/such/command")
    assert rc == 127 and "exec /no/such/command" in term.text(), term.text()


def test_storage_hint_under_a_tty(rfs, term):
    # the failed write's message goes through the pty (stdout and stderr are one stream
    # there): the hint naming the flag still follows it (#18 section 2)
    rc = term.run("run", "-t", "--rootfs", str(rfs), "--", "/bin/mkdir", "/var/cache-x")
    out = term.text()
    assert rc == 1 and "Read-only file system" in out, out
    assert "the root filesystem is read-only" in out and "--read-write" in out, out
