#!/bin/sh
# The test suites against the builds in BUILD, one part per call (the Makefile's targets):
#   scripts/test.sh BUILD              make test: unit tests (cmocka/CTest) and integration tests
#                                      (pytest, in parallel) against the ASan+UBSan build
#   scripts/test.sh BUILD integration  the integration tests alone (make integration)
#   scripts/test.sh BUILD tsan         the unit tests and a 4-thread scan under ThreadSanitizer
#   scripts/test.sh BUILD conformance  the OCI runtime-tools suite (only with BWK_RUNTIME_TOOLS)
#   scripts/test.sh BUILD fuzz         every fuzz target for FUZZ_SECONDS (5) on its seeds
# BWK_TEST_JOBS sets the pytest-xdist workers (default: nproc + 1; 0 runs the suite serially).
# Tests that share something machine-wide stay on one worker: tests/integration/conftest.py.
set -eu
BUILD=${1:-build}
part=${2:-test}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

integration() {
	jobs=${BWK_TEST_JOBS:-$(($(nproc) + 1))}
	echo "== integration tests ($jobs workers)"
	export BULWARK="$top/$BUILD/asan/bulwark" BWK_BUILD="$top/$BUILD/asan"
	/usr/bin/python3 -m pytest -q -p no:cacheprovider -n "$jobs" --dist loadgroup \
		-m "not serial" tests/integration
	echo "== integration tests that need the machine to themselves"
	rc=0
	/usr/bin/python3 -m pytest -q -p no:cacheprovider -m serial tests/integration || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 5 ] # 5: none collected
}

case $part in
test)
	echo "== unit tests"
	(cd "$BUILD/asan" && ctest --output-on-failure -j"$(nproc)")
	integration
	;;
integration)
	integration
	;;
tsan)
	echo "== ThreadSanitizer: unit tests and a 4-thread scan"
	(cd "$BUILD/tsan" && TSAN_OPTIONS="halt_on_error=1 exitcode=66" ctest --output-on-failure -j"$(nproc)")
	tests/tsan_scan.py "$BUILD/tsan/bulwark"
	;;
conformance)
	echo "== OCI runtime-tools validation suite (only with BWK_RUNTIME_TOOLS: docs/oci-runtime.md)"
	RUNTIME="$top/$BUILD/asan/bulwark" tests/conformance/run.sh
	;;
fuzz)
	echo "== fuzz targets (${FUZZ_SECONDS:-5}s each)"
	FUZZ_SEED=${FUZZ_SEED:-1} scripts/fuzz.sh "$BUILD/fuzz" "${FUZZ_SECONDS:-5}"
	;;
*)
	echo "usage: scripts/test.sh BUILD [test|integration|tsan|conformance|fuzz]" >&2
	exit 2
	;;
esac
echo "== $part passed"
