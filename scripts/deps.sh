#!/bin/sh
# Install exactly the Debian packages bulwark's build, demo and tests need. Idempotent: only
# what is missing is installed, so a second run costs one dpkg-query.
#   scripts/deps.sh            build + demo + tests
#   scripts/deps.sh --bench    also the peers the benchmarks measure against
#   scripts/deps.sh --programs print the PROGRAMS table (tests/integration/test_deps.py reads it)
set -eu

# Each -dev package depends on its runtime library (libarchive13, libhyperscan5, libpcre2-8-0,
# libyaml-0-2, libzstd1, libyara9, libgnutls30, libnftables1, libisal2, libsystemd0), which bulwark dlopens on first use
# (src/lib/core/lazy.h; libisal2 is optional at run time: gzip falls back to zlib without it).
BUILD="cmake make pkg-config gcc clang libclang-rt-14-dev clang-format clang-tidy shellcheck
  libarchive-dev libjansson-dev libyaml-dev libhyperscan-dev libseccomp-dev libcap-dev
  libzstd-dev zlib1g-dev libcurl4-openssl-dev nettle-dev libpcre2-dev libsqlite3-dev libyara-dev libgnutls28-dev
  libnftables-dev libisal-dev libsystemd-dev"
TEST="postgresql-15 postgresql-client-common apt libcmocka-dev python3 python3-minimal python3-pytest python3-pytest-xdist python3-yaml python3-pip python3-jsonschema nodejs busybox-static zstd gzip tar zip time
  docker.io uidmap iproute2 iptables nftables slirp4netns passt openssl passwd util-linux bsdutils procps
  coreutils findutils podman containerd runc rpm db5.3-util golang-go docker-registry apache2-utils python3-cryptography
  debootstrap strace tmux
  python3-grpcio python3-protobuf protobuf-compiler containernetworking-plugins
  openjdk-17-jre-headless openjdk-17-jdk-headless redis-server"
BENCH="crun runc bubblewrap umoci ripgrep bc time yara"

# Every outside program that bulwark itself, the demo or the tests start, and the Debian
# package that ships it. tests/integration/test_deps.py finds the programs the tests call and
# fails when one is missing here or its package is not installed by this script; README.md
# ("Run-time packages") lists the ones bulwark itself needs, per feature.
PROGRAMS="
apt-get apt
bash bash
busybox busybox-static
cat coreutils
chmod coreutils
containerd containerd
cp coreutils
ctr containerd
db5.3_load db5.3-util
dd coreutils
debootstrap debootstrap
docker docker.io
docker-registry docker-registry
dockerd docker.io
dpkg dpkg
dpkg-deb dpkg
dpkg-query dpkg
find findutils
go golang-go
gzip gzip
head coreutils
htpasswd apache2-utils
java openjdk-17-jre-headless
javac openjdk-17-jdk-headless
ip iproute2
iptables iptables
nft nftables
pasta passt
ldd libc-bin
ls coreutils
mkdir coreutils
mkfifo coreutils
mknod coreutils
npm nodejs|npm
nsenter util-linux
mount mount
newgidmap uidmap
newuidmap uidmap
openssl openssl
printf coreutils
protoc protobuf-compiler
podman podman
ps procps
psql postgresql-client-common
python3 python3-minimal
rm coreutils
rpm rpm
rpmbuild rpm
runc runc
script bsdutils
sh dash
setpriv util-linux
slirp4netns slirp4netns
sleep coreutils
stat coreutils
strace strace
tar tar
test coreutils
time time
tmux tmux
touch coreutils
truncate coreutils
umount mount
unshare util-linux
useradd passwd
zip zip
zstd zstd
"

want="$BUILD $TEST"
case "${1:-}" in
--bench) want="$want $BENCH" ;;
--programs)
	printf '%s\n' "$PROGRAMS" | sed '/^$/d'
	exit 0
	;;
--packages)
	# shellcheck disable=SC2046,SC2086 # word splitting wanted: one package per word
	echo $want $(printf '%s\n' "$PROGRAMS" | awk 'index($2, "|") { gsub(/\|/, " ", $2); print $2 }')
	exit 0
	;;
esac

# A program that more than one package can ship ("npm nodejs|npm": NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package) is satisfied by any of them; when none is
# installed, the last one is.
alts=$(printf '%s\n' "$PROGRAMS" | awk 'index($2, "|") { print $1 " " $2 }')
while read -r prog pkgs; do
	[ -n "$prog" ] || continue
	command -v "$prog" >/dev/null 2>&1 && continue
	want="$want ${pkgs##*|}"
done <<EOF_ALTS
$alts
EOF_ALTS

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "bulwark: missing Debian packages:$missing" >&2
	echo "bulwark: run 'sudo scripts/deps.sh' (or install them with apt-get)" >&2
	exit 2
fi
echo "scripts/deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
