#!/bin/sh
# make demo: build a small demo image locally from Debian's busybox-static with a few planted
# problems, then run bulwark's main jobs on it. No registry, no daemon needed.
set -eu
BIN=${1:-build/release/bulwark}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=demo/out
rm -rf "$out"
mkdir -p "$out"
rootfs="$out/rootfs"

echo "== building the demo root filesystem in $rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/usr/local/bin" "$rootfs/srv/uploads" \
	"$rootfs/app"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh ls cat echo true id grep cut tr touch; do ln -sf busybox "$rootfs/bin/$a"; done
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
# planted: a setuid-root copy of the shell, and an upload directory anyone can write
cp /bin/busybox "$rootfs/usr/local/bin/rootshell"
chmod 4755 "$rootfs/usr/local/bin/rootshell"
chmod 0777 "$rootfs/srv/uploads"
# planted: credentials baked into the image (fake values shaped like real ones)
cat >"$rootfs/app/.env" <<'ENV'
DATABASE_URL=postgres://app:Xk2mP9vQ7wLz4nR8@db.internal:5432/app
AWS_ACCESS_KEY_ID=AKIAQX4BZ7TRK2MPL3VW
AWS_SECRET_ACCESS_KEY=kW9vR2xT7mQ4pL8nZ3jH6sD1fG5yB0cV2aE7uI9o
ENV

# planted: a Debian 12 package database with outdated openssl, curl and expat (zlib is current)
mkdir -p "$rootfs/var/lib/dpkg"
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' \
	>"$rootfs/etc/os-release"
pkg() { # name version source
	printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\n' "$1"
	[ -z "${3:-}" ] || printf 'Source: %s\n' "$3"
	printf 'Version: %s\n\n' "$2"
}
{
	pkg libssl3 3.0.11-1~deb12u1 openssl
	pkg openssl 3.0.11-1~deb12u1
	pkg libcurl4 7.88.1-10+deb12u1 curl
	pkg curl 7.88.1-10+deb12u1
	pkg libexpat1 2.5.0-1 expat
	pkg zlib1g 1:1.2.13.dfsg-1 zlib
} >"$rootfs/var/lib/dpkg/status"

# a private database: the demo never reads or writes the user's cache
db="$out/vuln.db"
echo
echo "== bulwark db import demo/osv (five real Debian 12 advisories, see demo/osv/README.md)"
"$BIN" db --db "$db" import demo/osv
"$BIN" db --db "$db" status

echo
echo "== bulwark scan $rootfs (text)"
set +e
"$BIN" scan --db "$db" --fail-on high "$rootfs"
rc=$?
set -e
echo "(exit status $rc: 0 clean, 1 findings at or above --fail-on, 2 error)"
[ "$rc" -le 1 ] || exit "$rc"

echo
echo "== the same as JSON and SARIF reports for CI"
"$BIN" scan --db "$db" --format json --fail-on none --output "$out/report.json" "$rootfs"
"$BIN" scan --db "$db" --format sarif --fail-on none --output "$out/report.sarif" "$rootfs"
echo "wrote $out/report.json and $out/report.sarif"
echo
echo "== the SBOM with its vulnerabilities (CycloneDX 1.5; spdx-json for SPDX 2.3; bulwark sbom: packages only)"
"$BIN" scan --db "$db" --format cyclonedx --fail-on none -q --output "$out/sbom.cdx.json" "$rootfs"
echo "wrote $out/sbom.cdx.json: $(grep -c '"purl"' "$out/sbom.cdx.json") packages, $(grep -c '"recommendation"' "$out/sbom.cdx.json") vulnerabilities"
echo
echo "== building a docker-save image with 2 layers: layer 2 deletes the .env that layer 1 added"
/usr/bin/python3 - "$rootfs" "$out/demo-image.tar" <<'PY'
import os, sys
sys.path.insert(0, "tests/integration")
import image_util as u
rootfs, dest = sys.argv[1], sys.argv[2]
entries = []
for top, dirs, files in os.walk(rootfs):
    dirs.sort()
    rel = os.path.relpath(top, rootfs)
    if rel != ".":
        entries.append(u.D(rel, mode=os.stat(top).st_mode & 0o7777))
    for f in sorted(files):
        p = os.path.join(top, f)
        r = os.path.normpath(os.path.join(rel, f))
        if os.path.islink(p):
            entries.append(u.L(r, os.readlink(p)))
        else:
            entries.append(u.F(r, open(p, "rb").read(), mode=os.stat(p).st_mode & 0o7777))
l1 = u.Layer(entries, comp="gzip")
# "RUN rm /app/.env" does not remove the key from the image: it stays in layer 1
l2 = u.Layer([u.W("app/.env"), u.F("app/README", "configure with environment variables\n")],
             comp="gzip")
u.docker_save(dest, [l1, l2], tags=["demo/app:1.0"], config={
    "Env": ["PATH=/usr/local/bin:/bin"], "Cmd": ["/bin/sh"], "ExposedPorts": {"22/tcp": {}}})
PY
echo "wrote $out/demo-image.tar"
echo
echo "== bulwark scan --vex demo/vex.json $out/demo-image.tar (the maintainers state expat's advisory does not apply)"
set +e
"$BIN" scan --db "$db" --vex demo/vex.json --fail-on high "$out/demo-image.tar"
rc=$?
set -e
echo "(exit status $rc)"
[ "$rc" -le 1 ] || exit "$rc"
echo
echo "== bulwark unpack $out/demo-image.tar $out/unpacked (whiteouts applied, setuid stripped)"
"$BIN" unpack "$out/demo-image.tar" "$out/unpacked"
if [ -e "$out/unpacked/app/.env" ]; then
	echo "demo: app/.env should have been deleted by layer 2" >&2
	exit 1
fi
echo "unpacked: $(find "$out/unpacked" | wc -l) entries, app/.env deleted as layer 2 says"
echo
echo "== bulwark run $out/demo-image.tar: daemonless, user namespace, seccomp, no_new_privs, read-only root"
set +e
# shellcheck disable=SC2016 # $(...) is for the shell inside the container
"$BIN" run "$out/demo-image.tar" -- /bin/sh -c \
	'echo "inside: uid $(id -u) as $(cat /proc/self/uid_map | tr -s " " | cut -d" " -f3) on the host"; \
	 grep -E "^(NoNewPrivs|Seccomp|CapEff):" /proc/self/status; \
	 touch /etc/x 2>/dev/null && echo "root fs writable!" || echo "root filesystem: read-only"'
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
	echo "(bulwark run exited $rc: this machine may not allow user namespaces; see docs/run.md)"
fi
echo
echo "== bulwark audit demo/compose.yaml (how containers are launched)"
set +e
"$BIN" audit --fail-on high demo/compose.yaml
rc=$?
echo "(exit status $rc)"
echo
echo "== bulwark audit host (this machine's kernel and settings)"
"$BIN" audit --fail-on none host | head -25
set -e
echo
echo "== bulwark rules sensitive-host-mount (any finding's rule, explained; 'bulwark rules' lists all)"
"$BIN" rules sensitive-host-mount
echo
echo "demo done."
