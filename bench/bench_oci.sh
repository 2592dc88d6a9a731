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
# `run` (create + start + wait + delete in one process), as runc run
cat >"$work/run.sh" <<EOS
"\$1" --root "\$2" run -b "$work/bundle" r\$\$ </dev/null >/dev/null 2>&1
EOS
echo "run -b BUNDLE ID, $N runs each, alternating (bulwark / runc):"
farm-bench -n "$N" --timeout 600 --vs "sh -e $work/run.sh runc $work/runc" -- \
	sh -e "$work/run.sh" "$BULWARK" "$work/bwk"
if command -v crun >/dev/null 2>&1; then
	echo "create + start + delete --force, $N runs each, alternating (bulwark / crun), unified unmounted:"
	unshare -m --propagation private sh -c "umount /sys/fs/cgroup/unified 2>/dev/null || true; \
		farm-bench -n $N --timeout 600 --vs 'sh -e $work/cycle.sh crun $work/crun' -- \
		sh -e $work/cycle.sh $BULWARK $work/bwk"
fi

# `docker run --rm` of the same root filesystem as an imported image, --runtime bulwark against
# --runtime runc on one private dockerd (skipped without dockerd or with BWK_BENCH_DOCKER=0).
if command -v dockerd >/dev/null 2>&1 && [ "${BWK_BENCH_DOCKER:-1}" = 1 ]; then
	d="$work/d"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	dockerd --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/sock" \
		--config-file "$d/daemon.json" --bridge=none --iptables=false --ip-masq=false \
		--add-runtime "bulwark=$BULWARK" >"$d/log" 2>&1 &
	dpid=$!
	i=0
	while ! docker -H "unix://$d/sock" version >/dev/null 2>&1 && [ $i -lt 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	tar -C "$work/bundle/rootfs" -c . | docker -H "unix://$d/sock" import - bwk-bench:1 >/dev/null
	echo "docker run --rm IMAGE /bin/true, $N runs each, alternating (--runtime bulwark / runc):"
	farm-bench -n "$N" --timeout 600 \
		--vs "docker -H unix://$d/sock run --rm --network none --runtime runc bwk-bench:1 /bin/true" -- \
		docker -H "unix://$d/sock" run --rm --network none --runtime bulwark bwk-bench:1 /bin/true ||
		echo "docker part failed"
	kill "$dpid"
	wait "$dpid" || true
	umount -R "$d/root" 2>/dev/null || true
fi
