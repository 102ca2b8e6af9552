"""Writes tests/fixtures/maniqa_reference.json: pyiqa's MANIQA scores with the fixed random
weights of tools/models/build_maniqa.py, the reference for the whole path in icmbench (the
Rust crops and upscale + the ONNX graph that script builds, `maniqa-random`).

pyiqa 0.1.16's MANIQA is built as its `maniqa` metric builds it (test_sample 20, ViT-B/8),
without downloading (timm's ImageNet ViT not fetched, pretrained=False), and the random
weights of build_maniqa.random_params(0) are loaded (tools/export/maniqa.py `maniqa`).
Inputs, read with Pillow as RGB / 255 and scored as pyiqa does (its `uniform_crop`): the
distorted I03 (512x384), a 301x250 crop of I04 (no upscale; crop steps 19 and 6) and a
200x163 crop of I19 (short side <= 224: bilinear upscale by 225/163 first). Also recorded:
the crops tensor's sum and sum of squares per crop (float64 of pyiqa's float32 crops, after
its normalisation undone: x * 0.5 + 0.5), for the Rust cropping and upscale.

Needs torch, timm, pyiqa (PyPI; pyiqa is PolyForm-Noncommercial, used here only to produce
reference numbers) and numpy; run from the repository root after
scripts/fetch-test-fixtures.sh, in the venv of benches/peers/run.sh (about 3 minutes):

    ~/.cache/icmbench-peers/venv/bin/python scripts/make-maniqa-fixture.py
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools/export"))
import maniqa as export  # noqa: E402

CALIB = "third_party/iqa-calib/dist_dir"
INPUTS = {
    "I03": (f"{CALIB}/I03.bmp", None),
    "I04-crop-301x250": (f"{CALIB}/I04.bmp", [101, 67, 301, 250]),
    "I19-crop-200x163": (f"{CALIB}/I19.bmp", [5, 11, 200, 163]),
}


def main():
    import pyiqa
    from pyiqa.archs.arch_util import uniform_crop

    torch.set_num_threads(2)
    net = export.maniqa("random")
    out = {}
    for name, (path, crop) in INPUTS.items():
        img = Image.open(ROOT / path).convert("RGB")
        if crop:
            x0, y0, w, h = crop
            img = img.crop((x0, y0, x0 + w, y0 + h))
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
        with torch.no_grad():
            score = float(net(x))
            crops = uniform_crop((x - 0.5) / 0.5, crop_size=224, crop_num=20) * 0.5 + 0.5
        c = crops.double().reshape(20, -1)
        out[name] = {
            "file": path,
            "crop": crop,
            "sha256": hashlib.sha256((ROOT / path).read_bytes()).hexdigest(),
            "score": score,
            "crop_sum": c.sum(1).tolist(),
            "crop_sum_sq": (c * c).sum(1).tolist(),
        }
        print(name, score)
    doc = {
        "_about": __doc__.split("\n\n")[0].replace("\n", " "),
        "command": "~/.cache/icmbench-peers/venv/bin/python scripts/make-maniqa-fixture.py",
        "versions": {"pyiqa": pyiqa.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "random_weights": "tools/models/build_maniqa.py random_params(seed=0)",
        "inputs": out,
    }
    (ROOT / "tests/fixtures/maniqa_reference.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
