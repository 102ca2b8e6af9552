#!/usr/bin/env bash
# The GPU path, CPU against CUDA: LPIPS, the demo learned codec and NanoDet on the six
# bundled photos, run once per device through `icmbench run --stages --json`; prints each
# stage's ms per call on both devices and checks that the values agree.
#
# Needs a built icmbench (`make setup` or `cargo build --release`), the models (`make
# models`) and the GPU build of ONNX Runtime (README, "GPU set-up": ORT_DYLIB_PATH and
# LD_LIBRARY_PATH). Takes about two minutes on a GPU node; nothing is downloaded.
#
#   bash benches/gpu.sh [cuda:N]        # default cuda:0
#
# Parity checked (per point, means over the six photos): LPIPS within 1e-3 (cuDNN's
# convolutions are not bit-identical to the CPU's), bpp within 1 % and PSNR within 0.05 dB
# (the learned codec's latents are rounded, so a rare flip is allowed), NanoDet's mAP vs
# uncompressed within 0.02. Exit 1 when a check fails.
#
# Not run on the development machine: no GPU is lent to it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
device=${1:-cuda:0}
bin=${ICMBENCH:-$root/target/release/icmbench}
[ -x "$bin" ] || bin=${CARGO_TARGET_DIR:-$root/target}/release/icmbench
[ -x "$bin" ] || { echo "no icmbench binary: run make setup (or cargo build --release) first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/gpu.toml" <<EOF
output = "$work/out"
metrics = ["psnr-rgb", "lpips-alex"]

[[tasks]]
name = "nanodet"
kind = "detection"
model = "nanodet"
ground_truth = "pseudo"
pseudo_threshold = 0.3

[[datasets]]
name = "samples"
path = "$root/datasets/samples"
max_side = 768
fit = "downscale"

[[codecs]]
kind = "learned"
id = "demo-learned"
path = "$root/models/demo-codec"
qualities = [1, 4]
EOF

# Two output folders (1: CPU, 2: the device), so that `bash benches/gpu.sh cpu`, a smoke
# test of the script on a machine without a GPU, computes every row twice too.
n=0
for d in cpu "$device"; do
    n=$((n + 1))
    sed "s#$work/out#$work/out-$n#" "$work/gpu.toml" > "$work/$n.toml"
    echo "running on $d ..." >&2
    "$bin" run "$work/$n.toml" --device "$d" --jobs 1 --json --quiet > "$work/$n.json"
done

python3 - "$work/1.json" "$work/2.json" "$device" <<'EOF'
import json, sys
cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
device = sys.argv[3]
stages = lambda r: {s["stage"]: 1e3 * s["seconds"] / max(s["calls"], 1) for s in r["time"]["stages"]}
sc, sg = stages(cpu), stages(gpu)
print(f"{'stage':<36} {'cpu ms/call':>12} {device + ' ms/call':>16} {'speed-up':>9}")
for name in sorted(sc, key=lambda n: -sc[n]):
    if name in sg and sc[name] >= 1.0:
        print(f"{name:<36} {sc[name]:>12.1f} {sg[name]:>16.1f} {sc[name] / max(sg[name], 1e-9):>8.1f}x")
print(f"wall: cpu {cpu['time']['wall_seconds']:.1f} s, {device} {gpu['time']['wall_seconds']:.1f} s")
tolerance = {"lpips-alex": 1e-3, "psnr-rgb": 0.05, "map_vs_uncompressed@nanodet": 0.02}
failed = []
canonical = device.lower().replace("gpu", "cuda")
if canonical == "cuda":
    canonical = "cuda:0"  # as icmbench prints it
for r, want in ((cpu, "cpu"), (gpu, canonical)):
    if r["time"].get("device") != want:
        failed.append(f"the run reports its models on {r['time'].get('device')}, not {want}")
points = lambda r: {(p["codec"], p["quality"]): p for p in r["summary"]}
pc, pg = points(cpu), points(gpu)
for key in sorted(pc):
    a, b = pc[key], pg.get(key)
    if b is None or a["failed"] or b["failed"]:
        failed.append(f"{key}: missing or failed rows")
        continue
    if abs(a["bpp_mean"] - b["bpp_mean"]) > 0.01 * a["bpp_mean"]:
        failed.append(f"{key}: bpp {a['bpp_mean']} vs {b['bpp_mean']}")
    for m, tol in tolerance.items():
        x, y = a["metrics"].get(m), b["metrics"].get(m)
        if x is None or y is None or abs(x - y) > tol:
            failed.append(f"{key} {m}: {x} vs {y} (tolerance {tol})")
print("parity: ok" if not failed else "parity FAILED:\n  " + "\n  ".join(failed))
sys.exit(1 if failed else 0)
EOF
