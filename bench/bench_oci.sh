#!/bin/sh
# OCI lifecycle latency: `create` + `start` + `delete --force` of one bundle (busybox, /bin/true,
# runc's default config.json), bulwark against runc and crun on the same bundle, alternating
# A B A B with farm-bench (median ratios); then `docker run --rm` with each runtime. crun refuses
# this hybrid-cgroup host unless /sys/fs/cgroup/unified is unmounted, so the crun pairs run inside
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

# `docker run --rm` of the same root filesystem as an imported image on one private dockerd
# (skipped without dockerd or with BWK_BENCH_DOCKER=0): --runtime bulwark against --runtime runc,
# then against --runtime crun (registered with --add-runtime crun=CRUN).
# docker_bench NAME [PREFIX]: a private dockerd under $work/NAME, started through PREFIX (a
# command line run in front of dockerd, e.g. an unshare), then the pairs.
docker_bench() {
	d="$work/$1"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	${2:-} dockerd --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" \
		-H "unix://$d/sock" --config-file "$d/daemon.json" --bridge=none --iptables=false \
		--ip-masq=false --add-runtime "bulwark=$BULWARK" --add-runtime "crun=$CRUN" \
		>"$d/log" 2>&1 &
	dpid=$!
	dk="docker -H unix://$d/sock"
	i=0
	while ! $dk version >/dev/null 2>&1 && [ $i -lt 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	tar -C "$work/bundle/rootfs" -c . | $dk import - bwk-bench:1 >/dev/null
	dr="$dk run --rm --network none"
	if [ -z "${2:-}" ]; then
		echo "docker run --rm IMAGE /bin/true, $N runs each, alternating (--runtime bulwark / runc):"
		# shellcheck disable=SC2086 # $dr is a command line, split on purpose
		farm-bench -n "$N" --timeout 600 --vs "$dr --runtime runc bwk-bench:1 /bin/true" -- \
			$dr --runtime bulwark bwk-bench:1 /bin/true || echo "docker part failed"
	fi
	# crun 1.8.1 refuses a hybrid cgroup host (v1 controllers and a cgroup2 mount at
	# /sys/fs/cgroup/unified): say so with crun's own message rather than time a failure
	crun_ok=1
	if [ -n "$CRUN" ] && ! out=$($dr --runtime crun bwk-bench:1 /bin/true 2>&1); then
		crun_ok=0
		echo "docker run --runtime crun fails on this host:"
		printf '%s\n' "$out" | grep -m 1 -i error || printf '%s\n' "$out" | head -n 1
	fi
	if [ -n "$CRUN" ] && [ $crun_ok = 1 ]; then
		echo "docker run --rm IMAGE /bin/true, $N runs each, alternating (--runtime bulwark / crun)${2:+, dockerd in a mount namespace with unified unmounted}:"
		# shellcheck disable=SC2086
		farm-bench -n "$N" --timeout 600 --vs "$dr --runtime crun bwk-bench:1 /bin/true" -- \
			$dr --runtime bulwark bwk-bench:1 /bin/true || echo "docker part failed"
	fi
	kill "$dpid"
	wait "$dpid" || true
	umount -R "$d/root" 2>/dev/null || true
	return $((1 - crun_ok))
}
CRUN=$(command -v crun || true)
if command -v dockerd >/dev/null 2>&1 && [ "${BWK_BENCH_DOCKER:-1}" = 1 ]; then
	# where crun refused, the crun pair again on a second private dockerd inside its own mount
	# namespace with the unified hierarchy unmounted (as the cycle bench above does, both
	# runtimes alike: they then see a pure cgroup v1 host)
	if ! docker_bench d && [ -n "$CRUN" ]; then
		echo "(crun 1.8.1 accepts a hybrid host only when its cgroup2 mount has no controllers;" \
			"/sys/fs/cgroup/unified has: $(cat /sys/fs/cgroup/unified/cgroup.controllers \
			2>/dev/null)) so the crun pair runs on a second dockerd in a mount namespace" \
			"without /sys/fs/cgroup/unified, both runtimes alike"
		cat >"$work/ns.sh" <<'EOS'
umount /sys/fs/cgroup/unified 2>/dev/null || true
exec "$@"
EOS
		docker_bench d2 "unshare -m --propagation private sh $work/ns.sh" || true
	fi
fi
