# bulwark — thin wrappers over CMake. `make demo` and `make test` are the README quick start;
# `make check-all` (what CI runs, .ci/run) is `make test` and the slower checks.
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE   ?= cmake

.PHONY: all release demo test check-all check-tsan check-fuzz check-conformance unit integration \
	fuzz fuzz-build bench lint format deps clean tsan analyze coverage tidy

all: release

deps:
	@scripts/deps.sh

release: deps
	@$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release -DBWK_TESTS=OFF >/dev/null
	@$(CMAKE) --build $(BUILD)/release -j$(JOBS)

# ASan+UBSan build used by every test.
asan: deps
	@$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DBWK_SANITIZE=ON >/dev/null
	@$(CMAKE) --build $(BUILD)/asan -j$(JOBS)

demo: release
	@scripts/demo.sh $(BUILD)/release/bulwark

# Unit and integration tests under ASan+UBSan (the integration tests on nproc+1 pytest-xdist
# workers: BWK_TEST_JOBS=0 runs them serially).
test: deps lint asan
	@scripts/test.sh $(BUILD)

# Everything: `make test` first, then side by side clang-tidy, gcc -fanalyzer, the TSan build
# and its tests, every fuzz target for FUZZ_SECONDS (5 here) and the OCI conformance suite.
check-all:
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory -j$(JOBS) --output-sync=target tidy analyze check-tsan check-fuzz \
		check-conformance
	@echo "== all checks passed"

check-tsan: tsan
	@scripts/test.sh $(BUILD) tsan

# FUZZ_SECONDS from the environment or the command line, else 5 (not the 60 of `make fuzz`).
check-fuzz: fuzz-build
	@scripts/test.sh $(BUILD) fuzz

check-conformance: asan
	@scripts/test.sh $(BUILD) conformance

unit: asan
	@cd $(BUILD)/asan && ctest --output-on-failure -j$(JOBS)

integration: asan
	@scripts/test.sh $(BUILD) integration

fuzz-build: deps
	@CC=clang $(CMAKE) -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=Debug -DBWK_FUZZ=ON -DBWK_TESTS=OFF >/dev/null
	@$(CMAKE) --build $(BUILD)/fuzz -j$(JOBS)

# Longer fuzzing: FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	@scripts/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

# ThreadSanitizer build: the unit tests and a threaded scan (make check-tsan runs both).
tsan: deps
	@$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DBWK_TSAN=ON >/dev/null
	@$(CMAKE) --build $(BUILD)/tsan -j$(JOBS)

# gcc -fanalyzer over the library and the CLI (make check-all): any report fails the build.
analyze: deps
	@$(CMAKE) -S . -B $(BUILD)/analyze -DCMAKE_BUILD_TYPE=Debug -DBWK_ANALYZER=ON -DBWK_TESTS=OFF >/dev/null
	@$(CMAKE) --build $(BUILD)/analyze -j$(JOBS) --target bulwark-cli

# clang-tidy (.clang-tidy: clang-analyzer-*, bugprone-*) over src/ with the ASan build's
# compile_commands.json (make check-all): any finding fails.
tidy: asan
	@scripts/tidy.sh $(BUILD)/asan

# Line and branch coverage per module: unit and integration tests on a --coverage build.
# GCOV_ERROR_FILE: bulwark processes inside a container cannot reach their .gcda paths, and
# libgcov's complaints would go to the container's stderr (64 KiB filled tests' unread pipes).
coverage: deps
	@$(CMAKE) -S . -B $(BUILD)/coverage -DCMAKE_BUILD_TYPE=Debug -DBWK_COVERAGE=ON >/dev/null
	@$(CMAKE) --build $(BUILD)/coverage -j$(JOBS)
	@find $(BUILD)/coverage -name '*.gcda' -delete
	@cd $(BUILD)/coverage && ctest -j$(JOBS) >/dev/null || true
	@GCOV_ERROR_FILE=/dev/null BULWARK=$(abspath $(BUILD)/coverage/bulwark) BWK_BUILD=$(abspath $(BUILD)/coverage) \
		/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration >/dev/null || true
	@scripts/coverage.py $(BUILD)/coverage --json $(BUILD)/coverage/coverage.json

bench: release
	@scripts/deps.sh --bench
	@bench/run.sh $(BUILD)/release/bulwark

lint:
	@scripts/lint.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
