"""A private containerd for the tests (own root, state, sockets and namespace), started and
stopped by them: test_oci_containerd.py (the CRI plugin off, `ctr run`) and test_oci_cri.py
(the CRI plugin on, driven over its gRPC socket as a kubelet would)."""
import os
import subprocess
import time
from pathlib import Path

from conftest import stop_daemon


class Containerd:
    def __init__(self, base: Path, cri: str = None, namespace="bwk-oci"):
        """cri: None keeps the CRI plugin off; else the TOML of its section, which turns it on
        (the tables under [plugins."io.containerd.grpc.v1.cri"])."""
        self.base = base
        self.sock = base / "c.sock"
        cfg = base / "config.toml"
        cfg.write_text(f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n' +
                       ('disabled_plugins = ["io.containerd.grpc.v1.cri"]\n' if cri is None
                        else "") +
                       f'[grpc]\n  address = "{self.sock}"\n'
                       f'[ttrpc]\n  address = "{self.sock}.ttrpc"\n'
                       f'[debug]\n  address = "{base}/debug.sock"\n' + (cri or ""))
        self.log = open(base / "containerd.log", "w")
        self.proc = subprocess.Popen(["containerd", "--config", str(cfg)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.env = dict(os.environ, CONTAINERD_ADDRESS=str(self.sock),
                        CONTAINERD_NAMESPACE=namespace)
        deadline = time.time() + 60
        while self.ctr("version", check=False)[0] != 0:
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("containerd: " + (base / "containerd.log").read_text()[-2000:])
            time.sleep(0.2)

    def ctr(self, *args, check=True, timeout=120, **kw):
        p = subprocess.run(["ctr", *map(str, args)], capture_output=True, env=self.env,
                           timeout=timeout, **kw)
        out, err = p.stdout.decode(), p.stderr.decode()
        if check:
            assert p.returncode == 0, (args, p.returncode, err)
        return p.returncode, out, err

    def stop(self):
        for name in self.ctr("containers", "ls", "-q", check=False)[1].split():
            self.ctr("task", "kill", "-s", "KILL", name, check=False)
            self.ctr("task", "delete", "-f", name, check=False)
            self.ctr("containers", "rm", name, check=False)
        stop_daemon(self.proc, self.log, self.base)
