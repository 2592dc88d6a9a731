#!/usr/bin/python3
"""Line and branch coverage per module, from the .gcda files of a --coverage build.

usage: scripts/coverage.py BUILD_DIR [--json FILE]

Runs gcov (GCC's, JSON intermediate format) over every object of the library and the CLI and
prints one row per module (src/lib/<module>, src/cli): lines and branches executed by the
tests that ran before, least covered first. Only gcov itself is needed: no gcovr or lcov.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
from collections import defaultdict

def module_of(path):
    """src/lib/<module>/… → lib/<module>, src/cli/… → cli; None for anything else (system
    headers, tests)."""
    parts = os.path.normpath(path).split(os.sep)
    for i in range(len(parts) - 2):
        if parts[i] == "src" and parts[i + 1] == "lib" and i + 3 < len(parts):
            return "lib/" + parts[i + 2]
        if parts[i] == "src" and parts[i + 1] == "cli":
            return "cli"
    return None


def gcov_json(gcda_dir, gcdas):
    """gcov --json-format over a batch of .gcda files, the documents it writes."""
    out = subprocess.run(["gcov", "--json-format", "--branch-probabilities", *gcdas],
                         cwd=gcda_dir, capture_output=True)
    if out.returncode != 0:
        sys.exit("coverage: gcov failed: " + out.stderr.decode(errors="replace")[:500])
    for name in os.listdir(gcda_dir):
        if name.endswith(".gcov.json.gz"):
            p = os.path.join(gcda_dir, name)
            with gzip.open(p) as f:
                yield json.load(f)
            os.unlink(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--json")
    a = ap.parse_args()
    by_dir = defaultdict(list)
    for root, _, files in os.walk(a.build):
        for f in files:
            if f.endswith(".gcda") and (
                "bulwark.dir" in root or "bulwark-cli.dir" in root or "bulwark-cli-core.dir" in root
            ):
                by_dir[root].append(os.path.abspath(os.path.join(root, f)))
    if not by_dir:
        sys.exit(f"coverage: no .gcda under {a.build}: build with `make coverage` and run tests")
    # (file, line) -> executed?; (file, line, branch index) -> taken?  A line compiled into
    # two objects (a header's inline function) counts once, executed if either ran it.
    lines, branches = {}, {}
    for d, gcdas in by_dir.items():
        for doc in gcov_json(d, gcdas):
            for f in doc.get("files", []):
                src = f["file"]
                if not os.path.isabs(src):
                    src = os.path.normpath(os.path.join(doc.get("current_working_directory", d), src))
                if not module_of(src):
                    continue
                for ln in f.get("lines", []):
                    k = (src, ln["line_number"])
                    lines[k] = lines.get(k, False) or ln["count"] > 0
                    for i, br in enumerate(ln.get("branches", [])):
                        bk = (src, ln["line_number"], i)
                        branches[bk] = branches.get(bk, False) or br["count"] > 0
    rows = defaultdict(lambda: [0, 0, 0, 0])
    for (src, _), hit in lines.items():
        r = rows[module_of(src)]
        r[0] += hit
        r[1] += 1
    for (src, _, _), hit in branches.items():
        r = rows[module_of(src)]
        r[2] += hit
        r[3] += 1
    pct = lambda a, b: 100.0 * a / b if b else 100.0  # noqa: E731
    table = sorted(rows.items(), key=lambda kv: pct(kv[1][0], kv[1][1]))
    total = [sum(r[i] for r in rows.values()) for i in range(4)]
    print(f"{'module':<14} {'lines':>16} {'%':>6} {'branches':>16} {'%':>6}")
    for mod, (lh, lt, bh, bt) in table + [("total", total)]:
        print(f"{mod:<14} {lh:>7}/{lt:<8} {pct(lh, lt):>6.1f} {bh:>7}/{bt:<8} {pct(bh, bt):>6.1f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({m: {"lines": [r[0], r[1]], "branches": [r[2], r[3]]}
                       for m, r in list(rows.items()) + [("total", total)]}, f, indent=1)


if __name__ == "__main__":
    main()
