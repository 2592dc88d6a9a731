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
for a in sh ls cat echo true id; do ln -sf busybox "$rootfs/bin/$a"; done
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
# planted: a setuid-root copy of the shell, and an upload directory anyone can write
cp /bin/busybox "$rootfs/usr/local/bin/rootshell"
chmod 4755 "$rootfs/usr/local/bin/rootshell"
chmod 0777 "$rootfs/srv/uploads"
# planted: credentials baked into the image (fake values shaped like real ones)
cat >"$rootfs/app/.env" <<'ENV'
DATABASE_URL=postgres://app:Xk2mP9vQ7wLz4nR8@db.internal:5432/app
AWS_ACCESS_KEY_ID=AKIA2E0A8F3B244C9986
AWS_SECRET_ACCESS_KEY=kW9vR2xT7mQ4pL8nZ3jH6sD1fG5yB0cV2aE7uI9o
ENV

echo
echo "== bulwark scan $rootfs (text)"
set +e
"$BIN" scan --fail-on high "$rootfs"
rc=$?
set -e
echo "(exit status $rc: 0 clean, 1 findings at or above --fail-on, 2 error)"
[ "$rc" -le 1 ] || exit "$rc"

echo
echo "== the same as JSON and SARIF reports for CI"
"$BIN" scan --format json --fail-on none --output "$out/report.json" "$rootfs"
"$BIN" scan --format sarif --fail-on none --output "$out/report.sarif" "$rootfs"
echo "wrote $out/report.json and $out/report.sarif"
echo
echo "demo done."
