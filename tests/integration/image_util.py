"""Fixture writer for image tests: docker-save archives (classic and Docker 25 OCI-style), OCI
layouts (directory or tar, multi-platform indexes), layers as tar / tar+gzip / tar+zstd, whiteouts
and hostile archives. Generators, not blobs: every test builds what it needs."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import zlib
from pathlib import Path


# ---- entries ---------------------------------------------------------------------------------
def F(path, data=b"", mode=0o644, uid=0, gid=0):
    return ("file", path, data if isinstance(data, bytes) else data.encode(), mode, uid, gid)


def D(path, mode=0o755, uid=0, gid=0):
    return ("dir", path, None, mode, uid, gid)


def L(path, target):
    return ("symlink", path, target, 0o777, 0, 0)


def H(path, target):
    return ("hardlink", path, target, 0o644, 0, 0)


def W(path):
    """Whiteout: deletes `path` from the layers below."""
    d, b = os.path.split(path)
    return F(os.path.join(d, ".wh." + b) if d else ".wh." + b)


def O(dirpath):
    """Opaque marker: hides the lower layers' content of `dirpath`."""
    return F(os.path.join(dirpath, ".wh..wh..opq"))


def DEV(path, kind="c", major=1, minor=3, mode=0o666):
    return ("dev" + kind, path, (major, minor), mode, 0, 0)


def FIFO(path):
    return ("fifo", path, None, 0o644, 0, 0)


def tar_of(entries, fmt=tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for kind, path, data, mode, uid, gid in entries:
            ti = tarfile.TarInfo(path)
            ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, 1700000000
            if kind == "file":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
                continue
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
            elif kind in ("devc", "devb"):
                ti.type = tarfile.CHRTYPE if kind == "devc" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = data
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            t.addfile(ti)
    return buf.getvalue()


def compress(data: bytes, comp: str) -> bytes:
    if comp in (None, "none", "tar"):
        return data
    if comp == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if comp == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-1"], input=data, capture_output=True,
                              check=True).stdout
    raise ValueError(comp)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class Layer:
    """A layer: its tar, the blob as stored (maybe compressed) and both digests."""

    def __init__(self, entries=None, comp="none", raw_tar=None, blob=None):
        self.tar = raw_tar if raw_tar is not None else tar_of(entries or [])
        self.comp = comp
        self.blob = blob if blob is not None else compress(self.tar, comp)
        self.diff_id = "sha256:" + sha(self.tar)
        self.digest = "sha256:" + sha(self.blob)

    @property
    def media_type(self):
        return {"none": "application/vnd.oci.image.layer.v1.tar",
                "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
                "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}[self.comp]


def config_for(layers, arch="amd64", os_="linux", config=None, history=None, diff_ids=None):
    cfg = {"architecture": arch, "os": os_, "created": "2024-01-01T00:00:00Z",
           "config": config if config is not None else
           {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers",
                      "diff_ids": diff_ids if diff_ids is not None else
                      [l.diff_id for l in layers]},
           "history": history if history is not None else
           [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
            for i in range(len(layers))]}
    return json.dumps(cfg, separators=(",", ":")).encode()


def _tar_members(members, path, outer_comp=None):
    """Write an outer tar of (name, bytes) members, optionally compressed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()
        for name, data in members:
            d = os.path.dirname(name)
            parts = d.split("/") if d else []
            for i in range(1, len(parts) + 1):
                p = "/".join(parts[:i])
                if p not in dirs:
                    dirs.add(p)
                    ti = tarfile.TarInfo(p)
                    ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                    t.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
    Path(path).write_bytes(compress(buf.getvalue(), outer_comp))
    return Path(path)


def docker_save(path, layers, tags=("demo:latest",), config=None, oci_style=False,
                outer_comp=None, config_bytes=None, extra_images=(), reverse_layers=False):
    """A `docker save` archive. Classic (Docker <= 24): <id>/layer.tar + <hex>.json; oci_style
    (Docker 25+): blobs/sha256/… plus index.json, oci-layout and manifest.json."""
    cfg = config_bytes if config_bytes is not None else config_for(layers, config=config)
    members, manifest = [], []
    images = [(layers, tags, cfg)] + list(extra_images)
    for lays, tg, cf in images:
        if oci_style:
            cname = "blobs/sha256/" + sha(cf)
            lnames = ["blobs/sha256/" + l.digest[7:] for l in lays]
        else:
            cname = sha(cf) + ".json"
            lnames = [sha((l.digest + str(i)).encode()) + "/layer.tar"
                      for i, l in enumerate(lays)]
        members.append((cname, cf))
        pairs = list(zip(lnames, lays))
        for n, l in (reversed(pairs) if reverse_layers else pairs):
            members.append((n, l.blob))
        manifest.append({"Config": cname, "RepoTags": list(tg), "Layers": lnames})
    members.append(("manifest.json", json.dumps(manifest).encode()))
    if oci_style:
        man = oci_manifest(layers, cfg)
        members.append(("blobs/sha256/" + sha(man), man))
        members.append(("index.json", json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": "sha256:" + sha(man), "size": len(man)}]}).encode()))
        members.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
    # dedupe identical blobs (the same layer used twice)
    seen, uniq = set(), []
    for n, d in members:
        if n not in seen:
            seen.add(n)
            uniq.append((n, d))
    return _tar_members(uniq, path, outer_comp)


def oci_manifest(layers, cfg):
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": len(l.blob)}
                   for l in layers]}).encode()


def oci_layout(path, images, as_tar=False, outer_comp=None, index_bytes=None):
    """An OCI layout. `images`: list of dicts {layers, arch, os, variant, ref, config}."""
    blobs, descs = {}, []
    for im in images:
        layers = im["layers"]
        cfg = im.get("config_bytes") or config_for(layers, arch=im.get("arch", "amd64"),
                                                   os_=im.get("os", "linux"),
                                                   config=im.get("config"))
        man = oci_manifest(layers, cfg)
        blobs[sha(cfg)] = cfg
        blobs[sha(man)] = man
        for l in layers:
            blobs[l.digest[7:]] = l.blob
        d = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:" + sha(man), "size": len(man)}
        if im.get("platform", True):
            d["platform"] = {"os": im.get("os", "linux"), "architecture": im.get("arch", "amd64")}
            if im.get("variant"):
                d["platform"]["variant"] = im["variant"]
        if im.get("ref"):
            d["annotations"] = {"org.opencontainers.image.ref.name": im["ref"]}
        descs.append(d)
    index = index_bytes if index_bytes is not None else json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": descs}).encode()
    members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    members += [("blobs/sha256/" + h, b) for h, b in blobs.items()]
    if as_tar:
        return _tar_members(members, path, outer_comp)
    root = Path(path)
    for n, b in members:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b)
    return root


# ---- big and hostile layers, generated cheaply ----------------------------------------------
def _header(name: str, size: int, typ=b"0", mode=0o644) -> bytes:
    h = bytearray(512)
    nb = name.encode()
    h[0:len(nb)] = nb
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    if size < 8 ** 11:
        h[124:136] = b"%011o\0" % size
    else:  # base-256
        h[124:136] = b"\x80" + size.to_bytes(11, "big")
    h[136:148] = b"%011o\0" % 1700000000
    h[156:157] = typ
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def bomb_layer_blob(total=10 << 30) -> bytes:
    """gzip of a tar holding one `total`-byte file of zeros, built from repeated gzip members
    (a valid multi-member gzip): ~10 MB for 10 GiB, made in well under a second."""
    chunk = 64 << 20
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = co.compress(b"\0" * chunk) + co.flush()
    head = gzip.compress(_header("zeros", total), mtime=0)
    n = total // chunk
    return head + zeros * n


def many_entries_tar_gz(n: int) -> bytes:
    """gzip of a tar with `n` empty files, fast (no tarfile overhead)."""
    co = zlib.compressobj(1, zlib.DEFLATED, 31)
    acc, out = [], []
    base = bytearray(_header("f0000000", 0))
    base[148:156] = b"        "
    pre, post = bytes(base[8:148]), bytes(base[156:])
    rest = sum(base) - sum(b"f0000000")
    for i in range(n):
        name = b"f%07d" % i
        out.append(name + pre + b"%06o\0 " % (rest + sum(name)) + post)
        if len(out) == 4096:
            acc.append(co.compress(b"".join(out)))
            out.clear()
    acc.append(co.compress(b"".join(out) + b"\0" * 1024))
    acc.append(co.flush())
    return b"".join(acc)


def sparse_tar(name: str, logical: int, runs, fmt="gnu") -> bytes:
    """A tar holding one sparse file `name` of `logical` bytes whose data are `runs`
    [(offset, bytes)], written by GNU tar --sparse (Python's tarfile cannot write sparse
    members): fmt "gnu" (old GNU sparse headers, type 'S') or "pax0.0", "pax0.1", "pax1.0"."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, name), "wb") as f:
            f.truncate(logical)
            for off, data in runs:
                f.seek(off)
                f.write(data)
        fmt_args = (["--format=gnu"] if fmt == "gnu" else
                    ["--format=pax", f"--sparse-version={fmt[3:]}",
                     "--pax-option=delete=atime,delete=ctime"])
        return subprocess.run(["tar", "--sparse", *fmt_args, "--owner=0", "--group=0",
                               "--numeric-owner", "--mtime=@1700000000", "-C", d, "-cf", "-",
                               name], capture_output=True, check=True).stdout
