"""The inventory against the package managers' own listings, on real trees installed from the
registries reachable here (issue #12's cross-checks):

- a Debian 12 root built by debootstrap with extra packages: `bulwark sbom` must list exactly
  what `dpkg-query -W` lists (name, version, architecture, source package and source version);
- the Python distributions of that root: exactly what `pip list --path` lists for each site
  directory bulwark found packages in (and every site directory pip sees packages in);
- an npm tree installed from the npm registry: exactly what `npm ls --all --long` lists
  (location, name, version), nested copies included.

The trees are built once and kept under build/crosscheck (or $BWK_CROSSCHECK_DIR): debootstrap
takes minutes, npm install seconds. Without debootstrap, the Debian mirror or the npm registry
the tests skip, saying which."""
import json
import os
import re
import shutil
import sys
import urllib.request
import subprocess
from pathlib import Path

import pytest

from conftest import run_bulwark

TOP = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BWK_CROSSCHECK_DIR", TOP / "build" / "crosscheck"))
MIRROR = os.environ.get("BWK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Python distributions with dist-info and egg-info trees (Debian ships both), node for the
# node_modules-less /usr/share/nodejs that must not count as npm packages
# (python3-cffi-backend named: debootstrap does not resolve the virtual package
# python3-cffi-backend-api-min that python3-cryptography depends on, and leaves it unconfigured)
DEB_EXTRA = ["python3", "python3-requests", "python3-yaml", "python3-cryptography",
             "python3-cffi-backend", "python3-setuptools", "libssl3", "nodejs", "ca-certificates"]
# packages whose dependency trees are deep and carry nested node_modules (version conflicts)
NPM_PKGS = ["express@4.21.2", "eslint@8.57.1", "webpack@5.97.1"]
# the dpkg states whose files are on disk (docs/vulnerabilities.md): dpkg-query -W also lists
# config-files and not-installed-but-known packages
PRESENT = {"i", "U", "F", "H", "W", "t"}


def sbom(target):
    p = run_bulwark("sbom", "--format", "json", "-q", target, check=0, timeout=900)
    doc = json.loads(p.stdout)
    assert not doc.get("warnings"), doc.get("warnings")
    return doc["packages"]


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# ---- Debian 12 (debootstrap) ------------------------------------------------------------------


def build_debian(root):
    if not shutil.which("debootstrap"):
        pytest.skip("debootstrap is not installed (scripts/deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("debootstrap needs root")
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(DEB_EXTRA),
                        "bookworm", str(tmp), MIRROR], capture_output=True, text=True,
                       timeout=1800)
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tail = (p.stdout + p.stderr)[-600:]
        if "Failed getting release file" in tail or "Could not resolve" in tail:
            pytest.skip(f"the Debian mirror {MIRROR} is not reachable: {tail}")
        pytest.fail(f"debootstrap failed: {tail}")
    tmp.rename(root)


@pytest.fixture(scope="module")
def debian_root():
    root = CACHE / "debian12"
    if not (root / "var/lib/dpkg/status").exists():
        build_debian(root)
    return root


def dpkg_query(root):
    fmt = "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t" \
          "${source:Package}\t${source:Version}\n"
    out = subprocess.run(["dpkg-query", "--admindir", str(root / "var/lib/dpkg"), "-W",
                          "-f", fmt], capture_output=True, text=True, check=True).stdout
    rows = set()
    for line in out.splitlines():
        status, *fields = line.split("\t")
        if status[1:2] in PRESENT:
            rows.add(tuple(fields))
    return rows


def test_debian_root_equals_dpkg_query(debian_root):
    pkgs = sbom(debian_root)
    ours = {(p["name"], p["version"], p["arch"], p["source"], p["source_version"])
            for p in pkgs if p["ecosystem"] == "deb"}
    theirs = dpkg_query(debian_root)
    assert len(theirs) > 100, len(theirs)  # minbase alone is ~90; the extras bring more
    assert ours == theirs, {"bulwark only": sorted(ours - theirs)[:20],
                            "dpkg-query only": sorted(theirs - ours)[:20]}
    # binNMUs and source packages of another name are among them
    assert any(src != name for name, _v, _a, src, _sv in ours)
    assert any(ver != sver for _n, ver, _a, _s, sver in ours)
    debs = [p for p in pkgs if p["ecosystem"] == "deb"]
    assert {p["path"] for p in debs} == {"var/lib/dpkg/status"}
    assert all(p["purl"].endswith("distro=debian-12") for p in debs)
    # Debian's /usr/share/nodejs has package.json files outside node_modules: not npm packages
    assert not [p for p in pkgs if p["ecosystem"] == "npm"]


def pip_list(path):
    p = subprocess.run([sys.executable, "-m", "pip", "list", "--disable-pip-version-check",
                        "--no-index", "--path", str(path), "--format", "json"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"pip cannot list {path}: {p.stderr[-300:]}")
    return {(pep503(d["name"]), d["version"]) for d in json.loads(p.stdout)}


def site_of(pkg):
    """The site directory of X.dist-info/METADATA, X.egg-info/PKG-INFO or the file X.egg-info."""
    path = Path(pkg["path"])
    return str(path.parent if path.name.endswith(".egg-info") else path.parent.parent)


def test_python_layouts_equal_pip_list(tmp_path):
    """The layouts pip reads from a site directory, each once: a wheel's dist-info, setuptools'
    egg-info directory, distutils' egg-info file (first missed: bulwark did not read it), and a
    distribution with both a dist-info and an egg-info (Debian's python3-cryptography)."""
    site = tmp_path / "usr/lib/python3/dist-packages"
    meta = "Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: x\n\nlong text\n"
    for kind, name, ver in [("dist", "Wheel_Pkg", "1.0"), ("egg", "egg.dir", "2.0rc1"),
                            ("file", "Distutils_File", "0.3"), ("dist", "both", "4.1"),
                            ("egg", "both", "4.1")]:
        base = site / f"{name.replace('-', '_')}-{ver}.{'dist' if kind == 'dist' else 'egg'}-info"
        if kind == "file":
            site.mkdir(parents=True, exist_ok=True)
            base.write_text(meta.format(name, ver))
            continue
        base.mkdir(parents=True)
        (base / ("METADATA" if kind == "dist" else "PKG-INFO")).write_text(meta.format(name, ver))
    ours = {(pep503(p["name"]), p["version"]) for p in sbom(tmp_path)}
    theirs = pip_list(site)
    assert len(theirs) == 4, theirs
    assert ours == theirs, {"bulwark only": sorted(ours - theirs), "pip only": sorted(theirs - ours)}


def test_debian_root_python_equals_pip_list(debian_root):
    py = [p for p in sbom(debian_root) if p["ecosystem"] == "pypi"]
    sites = {site_of(p) for p in py}
    # every directory of the root pip would see distributions in is one bulwark found
    seen = {str(d.parent.relative_to(debian_root)) for pat in ("*.dist-info", "*.egg-info")
            for d in debian_root.glob(f"usr/lib/python3*/**/{pat}")}
    assert seen == sites, (seen, sites)
    assert "usr/lib/python3/dist-packages" in sites
    for site in sorted(sites):
        ours = {(pep503(p["name"]), p["version"]) for p in py if site_of(p) == site}
        theirs = pip_list(debian_root / site)
        assert ours == theirs, {"site": site, "bulwark only": sorted(ours - theirs),
                                "pip only": sorted(theirs - ours)}
    names = {pep503(p["name"]) for p in py}
    assert {"requests", "pyyaml", "cryptography", "setuptools"} <= names, names


# ---- npm ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def npm_tree():
    if not shutil.which("npm"):
        pytest.skip("npm is not installed")
    tree = CACHE / "npm-tree"
    done = tree / ".installed"
    if done.exists() and done.read_text() == " ".join(NPM_PKGS):
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    (tree / "package.json").write_text('{"name": "xcheck", "version": "1.0.0", "private": true}')
    p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                        *NPM_PKGS], cwd=tree, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        # unreachable, or reached only through a proxy whose CA this machine does not trust
        # (a fresh Debian root behind such a proxy): the registry is not usable from here
        if re.search(r"ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|SELF_SIGNED_CERT|"
                     r"UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_", p.stderr):
            pytest.skip(f"the npm registry is not reachable: {p.stderr[-300:]}")
        pytest.fail(f"npm install failed: {p.stderr[-600:]}")
    done.write_text(" ".join(NPM_PKGS))
    return tree


def npm_ls(tree):
    p = subprocess.run(["npm", "ls", "--all", "--long", "--json"], cwd=tree,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-600:]
    rows = set()

    def walk(node):
        for key, dep in (node.get("dependencies") or {}).items():
            if "path" in dep and "version" in dep:  # "deduped" copies carry the same path
                rows.add((str(Path(dep["path"]).relative_to(tree)), dep.get("name", key),
                          dep["version"]))
            walk(dep)

    walk(json.loads(p.stdout))
    return rows


def test_npm_tree_equals_npm_ls(npm_tree):
    ours = {(str(Path(p["path"]).parent), p["name"], p["version"])
            for p in sbom(npm_tree) if p["ecosystem"] == "npm"}
    theirs = npm_ls(npm_tree)
    assert len(theirs) > 150, len(theirs)
    assert ours == theirs, {"bulwark only": sorted(ours - theirs)[:20],
                            "npm ls only": sorted(theirs - ours)[:20]}
    # nested copies (another version under a dependent's node_modules) are among them
    assert any(loc.count("node_modules") > 1 for loc, _n, _v in ours)


# ---- Go before 1.18 -----------------------------------------------------------------------------
GO115_DEB = ("pool/main/g/golang-1.15/golang-1.15-go_1.15.15-1~deb11u4_amd64.deb")


@pytest.fixture(scope="module")
def go115_root():
    """Real executables of Go 1.15 (Debian 11's toolchain, built by itself): their build
    information holds pointers, not the strings of Go 1.18+."""
    root = CACHE / "go115"
    if (root / "usr/bin/go").exists():
        return root
    deb = CACHE / "golang-1.15-go.deb"
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(f"{MIRROR}/{GO115_DEB}", timeout=300) as r:
            deb.write_bytes(r.read())
    except OSError as e:
        pytest.skip(f"{MIRROR}/{GO115_DEB} cannot be downloaded: {e}")
    tmp = CACHE / "go115.x"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    (root / "usr/bin").mkdir(parents=True)
    for name in ("bin/go", "bin/gofmt", "pkg/tool/linux_amd64/link"):
        shutil.copy2(tmp / "usr/lib/go-1.15" / name, root / "usr/bin")
    shutil.rmtree(tmp)
    deb.unlink()
    return root


def test_go_before_1_18_detected_not_misparsed(go115_root):
    """`go version -m` reads them as go1.15.15 without modules; bulwark names each in a warning
    and lists nothing it could have misread."""
    for exe in sorted((go115_root / "usr/bin").iterdir()):
        v = subprocess.run(["go", "version", "-m", str(exe)], capture_output=True, text=True)
        if v.returncode == 0:
            assert "go1.15" in v.stdout and "\tmod\t" not in v.stdout, v.stdout
    p = run_bulwark("sbom", "--format", "json", go115_root, check=0)
    doc = json.loads(p.stdout)
    assert doc["packages"] == []
    assert sorted(doc["warnings"]) == [
        f"usr/bin/{n}: Go build information of Go < 1.18 is not read: its modules are not "
        "listed" for n in ("go", "gofmt", "link")]


def test_npm_lockfile_equals_installed_tree(npm_tree, tmp_path):
    """package-lock.json (npm's v3) read alone lists what npm installed from it; beside
    node_modules it adds only what node_modules lacks (installed packages are listed from their
    own package.json, once)."""
    theirs = sorted((name, ver) for _loc, name, ver in npm_ls(npm_tree))
    alone = tmp_path / "alone/app"
    alone.mkdir(parents=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(npm_tree / f, alone / f)
    pkgs = sbom(alone.parent)
    assert {p["path"] for p in pkgs} == {"app/package-lock.json"}
    assert sorted((p["name"], p["version"]) for p in pkgs) == theirs
    part = tmp_path / "part/app"
    shutil.copytree(npm_tree, part, symlinks=True)
    shutil.rmtree(part / "node_modules/express")
    pkgs = sbom(part.parent)
    assert sorted((p["name"], p["version"]) for p in pkgs) == theirs
    # express and what was nested under it come from the lockfile, nothing else
    gone = sorted((name, ver) for loc, name, ver in npm_ls(npm_tree)
                  if loc == "node_modules/express" or loc.startswith("node_modules/express/"))
    assert ("express", "4.21.2") in gone
    assert sorted((p["name"], p["version"]) for p in pkgs
                  if p["path"] == "app/package-lock.json") == gone
