# synparam — the two commands a fresh machine needs are `make serve` and `make test`.
# Every target installs what it is missing (rustup target, wasm-bindgen-cli of exactly the
# crate's version, Debian chromium + chromedriver, npm packages) and is safe to run twice.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION = $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3}' Cargo.lock)
WASM_TARGET := wasm32-unknown-unknown
# The page's wasm is built in a target directory of its own, so that `make test` builds it and the
# native tests side by side (one cargo waits for another's lock on a shared directory).
WASM_TARGET_DIR := target/page-wasm
WASM_RAW := $(WASM_TARGET_DIR)/$(WASM_TARGET)/release/synparam.wasm
PORT ?= 8080
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export CHROMEDRIVER := /usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER := wasm-bindgen-test-runner

.PHONY: bench-delay bench-scan bench-fit bench-python python python-release test-python setup-java screenshots bench-e2e bench-page-37m bench-page-main-thread pack test-types site conformance fixtures help setup setup-rust setup-browser setup-node pkg web serve test test-rust test-wasm test-node bench fuzz size size-page clean

# What a build reads: a target is rebuilt only when one of these changed (a second `make serve`
# with nothing changed serves at once).
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')
WEB_SOURCES := package-lock.json $(shell find www -name '*.js' -o -name '*.mjs' -o -name '*.json' -o -name '*.css' -o -name '*.html' -o -name '*.svg' | grep -v '^www/examples/react/')
SITE_SOURCES := www/index.html www/embed.html www/page.css www/embed.css www/embed.js www/favicon.svg $(shell find www/examples -type f -not -path '*/react/*')

help:
	@echo "make serve   - set up, build and serve the page on http://127.0.0.1:$(PORT)/"
	@echo "make test    - set up, build and run every test (native, browser wasm, Node)"
	@echo "make bench   - throughput and peak memory, native and wasm (Node on pkg/)"
	@echo "make fuzz    - the config parser and Arrow readers fuzzed for minutes (FUZZ_SECONDS per target)"
	@echo "make bench-e2e      - end to end on a generated 10 M-synapse network: command, page, numpy, floor"
	@echo "make bench-page-37m - the same on 37 M synapses (a 2.2 GB edges file; one run each)"
	@echo "make bench-python   - the Python package on 10 M synapses: Dask (1, 2 workers), Spark (local[1], local[2])"
	@echo "make bench-fit      - fitting a model from 10 M synapses with 9 properties, against reading them (FIT_SYNAPSES)"
	@echo "make bench-delay    - the command on 10 M synapses with a delay of distance (lin_delay) against without"
	@echo "make bench-scan     - a 3-point scan of one property on 10 M synapses against one run and its writes"
	@echo "make size-page      - the bytes the page fetches up to ready and to the first run's results"
	@echo "make screenshots    - the README's screenshots, on a BBP-like circuit with 37 mtypes"

setup: setup-rust setup-node

setup-rust:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)"; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

setup-browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

setup-node:
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund; \
	fi

# Python venv for the fixture generator (h5py) and the conformance check.
.venv/ok2:
	python3 -m venv .venv
	.venv/bin/pip install -q h5py numpy scipy pandas libsonata
	.venv/bin/pip install -q --no-deps connectome-manipulator
	touch .venv/ok2

# The Python package's build and test dependencies (maturin, pyarrow, Dask, Spark, pytest).
.venv/ok-python: .venv/ok2
	.venv/bin/pip install -q "maturin>=1.5,<2" pyarrow "dask[distributed]" pyspark pytest xxhash
	touch $@

# A headless JRE for Spark's local mode (Debian's default).
setup-java:
	@command -v java >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jre-headless >/dev/null; }

# The Python package: one abi3 wheel (CPython >= 3.10) built by maturin from python/ (a sibling
# crate of the core, PyO3), in target/wheels/, installed into .venv as a user would install it.
# `make python` builds the release wheel (LTO); the tests build it with the ci profile (no LTO,
# unwinding; the dependencies the Rust tests already built are reused), each only when a source
# changed.
PYTHON_SOURCES := python/Cargo.toml python/pyproject.toml $(shell find python/src python/synparam -name '*.rs' -o -name '*.py')
python: target/wheels/.installed-python

target/wheels/.installed-%: $(RUST_SOURCES) $(PYTHON_SOURCES) .venv/ok-python
	rm -f target/wheels/synparam-*.whl target/wheels/.installed-*
	cd python && PYO3_PYTHON=$(CURDIR)/.venv/bin/python $(CURDIR)/.venv/bin/maturin build --quiet --profile $* -o $(CURDIR)/target/wheels
	.venv/bin/pip install -q --force-reinstall --no-deps target/wheels/synparam-*-abi3-*.whl
	touch $@

# The Python package against the command: same bits in Python, on Dask and on Spark.
test-python: target/wheels/.installed-ci setup-java pkg fixtures
	PYO3_PYTHON=$(CURDIR)/.venv/bin/python cargo clippy -p synparam-python -- -D warnings
	.venv/bin/python -m pytest -q tests/python

fixtures: tests/fixtures/out/.built

tests/fixtures/out/.built: tests/fixtures/make_fixtures.py $(wildcard tests/fixtures/recipes/*) | .venv/ok2
	.venv/bin/python tests/fixtures/make_fixtures.py tests/fixtures/out
	touch $@

# Release build → JS bindings (--target web: works in pages, workers and Node) → wasm-opt (npm binaryen).
pkg: setup pkg/synparam_bg.wasm

pkg/synparam_bg.wasm: $(RUST_SOURCES) | setup
	CARGO_TARGET_DIR=$(WASM_TARGET_DIR) cargo build --release --target $(WASM_TARGET) --lib
	wasm-bindgen --target web --out-dir pkg $(WASM_RAW)
	# Single-caller functions are inlined only up to 2000 instructions: unlimited (binaryen's
	# default) merges the engine's four id-width draw loops into one function, which Node 20's V8
	# compiles to code 40 % slower (Chromium 156 is unaffected; `make bench` shows both).
	node_modules/.bin/wasm-opt -O3 --one-caller-inline-max-function-size 2000 \
	  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-simd \
	  pkg/synparam_bg.wasm -o pkg/synparam_bg.wasm
	@$(MAKE) --no-print-directory size

size:
	@raw=$$(stat -c %s pkg/synparam_bg.wasm); gz=$$(gzip -9 -c pkg/synparam_bg.wasm | wc -c); \
	  echo "pkg/synparam_bg.wasm: $$raw bytes raw, $$gz bytes gzipped"

# The browser bundles in dist/: the page, the worker, and the package's module (<synparam-panel>
# + the headless API), split into shared chunks (dist/chunk-<hash>.js), with h5wasm's wasm as a
# file beside them (dist/hdf5_util-<hash>.wasm, compiled while it streams in); esbuild with the
# options and plugin of www/tools/build.mjs. dist/ and pkg/ sit side by side, so assets resolve
# relative to the modules.
web: pkg dist/synparam.js

dist/synparam.js: pkg/synparam_bg.wasm $(WEB_SOURCES) | setup-node
	node www/tools/build.mjs
	touch $@

# A static site (any static host, e.g. GitHub Pages): the page and the embedding demo, the bundles,
# the example circuit, and pkg/ beside them; each asset of 1 KiB or more with precompressed .br and
# .gz copies beside it (www/tools/compress.mjs) for servers that send those (serve.mjs --root site).
site: web site/index.html

# (site/index.html is copied after everything it depends on: its time says when the site was made.)
site/index.html: dist/synparam.js pkg/synparam_bg.wasm $(SITE_SOURCES)
	rm -rf site && mkdir -p site
	cp -r www/index.html www/embed.html www/page.css www/embed.css www/embed.js www/favicon.svg dist www/examples site/
	mkdir -p site/pkg && cp pkg/synparam.js pkg/synparam_bg.wasm site/pkg/
	node www/tools/compress.mjs site
	@echo "static site in site/ ($$(du -sh --exclude='*.br' --exclude='*.gz' site | cut -f1) without the compressed copies)"

# What the page fetches, from the static site (with its precompressed copies) in headless Chromium:
# every response up to "ready" and up to the first run's results, raw, as sent, gzip -9 and brotli.
size-page: site setup-browser
	node benches/page_bytes.mjs --root site

# The npm package as a tarball a host installs (npm install ./synparam-<version>.tgz).
pack: web
	npm pack --silent

serve: web
	node www/tools/serve.mjs --port $(PORT)

# The page's wasm build (LTO, mostly one core), the native tests' build and the Python packages'
# download (network, not cores) run side by side; the tests that measure time or drive a browser
# then run one after another.
test: setup setup-browser
	$(MAKE) --no-print-directory -j3 --output-sync=target site test-rust .venv/ok-python setup-java fixtures
	$(MAKE) --no-print-directory -j1 test-wasm test-types test-node conformance test-python

test-rust:
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo test --profile ci

test-wasm: setup-browser
	cargo test --target $(WASM_TARGET) --test wasm_golden

# The package's TypeScript declarations, compiled against host-style code (browser and Node).
test-types: setup-node
	node_modules/.bin/tsc -p tests/types
	node_modules/.bin/tsc -p tests/types/node.tsconfig.json

# One test file at a time: two at a time took 2m40–3m05 instead of 4 min, but the page's state
# across a reload (demo_page: undo and redo …) failed once in four runs under that load.
test-node: site fixtures target/wheels/.installed-ci
	node --test --test-timeout=900000 tests/node/

# synparam against connectome-manipulator's ConnPropsModel (obi-one's original algorithm).
conformance: pkg fixtures
	.venv/bin/python tests/conformance/conformance.py

# The fuzz harness of make test (a few seconds per target), run long; failing inputs land in
# tests/fuzz/failures/ (add them to tests/fuzz/corpus/ once fixed).
FUZZ_SECONDS ?= 300
fuzz:
	SYNPARAM_FUZZ_SECONDS=$(FUZZ_SECONDS) SYNPARAM_FUZZ_SEED=$${SYNPARAM_FUZZ_SEED:-$$(date +%s)} cargo test --release --test fuzz -- --nocapture

bench: pkg setup-browser
	cargo bench --bench throughput
	node benches/wasm_throughput.mjs
	cargo test --release --target $(WASM_TARGET) --test wasm_engine_bench -- --nocapture 2>&1 | grep "wasm engine"

# End to end (issue 13): the command (1 and 2 draw workers), the page in headless Chromium (folder
# input → results → zip), a vectorized numpy baseline and the floor (cp + the engine's draws), on
# networks generated once into benches/out/ (gitignored); the table goes to benches/out/e2e-*.json.
bench-e2e: site fixtures setup-browser
	node benches/e2e.mjs --synapses 10000000 --runs 3

# A 3-point scan of one property against one run and the edges files it must write (issue 27),
# on the bench-delay network; the table goes to benches/out/scan-cost-*.json.
bench-scan: pkg .venv/ok2
	node benches/scan_cost.mjs --synapses 10000000 --runs 3

bench-page-37m: site fixtures setup-browser
	node benches/e2e.mjs --synapses 37000000 --runs 1

# The page's main thread on a BBP-like circuit (37 mtypes, VPM and POm): Apply of a preset, a run
# (to the table, to every chart), a 100 KB paste; benches/out/page-main-thread.json.
bench-page-main-thread: site fixtures setup-browser .venv/ok-python
	node benches/page_main_thread.mjs --runs 3

# Fitting a model (issue 25) from the bench-e2e network parameterized with the Tsodyks–Markram
# preset: the command's --fit and synparam.fit against reading the nine columns once; the table
# goes to benches/out/fit-*.json. FIT_SYNAPSES=1000000 for a quick run.
FIT_SYNAPSES ?= 10000000
bench-fit: pkg .venv/ok2
	node benches/fit.mjs --synapses $(FIT_SYNAPSES) --runs 3

# What a delay of distance costs end to end: the command (2 workers) on the 10 M-synapse network of
# bench-e2e with float32 somata and afferent centres (make_network.py --geometry, generated once into
# benches/out/net10m-geometry), the Tsodyks–Markram preset as is, with delay = lin_delay, with delay
# a truncnorm per synapse and without delay, interleaved (DELAY_RUNS rounds); the table goes to
# benches/out/delay-cost-*.json.
DELAY_RUNS ?= 5
bench-delay: pkg .venv/ok2
	node benches/delay_cost.mjs --synapses 10000000 --runs $(DELAY_RUNS)

# The 10 M-synapse network of bench-e2e, generated once.
benches/out/net10m/circuit_config.json: | .venv/ok2
	.venv/bin/python benches/make_network.py benches/out/net10m --synapses 10000000

# The Python package on the 10 M-synapse network: Dask with 1 and 2 worker processes, Spark in
# local[1] and local[2], against the command (synapses/s per core; outputs checked equal).
bench-python: python setup-java pkg benches/out/net10m/circuit_config.json
	.venv/bin/python benches/dask_bench.py
	.venv/bin/python benches/spark_bench.py

# The README's screenshots (docs/screenshots/) on a BBP-like circuit with 37 mtypes.
screenshots: site fixtures setup-browser
	.venv/bin/python tests/fixtures/make_cortex.py tests/fixtures/out/cortex
	node tests/screenshots.mjs

clean:
	rm -rf pkg target node_modules
