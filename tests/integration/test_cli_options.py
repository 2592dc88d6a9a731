"""The option tables (src/cli/options.h): help, completion and the man page say what the table
says, for every command that has one; and every option reads BULWARK_<NAME> and a config-file
key, a flag winning over the variable and the variable over the file."""
import json
import os
import re
from pathlib import Path

import pytest

from conftest import BUILD, BULWARK, run_bulwark

# commands converted to a table; every command's table is checked, this list only makes sure
# none silently drops out
CONVERTED = {"scan", "audit", "unpack", "inspect", "sbom", "db", "registry", "rules", "run"}
# the OCI runtime commands: runc's command line, no environment variable, no config key
OCI = {"spec", "features", "create", "oci-run", "start", "state", "kill", "delete", "list",
       "exec", "ps", "pause", "resume", "update", "events", "checkpoint", "restore"}


def commands():
    p = run_bulwark("--help", check=0)
    names = re.findall(r"^  (\S+) ", p.stdout.split("commands:\n", 1)[1], re.M)
    return [n for n in names if n != "help"]


def table(cmd):
    p = run_bulwark("__options", cmd)
    if p.returncode != 0:
        return None
    return [json.loads(line) for line in p.stdout.splitlines()]


def tables():
    out = {c: table(c) for c in commands()}
    return {c: t for c, t in out.items() if t is not None}


# The compiled secret rules of every other test (a cache, not configuration): a HOME of its own
# made each scan here compile them again, some 5 s each under ASan.
SECRETS_CACHE = os.environ.get("BULWARK_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bulwark")


def clean_env(tmp_path):
    """No BULWARK_* of the caller and no config file but the test's own."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path),
            "BULWARK_CACHE_DIR": SECRETS_CACHE}


def test_converted_commands_have_tables(bulwark):
    assert CONVERTED | OCI <= set(tables())


def help_options(cmd):
    text = run_bulwark("help", cmd, check=0).stdout
    usage = text.split("\n", 1)[0]
    if cmd in OCI:  # "usage: bulwark [GLOBAL] pause|resume ID", oci-run's "run"
        assert usage.startswith("usage: bulwark "), usage
        assert cmd.replace("oci-", "") in usage, usage
    else:
        assert text.startswith(f"usage: bulwark {cmd}")
    return options_in(text)


def options_in(text):
    found = {}
    for m in re.finditer(r"^  (?:-(\w), )?\s*--([a-z0-9-]+)(?: (\S+))?(?:\s{2,}|$)", text, re.M):
        found[m.group(2)] = (m.group(1) or " ", m.group(3) or "")
    return found


def man_options(cmd, heading=None):
    page = (Path(BUILD) / "bulwark.1").read_text()
    heading = heading or f"bulwark {cmd}"
    m = re.search(rf"^\.SS {re.escape(heading)}\n(.*?)(?=^\.SS |^\.SH |\Z)", page,
                  re.M | re.S)
    assert m, f"no OPTIONS of {cmd} in the man page"
    sec = m.group(1)
    found = {}
    for m in re.finditer(r"^\.TP\n(?:\\fB\\-(\w)\\fR, )?\\fB\\-\\-([a-z0-9\\-]+)\\fR"
                         r"(?: \\fI(.+?)\\fR)?\n(.*?)(?=^\.TP|\Z)", sec, re.M | re.S):
        name = m.group(2).replace("\\-", "-")
        meta = (m.group(3) or "").replace("\\-", "-").replace("\\e", "\\")
        found[name] = (m.group(1) or " ", meta, m.group(4))
    return found


@pytest.mark.parametrize("cmd", sorted(CONVERTED | OCI))
def test_help_completion_and_man_agree_with_table(bulwark, cmd):
    t = table(cmd)
    names = {o["name"] for o in t}
    # help: every option, with its short letter and value name, and nothing else
    h = help_options(cmd)
    assert set(h) == names
    for o in t:
        assert h[o["name"]] == (o["short"], o["metavar"]), o
    # completion: the command's options, not another command's
    comp = set(bulwark("__complete", cmd, "-", check=0).stdout.split())
    assert comp == {"--" + n for n in names}
    for o in t:
        if o["arg"] == 2:  # a file
            assert bulwark("__complete", cmd, "--" + o["name"], "", check=0).stdout == "@file\n"
        elif o["arg"] == 3:
            assert bulwark("__complete", cmd, "--" + o["name"], "", check=0).stdout == "@dir\n"
    # the man page's OPTIONS, generated from the same table
    m = man_options(cmd)
    assert set(m) == names
    for o in t:
        short, metavar, text = m[o["name"]]
        assert (short, metavar) == (o["short"], o["metavar"]), o
        if o["env"]:
            assert o["env"].replace("_", "_") in text.replace("\\-", "-"), o
            assert o["env"] == "BULWARK_DATA_DIR" or \
                o["env"] == "BULWARK_" + o["name"].upper().replace("-", "_"), o


def test_every_command_table_agrees(bulwark):
    """Whatever has a table (more commands as they are converted) agrees too."""
    for cmd, t in tables().items():
        assert set(help_options(cmd)) == {o["name"] for o in t}, cmd
        assert set(man_options(cmd)) == {o["name"] for o in t}, cmd


def test_completion_values_and_commands(bulwark):
    out = bulwark("__complete", "sc", check=0).stdout.split()
    assert out == ["scan"]
    out = bulwark("__complete", "scan", "--fail-on", "c", check=0).stdout.split()
    assert out == ["critical"]
    out = bulwark("__complete", "audit", "", check=0).stdout.split()
    assert {"host", "daemon", "containers", "registry", "@file"} <= set(out)
    # scan's flags are scan's: audit's --all is not offered for scan
    assert "--all" not in bulwark("__complete", "scan", "--a", check=0).stdout.split()


def test_completion_script_asks_the_binary(bulwark, tmp_path):
    import shutil
    import subprocess
    if not shutil.which("bash"):
        pytest.skip("bash missing")
    script = Path(__file__).resolve().parents[2] / "completion" / "bulwark.bash"
    prog = (f'source {script}; COMP_WORDS=({BULWARK} audit --fail); COMP_CWORD=2; '
            '_bulwark; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=60)
    assert p.stdout.split() == ["--fail-on"], p.stderr


# ---- precedence: flag > environment > config file ----

@pytest.fixture
def root(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    return r


def fmt_of(p):
    assert p.returncode in (0, 1), p.stderr
    if p.stdout.lstrip().startswith("{"):
        return "sarif" if '"$schema"' in p.stdout[:200] else "json"
    return "text"


def scan(root, tmp_path, *args, env=None, cwd=None):
    e = clean_env(tmp_path)
    e.update(env or {})
    return run_bulwark("scan", "--no-malware", *args, root, env=e, cwd=cwd or tmp_path)


def test_environment_sets_option(bulwark, root, tmp_path):
    assert fmt_of(scan(root, tmp_path)) == "text"
    assert fmt_of(scan(root, tmp_path, env={"BULWARK_FORMAT": "json"})) == "json"
    # the flag wins over the variable
    assert fmt_of(scan(root, tmp_path, "--format", "text",
                       env={"BULWARK_FORMAT": "json"})) == "text"


def test_config_file_sets_option(bulwark, root, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text("format: sarif\n")
    assert fmt_of(scan(root, tmp_path, cwd=work)) == "sarif"
    # the variable wins over the file, the flag over both
    assert fmt_of(scan(root, tmp_path, env={"BULWARK_FORMAT": "json"}, cwd=work)) == "json"
    assert fmt_of(scan(root, tmp_path, "-f", "text", env={"BULWARK_FORMAT": "json"},
                       cwd=work)) == "text"
    # a command's own section wins over the top level
    (work / "bulwark.yaml").write_text("format: sarif\nscan:\n  format: json\n")
    assert fmt_of(scan(root, tmp_path, cwd=work)) == "json"


def test_config_sections_are_not_option_values(bulwark, root, tmp_path):
    # `scan:` is run's --scan, `db:` and `rules:` are options of scan and audit too: a command's
    # section at the top of the file is not the value of another command's option of that name
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text(
        "scan:\n  format: json\ndb:\n  offline: true\nrules:\n  format: text\n"
        "audit:\n  format: sarif\n")
    assert fmt_of(scan(root, tmp_path, cwd=work)) == "json"
    e = clean_env(tmp_path)
    p = run_bulwark("audit", "host", "--fail-on", "none", env=e, cwd=work)
    assert p.returncode == 0, p.stderr
    assert '"$schema"' in p.stdout[:200]
    p = run_bulwark("run", "--help", env=e, cwd=work)
    assert p.returncode == 0, p.stderr
    p = run_bulwark("run", str(tmp_path / "absent"), "true", env=e, cwd=work)
    assert p.returncode == 125 and "cannot open" in p.stderr, p.stderr


def test_xdg_config_file(bulwark, root, tmp_path):
    cfg = tmp_path / "xdg" / "bulwark"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text("scan:\n  format: json\n")
    assert fmt_of(scan(root, tmp_path)) == "json"
    # ./bulwark.yaml is read instead of the user's file
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text("format: sarif\n")
    assert fmt_of(scan(root, tmp_path, cwd=work)) == "sarif"
    # another command's section does not apply
    (cfg / "config.yaml").write_text("audit:\n  format: json\n")
    assert fmt_of(scan(root, tmp_path)) == "text"


def test_switches_from_environment_and_file(bulwark, root, tmp_path):
    def listed(p):
        assert p.returncode in (0, 1), p.stderr
        return "[PASS]" in p.stdout
    assert not listed(scan(root, tmp_path))
    assert listed(scan(root, tmp_path, env={"BULWARK_SHOW_PASSED": "yes"}))
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text("show-passed: true\n")
    assert listed(scan(root, tmp_path, cwd=work))
    # "0" in the environment is a value too: it wins over the file and turns the switch off
    assert not listed(scan(root, tmp_path, env={"BULWARK_SHOW_PASSED": "0"}, cwd=work))
    (work / "bulwark.yaml").write_text("show-passed: false\n")
    assert not listed(scan(root, tmp_path, cwd=work))


def test_bad_values_name_their_source(bulwark, root, tmp_path):
    p = scan(root, tmp_path, env={"BULWARK_FORMAT": "xml"})
    assert p.returncode == 2
    assert "unknown format 'xml'" in p.stderr and "(from BULWARK_FORMAT)" in p.stderr
    p = scan(root, tmp_path, env={"BULWARK_QUIET": "perhaps"})
    assert p.returncode == 2 and "BULWARK_QUIET" in p.stderr
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text("scan:\n  fail-on: severe\n")
    p = scan(root, tmp_path, cwd=work)
    assert p.returncode == 2 and "bulwark.yaml: scan.fail-on" in p.stderr
    (work / "bulwark.yaml").write_text("- a list\n")
    p = scan(root, tmp_path, cwd=work)
    assert p.returncode == 2 and "mapping" in p.stderr
    (work / "bulwark.yaml").write_text("format: [json\n")
    p = scan(root, tmp_path, cwd=work)
    assert p.returncode == 2 and "bulwark.yaml" in p.stderr


def test_data_dir_variable_and_deprecated_alias(bulwark, tmp_path):
    e = clean_env(tmp_path)
    for var in ("BULWARK_DATA_DIR", "BWK_DATA_DIR"):
        p = run_bulwark("audit", "host", env={**e, var: str(tmp_path / "nope")})
        assert p.returncode == 2 and str(tmp_path / "nope") in p.stderr, (var, p.stderr)
    # the new name wins over the old one
    p = run_bulwark("audit", "host", env={**e, "BULWARK_DATA_DIR": str(tmp_path / "new"),
                                         "BWK_DATA_DIR": str(tmp_path / "old")})
    assert str(tmp_path / "new") in p.stderr and str(tmp_path / "old") not in p.stderr


# ---- bulwark run: settings from the environment and the file, never a relaxed isolation ----

@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    from conftest import make_busybox_rootfs
    return make_busybox_rootfs(tmp_path_factory.mktemp("opts") / "rootfs")


def run_sh(rfs, tmp_path, script, *args, env=None, cwd=None):
    e = clean_env(tmp_path)
    e.update(env or {})
    return run_bulwark("run", *args, "--rootfs", rfs, "--", "/bin/sh", "-c", script, env=e,
                       cwd=cwd or tmp_path, timeout=120)


def test_run_reads_environment_and_file(bulwark, busybox, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    p = run_sh(busybox, tmp_path, "hostname", env={"BULWARK_HOSTNAME": "fromenv"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "fromenv"
    (work / "bulwark.yaml").write_text("run:\n  hostname: fromfile\n")
    assert run_sh(busybox, tmp_path, "hostname", cwd=work).stdout.strip() == "fromfile"
    assert run_sh(busybox, tmp_path, "hostname", env={"BULWARK_HOSTNAME": "fromenv"},
                  cwd=work).stdout.strip() == "fromenv"
    assert run_sh(busybox, tmp_path, "hostname", "--hostname", "fromflag",
                  env={"BULWARK_HOSTNAME": "fromenv"}, cwd=work).stdout.strip() == "fromflag"


def test_run_isolation_is_command_line_only(bulwark, busybox, tmp_path):
    """A bulwark.yaml in the working directory (or a variable) must not open the container."""
    work = tmp_path / "work"
    work.mkdir()
    secret = tmp_path / "host-secret"
    secret.write_text("hostdata\n")
    (work / "bulwark.yaml").write_text(
        "run:\n  env: [LEAK=1]\n  volume: ['%s:/mnt/s']\n  cap-add: [ALL]\n"
        "  net: host\n" % secret)
    env = {"BULWARK_ENV": "LEAK2=1", "BULWARK_VOLUME": f"{secret}:/mnt/t",
           "BULWARK_CAP_ADD": "ALL", "BULWARK_ALLOW_SENSITIVE_MOUNT": "1"}
    p = run_sh(busybox, tmp_path,
               "env; cat /mnt/s /mnt/t 2>&1; grep CapEff /proc/self/status", env=env, cwd=work)
    assert p.returncode in (0, 1), p.stderr
    assert "LEAK" not in p.stdout and "hostdata" not in p.stdout
    assert "000001ffffffffff" not in p.stdout and "0000003fffffffff" not in p.stdout


def test_other_modes_settings_are_not_errors(bulwark, tmp_path):
    """db: in the file or BULWARK_USERNAME is meant for scan and audit registry: audit host
    runs; the same options on the command line stay usage errors."""
    e = clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "bulwark.yaml").write_text("db: /nonexistent/vuln.db\nall: true\n")
    env = {**e, "BULWARK_USERNAME": "ci", "BULWARK_SCAN_ALL": "1"}
    p = run_bulwark("audit", "host", "-f", "json", "-q", env=env, cwd=work)
    assert p.returncode in (0, 1), p.stderr
    p = run_bulwark("audit", "host", "--db", "x", env=e, cwd=tmp_path)
    assert p.returncode == 2 and "apply to 'audit registry' only" in p.stderr


# ---- the OCI runtime commands (#17): tables too, but runc's parsing and no configuration ----

@pytest.mark.parametrize("cmd", sorted(OCI))
def test_oci_options_read_no_environment(bulwark, cmd):
    for o in table(cmd):
        assert o["env"] == "" and o["env_old"] == "", o
    m = man_options(cmd)
    assert all("Environment:" not in text for _, _, text in m.values()), cmd


def test_oci_global_options(bulwark):
    """The global options before an OCI command are one more table (`__options global`):
    bulwark --help, completion and the man page say what it says, as for a command."""
    t = table("global")
    names = {o["name"] for o in t}
    assert {"root", "log", "log-format", "systemd-cgroup", "harden", "runtime-config",
            "debug", "rootless"} <= names
    for o in t:
        assert o["env"] == "" and o["env_old"] == "", o
    # help: the section of bulwark --help, option for option
    text = bulwark("--help", check=0).stdout
    glob = text.split("OCI runtime global options", 1)[1].split("\nexit status", 1)[0]
    h = options_in(glob)
    assert set(h) == names
    for o in t:
        assert h[o["name"]] == (o["short"], o["metavar"]), o
    # completion: before the command, the global options and their values
    comp = set(bulwark("__complete", "-", check=0).stdout.split())
    assert comp == {"--" + n for n in names}
    for o in t:
        cand = bulwark("__complete", "--" + o["name"], "", check=0).stdout
        if o["arg"] == 2:
            assert cand == "@file\n", o
        elif o["arg"] == 3:
            assert cand == "@dir\n", o
    assert bulwark("__complete", "-log-format", "j", check=0).stdout.split() == ["json"]
    # and after them, the command and its own options (run is runc's there)
    for pre in (["--root", "/r"], ["-root=/r"], ["--systemd-cgroup", "--log", "f"]):
        assert bulwark("__complete", *pre, "cre", check=0).stdout.split() == ["create"], pre
        comp = set(bulwark("__complete", *pre, "create", "--", check=0).stdout.split())
        assert "--bundle" in comp and "--root" not in comp, pre
    assert "--bundle" in bulwark("__complete", "--root", "/r", "run", "--b",
                                 check=0).stdout.split()
    # the man page's section, from the same table
    m = man_options("global", "OCI runtime global options (before the command)")
    assert set(m) == names
    for o in t:
        assert m[o["name"]][:2] == (o["short"], o["metavar"]), o
        assert "Environment:" not in m[o["name"]][2], o


def test_oci_global_option_errors(bulwark, tmp_path):
    """What the global options refuse, in the one usage-error form; what is not theirs
    (--help, --version, an unknown option) is bulwark's own."""
    p = bulwark("--log-format", "xml", "list", check=2)
    assert p.returncode == 2 and "--log-format: 'text' or 'json', not 'xml'" in p.stderr
    assert "Try 'bulwark --help'" in p.stderr
    p = bulwark("--root", check=2)
    assert p.returncode == 2 and "option '--root' needs a value" in p.stderr
    assert "Try 'bulwark --help'" in p.stderr
    root = tmp_path / "state"
    assert bulwark("--root", str(root), "--help", check=0).stdout.startswith("bulwark ")
    assert bulwark("-root", str(root), "--version", check=0).stdout.startswith("bulwark ")
    p = bulwark("--debug", "--bogus", "list", check=2)
    assert p.returncode == 2 and "unknown option '--bogus'" in p.stderr
    # switches as runc writes them, values in either form, then the command
    p = bulwark("--systemd-cgroup=false", "--log-format=json", f"--log={tmp_path / 'l'}",
                "-root", str(root), "list", "-format", "json", check=0)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr
    assert (tmp_path / "l").exists()  # made as runc makes it, even with nothing to log


def test_oci_single_dash_and_exact_names(bulwark, tmp_path):
    """urfave/cli's spellings: -opt, -opt=v, --opt=v, --opt v; no abbreviations."""
    root = tmp_path / "state"
    for args in (["-root", str(root)], [f"-root={root}"], [f"--root={root}"],
                 ["--root", str(root)]):
        p = bulwark(*args, "list", "-format=json", check=0)
        assert p.returncode == 0 and p.stdout.strip() == "[]", (args, p.stderr)
    # no abbreviation: --roo is not --root, -h is help and never --harden
    p = bulwark("--roo", str(root), "list", check=2)
    assert p.returncode == 2 and "unknown option '--roo'" in p.stderr, p.stderr
    assert bulwark("-h", check=0).stdout.startswith("bulwark ")
    p = bulwark("--root", str(root), "list", "-format", check=2)
    assert p.returncode == 2 and "needs a value" in p.stderr
    p = bulwark("--root", str(root), "list", "-bogus", check=2)
    assert p.returncode == 2 and "unknown option '-bogus'" in p.stderr
    # completion offers a command's own options
    comp = set(bulwark("__complete", "create", "--", check=0).stdout.split())
    assert {"--bundle", "--pid-file", "--console-socket"} <= comp and "--all" not in comp


def test_db_update_options_are_in_the_table(bulwark, tmp_path):
    """`db update`'s options are rows of db's table (so help, completion and the man page above
    cover them); they are read after the verb, and refused for the other verbs."""
    names = {o["name"] for o in table("db")}
    assert {"source", "sources", "cacert"} <= names
    p = run_bulwark("db", "--db", tmp_path / "v.db", "update", "--sources",
                    tmp_path / "missing", check=2)
    assert "missing" in p.stderr
    p = run_bulwark("db", "update", "--db", tmp_path / "v.db", "extra", check=2)
    assert "unexpected 'extra'" in p.stderr
    p = run_bulwark("db", "--source", "https://127.0.0.1:1/x.zip", "--db", tmp_path / "v.db",
                    "status", check=2)
    assert "for db update" in p.stderr
