#!/bin/sh
# Image reading and unpacking vs their peers, on a >= 300 MiB gzip-layered OCI image built
# locally from /usr (4 layers). Prints ratios (peer time / bulwark time: > 1 means bulwark is
# faster), measured A B A B in the same run.
#   read:   bulwark inspect (decompress + sha256 of blob and diff_id + tar walk), 1 core and 2
#           cores, vs `gzip -dc LAYER > /dev/null` over the same layers on 1 core
#   memory: peak RSS of bulwark inspect (/usr/bin/time -v)
#   unpack: bulwark unpack vs `tar -xzf` of each layer in turn vs `umoci unpack`
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/bwk-bench-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "building the benchmark image in $work"
# the layers also stay as $work/layers/N.tar.gz: the peers (gzip -dc, tar -xzf) read them
/usr/bin/python3 "$(dirname "$0")/image_lib.py" oci-layout "$work/oci" bench "$work/layers" \
	usr/include usr/lib/gcc usr/lib/python3.11 usr/lib/python3

# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"

gz_all() { for l in "$work"/layers/*.tar.gz; do gzip -dc "$l" >/dev/null; done; }
bw_read1() { taskset -c 0 "$BULWARK" inspect -j 1 "$work/oci"; }
bw_read2() { taskset -c 0,1 "$BULWARK" inspect -j 2 "$work/oci"; }
gz_1core() { taskset -c 0 sh -c "for l in $work/layers/*.tar.gz; do gzip -dc \$l >/dev/null; done"; }

A=""
B=""
C=""
r=0
while [ $r -lt "$RUNS" ]; do
	A="$A $(time_of gz_1core)"
	B="$B $(time_of bw_read1)"
	C="$C $(time_of bw_read2)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
ga=$(best $A)
# shellcheck disable=SC2086
b1=$(best $B)
# shellcheck disable=SC2086
b2=$(best $C)
echo "read, 1 core:  gzip -dc ${ga}s  bulwark inspect -j1 ${b1}s  ratio $(ratio "$ga" "$b1")x (target >= 0.8)"
echo "read, 2 cores: bulwark inspect -j2 ${b2}s  ratio vs gzip 1 core $(ratio "$ga" "$b2")x, vs bulwark 1 core $(ratio "$b1" "$b2")x"
rss=$(/usr/bin/time -v "$BULWARK" inspect "$work/oci" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {print $2}')
echo "peak RSS, bulwark inspect: $((rss / 1024)) MiB (target <= 64 MiB)"

tar_unpack() {
	rm -rf "$work/t"
	mkdir "$work/t"
	for l in "$work"/layers/*.tar.gz; do tar -C "$work/t" -xzf "$l"; done
}
bw_unpack() {
	rm -rf "$work/b"
	"$BULWARK" unpack -q "$work/oci" "$work/b"
}
umoci_unpack() {
	rm -rf "$work/u"
	if [ "$(id -u)" = 0 ]; then
		umoci unpack --image "$work/oci:bench" "$work/u"
	else
		umoci unpack --rootless --image "$work/oci:bench" "$work/u"
	fi
}
T=""
U=""
M=""
r=0
have_umoci=0
command -v umoci >/dev/null 2>&1 && have_umoci=1
while [ $r -lt "$RUNS" ]; do
	T="$T $(time_of tar_unpack)"
	U="$U $(time_of bw_unpack)"
	[ $have_umoci = 1 ] && M="$M $(time_of umoci_unpack)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
tt=$(best $T)
# shellcheck disable=SC2086
bu=$(best $U)
echo "unpack: tar -xzf ${tt}s  bulwark unpack ${bu}s  ratio $(ratio "$tt" "$bu")x (target >= 1)"
if [ $have_umoci = 1 ]; then
	# shellcheck disable=SC2086
	um=$(best $M)
	echo "unpack: umoci unpack ${um}s  bulwark unpack ${bu}s  ratio $(ratio "$um" "$bu")x (target >= 1)"
else
	echo "unpack: umoci not installed (scripts/deps.sh --bench), skipped"
fi
