"""Fresh machines: every outside program that the tests or bulwark itself start is named in
scripts/deps.sh's PROGRAMS table, with the Debian package that ships it, and that package is one
deps.sh installs. Without this a test passes here only because someone installed a tool by hand
(zip and slirp4netns did, once)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
DEPS = TOP / "scripts" / "deps.sh"

# Words that start a shell command but are not programs.
SHELL_WORDS = {"set", "cd", "for", "do", "done", "if", "then", "else", "elif", "fi", "while",
               "until", "in", "case", "esac", "echo", "exit", "export", "true", "false", "read",
               "local", "return", "wait", "trap", "exec", "umask", "ulimit", "shift", "unset",
               "eval", "break", "continue", "sh", "bash", "env", "kill"}
PROGRAM = re.compile(r"^[a-z][a-z0-9._+-]*$")


def programs_table():
    out = subprocess.run(["sh", str(DEPS), "--programs"], capture_output=True, text=True,
                         check=True).stdout
    table = {}
    for line in out.splitlines():
        prog, pkg = line.split()
        table[prog] = pkg
    return table


def deps_packages():
    out = subprocess.run(["sh", str(DEPS), "--packages"], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def shell_commands(text):
    """The first word of every command in a shell snippet (quoted arguments dropped)."""
    text = text.replace("\\n", "\n")
    text = re.sub(r"'[^']*'", "''", text)
    text = re.sub(r'\\"[^"]*?\\"', "''", text)
    words = set()
    for seg in re.split(r"[;|&()\n`]|\$\(", text):
        seg = seg.strip()
        if not seg:
            continue
        first = seg.split()[0]
        while "=" in first and len(seg.split()) > 1:  # VAR=value cmd
            seg = seg.split(None, 1)[1]
            first = seg.split()[0]
        if first in SHELL_WORDS or not PROGRAM.match(first):
            continue
        words.add(first)
    return words


def python_programs(src):
    found = set()
    for m in re.finditer(r"subprocess\.\w+\(\s*\[\s*\"([^\"]+)\"", src):
        found.add(Path(m.group(1)).name)
    for m in re.finditer(r"shutil\.which\(\s*\"([^\"]+)\"", src):
        found.add(m.group(1))
    # a host program kept in a module constant, then called (TIME = "/usr/bin/time"; [TIME, …])
    for m in re.finditer(r"^([A-Z][A-Z0-9_]*) = [\"'](?:/usr)?/s?bin/([a-z][a-z0-9._+-]*)[\"']",
                         src, re.M):
        if re.search(r"\[\s*\*?" + m.group(1) + r"\b", src):
            found.add(m.group(2))
    # shell=True commands: the literal first argument
    for m in re.finditer(r"subprocess\.\w+\(\s*(f?\"[^\"]*\")[^)]*shell=True", src):
        found |= shell_commands(m.group(1)[m.group(1).index('"') + 1:-1])
    return found


def c_literal_block(src, start):
    """Adjacent string literals of the call that starts at `start`, joined as C joins them."""
    depth, i = 0, start
    while i < len(src):
        if src[i] == "(":
            depth += 1
        elif src[i] == ")":
            depth -= 1
            if depth == 0:
                break
        elif src[i] == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            i = j
        i += 1
    call = src[start:i]
    return "".join(m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', call))


def c_programs(src):
    if "system(" not in src:
        return set()
    found = set()
    for m in re.finditer(r"\b(?:xasprintf|system)\(", src):
        found |= shell_commands(c_literal_block(src, m.end() - 1))
    return found


def programs_the_tests_call():
    found = {}
    for f in sorted((TOP / "tests").rglob("*.py")):
        for p in python_programs(f.read_text()):
            found.setdefault(p, f.relative_to(TOP))
    for f in sorted((TOP / "tests").rglob("*.c")):
        for p in c_programs(f.read_text()):
            found.setdefault(p, f.relative_to(TOP))
    return found


def programs_bulwark_starts():
    """Helpers bulwark itself executes by absolute path (newuidmap, slirp4netns, …)."""
    found = {}
    for f in sorted((TOP / "src").rglob("*.c")):
        for m in re.finditer(r'"/usr/s?bin/([a-z0-9._+-]+)"', f.read_text()):
            found.setdefault(m.group(1), f.relative_to(TOP))
    return found


def test_extraction_sees_known_callers():
    # the extractor itself must work, or the checks below would pass on nothing
    called = programs_the_tests_call()
    for prog in ("zip", "tar", "openssl", "setpriv", "docker", "zstd", "useradd"):
        assert prog in called, f"extractor missed {prog}"
    assert "slirp4netns" in programs_bulwark_starts()
    assert shell_commands("set -e; cd x; printf 'a\\nb = c' > f; (cd s && zip -q a b); "
                          "X=1 tar -cf o.tar .") == {"printf", "zip", "tar"}


@pytest.mark.parametrize("source", ["tests", "bulwark"])
def test_every_program_is_in_deps(source):
    table = programs_table()
    called = programs_the_tests_call() if source == "tests" else programs_bulwark_starts()
    missing = [f"{p} (called in {where})" for p, where in called.items()
               if p not in table]
    assert not missing, "add to PROGRAMS in scripts/deps.sh: " + ", ".join(missing)


def test_every_package_is_installed_by_deps():
    packages = deps_packages()
    table = programs_table()
    missing = sorted({pkg for alts in table.values() for pkg in alts.split("|")
                      if pkg not in packages and pkg not in
                      ("libc-bin", "mount", "dpkg", "dash", "bash")})  # Essential: yes, in every Debian root
    assert not missing, f"PROGRAMS names packages deps.sh never installs: {missing}"


@pytest.mark.skipif(not shutil.which("dpkg"), reason="not a Debian system (no dpkg)")
def test_programs_come_from_the_named_package():
    wrong = []
    for prog, pkg in programs_table().items():
        path = shutil.which(prog, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if not path:
            wrong.append(f"{prog}: not installed (package {pkg})")
            continue
        real = Path(path).resolve()
        owners = set()
        # usrmerge: dpkg may know the file under /bin while PATH finds it in /usr/bin
        for cand in {path, path.replace("/usr/", "/", 1), str(real)}:
            p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if p.returncode == 0:
                for line in p.stdout.splitlines():
                    if not line.startswith("diversion by"):
                        owners |= {o.strip().split(":")[0] for o in line.split(": ")[0].split(",")}
        if not owners & set(pkg.split("|")):
            wrong.append(f"{prog}: shipped by {sorted(owners) or 'no package'}, not {pkg}")
    assert not wrong, "; ".join(wrong)
