#!/usr/bin/env bash
# Extracts the ONNX Runtime shared library (CPU build) from the PyPI wheel
# onnxruntime==1.31.1 into third_party/onnxruntime/ (git-ignored), where
# .cargo/config.toml's ORT_DYLIB_PATH points. For CUDA, see the README's GPU set-up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/onnxruntime"
lib=libonnxruntime.so.1.31.1
[[ -f "$dest/$lib" ]] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
  --platform manylinux_2_28_x86_64 -d "$tmp" onnxruntime==1.31.1
mkdir -p "$dest"
unzip -q -j -o "$tmp"/onnxruntime-1.31.1-*.whl "onnxruntime/capi/$lib" -d "$dest"
echo "onnxruntime: $dest/$lib" >&2
