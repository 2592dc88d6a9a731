#!/bin/sh
# Start-to-exit of `bulwark run --net bridge true` as root on a bridge that exists, under an
# iptables FORWARD policy DROP (Docker's where it switched forwarding on itself) with the
# bridge's FORWARD rules in place: what each container's start pays for its network (veth,
# nftables table, the FORWARD check). Against `bulwark run --net none true` (B, the same
# binary: the ratio is the bridge's share), or with VS=/path/to/another/bulwark against that
# build's bridge start (A B between two builds). Alternating A B with farm-bench.
# Everything runs in a network namespace of its own (its bridge, iptables and nftables stay
# out of the host's) and, per run, a mount namespace with an empty /run/bulwark.
# Needs root, iptables and farm-bench. N=runs (default 20).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BULWARK=${BULWARK:-$top/build/release/bulwark}
N=${N:-20}
VS=${VS:-}
[ "$(id -u)" = 0 ] || { echo "bench_bridge_start: needs root"; exit 0; }
command -v farm-bench >/dev/null 2>&1 || { echo "bench_bridge_start: needs farm-bench"; exit 0; }
[ -x /usr/sbin/iptables ] || { echo "bench_bridge_start: needs iptables"; exit 0; }
if [ "${BWK_BENCH_NETNS:-}" != 1 ]; then
	exec unshare -n env BWK_BENCH_NETNS=1 sh "$0" "$@"
fi
ip link set lo up
iptables -P FORWARD DROP
work=$(mktemp -d /tmp/bwk-bench-bridge.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
r="$work/rootfs"
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev"
cp /bin/busybox "$r/bin/busybox"
for a in sh true; do ln -s busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
mkdir -p /run/bulwark
# one run: its own /run/bulwark (the host's state is not this namespace's)
cat >"$work/one" <<'EOF'
#!/bin/sh
mount -t tmpfs -o mode=711 tmpfs /run/bulwark && exec "$1" run -q --net "$2" --rootfs "$3" true
EOF
chmod 755 "$work/one"
# the bridge and its FORWARD rules, made by a first start of each binary
for b in "$BULWARK" ${VS:+"$VS"}; do
	unshare -m "$work/one" "$b" bridge "$r" || { echo "bench_bridge_start: $b failed"; exit 1; }
done
iptables -S FORWARD | grep -q -- "-i bulwark0 -j ACCEPT" ||
	{ echo "bench_bridge_start: no FORWARD rule for bulwark0"; exit 1; }
if [ -n "$VS" ]; then
	echo "A: $BULWARK --net bridge; B: $VS --net bridge"
	farm-bench -n "$N" --timeout 600 --vs "unshare -m $work/one $VS bridge $r" -- \
		unshare -m "$work/one" "$BULWARK" bridge "$r"
else
	echo "A: --net bridge; B: --net none (same binary)"
	farm-bench -n "$N" --timeout 600 --vs "unshare -m $work/one $BULWARK none $r" -- \
		unshare -m "$work/one" "$BULWARK" bridge "$r"
fi
