#!/usr/bin/env bash
# Opens an icmbench report.html in headless Chromium (Debian's `chromium`), as the harness
# test `browser` does, and writes into OUTDIR:
#   result.json        what scripts/browser-check.js measured (errors, hover text, legend
#                      clicks, switches, the viewer's images decoded, the table's sorting)
#   console.log        Chromium's log of the page's console (uncaught errors appear here)
#   report-top.png, report-curves.png (a point hovered), report-viewer.png, report-crops.png
#                      (the viewer's full-resolution crops, 2x), report-table.png: screenshots, 1280 x 900
# Usage: scripts/browser-check.sh REPORT.html OUTDIR [codec] [quality] [metric]
#   codec/quality/metric: the point to hover (default webp 30 psnr-rgb, a point of the demo)
# The page is copied to OUTDIR/page.html with the check script loaded first; the report
# itself is not changed. The README's screenshot is OUTDIR/report-curves.png of the demo.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 REPORT.html OUTDIR [codec] [quality] [metric]" >&2
  exit 2
fi
report=$1
out=$2
codec=${3:-webp}
quality=${4:-30}
metric=${5:-psnr-rgb}
here=$(cd "$(dirname "$0")" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "browser-check: chromium is not installed (scripts/setup.sh --test installs Debian's chromium)" >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
cp "$here/browser-check.js" "$out/browser-check.js"
# The check script goes first in <head>, before the page's own script.
sed '0,/<head>/s##<head><script src="browser-check.js"></script>#' "$report" > "$out/page.html"
grep -q 'src="browser-check.js"' "$out/page.html" || { echo "browser-check: no <head> in $report" >&2; exit 4; }

# No network: the background-networking flags keep Chromium from trying to reach Google's
# hosts (refused on a closed machine); the page itself needs none.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
  --disable-background-networking --disable-component-update --disable-sync --disable-quic
  --allow-file-access-from-files --user-data-dir="$out/profile" --virtual-time-budget=15000)
url="file://$out/page.html#codec=$codec&q=$quality&metric=$metric"

timeout 180 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "$url" > "$out/dom.html" 2> "$out/console.log" || {
  echo "browser-check: chromium failed; see $out/console.log" >&2
  exit 5
}
sed -n 's#.*<pre id="icm-test-result">\(.*\)</pre>.*#\1#p' "$out/dom.html" | sed 's/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g' > "$out/result.json"
[[ -s "$out/result.json" ]] || { echo "browser-check: the check script wrote no result; see $out/console.log" >&2; exit 6; }

for shot in top curves viewer crops table; do
  timeout 120 "$browser" "${flags[@]}" --window-size=1280,900 --screenshot="$out/report-$shot.png" "$url&shot=$shot" > /dev/null 2>> "$out/screenshots.log" || {
    echo "browser-check: the $shot screenshot failed; see $out/screenshots.log" >&2
    exit 7
  }
done
rm -rf "$out/profile"
echo "browser-check: $out/result.json and 5 screenshots in $out" >&2
