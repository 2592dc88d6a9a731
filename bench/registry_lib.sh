# shellcheck shell=sh
# The loopback docker-registry (distribution 2.8) of the registry benchmarks, sourced by
# bench_registry.sh and bench_registry_run.sh (not a benchmark itself: bench/run.sh runs
# bench_*.sh only).
#
# registry_up PREFIX: a new work directory ($work, named PREFIX.XXXXXX under $TMPDIR or
# /var/tmp), removed on exit with the registry; the registry started by this shell on a free
# loopback port ($port, pid $regpid) with its storage in $work/data, and waited for (20 s at
# most). Needs /usr/bin/docker-registry and /usr/bin/python3.

regpid=""
work=""

registry_cleanup() {
	if [ -n "$regpid" ]; then
		kill "$regpid" 2>/dev/null || true
		wait "$regpid" 2>/dev/null || true
		regpid=""
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
	fi
}

registry_up() {
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/$1.XXXXXX")
	trap registry_cleanup EXIT
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$work/data"
	cat >"$work/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/data}, delete: {enabled: true}}
http: {addr: "127.0.0.1:$port", secret: bench}
EOF
	/usr/bin/docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
	regpid=$!
	/usr/bin/python3 - "$port" <<'PY' || { echo "$1: docker-registry did not start" >&2; return 1; }
import socket, sys, time
port = int(sys.argv[1])
deadline = time.time() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
PY
}
