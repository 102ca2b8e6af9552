"""Reference values of FSIMc (`fsim`) from pyiqa 0.1.16's `fsim` (archs/fsim_arch.py, piq's
port of the authors' FeatureSIM.m): tests/fixtures/fsim_reference.json.

Recipe (the values in the JSON were made exactly so):

    ~/.cache/icmbench-peers/venv/bin/python scripts/make-fsim-fixture.py

in the venv of benches/peers/run.sh (pyiqa 0.1.16, torch CPU; here 2.15.0).

Images are read with Pillow as RGB uint8, divided by 255 and passed as NCHW tensors, as
pyiqa's `pyiqa.create_metric('fsim')` does. Two runs:
  - `fsim`: torch's default dtype set to float64, so that every tensor pyiqa builds (the
    images, the YIQ and Scharr weights, the frequency grid and the log-Gabor filters) is
    float64. This is the reference icmbench's float64 implementation is held to.
  - `fsim-pyiqa-f32`: pyiqa as users run it, in float32.
Pairs: pyiqa's five calibration pairs (third_party/iqa-calib, scripts/fetch-test-fixtures.sh)
and the SR pair of tests/fixtures/basicsr/. The argument order is pyiqa's:
`fsim(distorted, reference)`.
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/fsim_reference.json"
PAIRS = {
    **{n: (f"third_party/iqa-calib/ref_dir/{n}.bmp", f"third_party/iqa-calib/dist_dir/{n}.bmp") for n in ["I03", "I04", "I06", "I08", "I19"]},
    "sr-x4": ("tests/fixtures/basicsr/hr.png", "tests/fixtures/basicsr/sr.png"),
}


def load(path, dtype):
    a = np.asarray(Image.open(ROOT / path).convert("RGB"), dtype=np.float64) / 255.0
    return torch.from_numpy(a).permute(2, 0, 1)[None].contiguous().to(dtype)


def run(dtype):
    from pyiqa.archs.fsim_arch import fsim

    torch.set_default_dtype(dtype)
    try:
        return {k: float(fsim(load(d, dtype), load(r, dtype))) for k, (r, d) in PAIRS.items()}
    finally:
        torch.set_default_dtype(torch.float32)


def main():
    import pyiqa

    f64 = run(torch.float64)
    f32 = run(torch.float32)
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": "pyiqa 0.1.16 archs.fsim_arch.fsim(distorted, reference) (FSIMc, chromatic=True, its defaults) on "
        "Pillow-read RGB / 255; `fsim` with torch's default dtype float64, `fsim-pyiqa-f32` in float32 (the authors' "
        "MATLAB values are in tests/fixtures/iqa_calib_reference.json). Made by "
        "scripts/make-fsim-fixture.py (recipe in its docstring). The pairs are [reference, distorted].",
        "versions": {"pyiqa": pyiqa.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "pairs": {k: {"files": list(v), "sha256": [sha(f) for f in v]} for k, v in PAIRS.items()},
        "values": {"fsim": f64, "fsim-pyiqa-f32": f32},
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["values"], indent=1))


if __name__ == "__main__":
    sys.exit(main())
