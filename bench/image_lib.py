"""The benchmarks' images, written once (not a benchmark itself: bench/run.sh runs bench_*.sh
only). Layers come from this machine's directories; the formats are the tests' writers
(tests/integration/image_util.py, registry_util.py).

  image_lib.py docker-save OUT TAG DIR...    a docker-save archive, one gzip layer per DIR
  image_lib.py push URL REPO TAG DIR...      the same image pushed to the registry at URL
  image_lib.py oci-layout OUT NAME LAYERS DIR...
                                             an OCI layout (created at OUT) of one image, ref
                                             NAME, one gzip layer per DIR, also kept as
                                             LAYERS/N.tar.gz for the peers (gzip -dc, tar -xzf):
                                             streamed to disk, for images of hundreds of MiB

DIR is relative to / and skipped when absent (a file is a layer too). Each verb prints one
line: the layers and their compressed and uncompressed MiB. A bench_*.sh may also import it
(host_layers, host_tar) after putting bench/ on sys.path.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "tests" / "integration"))
import image_util as iu  # noqa: E402


def host_tar(dirs):
    """One tar of the directories of `dirs` (relative to /) that exist."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for d in dirs:
            if os.path.isdir("/" + d):
                t.add("/" + d, arcname=d)
    return buf.getvalue()


def host_layers(dirs, comp="gzip"):
    """A layer per directory of `dirs` that exists."""
    return [iu.Layer(raw_tar=host_tar([d]), comp=comp) for d in dirs if os.path.isdir("/" + d)]


def summary(layers):
    size = sum(len(l.blob) for l in layers) >> 20
    unc = sum(len(l.tar) for l in layers) >> 20
    return f"image: {len(layers)} gzip layers, {size} MiB compressed, {unc} MiB uncompressed"


def _file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class _HashedGzip(io.RawIOBase):
    """A tar stream gzipped to `path` (level 6, as gzip's default) and hashed as written: the
    layer's diff id without holding or rereading the tar."""

    def __init__(self, path):
        super().__init__()
        self.sha = hashlib.sha256()
        self.size = 0
        self.gz = gzip.GzipFile(path, "wb", compresslevel=6, mtime=0)

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        return self.gz.write(b)

    def close(self):
        if not self.closed:
            self.gz.close()
        super().close()


def host_layer_file(d, gz):
    """The layer of `d` (relative to /) written to `gz`: (its diff id, its tar's size)."""
    out = _HashedGzip(gz)
    with tarfile.open(fileobj=out, mode="w|") as t:
        t.add("/" + d, arcname=d)
    out.close()
    return "sha256:" + out.sha.hexdigest(), out.size


def oci_layout_of_dirs(out, name, layers_dir, dirs):
    """An OCI layout at `out` of one image named `name`, a gzip layer per entry of `dirs`
    that exists, each also kept as layers_dir/N.tar.gz. Returns the summary line."""
    blobs = Path(out) / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    Path(layers_dir).mkdir(parents=True, exist_ok=True)

    def blob(b, media_type):
        d = hashlib.sha256(b).hexdigest()
        (blobs / d).write_bytes(b)
        return {"mediaType": media_type, "digest": "sha256:" + d, "size": len(b)}

    layers, diffs, unc = [], [], 0
    for d in dirs:
        if not os.path.exists("/" + d):
            continue
        gz = os.path.join(layers_dir, f"{len(layers) + 1}.tar.gz")
        diff, size = host_layer_file(d, gz)
        unc += size
        digest = _file_sha(gz)
        shutil.copy(gz, blobs / digest)
        diffs.append(diff)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + digest, "size": os.path.getsize(gz)})
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": blob(cfg, "application/vnd.oci.image.config.v1+json"), "layers": layers}
    m = blob(json.dumps(man).encode(), "application/vnd.oci.image.manifest.v1+json")
    m["annotations"] = {"org.opencontainers.image.ref.name": name}
    (Path(out) / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [m]}))
    (Path(out) / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    cmp = sum(l["size"] for l in layers)
    return f"image: {len(layers)} gzip layers, {cmp >> 20} MiB compressed, " \
           f"{unc >> 20} MiB uncompressed"


def main(argv):
    usage = "usage: image_lib.py docker-save OUT TAG DIR... | push URL REPO TAG DIR... | " \
            "oci-layout OUT NAME LAYERS DIR..."
    if len(argv) < 4:
        sys.exit(usage)
    verb = argv[0]
    if verb == "docker-save":
        layers = host_layers(argv[3:])
        iu.docker_save(argv[1], layers, tags=[argv[2]])
    elif verb == "push" and len(argv) >= 5:
        import registry_util as ru
        layers = host_layers(argv[4:])
        ru.Client(argv[1]).push_image(argv[2], argv[3], layers)
    elif verb == "oci-layout" and len(argv) >= 5:
        print(oci_layout_of_dirs(argv[1], argv[2], argv[3], argv[4:]))
        return
    else:
        sys.exit(usage)
    print(summary(layers))


if __name__ == "__main__":
    main(sys.argv[1:])
