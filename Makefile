# The front door. `make run` and `make test` install what is missing
# (Debian packages, via scripts/bootstrap), build, and run.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all bootstrap build build-asan run test test-fast bench clean

all: build

bootstrap:
	@./scripts/bootstrap

$(BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

$(ASAN_BUILD)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMS_SANITIZE=address,undefined $(CMAKE_ARGS)

build: bootstrap $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: bootstrap $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The main job.
run: build
	./$(BUILD)/mastersim run sims/hello.lua

# Every test: C tests, busted under lua5.4 and under mastersim, lint, then
# the C tests and busted again under AddressSanitizer + UBSan.
test: build build-asan
	ctest --test-dir $(BUILD) --output-on-failure
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure

# The plain build's tests only (quicker while developing).
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure

bench: bootstrap $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) >/dev/null
	./scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
