#!/usr/bin/env python3
"""Write the small seed corpora for the run fuzzers (fuzz_seccomp_profile, fuzz_user)."""
import json
from pathlib import Path

top = Path(__file__).resolve().parent / "corpus"
sp = top / "fuzz_seccomp_profile"
sp.mkdir(parents=True, exist_ok=True)
seeds = {
    "minimal.json": {"defaultAction": "SCMP_ACT_ALLOW"},
    "docker_like.json": {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                     "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
             "includes": {"minKernel": "4.8"}},
            {"names": ["bpf"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF"]}}]},
    "kill.json": {"defaultAction": "SCMP_ACT_KILL_PROCESS",
                  "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_LOG"}]},
}
for name, doc in seeds.items():
    (sp / name).write_text(json.dumps(doc))

us = top / "fuzz_user"
us.mkdir(parents=True, exist_ok=True)
pw = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
gr = "root:x:0:\napp:x:1000:\nextra:x:2000:app,other\n"
for i, spec in enumerate(["app", "1000:2000", "app:extra", "", "root:0", "nobody"]):
    (us / f"seed{i}").write_bytes(f"{spec}\0{pw}\0{gr}".encode())

ef = top / "fuzz_envfile"
ef.mkdir(parents=True, exist_ok=True)
(ef / "basic").write_text("# comment\nA=b\n  B=with spaces = and equals\r\nPASSTHROUGH\n\nC=\n")
(ef / "bad").write_text("=novalue\nBAD KEY=x\n")
