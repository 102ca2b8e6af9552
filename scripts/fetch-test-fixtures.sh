#!/usr/bin/env bash
# Puts the reference fixtures the parity tests read into third_party/ (git-ignored), each
# checked against a SHA-256 list in tests/fixtures/.
#
# iqa-calib: pyiqa's five calibration pairs (TID2013 crops of Kodak images, 512x384 BMP)
# from the PyPI wheel pyiqa==0.1.16, folder ResultsCalibra/. Copied from ../shared when it
# is there, otherwise downloaded from PyPI.
# coco: cocoapi's test data (instances_val2014_100.json with fake bbox/segm results, and a
# 3-image gt/dt pair). In no package registry: copied from ../shared/fixtures/coco.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

verify() { (cd "$1" && sha256sum --quiet -c "$2"); }

iqa_calib() {
  local dest="$root/third_party/iqa-calib" sums="$root/tests/fixtures/iqa-calib.sha256"
  if [[ -d "$dest" ]] && verify "$dest" "$sums" 2>/dev/null; then
    return 0
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  local shared="$root/../shared/fixtures/iqa-calib"
  if [[ -d "$shared/ref_dir" ]]; then
    cp -r "$shared/ref_dir" "$shared/dist_dir" "$dest/"
  else
    local tmp
    tmp=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" pyiqa==0.1.16
    unzip -q -o "$tmp"/pyiqa-0.1.16-*.whl 'ResultsCalibra/ref_dir/*' 'ResultsCalibra/dist_dir/*' -d "$tmp/x"
    cp -r "$tmp/x/ResultsCalibra/ref_dir" "$tmp/x/ResultsCalibra/dist_dir" "$dest/"
    rm -rf "$tmp"
  fi
  verify "$dest" "$sums"
  echo "fixtures: iqa-calib ready in $dest" >&2
}

coco() {
  local dest="$root/third_party/coco" sums="$root/tests/fixtures/coco.sha256"
  if [[ -d "$dest" ]] && verify "$dest" "$sums" 2>/dev/null; then
    return 0
  fi
  local shared="$root/../shared/fixtures/coco"
  if [[ ! -d "$shared" ]]; then
    echo "fetch-test-fixtures: cocoapi's test data are in no package registry; put ../shared/fixtures/coco beside the project" >&2
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$shared"/*.json "$dest/"
  chmod u+w "$dest"/*.json
  verify "$dest" "$sums"
  echo "fixtures: coco ready in $dest" >&2
}

iqa_calib
coco
