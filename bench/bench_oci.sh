#!/bin/sh
# OCI lifecycle latency: `create` + `start` + `delete --force` of one bundle (busybox, /bin/true,
# runc's default config.json), bulwark against runc and crun on the same bundle, alternating
# A B A B with farm-bench (median ratios). crun refuses this hybrid-cgroup host unless
# /sys/fs/cgroup/unified is unmounted, so the crun pair runs inside one
# `unshare -m --propagation private` with it unmounted (both sides alike). Needs root.
# N=runs per command (default 20).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BULWARK=${BULWARK:-$top/build/release/bulwark}
N=${N:-20}
[ "$(id -u)" = 0 ] || { echo "bench_oci: needs root"; exit 0; }
work=$(mktemp -d /tmp/bwk-bench-oci.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin" "$work/bundle/rootfs/proc" "$work/bundle/rootfs/dev" \
	"$work/bundle/rootfs/sys"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/true"
ln -s busybox "$work/bundle/rootfs/bin/sh"
(cd "$work/bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' "$work/bundle/config.json"
grep -q '"/bin/true"' "$work/bundle/config.json"
# one cycle: RUNTIME ROOT (the shell's pid makes each id unique)
cat >"$work/cycle.sh" <<EOS
id=b\$\$
"\$1" --root "\$2" create -b "$work/bundle" "\$id" </dev/null >/dev/null 2>&1
"\$1" --root "\$2" start "\$id"
"\$1" --root "\$2" delete --force "\$id"
EOS
echo "create + start + delete --force, $N runs each, alternating (bulwark / runc):"
farm-bench -n "$N" --timeout 600 --vs "sh -e $work/cycle.sh runc $work/runc" -- \
	sh -e "$work/cycle.sh" "$BULWARK" "$work/bwk"
if command -v crun >/dev/null 2>&1; then
	echo "create + start + delete --force, $N runs each, alternating (bulwark / crun), unified unmounted:"
	unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
		farm-bench -n $N --timeout 600 --vs 'sh -e $work/cycle.sh crun $work/crun' -- \
		sh -e $work/cycle.sh $BULWARK $work/bwk"
fi
