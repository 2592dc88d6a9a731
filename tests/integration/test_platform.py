"""--platform wherever an image is taken: scan and run pick from a multi-platform index
(the default is the host's platform), like unpack and inspect."""
import json

import image_util as u


def multi_platform(tmp_path):
    # only the arm64 variant carries a setuid binary
    amd = [u.Layer([u.F("arch", "amd64")], comp="gzip")]
    arm = [u.Layer([u.F("arch", "arm64"), u.F("bin/su", "x", mode=0o4755)], comp="gzip")]
    return u.oci_layout(tmp_path / "mp", [{"layers": arm, "arch": "arm64", "ref": "v1-arm"},
                                          {"layers": amd, "arch": "amd64", "ref": "v1"}])


def ids(bulwark, *args):
    p = bulwark("scan", "-q", "-f", "json", "--fail-on", "none", *args, check=0)
    return [f["id"] for f in json.loads(p.stdout)["findings"]]


def test_scan_platform(bulwark, tmp_path):
    img = multi_platform(tmp_path)
    assert "setuid-file" not in ids(bulwark, img)                      # host: amd64
    assert "setuid-file" in ids(bulwark, "--platform", "linux/arm64", img)
    p = bulwark("scan", "--platform", "linux/s390x", img, check=2)
    assert "no manifest for platform linux/s390x" in p.stderr


def test_run_platform_selects_manifest(bulwark, tmp_path):
    img = multi_platform(tmp_path)
    p = bulwark("run", "--platform", "linux/s390x", "--cache", tmp_path / "c", img,
                "--", "/bin/true")
    assert p.returncode == 125
    assert "no manifest for platform linux/s390x" in p.stderr
