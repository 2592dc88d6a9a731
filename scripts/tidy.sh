#!/bin/sh
# clang-tidy over every library and CLI source (make tidy, part of make check-all), with the checks of
# .clang-tidy and the flags of a build's compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS).
# Any finding fails. gcc-only warning flags in the database are not errors for clang.
set -eu
build=${1:-build/asan}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -f "$build/compile_commands.json" ]; then
	echo "tidy: no $build/compile_commands.json (configure that build first: make asan)" >&2
	exit 2
fi
tidy=$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)
if [ -z "$tidy" ]; then
	echo "tidy: run-clang-tidy not found (scripts/deps.sh installs clang-tidy)" >&2
	exit 2
fi
"$tidy" -p "$build" -j "$(nproc)" -quiet -extra-arg=-Wno-unknown-warning-option "^$top/src/"
