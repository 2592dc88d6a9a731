#!/bin/sh
# Install exactly the Debian packages bulwark's build, demo and tests need. Idempotent: only
# what is missing is installed, so a second run costs one dpkg-query.
set -eu

# Each -dev package depends on its runtime library (libarchive13, libhyperscan5, libpcre2-8-0,
# libyaml-0-2, libzstd1), which bulwark dlopens on first use (src/lib/core/lazy.h).
BUILD="cmake make pkg-config gcc clang libclang-rt-14-dev
  libarchive-dev libjansson-dev libyaml-dev libhyperscan-dev libseccomp-dev libcap-dev
  libzstd-dev zlib1g-dev libcurl4-openssl-dev nettle-dev libpcre2-dev"
TEST="libcmocka-dev python3 python3-pytest python3-yaml busybox-static zstd gzip tar
  docker.io uidmap iproute2 iptables"
BENCH="hyperfine crun runc bubblewrap umoci ripgrep bc time"

want="$BUILD $TEST"
case "${1:-}" in
--bench) want="$want $BENCH" ;;
esac

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
