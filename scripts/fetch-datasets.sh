#!/usr/bin/env bash
# Fetches the small real labelled detection example into third_party/datasets/ (git-ignored):
# sahi's terrain2 (an aerial photo, 1024x682, with 5 car boxes in COCO format; MIT) from
# the PyPI sdist sahi==0.12.8 (demo/demo_data/), checked against the index's SHA-256 and
# the files' own below.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/datasets/terrain2"
sums="74edb8eb53871163b0ca1854e1c39029a21371de965d7caa704e39f349e3916a  images/terrain2.png
4081bfdfd326652d795a830397e24b38bc968fd7377f86f2b7ffc244968b5747  terrain2_coco.json"

verify() { (cd "$dest" && sha256sum --quiet -c <(echo "$sums")); }
if [[ -d "$dest" ]] && verify 2>/dev/null; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest/images"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$root/tools/models/fetch_sdist.py" sahi 0.12.8 "$tmp"
tar -xzf "$tmp/sahi-0.12.8.tar.gz" -C "$tmp" sahi-0.12.8/demo/demo_data/terrain2.png sahi-0.12.8/demo/demo_data/terrain2_coco.json sahi-0.12.8/LICENSE
cp "$tmp/sahi-0.12.8/demo/demo_data/terrain2.png" "$dest/images/"
cp "$tmp/sahi-0.12.8/demo/demo_data/terrain2_coco.json" "$tmp/sahi-0.12.8/LICENSE" "$dest/"
verify
echo "datasets: terrain2 ready in $dest" >&2
