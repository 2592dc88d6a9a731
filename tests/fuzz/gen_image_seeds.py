#!/usr/bin/python3
"""Write the seed corpora of the image fuzzers (small files) from the integration fixture
writer: python3 tests/fuzz/gen_image_seeds.py"""
import io
import json
import os
import sys
import tarfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests/integration"))
import image_util as u  # noqa: E402

C = TOP / "tests/fuzz/corpus"


def put(name, fname, data):
    d = C / name
    d.mkdir(parents=True, exist_ok=True)
    (d / fname).write_bytes(data)


l1 = u.Layer([u.D("etc"), u.F("etc/passwd", "root:x:0:0\n"), u.L("lnk", "/etc"),
              u.H("hl", "etc/passwd"), u.DEV("dev/null", "c", 1, 3)], comp="gzip")
l2 = u.Layer([u.W("etc/passwd"), u.O("etc"), u.F("a/" + "b" * 120, "long")], comp="zstd")
l3 = u.Layer([u.F("../up", "x"), u.F(".wh...", "")], comp="none")
cfg = u.config_for([l1, l2], config={"User": "0", "ExposedPorts": {"22/tcp": {}},
                                     "Healthcheck": {"Test": ["NONE"]}, "Labels": {"a": "b"}})
put("fuzz_image_json", "manifest", b"\0" + json.dumps(
    [{"Config": "c.json", "RepoTags": ["a:b"], "Layers": ["x/layer.tar"]}]).encode())
put("fuzz_image_json", "index", b"\1" + json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": l1.digest,
     "size": 1, "platform": {"os": "linux", "architecture": "amd64"},
     "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}).encode())
put("fuzz_image_json", "oci-manifest", b"\2" + u.oci_manifest([l1, l2], cfg))
put("fuzz_image_json", "config", b"\3" + cfg)
put("fuzz_layer_tar", "gzip", l1.blob)
put("fuzz_layer_tar", "zstd", l2.blob)
put("fuzz_layer_tar", "plain", l3.blob)
# sparse members (GNU 'S' headers and the three pax sparse versions): small logical sizes so
# that the fuzzer explores the maps, not the limits
for fmt in ("gnu", "pax0.0", "pax0.1", "pax1.0"):
    sp = u.sparse_tar("sparse", 64 << 10, [(4096, b"data"), (40000, b"more")], fmt)
    put("fuzz_layer_tar", "sparse-" + fmt, sp)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    for name, data in (("manifest.json", b"[]"), ("index.json", b"{}"), ("d/" + "n" * 150, b"x")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
put("fuzz_tar_index", "gnu", buf.getvalue())
put("fuzz_tar_index", "pax", u.tar_of([u.F("p" * 200, "x"), u.F("index.json", "{}")]))
put("fuzz_tar_index", "sparse-pax1.0", u.sparse_tar("index.json", 8192, [(0, b"{}")], "pax1.0"))
put("fuzz_tar_index", "sparse-gnu", u.sparse_tar("index.json", 8192, [(0, b"{}")], "gnu"))
