# The front door. `make run` and `make test` install what is missing
# (Debian packages, via scripts/bootstrap), build, and run.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all bootstrap bootstrap-test bootstrap-bench build build-asan build-tsan run test test-fast bench clean

all: build

bootstrap:
	@./scripts/bootstrap

# The tests also need headless Chromium (the report spec renders report.html).
bootstrap-test:
	@./scripts/bootstrap --test

$(BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

$(ASAN_BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMS_SANITIZE=address,undefined $(CMAKE_ARGS)

$(TSAN_BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMS_SANITIZE=thread $(CMAKE_ARGS)

build: bootstrap $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: bootstrap $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Only the threaded tests (target tsan_tests): see cmake/tests.cmake.
build-tsan: bootstrap $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target tsan_tests

# The main job: the reference policies compared on follower_catchup (5 seeds,
# 2 worker processes): a table on the terminal, report.html/.json/.csv here.
REF_POLICIES ?= unsafe,unguarded,block,fail_fast,stale_read,bounded_lag,redirect_leader,block_then_stale
run: build
	./$(BUILD)/mastersim compare sims/follower_catchup.lua --policies $(REF_POLICIES) --baseline block \
	  --seeds 1-5 --jobs 2 --html report.html --json report.json --csv report.csv

# Every test: C tests, busted under lua5.4 and under mastersim, lint, then
# the C tests and busted again under AddressSanitizer + UBSan, then the
# threaded tests (gate, stress harness) under ThreadSanitizer.
test: bootstrap-test build build-asan build-tsan
	ctest --test-dir $(BUILD) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure
	ctest --test-dir $(TSAN_BUILD) -L tsan --output-on-failure

# The plain build's tests only (quicker while developing).
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure

# The benchmarks also need SimPy (bench/mm1.lua runs the M/M/1 peer in it).
bootstrap-bench:
	@./scripts/bootstrap --bench

bench: bootstrap bootstrap-bench $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) >/dev/null
	./scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build.luarocks
