# icmbench: the two commands of the README, and a few helpers.
#   make demo   set up, build, and benchmark the classic codecs on the bundled photos
#   make test   set up (incl. test tools and fixtures) and run the whole test suite
CARGO ?= cargo

.PHONY: demo test setup setup-test lint bench

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test
	scripts/fetch-test-fixtures.sh

demo: setup
	$(CARGO) run --release --locked -p icmbench -- run examples/demo.toml

test: setup-test
	$(CARGO) test --release --locked --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) bench --locked -p icmbench-benches
