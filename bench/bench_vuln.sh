#!/bin/sh
# Inventory and vulnerability matching: what they add to a full secret scan, and db import.
#   scan:   bulwark scan of a ~550 MiB gzip-layered OCI image built from /usr with this
#           machine's dpkg status and os-release on top, with a database of generated
#           advisories (24 per source package) vs the same scan with --no-vuln (no inventory,
#           no matching) vs with no database (the inventory still runs); alternating A B A B
#   memory: peak RSS of the full scan with the database attached (default -j, /usr/bin/time)
#   import: bulwark db import of N generated advisories (zip), time and peak RSS
#   match:  bulwark scan of a CycloneDX SBOM of 2,000 PyPI packages against those advisories
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-3}
N=${N:-200000}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-bench-vuln.XXXXXX")
# KEEP=1 keeps the image and databases (printed) for timing them with other tools
if [ "${KEEP:-0}" = 1 ]; then trap 'echo "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi

echo "building the benchmark image and database in $work"
/usr/bin/python3 "$(dirname "$0")/image_lib.py" oci-layout "$work/oci" full "$work/layers" \
	usr/include usr/lib/gcc usr/lib/python3 usr/share/doc var/lib/dpkg/status etc/os-release
/usr/bin/python3 - "$work" "$N" <<'PY'
import json, re, sys, zipfile
w, n = sys.argv[1], int(sys.argv[2])
srcs = sorted({m.group(1) for st in open("/var/lib/dpkg/status").read().split("\n\n")
               for m in [re.search(r"^Source: (\S+)", st, re.M) or
                         re.search(r"^Package: (\S+)", st, re.M)] if m})
def rec(i, eco, name):
    return {"id": f"BENCH-{i}", "summary": "generated", "affected": [{
        "package": {"ecosystem": eco, "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                     {"fixed": f"0.{i % 97}-1"}]}]}]}
with zipfile.ZipFile(f"{w}/scan.zip", "w", zipfile.ZIP_DEFLATED) as z:
    i = 0
    for s in srcs:
        for _ in range(24):
            i += 1
            z.writestr(f"BENCH-{i}.json", json.dumps(rec(i, "Debian:12", s)))
with zipfile.ZipFile(f"{w}/big.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(n):
        z.writestr(f"BENCH-{i}.json", json.dumps(rec(i, "PyPI", f"pkg{i % 50000}")))
comps = [{"type": "library", "name": f"pkg{i}", "version": "0.0.1", "bom-ref": f"c{i}",
          "purl": f"pkg:pypi/pkg{i}@0.0.1"} for i in range(2000)]
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps},
          open(f"{w}/sbom2000.cdx.json", "w"))
PY
rm -rf "$work/layers" # the blobs are in the layout
"$BULWARK" db --db "$work/scan.db" import "$work/scan.zip" >/dev/null

# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"
with_db() { "$BULWARK" scan -q --fail-on none --db "$work/scan.db" "$work/oci:full"; }
no_db() { "$BULWARK" scan -q --fail-on none --db "$work/none.db" "$work/oci:full"; }
no_vuln() { "$BULWARK" scan -q --fail-on none --no-vuln "$work/oci:full"; }
A=""
B=""
C=""
r=0
while [ $r -lt "$RUNS" ]; do
	A="$A $(time_of no_vuln)"
	B="$B $(time_of no_db)"
	C="$C $(time_of with_db)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
a=$(best $A)
# shellcheck disable=SC2086
b=$(best $B)
# shellcheck disable=SC2086
c=$(best $C)
echo "scan: --no-vuln ${a}s, inventory without a database ${b}s, with a database ${c}s"
echo "scan overhead of inventory + matching: $(ratio "$c" "$a" 3)x (target <= 1.15)"
rss=$(/usr/bin/time -f "%M" "$BULWARK" scan -q --fail-on none --db "$work/scan.db" -o /dev/null \
	"$work/oci:full" 2>&1 >/dev/null | tail -1)
echo "peak RSS of the full scan with the database: $((rss / 1024)) MiB (target <= 64 MiB)"
out=$(/usr/bin/time -f "%e %M" "$BULWARK" db --db "$work/big.db" import "$work/big.zip" 2>&1 >/dev/null)
echo "db import of $N advisories: $(echo "$out" | cut -d' ' -f1)s (target <= 30 s), peak RSS $(($(echo "$out" | cut -d' ' -f2) / 1024)) MiB (target <= 128 MiB)"
M=""
r=0
while [ $r -lt "$RUNS" ]; do
	M="$M $(time_of "$BULWARK" scan -q --fail-on none --db "$work/big.db" "$work/sbom2000.cdx.json")"
	r=$((r + 1))
done
# shellcheck disable=SC2086
echo "matching 2,000 packages against $N advisories (scan of an SBOM, whole process): $(best $M)s (target <= 0.5 s)"
