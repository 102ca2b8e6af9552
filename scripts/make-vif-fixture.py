"""Reference values of the pixel-domain VIF (`vifp`) from piq 0.8.0's `vif_p`, run in
float64: tests/fixtures/vifp_reference.json.

Recipe (the values in the JSON were made exactly so):

    pip download piq==0.8.0 --no-deps -d /tmp/piq
    pip install --no-deps --target /tmp/piqlib /tmp/piq/piq-0.8.0-py3-none-any.whl
    PYTHONPATH=/tmp/piqlib python3 scripts/make-vif-fixture.py

with torch (CPU, any recent version; here 2.15.0), torchvision, numpy and Pillow installed,
e.g. the venv of benches/peers/run.sh.

Images are read with Pillow as RGB uint8 and passed as float64 tensors of the 0-255 values
with `data_range=255`, so piq computes in float64. Pairs: pyiqa's five calibration pairs
(third_party/iqa-calib, scripts/fetch-test-fixtures.sh) and the SR pair of
tests/fixtures/basicsr/. The argument order is piq's: `vif_p(distorted, reference)`.
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/vifp_reference.json"
PAIRS = {
    **{n: (f"third_party/iqa-calib/ref_dir/{n}.bmp", f"third_party/iqa-calib/dist_dir/{n}.bmp") for n in ["I03", "I04", "I06", "I08", "I19"]},
    "sr-x4": ("tests/fixtures/basicsr/hr.png", "tests/fixtures/basicsr/sr.png"),
}


def load(path):
    a = np.asarray(Image.open(ROOT / path).convert("RGB"), dtype=np.float64)
    return torch.from_numpy(a).permute(2, 0, 1)[None].contiguous()


def main():
    import piq
    from piq import vif_p

    values = {k: float(vif_p(load(d), load(r), data_range=255.0)) for k, (r, d) in PAIRS.items()}
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": "piq 0.8.0 vif_p(distorted, reference, data_range=255) in float64 (torch CPU) on Pillow-read RGB "
        "images; made by scripts/make-vif-fixture.py (recipe in its docstring). The pairs are [reference, distorted].",
        "versions": {"piq": piq.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "pairs": {k: {"files": list(v), "sha256": [sha(f) for f in v]} for k, v in PAIRS.items()},
        "values": {"vifp": values},
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(values, indent=1))


if __name__ == "__main__":
    sys.exit(main())
