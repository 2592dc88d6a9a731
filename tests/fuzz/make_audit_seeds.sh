#!/bin/sh
# Regenerate the seed corpora of the audit fuzz targets from the test fixtures (small files).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
fx="$top/tests/fixtures/audit"
c="$top/tests/fuzz/corpus"
mkdir -p "$c/fuzz_audit_compose" "$c/fuzz_audit_k8s" "$c/fuzz_audit_inspect" \
	"$c/fuzz_audit_oci" "$c/fuzz_yaml_tree"
cp "$fx"/compose/*.yaml "$c/fuzz_audit_compose/"
cp "$fx"/k8s/*.yaml "$c/fuzz_audit_k8s/"
cp "$fx"/inspect/*.json "$c/fuzz_audit_inspect/"
cp "$fx"/oci/*.json "$c/fuzz_audit_oci/"
for f in "$fx"/compose/*.yaml; do cp "$f" "$c/fuzz_yaml_tree/compose-$(basename "$f")"; done
for f in "$fx"/k8s/*.yaml; do cp "$f" "$c/fuzz_yaml_tree/k8s-$(basename "$f")"; done
printf 'a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n' >"$c/fuzz_yaml_tree/aliases.yaml"
printf 'base: &b {x: 1}\ns:\n  <<: [*b, {y: 2}]\n  x: 3\n' >"$c/fuzz_yaml_tree/merge.yaml"
printf -- '--- 1\n--- [a, {b: c}]\n--- !!str 5\n...\n' >"$c/fuzz_yaml_tree/stream.yaml"
mkdir -p "$c/fuzz_audit_daemon"
printf '[Service]\nExecStart=/usr/bin/dockerd -H fd:// \\\n  -H tcp://0.0.0.0:2375 --icc=false --insecure-registry "10.0.0.1:5000"\n' >"$c/fuzz_audit_daemon/unit"
printf '[Service]\nExecStart=\nExecStart=-/usr/bin/dockerd --experimental --log-opt max-size=10m -D\n' >"$c/fuzz_audit_daemon/reset"
printf '{"icc": false, "hosts": ["tcp://127.0.0.1:2376"], "tls": true, "default-ulimits": {"nofile": {"Hard": 1}}, "log-opts": {"max-size": "1m"}}' >"$c/fuzz_audit_daemon/config.json"
mkdir -p "$c/fuzz_audit_host"
printf '25 1 0:23 / / rw - ext4 /dev/vda1 rw\n30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n31 25 0:27 / /sys/fs/cgroup/memory rw shared:5 - cgroup cgroup rw,memory,pids\n' >"$c/fuzz_audit_host/mountinfo"
printf 'Linux version 5.10.0-28-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 5.10.209-2 (2024-01-31)\n' >"$c/fuzz_audit_host/debian"
printf 'Ubuntu 5.4.0-42.46-generic 5.4.44\n' >"$c/fuzz_audit_host/ubuntu"
printf '6.8.0-rc3\n' >"$c/fuzz_audit_host/rc"
