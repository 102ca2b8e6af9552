"""Reference values of BasicSR's PSNR and SSIM (crop_border, test_y_channel) for the
psnr-y-crop4 / ssim-y-crop4 family of metrics: tests/fixtures/basicsr_reference.json, and
the SR-style pair it also scores, tests/fixtures/basicsr/{hr,sr}.png.

Recipe (the values in the JSON were made exactly so):

    python3 -m venv /tmp/bsr-venv
    /tmp/bsr-venv/bin/pip install numpy==1.26.4 opencv-python-headless==4.11.0.86 torch
    /tmp/bsr-venv/bin/pip download basicsr==1.4.2 --no-deps --no-build-isolation -d /tmp/bsr
    tar xzf /tmp/bsr/basicsr-1.4.2.tar.gz -C /tmp/bsr
    /tmp/bsr-venv/bin/python scripts/make-basicsr-fixture.py /tmp/bsr/basicsr-1.4.2

basicsr's own files are imported from the unpacked sdist (basicsr/metrics/psnr_ssim.py,
metric_util.py, basicsr/utils/color_util.py, registry.py) without running the package's
__init__, which imports its training code (and torchvision APIs that no longer exist);
torch is imported by psnr_ssim.py but the two functions used here are numpy and OpenCV
only. Images are read as BasicSR's scripts read them: cv2.imread, BGR uint8, HWC.

Pairs: pyiqa's five calibration pairs (third_party/iqa-calib, scripts/fetch-test-fixtures.sh)
and an SR-style pair made here: a 128x128 crop of datasets/samples/coffee.png (CC0) as the
high-resolution image, and its x4 bicubic down- and up-sampling by OpenCV (INTER_AREA to
32x32, INTER_CUBIC back to 128x128) as the super-resolved one.
"""
import hashlib
import importlib
import json
import sys
import types
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/basicsr_reference.json"
SR_DIR = ROOT / "tests/fixtures/basicsr"
CALIB = ["I03", "I04", "I06", "I08", "I19"]
# (metric name in icmbench, function, crop_border, test_y_channel)
CASES = [
    ("psnr-y-crop4", "calculate_psnr", 4, True),
    ("ssim-y-crop4", "calculate_ssim", 4, True),
    ("psnr-rgb-crop4", "calculate_psnr", 4, False),
    ("ssim-rgb-crop4", "calculate_ssim", 4, False),
    ("psnr-y-crop0", "calculate_psnr", 0, True),
    ("ssim-y-crop0", "calculate_ssim", 0, True),
]


def load_basicsr(sdist):
    """basicsr.metrics.psnr_ssim from the unpacked sdist, its package __init__ files
    skipped (empty stand-in packages whose __path__ is the sdist's folder)."""
    pkg = Path(sdist).resolve() / "basicsr"
    for name, path in (("basicsr", pkg), ("basicsr.metrics", pkg / "metrics"), ("basicsr.utils", pkg / "utils")):
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]
        sys.modules[name] = mod
    # metric_util imports bgr2ycbcr from basicsr.utils, which the real __init__ re-exports.
    sys.modules["basicsr.utils"].bgr2ycbcr = importlib.import_module("basicsr.utils.color_util").bgr2ycbcr
    return importlib.import_module("basicsr.metrics.psnr_ssim")


def sr_pair():
    """(hr, sr) as BGR uint8 arrays, written to tests/fixtures/basicsr/ as PNG."""
    img = cv2.imread(str(ROOT / "datasets/samples/coffee.png"), cv2.IMREAD_COLOR)
    hr = np.ascontiguousarray(img[136:264, 236:364])
    lr = cv2.resize(hr, (32, 32), interpolation=cv2.INTER_AREA)
    sr = cv2.resize(lr, (128, 128), interpolation=cv2.INTER_CUBIC)
    SR_DIR.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(SR_DIR / "hr.png"), hr)
    cv2.imwrite(str(SR_DIR / "sr.png"), sr)
    # Read back: the test reads the PNG files, so the reference is computed on them too.
    return cv2.imread(str(SR_DIR / "hr.png")), cv2.imread(str(SR_DIR / "sr.png"))


def main():
    m = load_basicsr(sys.argv[1])
    pairs = {
        name: (
            f"third_party/iqa-calib/ref_dir/{name}.bmp",
            f"third_party/iqa-calib/dist_dir/{name}.bmp",
        )
        for name in CALIB
    }
    images = {k: (cv2.imread(str(ROOT / r)), cv2.imread(str(ROOT / d))) for k, (r, d) in pairs.items()}
    images["sr-x4"] = sr_pair()
    pairs["sr-x4"] = ("tests/fixtures/basicsr/hr.png", "tests/fixtures/basicsr/sr.png")
    values = {}
    for metric, fn, crop, y in CASES:
        values[metric] = {
            k: float(getattr(m, fn)(ref, dist, crop_border=crop, input_order="HWC", test_y_channel=y))
            for k, (ref, dist) in images.items()
        }
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": "BasicSR 1.4.2 (PyPI sdist basicsr-1.4.2.tar.gz) calculate_psnr / calculate_ssim on cv2.imread "
        "BGR uint8 images, input_order HWC, with the crop_border and test_y_channel of each metric; made by "
        "scripts/make-basicsr-fixture.py (recipe in its docstring). The pairs are [reference, distorted].",
        "versions": {"basicsr": "1.4.2", "numpy": np.__version__, "opencv": cv2.__version__},
        "pairs": {k: {"files": list(v), "sha256": [sha(f) for f in v]} for k, v in pairs.items()},
        "cases": {metric: {"function": fn, "crop_border": crop, "test_y_channel": y} for metric, fn, crop, y in CASES},
        "values": values,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(values, indent=1))


if __name__ == "__main__":
    main()
