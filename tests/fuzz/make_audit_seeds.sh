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
