#!/usr/bin/env bash
# Times icmbench's Python peers (pyiqa, piq, basicsr, lpips, pycocotools, faster-coco-eval, bjontegaard,
# compressai) with benches/peers/peers.py, in a virtual environment holding the pinned
# versions, beside icmbench's own times: criterion's latest medians (run `cargo bench`
# first) and, when the release binary is built, whole processes run both ways.
#
#   bash benches/peers/run.sh [--quick] [--json] [--only TEXT] [--criterion DIR] [--icmbench BIN]
#
# --icmbench defaults to ${CARGO_TARGET_DIR:-target}/release/icmbench when that exists.
# The venv is $ICMBENCH_PEERS_VENV (default ~/.cache/icmbench-peers/venv); it is created if
# absent and the pins are installed once (a stamp file in the venv records them). pip's
# output goes to stderr, so that stdout holds only the table (or the JSON).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${ICMBENCH_PEERS_VENV:-$HOME/.cache/icmbench-peers/venv}"
# torch and torchvision from the default PyPI index (any build; the peers run on the CPU).
pins=(torch torchvision pyiqa==0.1.16 piq==0.8.0 lpips==0.1.4 pycocotools==2.0.11 faster-coco-eval==1.8.0 bjontegaard==1.3.0 compressai==1.2.8)
stamp="$venv/icmbench-peers-pins.txt"

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "${pins[*]}" ]]; then
    "$venv/bin/python" -m pip install "${pins[@]}" >&2
    printf '%s\n' "${pins[*]}" >"$stamp"
fi
# basicsr 1.4.2 does not install from PyPI on current torch and numpy; its metric files are
# loaded from the unpacked sdist (see scripts/make-basicsr-fixture.py), kept in the venv.
basicsr="$venv/basicsr-src/basicsr-1.4.2"
if [[ ! -d "$basicsr" ]]; then
    tmp=$(mktemp -d)
    "$venv/bin/python" -m pip download --quiet --no-deps --no-binary=:all: --no-build-isolation -d "$tmp" basicsr==1.4.2 >&2
    mkdir -p "$venv/basicsr-src"
    tar -xzf "$tmp/basicsr-1.4.2.tar.gz" -C "$venv/basicsr-src"
    rm -rf "$tmp"
fi
export ICMBENCH_PEERS_BASICSR="$basicsr"
bin="${CARGO_TARGET_DIR:-$here/../../target}/release/icmbench"
if [[ " $* " != *" --icmbench "* && -x "$bin" ]]; then
    set -- "$@" --icmbench "$(cd "$(dirname "$bin")" && pwd)/icmbench"
fi
exec "$venv/bin/python" "$here/peers.py" "$@"
