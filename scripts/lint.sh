#!/bin/sh
# Style checks run by `make test`: the library's stderr, clang-format and shellcheck (both installed
# by scripts/deps.sh as build dependencies, so CI never skips them).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests -name '*.[ch]')
# Banned functions are compile errors (src/lib/core/banned.h, included by the build).
# The library hands its messages to the caller's output handler (include/bulwark/log.h); only
# the sandbox child and the OCI init (the container's stderr, as runc's) and the out-of-memory
# path write to fd 2 themselves.
tostderr='(printf|fputs|fputc|vfprintf|fwrite|putc)\s*\(\s*stderr\b|\bstderr\s*\)|dprintf\s*\(\s*(2|STDERR_FILENO)\b|\bwrite\s*\(\s*(2|STDERR_FILENO)\s*,|\bperror\s*\('
if echo "$files" | grep '^src/lib/' |
	grep -vxE 'src/lib/sandbox/(oci_create|mounts)\.c|src/lib/core/util\.c' |
	xargs grep -nE "$tostderr" 2>/dev/null; then
	echo "lint: the library writes to stderr above (use bwk_log, include/bulwark/log.h)" >&2
	status=1
fi
if command -v clang-format >/dev/null 2>&1; then
	if ! echo "$files" | xargs clang-format --dry-run -Werror 2>/dev/null; then
		echo "lint: files not clang-formatted (run 'make format')" >&2
		status=1
	fi
fi
if command -v shellcheck >/dev/null 2>&1; then
	if ! shellcheck scripts/*.sh bench/*.sh tests/conformance/*.sh .ci/run; then
		echo "lint: shellcheck found the problems above" >&2
		status=1
	fi
fi
exit $status
