"""Reference values of wavelet-domain VIF (`vif`) from pyiqa 0.1.16's `vif` (archs/vif_arch.py,
its port of Sheikh and Bovik's vifvec.m): tests/fixtures/vif_reference.json.

Recipe (the values in the JSON were made exactly so):

    ~/.cache/icmbench-peers/venv/bin/python scripts/make-vif-fixture-wavelet.py

in the venv of benches/peers/run.sh (pyiqa 0.1.16, torch CPU; here 2.15.0) after
scripts/fetch-test-fixtures.sh.

Images are read with Pillow as RGB uint8, divided by 255 and passed as NCHW tensors, as
`pyiqa.create_metric('vif')` does; the argument order is pyiqa's, `VIF()(distorted, reference)`.
Two runs:
  - `vif`: float64. torch's default dtype is set to float64, and pyiqa's two filtering
    functions (`corrDn`, `VIF.corrDn_win`), which cast their filters to float32 with
    `.float()`, are replaced by copies that cast them to the image's dtype instead; nothing
    else is changed. This is the reference icmbench's float64 implementation is held to.
  - `vif-pyiqa-f32`: pyiqa as users run it, in float32.
Pairs: pyiqa's five calibration pairs (third_party/iqa-calib), the SR pair of
tests/fixtures/basicsr/ and two odd-sized crops of I04 (sides not multiples of 3 or 16), to
check the pyramid's sizes and the crops to multiples of 3.

The steerable-pyramid filters (sp5) are compared with those of pyrtools (PyPI, MIT), where
icmbench's copy comes from (`filters_equal_pyrtools`).
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/fixtures/vif_reference.json"
PAIRS = {
    **{n: (f"third_party/iqa-calib/ref_dir/{n}.bmp", f"third_party/iqa-calib/dist_dir/{n}.bmp", None) for n in ["I03", "I04", "I06", "I08", "I19"]},
    "sr-x4": ("tests/fixtures/basicsr/hr.png", "tests/fixtures/basicsr/sr.png", None),
    "I04-crop-301x217": ("third_party/iqa-calib/ref_dir/I04.bmp", "third_party/iqa-calib/dist_dir/I04.bmp", [37, 81, 301, 217]),
    "I19-crop-200x163": ("third_party/iqa-calib/ref_dir/I19.bmp", "third_party/iqa-calib/dist_dir/I19.bmp", [5, 11, 200, 163]),
}


def load(path, crop, dtype):
    img = Image.open(ROOT / path).convert("RGB")
    if crop:
        x0, y0, w, h = crop
        img = img.crop((x0, y0, x0 + w, y0 + h))
    a = np.asarray(img, dtype=np.float64) / 255.0
    return torch.from_numpy(a).permute(2, 0, 1)[None].contiguous().to(dtype)


def filt_like(filt, image, channels):
    return torch.from_numpy(filt).to(image.dtype).unsqueeze(0).unsqueeze(0).repeat(channels, 1, 1, 1)


def corr_dn(image, filt, step=1, channels=1):
    """pyiqa's corrDn with the filter in the image's dtype."""
    f = filt_like(filt, image, channels)
    p = (f.shape[2] - 1) // 2
    return F.conv2d(F.pad(image, (p, p, p, p), "reflect"), f, stride=step, padding=0, groups=channels)


def corr_dn_win(self, image, filt, step=1, channels=1, start=[0, 0], end=[0, 0]):
    """pyiqa's VIF.corrDn_win with the filter in the image's dtype."""
    f = filt_like(filt, image, channels)
    p = (f.shape[2] - 1) // 2
    img = F.conv2d(F.pad(image, (p, p, p, p), "reflect"), f, stride=1, padding=0, groups=channels)
    return img[:, :, start[0] : end[0] : step, start[1] : end[1] : step]


def run(dtype):
    from pyiqa.archs import vif_arch

    saved = (vif_arch.corrDn, vif_arch.VIF.corrDn_win)
    if dtype == torch.float64:
        vif_arch.corrDn, vif_arch.VIF.corrDn_win = corr_dn, corr_dn_win
    torch.set_default_dtype(dtype)
    try:
        net = vif_arch.VIF()
        with torch.no_grad():
            return {k: float(net(load(d, c, dtype), load(r, c, dtype))) for k, (r, d, c) in PAIRS.items()}
    finally:
        torch.set_default_dtype(torch.float32)
        vif_arch.corrDn, vif_arch.VIF.corrDn_win = saved


def main():
    import pyiqa
    import pyrtools
    from pyiqa.archs.vif_arch import sp5_filters
    from pyrtools.pyramids.filters import steerable_filters

    ours, theirs = sp5_filters(), steerable_filters("sp5_filters")
    same = all(np.array_equal(np.asarray(ours[k]), np.asarray(theirs[k])) for k in ours)
    f64 = run(torch.float64)
    f32 = run(torch.float32)
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": "pyiqa 0.1.16 archs.vif_arch.VIF()(distorted, reference) (wavelet-domain VIF: sp5 steerable pyramid, "
        "4 levels x 6 orientations, subbands 4,7,...,25, M = 3, sigma_nsq = 0.4) on Pillow-read RGB / 255; `vif` in "
        "float64 (filters cast to the image dtype), `vif-pyiqa-f32` as shipped in float32 (the authors' values are in "
        "tests/fixtures/iqa_calib_reference.json). Made by scripts/make-vif-fixture-wavelet.py (recipe in its "
        "docstring). The pairs are [reference, distorted, crop [x, y, w, h] or null].",
        "versions": {"pyiqa": pyiqa.__version__, "torch": torch.__version__, "numpy": np.__version__, "pyrtools": pyrtools.__version__},
        "filters_equal_pyrtools": same,
        "pairs": {k: {"files": [r, d], "crop": c, "sha256": [sha(r), sha(d)]} for k, (r, d, c) in PAIRS.items()},
        "values": {"vif": f64, "vif-pyiqa-f32": f32},
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["values"], indent=1), "filters equal:", same)


if __name__ == "__main__":
    sys.exit(main())
