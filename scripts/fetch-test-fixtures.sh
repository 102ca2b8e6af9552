#!/usr/bin/env bash
# Puts the reference fixtures the parity tests read into third_party/ (git-ignored).
#
# iqa-calib: pyiqa's five calibration pairs (TID2013 crops of Kodak images, 512x384 BMP)
# from the PyPI wheel pyiqa==0.1.16, folder ResultsCalibra/. Copied from ../shared when it
# is there (checked against the same SHA-256 list), otherwise downloaded from PyPI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/iqa-calib"
sums="$root/tests/fixtures/iqa-calib.sha256"

verify() { (cd "$dest" && sha256sum --quiet -c "$sums"); }

if [[ -d "$dest" ]] && verify 2>/dev/null; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
shared="$root/../shared/fixtures/iqa-calib"
if [[ -d "$shared/ref_dir" ]]; then
  cp -r "$shared/ref_dir" "$shared/dist_dir" "$dest/"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" pyiqa==0.1.16
  unzip -q -o "$tmp"/pyiqa-0.1.16-*.whl 'ResultsCalibra/ref_dir/*' 'ResultsCalibra/dist_dir/*' -d "$tmp/x"
  cp -r "$tmp/x/ResultsCalibra/ref_dir" "$tmp/x/ResultsCalibra/dist_dir" "$dest/"
fi
verify
echo "fixtures: iqa-calib ready in $dest" >&2
