"""`bulwark run` signals and stdio for commands that do not run as the container's root:
signals reach them (the init's kill() needs CAP_KILL once the uids differ), Docker's stop
(STOPSIGNAL, then SIGKILL after --stop-timeout), dispositions inherited from the caller are
reset, the command itself never holds CAP_KILL, and /dev/stdout and /dev/stderr can be opened
by any user of the container. Every check is made from the host side: bulwark's exit status,
the bytes on its own stdout and stderr, and the time it took."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BULWARK, make_busybox_rootfs

sys.path.insert(0, str(Path(__file__).parent))
from image_util import DEV, D, F, L, Layer, docker_save  # noqa: E402

LOOP = 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 1; done'
CAP_KILL = 1 << 5


def env():
    return {"PATH": os.environ["PATH"], "NO_COLOR": "1",
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", ""),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", ""),
            **{k: os.environ[k] for k in ("GCOV_ERROR_FILE",) if k in os.environ}}  # make coverage: libgcov quiet


def clean(text):
    assert "ERROR: AddressSanitizer" not in text, text
    assert "runtime error:" not in text, text


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    root = make_busybox_rootfs(tmp_path_factory.mktemp("signals") / "rootfs")
    for a in ("trap", "tr", "tail", "kill"):
        if not (root / "bin" / a).exists():
            (root / "bin" / a).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\napp:x:1000:\n")
    return root


def image(tmp_path, cfg):
    bb = Path("/bin/busybox").read_bytes()
    apps = ("sh", "sleep", "echo", "cat", "grep", "id", "trap", "true")
    layer = Layer([D("bin"), F("bin/busybox", bb, 0o755)] +
                  [L(f"bin/{a}", "busybox") for a in apps] +
                  [D("etc"), F("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                             "app:x:1000:1000:app:/:/bin/sh\n"),
                   F("etc/group", "root:x:0:\napp:x:1000:\n")])
    cfg = dict({"Env": ["PATH=/bin"]}, **cfg)
    return docker_save(tmp_path / "img.tar", [layer], config=cfg)


def start(args, preexec_fn=None):
    p = subprocess.Popen([BULWARK, "run", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env(), preexec_fn=preexec_fn)
    line = p.stdout.readline()
    if line.strip() != b"ready":
        p.kill()
        _, err = p.communicate()
        pytest.fail(f"no ready line: {line!r} {err!r}")
    time.sleep(0.3)  # the shell is in its loop, its trap set
    return p


def finish(p, timeout=30):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()  # bulwark's SIGKILL takes the container along (parent-death signal)
        p.communicate()
        raise
    clean(err.decode())
    return p.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("how", ["flag", "image"])
def test_sigterm_reaches_a_uid_1000_command(rfs, tmp_path, how):
    # without CAP_KILL in the init, kill() from container root to uid 1000 is EPERM and the
    # command keeps running until --stop-timeout's SIGKILL (137, no "got TERM")
    if how == "flag":
        args = ["-u", "1000", "--rootfs", str(rfs), "--", "/bin/sh", "-c", LOOP]
    else:
        img = image(tmp_path, {"User": "app", "Cmd": ["/bin/sh", "-c", LOOP]})
        args = ["--cache", str(tmp_path / "cache"), str(img)]
    p = start(args)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p)
    assert (rc, out.split()) == (3, ["got", "TERM"]), (rc, out, err)
    assert time.monotonic() - t0 < 5


def ignore_int_term_hup():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, signal.SIG_IGN)


def test_dispositions_ignored_by_the_caller_are_reset(rfs):
    # as nohup or a script's background job starts it: the command must still get SIGINT
    # (a shell cannot even trap a signal that was ignored when it started)
    script = 'trap "echo got INT; exit 4" INT; echo ready; while :; do sleep 1; done'
    p = start(["-u", "1000", "--rootfs", str(rfs), "--", "/bin/sh", "-c", script],
              preexec_fn=ignore_int_term_hup)
    p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    assert (rc, out.split()) == (4, ["got", "INT"]), (rc, out, err)
    # and nothing the command sees is ignored or blocked
    p = subprocess.run([BULWARK, "run", "-u", "1000", "--rootfs", str(rfs), "--", "grep",
                        "-E", "^Sig(Ign|Blk)", "/proc/self/status"],
                       capture_output=True, text=True, env=env(), preexec_fn=ignore_int_term_hup)
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    for line in p.stdout.splitlines():
        assert int(line.split()[1], 16) == 0, p.stdout


def test_image_stopsignal_is_what_sigterm_becomes(tmp_path):
    script = ('trap "echo got QUIT; exit 5" QUIT; trap "echo got TERM; exit 6" TERM; '
              'echo ready; while :; do sleep 1; done')
    img = image(tmp_path, {"User": "app", "StopSignal": "SIGQUIT",
                           "Cmd": ["/bin/sh", "-c", script]})
    cache = ["--cache", str(tmp_path / "cache")]
    p = start([*cache, str(img)])
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p)
    assert (rc, out.split()) == (5, ["got", "QUIT"]), (rc, out, err)
    # --stop-signal overrides the image's
    p = start([*cache, "--stop-signal", "TERM", str(img)])
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p)
    assert (rc, out.split()) == (6, ["got", "TERM"]), (rc, out, err)
    # a StopSignal that is no signal is refused, naming it
    (tmp_path / "bad").mkdir()
    bad = image(tmp_path / "bad", {"StopSignal": "SIGNOPE", "Cmd": ["true"]})
    p = subprocess.run([BULWARK, "run", *cache, str(bad)], capture_output=True, text=True,
                       env=env())
    assert p.returncode == 125 and "SIGNOPE" in p.stderr, p.stderr


@pytest.mark.parametrize("init", [[], ["--no-init"]])
def test_sigkill_after_stop_timeout(rfs, init):
    # TERM ignored by the command (and, with --no-init, a pid 1 without a handler never
    # gets it): SIGKILL after the stop timeout, not before, and the container is gone
    script = 'trap "" TERM; echo ready; while :; do sleep 1; done'
    p = start([*init, "-u", "1000", "--stop-timeout", "2", "--rootfs", str(rfs), "--",
               "/bin/sh", "-c", script])
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p, timeout=20)
    took = time.monotonic() - t0
    assert rc == 137, (rc, out, err)
    assert 1.8 <= took < 4.5, took


def test_default_stop_timeout_is_dockers(rfs):
    """No --stop-timeout: Docker's 10 s, given by the spec's producer (the sandbox picks none
    and refuses a spec without it)."""
    script = 'trap "" TERM; echo ready; while :; do sleep 1; done'
    p = start(["--rootfs", str(rfs), "--", "/bin/sh", "-c", script])
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc, out, err = finish(p, timeout=30)
    took = time.monotonic() - t0
    assert rc == 137, (rc, out, err)
    assert 9.8 <= took < 13, took


def test_stop_timeout_usage_errors(rfs):
    for bad in ("x", "-2", "86401", ""):
        p = subprocess.run([BULWARK, "run", "--stop-timeout", bad, "--rootfs", str(rfs),
                            "true"], capture_output=True, text=True, env=env())
        assert p.returncode == 2 and "--stop-timeout" in p.stderr, (bad, p.stderr)
    p = subprocess.run([BULWARK, "run", "--stop-signal", "SIGBOGUS", "--rootfs", str(rfs),
                        "true"], capture_output=True, text=True, env=env())
    assert p.returncode == 2 and "--stop-signal" in p.stderr, p.stderr


def caps_of(rfs, *args):
    p = subprocess.run([BULWARK, "run", *args, "--rootfs", str(rfs), "--", "/bin/sh", "-c",
                        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"],
                       capture_output=True, text=True, env=env())
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    return {ln.split(":")[0]: int(ln.split()[1], 16) for ln in p.stdout.splitlines()}


@pytest.mark.parametrize("args", [["-u", "1000"], ["-u", "1000", "--cap-drop", "KILL"],
                                  ["-u", "0", "--cap-drop", "ALL"],
                                  ["-u", "0", "--cap-drop", "KILL"]])
def test_command_does_not_inherit_the_inits_cap_kill(rfs, args):
    caps = caps_of(rfs, *args)
    assert set(caps) == {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}, caps
    # the bounding set is the container's capability set (Docker's rule: a non-root user
    # keeps it, for nothing, under no_new_privs); dropped, it is gone from there too
    dropped = "--cap-drop" in args
    for k, v in caps.items():
        if k != "CapBnd" or dropped:
            assert not v & CAP_KILL, (k, hex(v))
    # and the command's status line is the real thing: root with defaults has it
    assert caps_of(rfs, "-u", "0")["CapEff"] & CAP_KILL


@pytest.mark.parametrize("user", ["1000", "0"])
def test_dev_stdout_and_stderr_openable(rfs, user):
    # nginx's logs are links to /dev/stdout and /dev/stderr: the pipes' inodes must be
    # openable by the command's user, and the bytes land on the right host stream
    p = subprocess.run([BULWARK, "run", "-u", user, "--rootfs", str(rfs), "--", "/bin/sh",
                        "-c", "echo out > /dev/stdout && echo err > /dev/stderr && "
                              "echo o2 >> /proc/self/fd/1"],
                       capture_output=True, text=True, env=env())
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["out", "o2"], p.stdout
    assert p.stderr.split() == ["err"], p.stderr


def test_dev_stdin_openable_with_i(rfs):
    p = subprocess.run([BULWARK, "run", "-i", "-u", "1000", "--rootfs", str(rfs), "--",
                        "/bin/sh", "-c", "cat /dev/stdin"], input="piped\n",
                       capture_output=True, text=True, env=env())
    clean(p.stderr)
    assert (p.returncode, p.stdout) == (0, "piped\n"), p.stderr


def test_quiet_keeps_the_out_of_memory_message(rfs):
    p = subprocess.run([BULWARK, "run", "-q", "--memory", "32m", "--rootfs", str(rfs), "--",
                        "/bin/sh", "-c", "x=$(head -c 300000000 /dev/zero | tr '\\0' a); "
                                         "echo ${#x}"],
                       capture_output=True, text=True, env=env(), timeout=120)
    clean(p.stderr)
    assert p.returncode == 137, (p.returncode, p.stderr)
    assert "out of memory" in p.stderr, p.stderr


def test_first_run_warnings_only_what_run_can_act_on(tmp_path):
    # a Debian-like image: device nodes in /dev (replaced by the runtime's own /dev), one
    # outside it, and setuid files: no line per /dev node, no flag that `run` rejects, one
    # summary line for the setuid bits on the first run (the layers are cached after it)
    bb = Path("/bin/busybox").read_bytes()
    layer = Layer([D("bin"), F("bin/busybox", bb, 0o755), L("bin/sh", "busybox"),
                   L("bin/true", "busybox"), D("dev"), DEV("dev/null"), DEV("dev/zero", minor=5),
                   DEV("dev/tty", major=5, minor=0), D("opt"), DEV("opt/odd", minor=7),
                   F("bin/su", b"x", 0o4755), F("bin/passwd", b"x", 0o4755),
                   F("bin/wall", b"x", 0o2755)])
    img = docker_save(tmp_path / "img.tar", [layer],
                      config={"Env": ["PATH=/bin"], "Cmd": ["true"]})
    cmd = [BULWARK, "run", "--cache", str(tmp_path / "cache"), str(img)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env())
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert not any("dev/" in ln for ln in lines), lines
    assert not any("--devices" in ln or "--keep-setuid" in ln for ln in lines), lines
    assert sum("opt/odd" in ln for ln in lines) == 1, lines
    setuid = [ln for ln in lines if "setuid" in ln]
    assert len(setuid) == 1 and " 3 files" in setuid[0], lines
    # the bits are gone on the host side too (the cache is what the container runs)
    modes = [f.stat().st_mode for f in (tmp_path / "cache").rglob("*")
             if f.is_file() and f.name in ("su", "passwd", "wall")]
    assert len(modes) == 3 and not any(m & 0o6000 for m in modes), modes
    p = subprocess.run(cmd, capture_output=True, text=True, env=env())
    assert p.returncode == 0 and "setuid" not in p.stderr and "opt/odd" not in p.stderr, p.stderr


def test_dev_stdout_openable_under_tty(rfs):
    # -t: the pty is the command's too, so the same log links work with a terminal
    master, slave = os.openpty()
    p = subprocess.Popen([BULWARK, "run", "-t", "-u", "1000", "--rootfs", str(rfs), "--",
                          "/bin/sh", "-c", "echo viatty > /dev/stdout && echo ok:$?"],
                         stdin=slave, stdout=slave, stderr=slave, env=env())
    os.close(slave)
    out = b""
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
    os.close(master)
    assert p.wait(timeout=30) == 0, out
    clean(out.decode(errors="replace"))
    assert b"viatty" in out and b"ok:0" in out, out
