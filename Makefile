# Cloister — the commands a newcomer uses. See README.md.
#   make          deps + build            make run    build + start the server
#   make test     every test              make fuzz   bounded libFuzzer runs
#   make bench    benchmarks              make deps   install what the build needs
.PHONY: all deps build run test unit e2e asan fuzz bench clean format

NINJA ?= ninja -j2
BUILD := build
FUZZ_SECONDS ?= 60

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) >/dev/null

build: deps $(BUILD)/build.ninja
	@$(NINJA) -C $(BUILD)

run: build
	./$(BUILD)/cloister serve

test: build
	@bash scripts/test.sh

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

e2e: build
	/usr/bin/python3 -m pytest -q tests/e2e

asan: deps
	@[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@$(NINJA) -C build-asan
	meson test -C build-asan --suite unit --print-errorlogs

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dc_args=-fsanitize=fuzzer-no-link -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@$(NINJA) -C build-fuzz
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	@bash scripts/deps.sh bench
	@bash bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
