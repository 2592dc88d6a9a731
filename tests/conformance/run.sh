#!/bin/sh
# Runs the OCI runtime-tools validation suite against bulwark and prints one row per test:
# assertions passed and failed (TAP "ok" / "not ok" lines), then the totals.
#
# The suite is not part of this project and this script never builds it: build it by hand from
# its public source (see docs/oci-runtime.md, "Conformance") and name its top directory in
# BWK_RUNTIME_TOOLS. Without it the script says it skipped and exits 0.
#
#   BWK_RUNTIME_TOOLS=/work/rt-tools tests/conformance/run.sh [TEST...]
#
# RUNTIME names the runtime under test (default: $BULWARK, else build/release/bulwark, else
# build/asan/bulwark), so the same table can be made for crun or runc. Needs root.
# BWK_CONFORMANCE_TIMEOUT bounds each test (seconds, default 120); BWK_CONFORMANCE_LOG names a
# directory that receives each test's TAP output.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${BWK_RUNTIME_TOOLS:-}" ]; then
	echo "skipped: BWK_RUNTIME_TOOLS not set"
	exit 0
fi
suite=$BWK_RUNTIME_TOOLS
if [ ! -d "$suite/validation" ] || [ ! -x "$suite/runtimetest" ]; then
	echo "run.sh: $suite has no built validation suite (need runtimetest and validation/*/*.t)" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the validation suite must run as root" >&2
	exit 2
fi
runtime=${RUNTIME:-${BULWARK:-}}
if [ -z "$runtime" ]; then
	for cand in "$top/build/release/bulwark" "$top/build/asan/bulwark"; do
		if [ -x "$cand" ]; then
			runtime=$cand
			break
		fi
	done
fi
if [ -z "$runtime" ] || ! command -v "$runtime" >/dev/null 2>&1; then
	echo "run.sh: no runtime to test (set RUNTIME or build bulwark)" >&2
	exit 2
fi
timeout_s=${BWK_CONFORMANCE_TIMEOUT:-120}
logdir=${BWK_CONFORMANCE_LOG:-}
[ -n "$logdir" ] && mkdir -p "$logdir"

if [ $# -gt 0 ]; then
	tests=$*
else
	tests=$(cd "$suite/validation" && for t in */*.t; do dirname "$t"; done)
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
total_pass=0
total_fail=0
ntests=0
printf '%-40s %6s %6s  %s\n' test passed failed note
cd "$suite"
for name in $tests; do
	exe="validation/$name/$name.t"
	if [ ! -x "$exe" ]; then
		printf '%-40s %6s %6s  %s\n' "$name" - - "not built"
		continue
	fi
	note=
	rc=0
	RUNTIME=$runtime timeout -k 5 "$timeout_s" "$exe" >"$out" 2>&1 </dev/null || rc=$?
	[ -n "$logdir" ] && cp "$out" "$logdir/$name.tap"
	pass=$(grep -c '^ok ' "$out" || true)
	fail=$(grep -c '^not ok ' "$out" || true)
	# a test whose setup failed (create refused, a controller missing) prints no assertion and
	# exits non-zero; a few tests of the suite print none by design (their plan is 1..0)
	if [ "$rc" = 124 ]; then
		note="timed out"
	elif [ "$pass" = 0 ] && [ "$fail" = 0 ]; then
		if [ "$rc" = 0 ]; then note="no assertions"; else note="no assertions, exit $rc"; fi
		# such a test reports a failed check only as a YAML diagnostic ("error": "…")
		diag=$(sed -n 's/^ *"error": "\(..*\)",\{0,1\}$/\1/p' "$out" | head -n 1 |
			sed 's/\\n.*//' | cut -c 1-70)
		[ -n "$diag" ] && note="$note; reports: $diag"
	fi
	printf '%-40s %6s %6s  %s\n' "$name" "$pass" "$fail" "$note"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	ntests=$((ntests + 1))
done
printf '%-40s %6s %6s  %s\n' "total ($ntests tests)" "$total_pass" "$total_fail" "$runtime"
