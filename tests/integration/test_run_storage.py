"""`bulwark run` storage for real server images under the read-only root (issue #18 §2, §3):
an image's VOLUMEs are writable anonymous volumes (discarded at exit, replaced by a -v on the
same path), /var's state directories are writable (discarded at exit, bounded by
--writable-size, read-only again with --read-only) while /usr, /etc and /var/www are not,
/run, /tmp and --tmpfs start with the image's content there (owner and mode kept,
bounded, links never followed), --read-write's layer is sized by --writable-size, a failure
after EROFS/ENOSPC names the flag that allows the write, and -v takes Docker's relative paths.
Every image is built here: busybox and a few directories, with a non-root USER where the
point is a service that does not run as root."""
import os
import sys
from pathlib import Path

import pytest

from conftest import BULWARK, run_bulwark

sys.path.insert(0, str(Path(__file__).parent))
from image_util import D, F, L, Layer, docker_save  # noqa: E402

APPS = ("sh", "cat", "echo", "id", "ls", "stat", "touch", "mkdir", "dd", "readlink", "true",
        "wc", "rm")
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\n"


def image(tmp_path, entries=(), cfg=None, name="img.tar"):
    bb = Path("/bin/busybox").read_bytes()
    base = Layer([D("bin"), F("bin/busybox", bb, 0o755)] +
                 [L(f"bin/{a}", "busybox") for a in APPS] +
                 [D("etc"), F("etc/passwd", PASSWD), F("etc/group", GROUP),
                  D("tmp", 0o1777), D("run")])
    layers = [base] + ([Layer(list(entries))] if entries else [])
    return docker_save(tmp_path / name, layers, config=dict({"Env": ["PATH=/bin"]}, **(cfg or {})))


def run(tmp_path, img, *cmd, opts=(), check=None, cwd=None):
    return run_bulwark("run", "-q", "--cache", tmp_path / "cache", *opts, str(img), *cmd,
                       check=check, cwd=cwd)


def sh(script):
    return ["sh", "-c", script]


# ---- VOLUMEs ---------------------------------------------------------------------------------
@pytest.fixture
def pg_like(tmp_path):
    """A server image as the official ones are: USER app, VOLUME /data prepared for it."""
    return image(tmp_path, [D("data", 0o700, 1000, 1000), F("data/seed", "seeded\n", 0o600, 1000, 1000),
                            D("var"), D("var/lib"), D("var/lib/app", 0o750, 1000, 1000)],
                 {"User": "app", "Volumes": {"/data": {}, "/var/lib/app/": {}}})


def test_image_volume_is_writable_by_its_user(tmp_path, pg_like):
    p = run(tmp_path, pg_like, *sh("echo new > /data/new && cat /data/seed /data/new && "
                                   "touch /var/lib/app/pid && stat -c '%u:%g %a' /data /var/lib/app"),
            check=0)
    assert p.stdout.split("\n")[:4] == ["seeded", "new", "1000:1000 700", "1000:1000 750"], p.stdout
    # anonymous: discarded at exit, the image's content again on the next run
    p = run(tmp_path, pg_like, *sh("ls /data"), check=0)
    assert p.stdout.split() == ["seed"]


def test_image_volume_replaced_by_a_bind(tmp_path, pg_like):
    host = tmp_path / "host"
    host.mkdir()
    host.chmod(0o777)  # the owner seen inside is §3's business (test_volume_idmap…)
    run(tmp_path, pg_like, opts=("-v", f"{host}:/data:rw"), *sh("echo kept > /data/out; ls /data"), check=0)
    assert (host / "out").read_text() == "kept\n"
    assert not (host / "seed").exists()


def test_image_volume_is_sized_and_fills_with_a_hint(tmp_path, pg_like):
    p = run(tmp_path, pg_like, opts=("--writable-size", "1m"),
            *sh("dd if=/dev/zero of=/data/big bs=64k count=64"))
    assert p.returncode != 0
    assert "No space left on device" in p.stderr
    assert "bulwark: the command failed after \"No space left on device\" on /data/big: the " \
           "tmpfs at /data is full; raise --writable-size" in p.stderr, p.stderr


def test_hostile_volume_paths(tmp_path):
    # the runtime's own /proc, /sys and /dev are never covered by an image's VOLUME
    img = image(tmp_path, cfg={"Volumes": {"/proc": {}, "/sys/kernel": {}, "/dev": {}}})
    p = run(tmp_path, img, *sh("cat /proc/self/stat >/dev/null && ls /dev/null"), check=0)
    bad = image(tmp_path, cfg={"Volumes": {"/data/../etc": {}}}, name="bad.tar")
    p = run(tmp_path, bad, "true", check=125)
    assert "VOLUME '/data/../etc' is not a clean absolute path" in p.stderr


# ---- tmpcopyup -------------------------------------------------------------------------------
def test_run_content_kept_with_owner_and_mode(tmp_path):
    # PostgreSQL's /run/postgresql: owner postgres, mode 2775, written by the server
    img = image(tmp_path, [D("run/postgresql", 0o2775, 1000, 1000),
                           F("run/postgresql/README", "socket here\n", 0o640, 1000, 1000),
                           L("run/postgresql/link", "/etc/passwd"), D("tmp/.X11-unix", 0o1777),
                           D("run/lock", 0o1777)],
                {"User": "app"})
    p = run(tmp_path, img, *sh("stat -c '%u:%g %a' /run/postgresql /run/postgresql/README "
                               "/run /tmp /tmp/.X11-unix && readlink /run/postgresql/link && "
                               "cat /run/postgresql/README && touch /run/postgresql/.s.PGSQL.5432.lock "
                               "/run/lock/x"),
            check=0)
    assert p.stdout.split("\n")[:7] == [
        "1000:1000 2775", "1000:1000 640", "0:0 755", "0:0 1777", "0:0 1777", "/etc/passwd",
        "socket here"], p.stdout


def test_copyup_never_follows_the_images_links(tmp_path):
    """Links in the copied trees stay links inside the container: a directory link to a host
    path is not entered, nothing is written outside the tmpfs, and the copy keeps no setuid
    bits and no device nodes."""
    target = tmp_path / "hostdir"
    target.mkdir()
    (target / "secret").write_text("host only\n")
    img = image(tmp_path, [L("run/escape", str(target)), L("run/rel", "../../../../" + str(target)),
                           F("run/suid", "#!/bin/sh\n", 0o4755), D("run/sub"),
                           L("run/sub/up", "..")])
    p = run(tmp_path, img, *sh("readlink /run/escape; readlink /run/rel; readlink /run/sub/up; "
                               "stat -c %a /run/suid; ls /run/escape/ 2>&1; true"), check=0)
    out = p.stdout.split("\n")
    assert out[:4] == [str(target), "../../../../" + str(target), "..", "755"], p.stdout
    assert "host only" not in p.stdout and "secret" not in p.stdout
    assert sorted(os.listdir(target)) == ["secret"]


def test_tmpfs_flag_copies_the_image_content(tmp_path):
    img = image(tmp_path, [D("var"), D("var/cache"), D("var/cache/app", 0o755, 1000, 1000),
                           F("var/cache/app/index", "idx\n", 0o644, 1000, 1000)], {"User": "app"})
    p = run(tmp_path, img, opts=("--tmpfs", "/var/cache/app:size=1m,noexec"),
            *sh("cat /var/cache/app/index && echo w > /var/cache/app/new && cat /var/cache/app/new"),
            check=0)
    assert p.stdout == "idx\nw\n"
    p = run(tmp_path, img, opts=("--tmpfs", "/var/cache/app:size=64k"),
            *sh("dd if=/dev/zero of=/var/cache/app/big bs=64k count=4"))
    assert p.returncode != 0
    assert "the tmpfs at /var/cache/app is full; raise the size= of its --tmpfs" in p.stderr, \
        p.stderr
    for bad in ("rel/path", "/x:size=huge", "/x:suid", "/x/..", "/tmp", "/run/:size=1m"):
        p = run(tmp_path, img, "true", opts=("--tmpfs", bad), check=2)
    assert "/run is always a tmpfs (with the image's content); size it with --tmpfs-size" \
        in p.stderr, p.stderr
    run(tmp_path, img, "true", opts=("--tmpfs", "/run/app"), check=0)


def test_copyup_is_bounded(tmp_path):
    # more names than BWK_COPYUP_MAX_ENTRIES in /run: refused with a clear line, no hang
    many = [D("run/many")] + [F(f"run/many/{i}") for i in range(20001)]
    img = image(tmp_path, many)
    p = run(tmp_path, img, "true", check=125)
    assert "the image's /run holds more than 20000 names" in p.stderr, p.stderr
    deep = image(tmp_path, [D("run/" + "/".join(["d"] * i)) for i in range(1, 70)],
                 name="deep.tar")
    p = run(tmp_path, deep, "true", check=125)
    assert "the image's /run nests directories deeper than 64 levels" in p.stderr, p.stderr
    # content larger than the tmpfs: says which mount and what to raise
    big = image(tmp_path, [F("run/blob", b"\0" * (2 << 20))], name="big.tar")
    p = run(tmp_path, big, "true", opts=("--tmpfs-size", "4m"), check=125)
    assert "the image's content at /run does not fit in the tmpfs mounted there" in p.stderr


# ---- --read-write ----------------------------------------------------------------------------
def test_read_write_layer_is_sized_by_writable_size(tmp_path):
    img = image(tmp_path)
    # 96 MiB: more than the 64 MiB it had (the --tmpfs-size of the staging tmpfs)
    run(tmp_path, img, opts=("--read-write",), *sh("dd if=/dev/zero of=/big bs=1M count=96 2>/dev/null"),
        check=0)
    p = run(tmp_path, img, opts=("--read-write", "--writable-size", "2m"),
            *sh("dd if=/dev/zero of=/big bs=1M count=8"))
    assert p.returncode != 0
    assert "the writable root is full; raise --writable-size" in p.stderr, p.stderr


# ---- /var's state directories ----------------------------------------------------------------
VAR_IMAGE = [D("var"), D("var/lib"), D("var/lib/app", 0o750, 1000, 1000),
             F("var/lib/app/seed", "seeded\n", 0o600, 1000, 1000), D("var/log"),
             D("var/cache"), D("var/spool"), D("var/tmp", 0o1777), D("var/www"),
             F("var/www/index.html", "site\n"), D("usr"), D("usr/share")]
# a second layer, so that as root the layers arrive merged (run.c) as in a real image
VAR_LAYER = [D("var/log/app", 0o755, 1000, 1000), F("usr/share/doc", "doc\n"),
             L("bin/ln", "busybox"), L("bin/mv", "busybox")]

WRITE_STATE = ("cat /var/lib/app/seed && echo new > /var/lib/app/new && echo log > /var/log/app/l "
               "&& mkdir /var/cache/c /var/spool/s && echo t > /var/tmp/t && "
               "cat /var/lib/app/new /var/log/app/l && stat -c '%u:%g %a' /var/lib/app")
AGAIN = ("for d in /var/lib/app /var/cache /var/spool /var/tmp /var/log/app /var/log; do ls -A $d; "
         "done")
# a service's user writes its own directory, and no more than the image lets it
AS_APP = "echo x > /var/lib/app/f && cat /var/lib/app/f && echo x > /var/lib/x"
READ_ONLY = ("for f in /usr/x /usr/share/doc /etc/x /var/www/x /var/www/index.html /var/x /x; do "
             "echo > $f || echo refused $f; done")


def var_image(tmp_path, cfg=None, name="var.tar"):
    bb = Path("/bin/busybox").read_bytes()
    base = Layer([D("bin"), F("bin/busybox", bb, 0o755)] +
                 [L(f"bin/{a}", "busybox") for a in APPS] +
                 [D("etc"), F("etc/passwd", PASSWD), F("etc/group", GROUP),
                  D("tmp", 0o1777), D("run")] + VAR_IMAGE)
    return docker_save(tmp_path / name, [base, Layer(VAR_LAYER)],
                       config=dict({"Env": ["PATH=/bin"]}, **(cfg or {})))


def check_state_dirs(p_state, p_ro, p_again, owner="1000:1000"):
    assert p_state.returncode == 0, p_state.stderr
    assert p_state.stdout.split("\n")[:4] == ["seeded", "new", "log", f"{owner} 750"], p_state.stdout
    refused = ["/usr/x", "/usr/share/doc", "/etc/x", "/var/www/x", "/var/www/index.html",
               "/var/x", "/x"]
    assert p_ro.stdout.split("\n")[:-1] == [f"refused {f}" for f in refused], p_ro.stdout
    assert p_ro.stderr.count("Read-only file system") == len(refused), p_ro.stderr
    # discarded at exit: the image's content again at the next run
    assert p_again.returncode == 0, p_again.stderr
    assert p_again.stdout.split() == ["seed", "app"], p_again.stdout


def check_as_app(p):
    assert p.returncode == 1 and p.stdout == "x\n", (p.stdout, p.stderr)
    assert "/var/lib/x: Permission denied" in p.stderr, p.stderr


def test_var_state_dirs_writable_and_discarded(tmp_path):
    img = var_image(tmp_path)
    check_state_dirs(run(tmp_path, img, *sh(WRITE_STATE)), run(tmp_path, img, *sh(READ_ONLY)),
                     run(tmp_path, img, *sh(AGAIN)))
    # the code and configuration stay as they were; the image's own files unchanged
    p = run(tmp_path, img, *sh("cat /var/www/index.html /usr/share/doc"), check=0)
    assert p.stdout == "site\ndoc\n"
    # nothing leads out of a state directory: no link or rename across to the read-only root
    p = run(tmp_path, img, *sh("ln /usr/share/doc /var/lib/doc; ln /var/lib/app/seed /usr/seed; "
                               "mv /var/lib/app /usr/app; echo x > /var/lib/app/seed2 && "
                               "ls /usr && cat /usr/share/doc"))
    assert p.stdout == "share\ndoc\n", (p.stdout, p.stderr)
    assert p.stderr.splitlines() == ["ln: /var/lib/doc: Invalid cross-device link",
                                     "ln: /usr/seed: Read-only file system",
                                     "mv: can't create directory '/usr/app': Read-only file "
                                     "system"], p.stderr  # mv: EXDEV, then its copy
    # owners and modes are the image's, not widened
    check_as_app(run(tmp_path, var_image(tmp_path, {"User": "app"}, "app.tar"), *sh(AS_APP)))


def test_var_state_dirs_read_only_flag(tmp_path):
    img = var_image(tmp_path)
    p = run(tmp_path, img, *sh("echo x > /var/lib/app/f"), opts=("--read-only",))
    assert p.returncode == 1 and "Read-only file system" in p.stderr, p.stderr
    assert "make /var/lib/app writable with --tmpfs /var/lib/app" in p.stderr, p.stderr
    p = run(tmp_path, img, *sh("grep -c ' /var/' /proc/self/mountinfo"), opts=("--read-only",))
    assert p.stdout.strip() == "0", p.stdout
    # the later of --read-only and --read-write wins
    run(tmp_path, img, *sh("echo x > /usr/x"), opts=("--read-only", "--read-write"), check=0)
    p = run(tmp_path, img, *sh("echo x > /var/lib/app/f"), opts=("--read-write", "--read-only"))
    assert "Read-only file system" in p.stderr, p.stderr


def test_var_state_dirs_bounded_by_writable_size(tmp_path):
    img = var_image(tmp_path)
    # 96 MiB: more than --tmpfs-size's 64 MiB, within --writable-size's default 512 MiB
    run(tmp_path, img, *sh("dd if=/dev/zero of=/var/lib/big bs=1M count=96 2>/dev/null"), check=0)
    p = run(tmp_path, img, opts=("--writable-size", "4m"),
            *sh("dd if=/dev/zero of=/var/log/big bs=1M count=16"))
    assert p.returncode != 0 and "No space left on device" in p.stderr, p.stderr
    assert ("the writable layer of /var's state directories is full; raise --writable-size"
            in p.stderr), p.stderr
    # the directories share the one bound
    p = run(tmp_path, img, opts=("--writable-size", "4m"),
            *sh("dd if=/dev/zero of=/var/log/a bs=1M count=3 2>/dev/null && "
                "dd if=/dev/zero of=/var/cache/b bs=1M count=3"))
    assert p.returncode != 0 and "No space left on device" in p.stderr, p.stderr


def test_var_state_dirs_give_way_to_volumes_and_tmpfs(tmp_path):
    img = var_image(tmp_path, {"Volumes": {"/var/spool/q": {}}})
    host = tmp_path / "logs"
    host.mkdir()
    host.chmod(0o777)
    p = run(tmp_path, img, opts=("-v", f"{host}://var/log/:rw", "--tmpfs", "/var/lib/app",
                                 "-v", f"{host}:/var/cache/c:rw"),
            *sh("echo h > /var/log/h && cat /var/lib/app/seed && echo c > /var/cache/c/c && "
                "echo q > /var/spool/q/q && grep -E ' /var/(log|lib/app|lib|cache/c|spool/q) ' "
                "/proc/self/mountinfo | cut -d' ' -f5,8"), check=0)
    mounts = p.stdout.split("\n")[1:-1]
    assert p.stdout.startswith("seeded\n")  # the --tmpfs starts with the image's content
    # -v on /var/log replaces its writable layer; under /var/lib and /var/cache they land on it
    assert sorted(mounts) == sorted(["/var/lib overlay", "/var/log ext4", "/var/lib/app tmpfs",
                                     "/var/cache/c ext4", "/var/spool/q tmpfs"]), p.stdout
    assert (host / "h").read_text() == "h\n" and (host / "c").read_text() == "c\n"


def test_var_state_dirs_never_follow_the_images_links(tmp_path):
    """An image whose /var/log is a link to /etc, and /var/lib a link through ../: /etc is
    not made writable through them."""
    bb = Path("/bin/busybox").read_bytes()
    base = Layer([D("bin"), F("bin/busybox", bb, 0o755)] +
                 [L(f"bin/{a}", "busybox") for a in APPS] +
                 [D("etc"), F("etc/passwd", PASSWD), F("etc/group", GROUP), D("tmp", 0o1777),
                  D("run"), D("var"), L("var/log", "/etc"), L("var/lib", "../usr"), D("usr"),
                  D("var/cache")])
    img = docker_save(tmp_path / "links.tar", [base], config={"Env": ["PATH=/bin"]})
    p = run(tmp_path, img, *sh("echo x > /var/log/x; echo x > /var/lib/x; echo x > /var/cache/x "
                               "&& echo cache"))
    assert p.stdout == "cache\n", (p.stdout, p.stderr)
    assert p.stderr.count("Read-only file system") == 2, p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="creates the subordinate-id user it runs as")
def test_var_state_dirs_rootless(tmp_path):
    """The same as a normal user with subordinate ids: no id-mapped or merged layers, the
    overlay mounted inside the user namespace."""
    import shutil
    import subprocess
    from run_util import subid_user, world_tmpdir
    uid, gid = subid_user()
    work = world_tmpdir()
    try:
        img = var_image(work)
        os.chown(work, uid, gid)
        cmd = ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
               BULWARK, "run", "-q", "--cache", str(work / "cache")]

        def go(script, *opts):
            p = subprocess.run([*cmd, *opts, str(img), "sh", "-c", script],
                               capture_output=True, text=True, cwd="/")
            assert "AddressSanitizer" not in p.stderr, p.stderr
            return p
        # the rootless layer cache keeps no owners (the caller unpacked it): root's
        check_state_dirs(go(WRITE_STATE), go(READ_ONLY), go(AGAIN), owner="0:0")
        p = go("echo x > /var/lib/app/f", "--read-only")
        assert p.returncode == 1 and "Read-only file system" in p.stderr, p.stderr
        p = go("dd if=/dev/zero of=/var/lib/app/big bs=1M count=16", "--writable-size", "4m")
        assert p.returncode != 0 and "No space left on device" in p.stderr, p.stderr
        # a user without subordinate ids (a single-id map): the same
        for f in work.rglob("*"):
            os.chown(f, 65534, 65534, follow_symlinks=False)
        os.chown(work, 65534, 65534)
        cmd[1:5] = ["--reuid", "65534", "--regid", "65534"]
        p = go("cat /proc/self/uid_map; " + WRITE_STATE)
        assert p.returncode == 0 and p.stdout.split()[:3] == ["0", "65534", "1"], p.stdout
        assert p.stdout.split("\n")[1:4] == ["seeded", "new", "log"], p.stdout
        p = go(READ_ONLY)
        assert p.stderr.count("Read-only file system") == 7, p.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- the EROFS hint --------------------------------------------------------------------------
def test_read_only_root_hint_names_path_and_flags(tmp_path):
    img = image(tmp_path, [D("var"), D("var/www"), D("var/www/app")])
    p = run(tmp_path, img, *sh("mkdir /var/www/app/body"))
    assert p.returncode == 1
    hint = [l for l in p.stderr.splitlines() if l.startswith("bulwark: the command failed")]
    assert hint == ['bulwark: the command failed after "Read-only file system" on '
                    '/var/www/app/body: the root filesystem is read-only; make '
                    '/var/www/app writable with --tmpfs /var/www/app or a volume '
                    '(--volume DIR:/var/www/app:rw), or the whole root with --read-write'], p.stderr
    # a read-only volume names :rw
    host = tmp_path / "ro"
    host.mkdir()
    p = run(tmp_path, img, opts=("-v", f"{host}:/srv"), *sh("touch /srv/x"))
    assert "the volume at /srv is read-only; give it :rw" in p.stderr, p.stderr
    # a success says nothing, whatever it printed
    p = run(tmp_path, img, *sh("echo 'x: Read-only file system' >&2; true"), check=0)
    assert "bulwark:" not in p.stderr


# ---- volumes -----------------------------------------------------------------------------------
def test_relative_volume_path(tmp_path):
    img = image(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data").chmod(0o777)
    run(tmp_path, img, opts=("-v", "./data:/data:rw"), *sh("echo hi > /data/f"), check=0, cwd=tmp_path)
    assert (tmp_path / "data" / "f").read_text() == "hi\n"
    # a bare name is Docker's named volume, which bulwark has not: refused, not guessed
    p = run(tmp_path, img, "true", opts=("-v", "data:/data"), check=2, cwd=tmp_path)
    assert "bad --volume" in p.stderr


# ---- §3: volumes for a non-root service (root: id-mapped mounts, :U) -------------------------
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="id-mapped volumes are made by root")


def host_owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


@needs_root
def test_volume_of_an_unmapped_host_user_is_the_container_users(tmp_path):
    """A host directory owned by 4242:4343 (no id of the container's), mode 0700: USER app
    (1000) sees it as its own and writes there; the host gets the files as 4242, never as
    host root or an id of the container's slice."""
    img = image(tmp_path, cfg={"User": "app"})
    vol = tmp_path / "pgdata"
    vol.mkdir(mode=0o700)
    os.chown(vol, 4242, 4343)
    (vol / "old").write_text("old\n")
    os.chown(vol / "old", 4242, 4343)
    p = run(tmp_path, img, *sh("stat -c '%u:%g' /data /data/old && cat /data/old && "
                               "mkdir /data/base && echo new > /data/base/f && id -u"),
            opts=("-v", f"{vol}:/data:rw"), check=0)
    assert p.stdout.split() == ["1000:1000", "1000:1000", "old", "1000"], (p.stdout, p.stderr)
    assert host_owner(vol / "base") == (4242, 4343)
    assert host_owner(vol / "base" / "f") == (4242, 4343)
    assert host_owner(vol) == (4242, 4343)  # the host directory itself is not touched
    assert (vol / "base" / "f").read_text() == "new\n"


@needs_root
def test_volume_of_host_root_needs_U_and_is_never_written_as_host_root(tmp_path):
    img = image(tmp_path, cfg={"User": "app"})
    vol = tmp_path / "rootowned"
    vol.mkdir(mode=0o755)
    (vol / "sub").mkdir()
    (vol / "sub" / "f").write_text("x")
    os.symlink("/etc/passwd", vol / "link")  # :U changes the link, never /etc/passwd
    passwd = os.stat("/etc/passwd")
    # without :U: host root's stays host root's, and the container's user cannot write
    p = run(tmp_path, img, *sh("touch /data/new"), opts=("-v", f"{vol}:/data:rw"))
    assert p.returncode == 1 and "Permission denied" in p.stderr, p.stderr
    # with :U: given to the container user's host ids, then written
    run(tmp_path, img, *sh("touch /data/new /data/sub/g && stat -c %u /data/new"),
        opts=("-v", f"{vol}:/data:rw,U"), check=0)
    uid, gid = host_owner(vol / "new")
    assert uid >= 65536 and uid % 65536 == 1000 and gid % 65536 == 1000, (uid, gid)
    for p in (vol, vol / "sub", vol / "sub" / "f", vol / "sub" / "g", vol / "link"):
        assert host_owner(p) == (uid, gid), p
    st = os.stat("/etc/passwd")
    assert (st.st_uid, st.st_gid) == (passwd.st_uid, passwd.st_gid)


@needs_root  # to create the subordinate-id user the test runs bulwark as
def test_U_unprivileged_chowns_from_inside_the_user_namespace(tmp_path):
    """A normal user with subordinate ids has no id-mapped mounts: `U` gives the caller's
    directory to the container's user from inside the user namespace (container 1000 is the
    caller's subordinate id SUBID_BASE+999 on the host), and the service writes there."""
    import shutil
    import subprocess
    from run_util import SUBID_BASE, subid_user, world_tmpdir
    uid, gid = subid_user()
    work = world_tmpdir()
    try:
        img = image(work, cfg={"User": "app"})
        vol = work / "data"
        vol.mkdir()
        (vol / "old").write_text("x")
        for p in (work, vol, vol / "old"):
            os.chown(p, uid, gid)
        cmd = ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
               BULWARK, "run", "-q", "--cache", str(work / "cache")]
        script = ["sh", "-c", "touch /data/new && stat -c %u:%g /data /data/old"]
        p = subprocess.run([*cmd, "-v", f"{vol}:/data:rw", str(img), *script],
                           capture_output=True, text=True, cwd="/")
        assert p.returncode == 1 and "Permission denied" in p.stderr, (p.stdout, p.stderr)
        p = subprocess.run([*cmd, "-v", f"{vol}:/data:rw,U", str(img), *script],
                           capture_output=True, text=True, cwd="/")
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert p.stdout.split() == ["1000:1000", "1000:1000"], p.stdout
        want = (SUBID_BASE + 999, SUBID_BASE + 999)
        for f in (vol, vol / "old", vol / "new"):
            assert host_owner(f) == want, f
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- real software: PostgreSQL 15 from Debian's package, USER postgres -----------------------
PG = Path("/usr/lib/postgresql/15")


def pg_image(path):
    """An image as the official postgres one is laid out: the host's PostgreSQL 15 binaries,
    their libraries (ldd) and share files, USER postgres (100:102), /run/postgresql 2775,
    VOLUME /var/lib/postgresql/data; busybox for the shell. No LLVM JIT (size)."""
    import subprocess
    files = set()

    def deps(f):
        out = subprocess.run(["ldd", f], capture_output=True, text=True).stdout
        for line in out.splitlines():
            files.update(w for w in line.split() if w.startswith("/"))

    for b in ("initdb", "postgres", "pg_ctl"):
        files.add(str(PG / "bin" / b))
        deps(str(PG / "bin" / b))
    for top in (PG / "lib", Path("/usr/share/postgresql/15")):
        for d, _, fs in os.walk(top):
            files.update(os.path.join(d, f) for f in fs if "llvmjit" not in f)
    for f in [f for f in files if f.endswith(".so")]:
        deps(f)
    entries, dirs = [], set()
    for f in sorted(files):
        real = os.path.realpath(f)
        if not os.path.isfile(real):
            continue
        parts = f.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append(D(d))
        entries.append(F(f.lstrip("/"), Path(real).read_bytes(), os.stat(real).st_mode & 0o755))
    for d in ("bin", "etc", "tmp", "run", "var", "var/lib"):
        if d not in dirs:
            entries.append(D(d, 0o1777 if d == "tmp" else 0o755))
    bb = Path("/bin/busybox").read_bytes()
    entries += [F("bin/busybox", bb, 0o755)] + [L(f"bin/{a}", "busybox") for a in APPS]
    entries += [L("var/run", "/run"),
                F("etc/passwd", "root:x:0:0::/root:/bin/sh\n"
                                "postgres:x:100:102::/var/lib/postgresql:/bin/sh\n"),
                F("etc/group", "root:x:0:\npostgres:x:102:\n"),
                D("run/postgresql", 0o2775, 100, 102), D("var/lib/postgresql", 0o755, 100, 102),
                D("var/lib/postgresql/data", 0o700, 100, 102)]
    cfg = {"Env": [f"PATH={PG}/bin:/bin", "PGDATA=/var/lib/postgresql/data"], "User": "postgres",
           "Volumes": {"/var/lib/postgresql/data": {}}, "Cmd": ["sh"]}
    return docker_save(path, [Layer(entries)], config=cfg)


PG_SCRIPT = ("initdb -A trust >/tmp/initdb.log 2>&1 || { tail -3 /tmp/initdb.log; exit 1; }; "
             "pg_ctl -w -l /tmp/pg.log -o '-c listen_addresses=' start >/dev/null || "
             "{ tail -3 /tmp/pg.log; exit 2; }; stat -c '%U %a' /run/postgresql/.s.PGSQL.5432; "
             "pg_ctl -w stop >/dev/null && echo stopped")


@pytest.mark.skipif(not (PG / "bin" / "initdb").exists(), reason="postgresql-15 not installed")
def test_real_postgresql_runs_with_defaults_and_on_a_host_volume(tmp_path):
    img = pg_image(tmp_path / "pg.tar")
    # defaults only: initdb in the image's VOLUME, the socket in the image's /run/postgresql
    p = run(tmp_path, img, "sh", "-c", PG_SCRIPT, check=0)
    assert p.stdout.split() == ["postgres", "777", "stopped"], (p.stdout, p.stderr)
    if os.geteuid() != 0:
        return
    # a host directory of another host user, id-mapped: the cluster comes back as 4242's
    vol = tmp_path / "pgdata"
    vol.mkdir(mode=0o700)
    os.chown(vol, 4242, 4242)
    p = run(tmp_path, img, "sh", "-c", PG_SCRIPT, opts=("-v", "./pgdata:/var/lib/postgresql/data:rw"),
            cwd=tmp_path, check=0)
    assert p.stdout.split()[-1] == "stopped", (p.stdout, p.stderr)
    assert {os.lstat(os.path.join(d, f)).st_uid for d, _, fs in os.walk(vol) for f in fs} == {4242}
    assert (vol / "PG_VERSION").read_text().strip() == "15"
