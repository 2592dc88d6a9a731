#!/bin/sh
# The whole test suite (make test): unit tests (cmocka/CTest) and integration tests (pytest)
# against the ASan+UBSan build, the unit tests and a threaded scan under ThreadSanitizer, then
# every fuzz target briefly on its seeds.
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== unit tests"
(cd "$BUILD/asan" && ctest --output-on-failure -j"$(nproc)")

echo "== ThreadSanitizer: unit tests and a 4-thread scan"
(cd "$BUILD/tsan" && TSAN_OPTIONS="halt_on_error=1 exitcode=66" ctest --output-on-failure -j"$(nproc)")
tests/tsan_scan.py "$BUILD/tsan/bulwark"

echo "== integration tests"
BULWARK="$top/$BUILD/asan/bulwark" BWK_BUILD="$top/$BUILD/asan" \
	/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

echo "== OCI runtime-tools validation suite (only with BWK_RUNTIME_TOOLS: docs/oci-runtime.md)"
RUNTIME="$top/$BUILD/asan/bulwark" tests/conformance/run.sh

echo "== fuzz targets (${FUZZ_SECONDS:-5}s each)"
FUZZ_SEED=${FUZZ_SEED:-1} scripts/fuzz.sh "$BUILD/fuzz" "${FUZZ_SECONDS:-5}"
echo "== all tests passed"
