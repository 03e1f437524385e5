# The two commands a newcomer needs: `make demo` and `make test`. Everything else is here
# too: `make bench`, `make fuzz`, `make format`. SAN=1 builds with ASan + UBSan.
SHELL := /bin/bash
BUILD ?= build
ifeq ($(SAN),1)
BUILD := build-san
CMAKE_FLAGS += -DAW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else
CMAKE_FLAGS += -DCMAKE_BUILD_TYPE=RelWithDebInfo
endif
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30

.PHONY: all deps build test bench demo fuzz format format-check clean

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/install-npm.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-bench -j $(JOBS)
	bash bench/run.sh build-bench

demo: build
	bash scripts/demo.sh $(BUILD)

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DAW_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-bench build-fuzz
