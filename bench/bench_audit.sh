#!/bin/sh
# The A B A B rounds assign h1, i1 … p2 and read the commands through eval.
# shellcheck disable=SC2034,SC2154
# bulwark audit benchmarks (targets from issue 5):
#   audit host and audit daemon latency, each < 200 ms;
#   audit FILE on a 10k-object Kubernetes manifest stream, < 1 s.
# Peers measured in the same run, alternating A B A B: `docker info` against the same private
# dockerd (docker-bench-security, the natural peer, is not packaged in Debian), and for the
# manifest stream PyYAML's C loader merely parsing it (yaml.load_all with CSafeLoader).
set -eu
BULWARK=${BULWARK:-build/release/bulwark}
command -v hyperfine >/dev/null || { echo "bench_audit: hyperfine missing (scripts/deps.sh --bench)" >&2; exit 2; }
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
parse_peer="/usr/bin/python3 -c \"import sys,yaml; sum(1 for _ in yaml.load_all(open(sys.argv[1]), Loader=yaml.CSafeLoader))\" $tmp/k10k.yaml"

run() { # name command... -> mean seconds on stdout
	out="$tmp/h.json"
	hyperfine --style none --warmup 2 --runs "${RUNS:-20}" --export-json "$out" "$@" >/dev/null 2>&1
	/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['mean'])" "$out"
}

A_host="$BULWARK audit host --fail-on none"
A_daemon="$BULWARK audit daemon --fail-on none --host $host"
P_info="docker -H $host info"
A_k8s="$BULWARK audit --fail-on none $tmp/k10k.yaml"

# A B A B: two rounds, each bulwark command followed by its peer
for round in 1 2; do
	eval "h$round=\$(run \"\$A_host\")"
	eval "i$round=\$(run \"\$P_info\")"
	eval "d$round=\$(run \"\$A_daemon\")"
	eval "j$round=\$(run \"\$P_info\")"
	eval "k$round=\$(RUNS=5 run \"\$A_k8s\")"
	eval "p$round=\$(RUNS=5 run \"\$parse_peer\")"
done

/usr/bin/python3 - "$h1" "$h2" "$i1" "$i2" "$d1" "$d2" "$j1" "$j2" "$k1" "$k2" "$p1" "$p2" <<'EOF'
import sys
v = [float(x) for x in sys.argv[1:]]
host, info1, daemon, info2, k8s, peer = [(v[i] + v[i + 1]) / 2 for i in range(0, 12, 2)]
def line(name, t, target, peer_name, p):
    ok = "ok" if t < target else "OVER TARGET"
    print(f"{name:34s} {t * 1000:8.1f} ms  (target < {target * 1000:.0f} ms: {ok});"
          f" {peer_name} {p * 1000:.1f} ms, ratio {t / p:.2f}x")
line("audit host", host, 0.2, "docker info", info1)
line("audit daemon (live engine)", daemon, 0.2, "docker info", info2)
line("audit FILE, 10k-object k8s stream", k8s, 1.0, "PyYAML C parse only", peer)
EOF
