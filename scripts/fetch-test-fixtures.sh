#!/usr/bin/env bash
# Puts the reference images the parity tests read into third_party/ (git-ignored), checked
# against a SHA-256 list in tests/fixtures/.
#
# iqa-calib: pyiqa's five calibration pairs (TID2013 crops of Kodak images, 512x384 BMP)
# from the PyPI wheel pyiqa==0.1.16, folder ResultsCalibra/ (5.9 MB, so fetched, not
# committed).
# cocoapi's test data are small and BSD-licensed: they are committed in tests/fixtures/coco
# with their licence, and nothing here fetches them.
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
  local tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" pyiqa==0.1.16
  unzip -q -o "$tmp"/pyiqa-0.1.16-*.whl 'ResultsCalibra/ref_dir/*' 'ResultsCalibra/dist_dir/*' -d "$tmp/x"
  cp -r "$tmp/x/ResultsCalibra/ref_dir" "$tmp/x/ResultsCalibra/dist_dir" "$dest/"
  rm -rf "$tmp"
  verify "$dest" "$sums"
  echo "fixtures: iqa-calib ready in $dest" >&2
}

iqa_calib
(cd "$root/tests/fixtures/coco" && sha256sum --quiet -c SHA256SUMS)
