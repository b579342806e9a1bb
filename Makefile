# Makefile: the two commands a newcomer needs, `make demo` and `make test`,
# plus the steps they are made of.  CMake does the real work; this file only
# names the build folders and the order of steps.
#
#   make demo    setup + Release build + run the built-in example
#   make test    setup + build + ctest, then the ASan/UBSan build + ctest
#   make build   configure + build (Release) in build/
#   make asan    configure + build (Debug, -DTESSERA_SANITIZE=ON) in build-asan/
#   make fuzz    build the libFuzzer targets with clang in build-fuzz/
#                (run one: scripts/fuzz.sh fuzz_script 60)
#   make format  clang-format -i over src/ include/ tests/ examples/
#   make clean   remove every build folder

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD     ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TESSERA   := $(BUILD)/tessera
EXAMPLE   := examples/seed_mlp.tvmscript
DEMO_OUT  := $(BUILD)/demo

.PHONY: all setup configure build demo demo-print demo-interp test test-asan \
        asan fuzz format clean bench

all: build

setup:
	@scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# The demo is a list of steps; add a target below and list it here to extend
# it.  The seed MLP's weights are examples/seed_mlp/{w0,w1}.npy (fixed-seed
# He-initialised random weights: no trained weights can be downloaded here)
# and its input image examples/seed_mlp/x.npy.
DEMO_STEPS := demo-print demo-build demo-run demo-deploy
DEMO_INPUTS := --input x=examples/seed_mlp/x.npy \
  --input w0=examples/seed_mlp/w0.npy --input w1=examples/seed_mlp/w1.npy

demo: build
	@mkdir -p $(DEMO_OUT)
	@$(MAKE) --no-print-directory -j1 $(DEMO_STEPS)
	@echo "demo: outputs in $(DEMO_OUT)/"

demo-print:
	@echo "== tessera print $(EXAMPLE)"
	$(TESSERA) print $(EXAMPLE)

demo-build:
	@echo "== tessera build $(EXAMPLE) -o $(DEMO_OUT)/seed_mlp.so"
	$(TESSERA) build $(EXAMPLE) -o $(DEMO_OUT)/seed_mlp.so --emit-c $(DEMO_OUT)/c

demo-run:
	@echo "== tessera run (compiled; --check compares with the reference interpreter)"
	$(TESSERA) run $(EXAMPLE) $(DEMO_INPUTS) --check --repeat 200 \
	  --output-dir $(DEMO_OUT)

demo-deploy:
	@echo "== deploy_example: the artifact run by a program linking only libtessera_runtime"
	cd $(DEMO_OUT) && ../examples/deploy/deploy_example seed_mlp.so \
	  ../../examples/seed_mlp/x.npy ../../examples/seed_mlp/w0.npy \
	  ../../examples/seed_mlp/w1.npy

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2
	@$(MAKE) --no-print-directory test-asan

asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)

test-asan: asan
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j2

fuzz: setup
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTESSERA_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Benchmarks against peers, never part of `make test`: appends to
# bench/RESULTS.md.
bench: build
	/usr/bin/python3 bench/run_bench.py $(TESSERA)
	/usr/bin/python3 bench/sgemm_bench.py $(TESSERA)
	/usr/bin/python3 bench/models_bench.py $(TESSERA)
	/usr/bin/python3 bench/conv_bench.py $(TESSERA) --record

format:
	find src include tests examples \( -name '*.c' -o -name '*.h' \) \
	  -print0 2>/dev/null | xargs -0 -r clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
