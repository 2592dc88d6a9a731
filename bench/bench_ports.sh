#!/bin/sh
# Published ports under connection churn (#18 section 4): ApacheBench (ab, no keep-alive: one
# TCP connection per request) through a port published on 127.0.0.1 by bulwark (veth on its
# bridge, nftables DNAT: no process on the data path) and by docker (its bridge and, for
# 127.0.0.1, docker-proxy: docker's defaults), the same busybox httpd serving the same file
# from the same root filesystem. Alternating A B with farm-bench at 1, 8 and 50 concurrent
# connections (REQ requests each) and 20,000 sequential connections; the ratio is bulwark's
# time / docker's (below 1: bulwark faster). Then one ab run per side with per-request
# timestamps (ab -g) checks that no second passed without a completed request.
# Everything runs in a private network namespace (unshare -n): docker's iptables rules, both
# bridges and the sysctls they set stay out of the host's. Needs root and dockerd.
# N=runs per pair (default 5); REQ=requests per concurrency level (default 5000); CONNS=the
# concurrency levels (default "1 8 50"); SEQ=sequential connections (default 20000, 0: skip).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BULWARK=${BULWARK:-$top/build/release/bulwark}
N=${N:-5}
REQ=${REQ:-5000}
SEQ=${SEQ:-20000}
CONNS=${CONNS:-1 8 50}
[ "$(id -u)" = 0 ] || { echo "bench_ports: needs root"; exit 0; }
command -v dockerd >/dev/null 2>&1 || { echo "bench_ports: needs dockerd"; exit 0; }
if [ "${BWK_BENCH_NETNS:-}" != 1 ]; then
	exec unshare -n env BWK_BENCH_NETNS=1 sh "$0" "$@"
fi
ip link set lo up
work=$(mktemp -d /tmp/bwk-bench-ports.XXXXXX)
chmod 755 "$work"
dpid=
bpid=
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	if [ -n "$dpid" ]; then
		docker -H "unix://$work/d/sock" rm -f bwk-bench-ports >/dev/null 2>&1 || true
		kill "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null || true
		umount -R "$work/d/root" 2>/dev/null || true
		umount -R "$work/d/exec" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# the root filesystem: busybox, its httpd, a 612-byte page (nginx's default page's size)
r="$work/rootfs"
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/www"
cp /bin/busybox "$r/bin/busybox"
for a in sh httpd true; do ln -s busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
head -c 612 /dev/zero | tr '\0' x >"$r/www/index.html"

# docker: a private daemon with its bridge (the default 127.0.0.1 publishing: docker-proxy)
d="$work/d"
mkdir -p "$d"
echo '{}' >"$d/daemon.json"
dockerd --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/sock" \
	--config-file "$d/daemon.json" --bip 10.214.0.1/24 >"$d/log" 2>&1 &
dpid=$!
i=0
while ! docker -H "unix://$d/sock" version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || { tail -5 "$d/log"; exit 1; }
	sleep 0.2
done
tar -C "$r" -c . | docker -H "unix://$d/sock" import - bwk-bench-ports:1 >/dev/null
PA=18801
PB=18802
docker -H "unix://$d/sock" run -d --name bwk-bench-ports -p "127.0.0.1:$PB:80" \
	bwk-bench-ports:1 /bin/httpd -f -p 80 -h /www >/dev/null
"$BULWARK" run -q -p "127.0.0.1:$PA:80" --rootfs "$r" -- /bin/httpd -f -p 80 -h /www &
bpid=$!
for p in $PA $PB; do
	i=0
	while ! ab -q -n 1 "http://127.0.0.1:$p/index.html" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "port $p never answered"; exit 1; }
		sleep 0.1
	done
done

url() { echo "http://127.0.0.1:$1/index.html"; }
for c in $CONNS; do
	echo "ab -n $REQ -c $c, $N runs each, alternating (bulwark -p / docker -p):"
	farm-bench -n "$N" --timeout 1200 --vs "ab -q -r -n $REQ -c $c $(url $PB)" -- \
		ab -q -r -n "$REQ" -c "$c" "$(url $PA)"
done
if [ "$SEQ" -gt 0 ]; then
	echo "ab -n $SEQ -c 1 (sequential connections), $N runs each, alternating (bulwark / docker):"
	farm-bench -n "$N" --timeout 3000 --vs "ab -q -r -n $SEQ -c 1 $(url $PB)" -- \
		ab -q -r -n "$SEQ" -c 1 "$(url $PA)"
fi

# stalls: every second from the first request's to the last's has a completed one; failed
# requests are counted
[ "$SEQ" -gt 0 ] || exit 0
for side in bulwark:$PA docker:$PB; do
	name=${side%:*}
	port=${side#*:}
	for c in 1 50; do
		ab -q -r -n "$SEQ" -c "$c" -g "$work/g.tsv" "$(url "$port")" >"$work/ab.txt" 2>&1
		failed=$(awk '/^Failed requests:/ {print $3}' "$work/ab.txt")
		rps=$(awk '/^Requests per second:/ {print $4}' "$work/ab.txt")
		# ab -g: one line per request, column 2 its start (epoch seconds) and 5 its total ms
		zero=$(awk -F'\t' 'NR > 1 { s = int(($2 * 1000 + $5) / 1000); n[s]++;
			if (!lo || s < lo) lo = s; if (s > hi) hi = s }
			END { z = 0; for (t = lo; t <= hi; t++) if (!n[t]) z++; print z }' "$work/g.tsv")
		echo "$name -c $c: $SEQ requests, $rps req/s, failed $failed, seconds with none completed: $zero"
	done
done
