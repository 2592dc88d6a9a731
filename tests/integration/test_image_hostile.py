"""Hostile images against the readers (security issue #10): sparse members that expand past the
size budgets, OCI layout parts that are FIFOs, sockets or symlinks, an image swapped under
`run --scan`, and nested archives that multiply the scan's cost. Every refusal is one clear line,
quick (each command runs under a timeout, so a hang fails instead of blocking CI), and leaves the
host as it was."""
import ctypes
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import BUILD, BULWARK, run_bulwark
import image_util as u

GIB = 1 << 30
SPARSE_FORMATS = ["gnu", "pax0.0", "pax0.1", "pax1.0"]
QUICK = 60  # seconds: far more than any of these commands needs, far less than a hang


def usage(d: Path):
    """(entries, bytes really allocated) below d: what a disk-filling image would change."""
    n = blocks = 0
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            n += 1
            blocks += st.st_blocks * 512
    return n, blocks


def one_line_error(p, *needles):
    assert p.stderr.startswith("bulwark: ") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    for n in needles:
        assert n in p.stderr, (n, p.stderr)


# ---- 1. sparse members -----------------------------------------------------------------------
def sparse_image(tmp_path, fmt, logical, runs, name="sparse.tar"):
    tar = u.sparse_tar("big", logical, runs, fmt)
    return u.docker_save(tmp_path / name, [u.Layer(raw_tar=tar)])


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_sparse_past_max_size_refused_by_unpack(bulwark, tmp_path, fmt):
    img = sparse_image(tmp_path, fmt, GIB, [(4096, b"head"), (GIB - 4096, b"tail")])
    assert img.stat().st_size < 64 << 10
    work = tmp_path / "work"
    work.mkdir()
    before = usage(tmp_path)
    p = bulwark("unpack", "--max-size", "100M", img, work / "rootfs", check=2, timeout=QUICK)
    one_line_error(p, "'big' expands to 1073741824 bytes (a sparse file)", "size limit")
    assert usage(tmp_path) == before
    assert os.listdir(work) == []


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_sparse_bomb_refused_by_ratio(bulwark, tmp_path, fmt):
    """Without --max-size: 1 GiB from a 10 KiB layer is a bomb by the ratio guard."""
    img = sparse_image(tmp_path, fmt, GIB, [(0, b"x" * 100)])
    before = usage(tmp_path)
    p = bulwark("unpack", img, tmp_path / "rootfs", check=2, timeout=QUICK)
    one_line_error(p, "'big' is a sparse file of 1073741824 bytes", "decompression bomb")
    assert usage(tmp_path) == before


@pytest.mark.parametrize("fmt", ["gnu", "pax1.0"])
def test_sparse_refused_by_run_cache(tmp_path, fmt):
    """run extracts into the layer cache (root: /var/lib/bulwark): a sparse bomb must not
    reach it either."""
    img = sparse_image(tmp_path, fmt, GIB, [(4096, b"head")])
    cache = tmp_path / "cache"
    cache.mkdir()
    p = subprocess.run([BULWARK, "run", "-q", "--cache", str(cache), str(img), "/bin/true"],
                       capture_output=True, text=True, timeout=QUICK)
    assert p.returncode == 125, p.stderr
    assert "'big' is a sparse file of 1073741824 bytes" in p.stderr, p.stderr
    files = [str(f.relative_to(cache)) for f in cache.rglob("*") if f.is_file()]
    assert all(f.endswith(".lock") for f in files), files  # no layer, no half-written tree
    assert usage(cache)[1] < 1 << 20


@pytest.mark.parametrize("fmt", SPARSE_FORMATS)
def test_allowed_sparse_file_unpacks_sparse(bulwark, tmp_path, fmt):
    """30 MiB logical (under --max-size and the ratio floor): unpacked with the right content,
    and with holes, not 30 MiB of zeros written."""
    logical = 30 << 20
    runs = [(8192, b"first run\n"), (10 << 20, b"middle" * 1000), (20 << 20, b"last\n")]
    img = sparse_image(tmp_path, fmt, logical, runs)
    bulwark("unpack", "--max-size", "100M", img, tmp_path / "out", check=0, timeout=QUICK)
    out = tmp_path / "out" / "big"
    st = out.stat()
    assert st.st_size == logical
    assert st.st_blocks * 512 < 1 << 20, st.st_blocks  # a trailing hole too
    data = out.read_bytes()
    expect = bytearray(logical)
    for off, b in runs:
        expect[off:off + len(b)] = b
    assert data == bytes(expect)


def test_sparse_scan_is_quick_and_reads_data(bulwark, tmp_path):
    """scan: a secret after a hole is found, and a hole costs nothing to scan; the 1 GiB bomb
    is refused rather than read."""
    key = b"aws_access_key_id = AKIAIOMVHPCXMFQN4VWZ\n"
    # text first (more than the 8 KiB binary sniff), then a hole, then a second secret
    head = b"# settings\n" * 1000 + key
    after = secret_line(1).encode()
    img = sparse_image(tmp_path, "pax1.0", 30 << 20, [(0, head), (12 << 20, after)])
    t = time.monotonic()
    p = bulwark("scan", "-q", "-f", "json", "--fail-on", "none", img, check=0, timeout=QUICK)
    lines = sorted(f["location"].get("line") for f in json.loads(p.stdout)["findings"]
                   if f["id"] == "aws-access-key-id" and f["location"].get("path") == "big")
    assert lines == [1001, 1002], p.stdout[-2000:]  # the hole holds no newline
    bomb = sparse_image(tmp_path, "gnu", 64 * GIB, [(0, key)], name="bomb.tar")
    p = bulwark("scan", "-q", bomb, check=2, timeout=QUICK)
    one_line_error(p, "'big' expands to 68719476736 bytes (a sparse file)", "size limit")
    assert time.monotonic() - t < QUICK


def test_rootfs_sparse_file_scanned_without_its_holes(bulwark, tmp_path):
    """A root filesystem directory with a 1 TiB sparse file: the scan skips the holes (one
    NUL each) and finds the secret half a terabyte in, in seconds, where reading the zeros
    took hours."""
    root = tmp_path / "rootfs"
    root.mkdir()
    with open(root / "huge", "wb") as f:
        f.write(b"# settings\n" * 1000)  # text past the 8 KiB binary sniff
        f.truncate(1 << 40)
        f.seek(1 << 39)
        f.write(b"aws_access_key_id = AKIAIOMVHPCXMFQN4VWZ\n")
    assert os.stat(root / "huge").st_blocks * 512 < 1 << 20
    p = bulwark("scan", "-q", "-f", "json", "--fail-on", "none", root, check=0, timeout=QUICK)
    lines = [f["location"].get("line") for f in json.loads(p.stdout)["findings"]
             if f["id"] == "aws-access-key-id" and f["location"].get("path") == "huge"]
    assert lines == [1001], p.stdout[-2000:]


# ---- 2. OCI layout parts that are not regular files ----------------------------------------
def layout(tmp_path):
    layer = u.Layer([u.F("etc/hostname", "box\n")])
    root = u.oci_layout(tmp_path / "layout", [{"layers": [layer]}])
    cfg = json.loads((root / "index.json").read_text())["manifests"][0]["digest"][7:]
    man = json.loads((root / "blobs/sha256" / cfg).read_text())
    return root, "blobs/sha256/" + man["config"]["digest"][7:], \
        "blobs/sha256/" + layer.digest[7:]


def make_socket(path: Path):
    s = socket.socket(socket.AF_UNIX)
    old = os.getcwd()
    os.chdir(path.parent)  # sun_path is short: bind by a relative name
    try:
        s.bind(path.name)
    finally:
        os.chdir(old)
    return s


def replace_part(tmp_path, root: Path, part: str, kind: str):
    """Put a FIFO, a socket or a symlink (to the real thing moved elsewhere) at `part`."""
    p = root / part
    keep = []
    if kind.startswith("symlink"):
        where = "inside" if "inside" in kind else "outside"
        dest = (root / ("moved-" + p.name)) if where == "inside" else \
            (tmp_path / "outside" / p.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(p), str(dest))
        target = str(dest) if "abs" in kind else os.path.relpath(dest, p.parent)
        p.symlink_to(target)
        return keep
    if p.is_dir():
        shutil.rmtree(p)
    else:
        p.unlink()
    if kind == "fifo":
        os.mkfifo(p)
    else:
        keep.append(make_socket(p))
    return keep


PART_KINDS = ["fifo", "socket", "symlink-abs-outside", "symlink-rel-outside",
              "symlink-abs-inside", "symlink-rel-inside"]


@pytest.mark.parametrize("kind", PART_KINDS)
@pytest.mark.parametrize("part", ["index.json", "oci-layout", "blobs", "blobs/sha256", "config",
                                  "layer"])
def test_layout_part_not_a_regular_file(tmp_path, part, kind):
    root, config_blob, layer_blob = layout(tmp_path)
    name = {"config": config_blob, "layer": layer_blob}.get(part, part)
    keep = replace_part(tmp_path, root, name, kind)
    what = "symlink" if kind.startswith("symlink") else "not a regular file"
    # inspect does not read layers: only the parts it needs
    cmds = [("scan", "-q"), ("inspect",)] if part != "layer" else [("scan", "-q")]
    for cmd in cmds:
        t = time.monotonic()
        p = run_bulwark(*cmd, root, timeout=QUICK)
        assert p.returncode == 2, (cmd, p.returncode, p.stdout[-500:], p.stderr)
        one_line_error(p, what)
        assert time.monotonic() - t < QUICK / 2
    for s in keep:
        s.close()


@pytest.fixture
def no_openat2():
    helper = BUILD / "no_openat2"
    assert helper.exists(), f"{helper} missing: build the tests"
    return helper


@pytest.mark.parametrize("kind", ["fifo", "symlink-abs-outside", "symlink-rel-inside"])
@pytest.mark.parametrize("part", ["index.json", "blobs", "blobs/sha256", "config"])
def test_layout_part_refused_without_openat2(tmp_path, no_openat2, part, kind):
    """The component walk used without openat2 refuses the same parts."""
    root, config_blob, _ = layout(tmp_path)
    replace_part(tmp_path, root, config_blob if part == "config" else part, kind)
    p = subprocess.run([str(no_openat2), BULWARK, "scan", "-q", str(root)], capture_output=True,
                       text=True, timeout=QUICK)
    assert p.returncode == 2, p.stderr
    one_line_error(p, "symlink" if kind.startswith("symlink") else "not a regular file")


def test_layout_intact_still_reads(bulwark, tmp_path):
    """Negative control: the same layout untouched scans and inspects fine."""
    root, _, _ = layout(tmp_path)
    bulwark("scan", "-q", "--fail-on", "none", root, check=0, timeout=QUICK)
    bulwark("inspect", root, check=0, timeout=QUICK)


@pytest.mark.parametrize("cmd", ["scan", "inspect", "unpack"])
def test_image_argument_fifo(tmp_path, cmd):
    """IMAGE itself a FIFO: refused, not waited on."""
    fifo = tmp_path / "image.tar"
    os.mkfifo(fifo)
    args = [cmd, str(fifo)] + ([str(tmp_path / "out")] if cmd == "unpack" else [])
    p = run_bulwark(*args, timeout=QUICK)
    assert p.returncode == 2, p.stderr
    one_line_error(p, "not a regular file or directory")


# ---- 3. run --scan: the image scanned is the image run ---------------------------------------
def busybox_image(path, cmd, extra=()):
    bb = Path("/bin/busybox").read_bytes()
    layer = u.Layer([u.D("bin"), u.F("bin/busybox", bb, 0o755), u.L("bin/sh", "busybox"),
                     u.L("bin/echo", "busybox"), *extra])
    return u.docker_save(path, [layer], config={"Cmd": ["/bin/sh", "-c", cmd],
                                                "Env": ["PATH=/bin"]})


@pytest.fixture
def clean_and_dirty(tmp_path):
    clean = busybox_image(tmp_path / "clean.tar", "echo CLEAN-RAN")
    dirty = busybox_image(tmp_path / "dirty.tar", "echo DIRTY-RAN", extra=[
        u.F("app/creds", "aws_access_key_id = AKIAIOMVHPCXMFQN4VWZ\n")])
    # the premise: the dirty image is refused by --scan, the clean one starts
    cache = tmp_path / "cache"
    p = subprocess.run([BULWARK, "run", "-q", "--scan", "--cache", str(cache), str(dirty)],
                       capture_output=True, text=True, timeout=QUICK)
    assert p.returncode == 125 and "DIRTY-RAN" not in p.stdout, (p.stdout, p.stderr)
    p = subprocess.run([BULWARK, "run", "-q", "--scan", "--cache", str(cache), str(clean)],
                       capture_output=True, text=True, timeout=QUICK)
    assert p.returncode == 0 and p.stdout == "CLEAN-RAN\n", (p.stdout, p.stderr)
    return clean, dirty, cache


IN_CLOSE_NOWRITE, IN_OPEN = 0x10, 0x20


def count_opens(path: Path, argv):
    """How many times `argv` opens `path` (inotify IN_OPEN; O_PATH opens do not count). The
    closes are watched too: inotify merges an event with an identical one queued just before
    it, so open, open would count once."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0
    try:
        assert libc.inotify_add_watch(fd, str(path).encode(), IN_OPEN | IN_CLOSE_NOWRITE) >= 0
        p = subprocess.run(argv, capture_output=True, text=True, timeout=QUICK)
        n = 0
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            buf = b""
        off = 0
        while off < len(buf):
            _, mask, _, ln = struct.unpack_from("iIII", buf, off)
            n += bool(mask & IN_OPEN)
            off += 16 + ln
        return p, n
    finally:
        os.close(fd)


def test_run_scan_opens_the_image_once(clean_and_dirty):
    clean, _, cache = clean_and_dirty
    p, n = count_opens(clean, [BULWARK, "run", "-q", "--scan", "--cache", str(cache),
                               str(clean)])
    assert p.returncode == 0 and p.stdout == "CLEAN-RAN\n", p.stderr
    assert n == 1, f"the image file was opened {n} times: scanned and run from two opens"


def test_run_scan_swapped_image_never_runs_dirty(clean_and_dirty, tmp_path):
    """A helper renames the clean and the dirty image over IMAGE in a loop while `run --scan`
    starts again and again: whatever each run scanned is what it ran, so the dirty image
    (refused by the scan) never prints. With a scan by path and a second open, about a third
    of the runs started the refused image."""
    clean, dirty, cache = clean_and_dirty
    target = tmp_path / "image.tar"
    shutil.copy(clean, target)
    stop = threading.Event()
    swaps = [0]

    def swapper():
        side = 0
        while not stop.is_set():
            src = (clean, dirty)[side]
            tmp = tmp_path / f"swap-{side}"
            os.link(src, tmp)
            os.rename(tmp, target)
            swaps[0] += 1
            side ^= 1
            time.sleep(0.002)

    th = threading.Thread(target=swapper)
    th.start()
    outcomes = []
    try:
        for _ in range(12):
            p = subprocess.run([BULWARK, "run", "-q", "--scan", "--cache", str(cache),
                                str(target)], capture_output=True, text=True, timeout=QUICK)
            assert "DIRTY-RAN" not in p.stdout, ("a refused image ran", p.stdout, p.stderr)
            assert "ERROR: AddressSanitizer" not in p.stderr, p.stderr
            outcomes.append(p.returncode)
    finally:
        stop.set()
        th.join()
    assert swaps[0] > 12
    assert set(outcomes) <= {0, 125}, outcomes


def test_run_scan_rootfs_directory_swapped(tmp_path):
    """A root filesystem directory is scanned and run through one fd: renaming another
    directory over the path in between changes neither."""
    from conftest import make_busybox_rootfs
    clean = make_busybox_rootfs(tmp_path / "clean")
    dirty = make_busybox_rootfs(tmp_path / "dirty")
    (dirty / "creds").write_text("aws_access_key_id = AKIAIOMVHPCXMFQN4VWZ\n")
    (clean / "who").write_text("CLEAN\n")
    (dirty / "who").write_text("DIRTY\n")
    target = tmp_path / "rootfs"
    os.rename(clean, target)
    os.rename(dirty, tmp_path / "other")
    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()

    def swapper():
        a, b = str(target).encode(), str(tmp_path / "other").encode()
        while not stop.is_set():
            # RENAME_EXCHANGE: the path always names one of the two, atomically
            assert libc.renameat2(-100, a, -100, b, 2) == 0, ctypes.get_errno()
            time.sleep(0.002)

    th = threading.Thread(target=swapper)
    th.start()
    try:
        for _ in range(10):
            p = subprocess.run([BULWARK, "run", "-q", "--scan", str(target), "/bin/cat", "/who"],
                               capture_output=True, text=True, timeout=QUICK)
            assert "DIRTY" not in p.stdout, ("a refused root filesystem ran", p.stdout,
                                             p.stderr)
    finally:
        stop.set()
        th.join()


def test_run_scan_layout_or_rootfs_decided_once(tmp_path):
    """A directory that is an OCI layout to the scanner (index.json and blobs/, no oci-layout
    file) and also a dirty root filesystem: run --scan must scan what it runs. It used to scan
    the layout (clean) and then run the directory as a root filesystem (dirty)."""
    from conftest import make_busybox_rootfs
    bb = Path("/bin/busybox").read_bytes()
    layer = u.Layer([u.D("bin"), u.F("bin/busybox", bb, 0o755), u.L("bin/cat", "busybox"),
                     u.F("who", "CLEAN\n")])
    d = u.oci_layout(tmp_path / "both", [{"layers": [layer], "config": {"Env": ["PATH=/bin"]}}])
    (d / "oci-layout").unlink()
    make_busybox_rootfs(d)
    (d / "who").write_text("DIRTY\n")
    (d / "creds").write_text("aws_access_key_id = AKIAIOMVHPCXMFQN4VWZ\n")
    p = subprocess.run([BULWARK, "run", "-q", "--scan", "--cache", str(tmp_path / "cache"),
                        str(d), "/bin/cat", "/who"], capture_output=True, text=True,
                       timeout=QUICK)
    assert "DIRTY" not in p.stdout, (p.stdout, p.stderr)
    assert p.returncode == 0 and p.stdout == "CLEAN\n", (p.stdout, p.stderr)


# ---- 4. nested archives: one budget per scan ---------------------------------------------------
def big_zip(content_mib, secret=None):
    """A zip of ~content_mib MiB of text in well under 1% of that (a jar full of repetition)."""
    buf = io.BytesIO()
    block = (b"lorem ipsum dolor sit amet\n" * 200)[:4096] * 256
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        if secret:
            z.writestr("config/creds.properties", secret)
        with z.open("data.txt", "w") as f:
            for _ in range(content_mib):
                f.write(block)
    return buf.getvalue()


def secret_line(i):
    # distinct valid-looking AWS key ids, one per archive
    return f"aws_access_key_id = AKIAIOMVHPCXMFQN4V{chr(65 + i)}Z\n"


def nested_image(tmp_path, n, content_mib):
    z = big_zip(content_mib)
    ents = [u.D("opt")]
    for i in range(n):
        ents.append(u.F(f"opt/lib{i}.jar", big_zip(0, secret_line(i)) if i in (0, n - 1)
                        else z))
    ents.append(u.F("opt/last.jar", big_zip(0, secret_line(n))))
    return u.docker_save(tmp_path / f"nested{n}.tar", [u.Layer(ents)])


def scan_findings(img, *extra):
    p = run_bulwark("scan", "-q", "-j", "1", "-f", "json", "--fail-on", "none", *extra, img,
                    timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["findings"]


def test_nested_archive_budget_per_scan(tmp_path):
    """Four archives of 150 MiB each (every one under the per-archive cap) between small ones
    holding secrets: the scan stops opening archives once 512 MiB were read from them, says
    so once, and archives from then on are not opened (their secret is not reported) while
    what came before was scanned."""
    img = nested_image(tmp_path, 6, 150)
    f = scan_findings(img)
    notes = [x for x in f if x["id"] == "scan-incomplete"]
    assert len(notes) == 1, notes
    assert "512 MiB" in notes[0]["message"] and notes[0]["severity"] == "info"
    paths = {x["location"].get("path") for x in f if x["id"] == "aws-access-key-id"}
    assert "opt/lib0.jar!/config/creds.properties" in paths, paths
    assert "opt/last.jar!/config/creds.properties" not in paths, paths


def test_nested_archives_under_budget_all_opened(tmp_path):
    """Near miss: three such archives (450 MiB) fit in the budget: no note, every secret
    found."""
    img = nested_image(tmp_path, 5, 150)
    f = scan_findings(img)
    assert not [x for x in f if x["id"] == "scan-incomplete"]
    paths = {x["location"].get("path") for x in f if x["id"] == "aws-access-key-id"}
    assert {"opt/lib0.jar!/config/creds.properties", "opt/lib4.jar!/config/creds.properties",
            "opt/last.jar!/config/creds.properties"} <= paths, paths
