#!/bin/sh
# bulwark audit benchmarks (targets from issue 5):
#   audit host and audit daemon latency, each < 200 ms;
#   audit FILE on a 10k-object Kubernetes manifest stream, < 1 s.
# Peers measured in the same run, alternating A B A B (RUNS rounds, default 10; the median of
# each, by bench/timing.sh): `docker info` against the same private dockerd
# (docker-bench-security, the natural peer, is not packaged in Debian), and for the manifest
# stream PyYAML's C loader merely parsing it (yaml.load_all with CSafeLoader).
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
RUNS=${RUNS:-10}
tmp=$(mktemp -d /tmp/bwk-bench-audit.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	umount -R "$tmp/root" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# a private dockerd, as the integration tests use (never the host's engine)
echo '{"live-restore": true, "log-opts": {"max-size": "10m"}}' >"$tmp/daemon.json"
dockerd --data-root "$tmp/root" --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" \
	-H "unix://$tmp/docker.sock" --config-file "$tmp/daemon.json" --bridge=none \
	--iptables=false --ip-masq=false >"$tmp/dockerd.log" 2>&1 &
pid=$!
i=0
until docker -H "unix://$tmp/docker.sock" version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "bench_audit: dockerd did not start" >&2; tail "$tmp/dockerd.log" >&2; exit 2; }
	sleep 0.2
done
host="unix://$tmp/docker.sock"

/usr/bin/python3 - "$tmp/k10k.yaml" <<'EOF'
import sys, yaml
docs = []
for i in range(10000):
    if i % 4 == 3:
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": f"svc-{i}", "namespace": "bench"},
                     "spec": {"selector": {"app": f"app-{i}"},
                              "ports": [{"port": 80, "targetPort": 8080}]}})
        continue
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": f"app-{i}", "namespace": "bench", "labels": {"app": f"app-{i}"}},
                 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"app-{i}"}},
                          "template": {"metadata": {"labels": {"app": f"app-{i}"}}, "spec": {
                              "containers": [{
                                  "name": "app", "image": f"registry.example.com/app-{i}:1.{i}",
                                  "ports": [{"containerPort": 8080}],
                                  "env": [{"name": "LOG_LEVEL", "value": "info"},
                                          {"name": "PORT", "value": "8080"}],
                                  "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                                  "securityContext": {"allowPrivilegeEscalation": False,
                                                      "capabilities": {"drop": ["ALL"]}}}]}}}})
open(sys.argv[1], "w").write(yaml.safe_dump_all(docs))
EOF
# shellcheck source=bench/timing.sh
. "$(dirname "$0")/timing.sh"
a_host() { "$BULWARK" audit host --fail-on none; }
a_daemon() { "$BULWARK" audit daemon --fail-on none --host "$host"; }
p_info() { docker -H "$host" info; }
a_k8s() { "$BULWARK" audit --fail-on none "$tmp/k10k.yaml"; }
p_parse() {
	/usr/bin/python3 -c "import sys,yaml; sum(1 for _ in yaml.load_all(open(sys.argv[1]), Loader=yaml.CSafeLoader))" \
		"$tmp/k10k.yaml"
}

# one warm-up of each (page cache, the engine's first answer), then A B A B: each round runs
# every bulwark command followed by its peer
for f in a_host p_info a_daemon a_k8s p_parse; do time_of "$f" >/dev/null; done
H=""
I=""
D=""
J=""
K=""
P=""
r=0
while [ $r -lt "$RUNS" ]; do
	H="$H $(time_of a_host)"
	I="$I $(time_of p_info)"
	D="$D $(time_of a_daemon)"
	J="$J $(time_of p_info)"
	K="$K $(time_of a_k8s)"
	P="$P $(time_of p_parse)"
	r=$((r + 1))
done

# shellcheck disable=SC2086
/usr/bin/python3 - "$(median $H)" "$(median $I)" "$(median $D)" "$(median $J)" "$(median $K)" \
	"$(median $P)" <<'EOF'
import sys
host, info1, daemon, info2, k8s, peer = [float(x) for x in sys.argv[1:]]
def line(name, t, target, peer_name, p):
    ok = "ok" if t < target else "OVER TARGET"
    print(f"{name:34s} {t * 1000:8.1f} ms  (target < {target * 1000:.0f} ms: {ok});"
          f" {peer_name} {p * 1000:.1f} ms, ratio {t / p:.2f}x")
line("audit host", host, 0.2, "docker info", info1)
line("audit daemon (live engine)", daemon, 0.2, "docker info", info2)
line("audit FILE, 10k-object k8s stream", k8s, 1.0, "PyYAML C parse only", peer)
EOF
