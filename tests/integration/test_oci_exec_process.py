"""exec --process FILE (issue #13): the process object goes through config.json's parser and
checks; a bad one is refused with one line naming FILE and the property, exit 1 as runc, and
nothing runs in the container. Usage errors (an unreadable option) stay exit 2."""
import json
import os

import pytest

from test_oci_lifecycle import Runtime, reaper, rt, wait_exit  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the OCI lifecycle needs root")

MARK = "touch /tmp/ran"
GOOD = {"args": ["/bin/sh", "-c", MARK], "cwd": "/", "user": {"uid": 0, "gid": 0}}

BAD = [
    ({"args": [], "cwd": "/"}, "process.args: empty"),
    ({"args": ["/bin/sh", "-c", MARK]}, "process.cwd: '(missing)' is not an absolute path"),
    ({**GOOD, "cwd": "tmp"}, "process.cwd: 'tmp' is not an absolute path"),
    ({**GOOD, "env": ["NOEQUALS"]}, "process.env[0]: 'NOEQUALS' is not KEY=VALUE"),
    ({**GOOD, "rlimits": [{"type": "RLIMIT_NOPE", "hard": 1, "soft": 1}]},
     "process.rlimits[0].type: 'RLIMIT_NOPE' is not an rlimit"),
    ({**GOOD, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 5}]},
     "soft limit 5 above the hard limit 1"),
    ({**GOOD, "user": {"uid": -1, "gid": 0}}, "process.user.uid: -1 is out of range"),
    ({**GOOD, "user": {"uid": 0, "gid": 0, "additionalGids": list(range(65537))}},
     "additionalGids: 65537 entries (at most 65536)"),
    ({**GOOD, "args": "sh"}, "process.args: an array is needed"),
    ([1, 2], "not a JSON object"),
]


def test_exec_process_file_is_validated(rt, tmp_path):
    b = rt.bundle(["/bin/sleep", "60"], edit=lambda c: c["root"].update(readonly=False))
    cid, pid = rt.create(b)
    rt("start", cid)
    ran = b / "rootfs" / "tmp" / "ran"
    for i, (proc, want) in enumerate(BAD):
        f = tmp_path / f"p{i}.json"
        f.write_text(json.dumps(proc))
        p = rt("exec", "--process", f, cid, check=1)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and want in lines[0] and str(f) in lines[0], (want, p.stderr)
        assert not ran.exists(), proc
    f = tmp_path / "good.json"
    f.write_text(json.dumps(GOOD))
    rt("exec", "--process", f, cid)
    assert ran.exists()
    # a file that is not there, or too big to be a process: one line, exit 1
    p = rt("exec", "--process", tmp_path / "nope.json", cid, check=1)
    assert len(p.stderr.strip().splitlines()) == 1 and "nope.json" in p.stderr, p.stderr
    # the usage errors stay exit 2
    assert "is the whole process" in rt("exec", "-p", f, "--cwd", "/", cid, check=2).stderr
