"""`bulwark run --ulimit`: Docker's resource limits reach the command through the runtime spec
(process.rlimits) and the sandbox; malformed or contradictory ones are refused before
anything starts."""
import pytest

from conftest import make_busybox_rootfs
from test_run_basic import sh


@pytest.fixture(scope="module")
def rfs(tmp_path_factory):
    return make_busybox_rootfs(tmp_path_factory.mktemp("ulimit") / "rootfs")


def test_ulimit_applied(rfs):
    p = sh(rfs, "ulimit -n; ulimit -Hn; ulimit -c", "--ulimit", "nofile=100:200",
           "--ulimit", "core=0", check=0)
    assert p.stdout.split() == ["100", "200", "0"], p.stdout


def test_ulimit_soft_only_sets_both(rfs):
    p = sh(rfs, "ulimit -Sn; ulimit -Hn", "--ulimit", "nofile=64", check=0)
    assert p.stdout.split() == ["64", "64"], p.stdout


@pytest.mark.parametrize("bad", ["nofile=300:200", "bogus=1", "nofile", "nofile=",
                                 "nofile=x", "nofile=1:2:3", "nofile=-2"])
def test_ulimit_refused(rfs, bad):
    p = sh(rfs, "true", "--ulimit", bad, check=2)
    assert "bad --ulimit" in p.stderr, p.stderr


def test_ulimit_twice_refused(rfs):
    p = sh(rfs, "true", "--ulimit", "nofile=1:1", "--ulimit", "nofile=2", check=125)
    assert "RLIMIT_NOFILE is given twice" in p.stderr


def test_ulimit_above_own_hard_limit(rfs):
    p = sh(rfs, "true", "--ulimit", "nofile=-1", check=125)
    assert "cannot be granted" in p.stderr, p.stderr
