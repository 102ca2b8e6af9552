"""Writes tests/fixtures/topiq_reference.json: pyiqa's TOPIQ (CFANet, ResNet-50) scores with
the fixed random weights of tools/models/build_topiq.py, the reference for the whole path in
icmbench (the Rust input tensors, pooling and positional-embedding matrices + the ONNX
graph that script builds, `topiq-nr-random` and `topiq-fr-random`).

pyiqa 0.1.16's CFANet is built as its `topiq_nr` and `topiq_fr` metrics build it
(semantic_model_name='resnet50', use_ref False / True, one crop, no test resize), without
downloading (backbone_pretrain=False, pretrained=False), and the random weights of
build_topiq.random_params(fr, 0) are loaded (tools/export/topiq.py `cfanet`). Inputs:
pyiqa's five calibration pairs (512x384) and odd-sized crops of I04 and I19 (one whose
sides are not multiples of 32, one just above the 32-pixel minimum), read with Pillow as
RGB / 255 and scored at native size as pyiqa does: `topiq_nr` on the distorted image,
`topiq_fr` on (distorted, reference).

Needs torch, timm, pyiqa (PyPI; pyiqa is PolyForm-Noncommercial, used here only to produce
reference numbers) and numpy; run from the repository root after
scripts/fetch-test-fixtures.sh, in the venv of benches/peers/run.sh:

    ~/.cache/icmbench-peers/venv/bin/python scripts/make-topiq-fixture.py
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
import topiq as export  # noqa: E402

CALIB = "third_party/iqa-calib"
PAIRS = {
    **{n: (f"{CALIB}/ref_dir/{n}.bmp", f"{CALIB}/dist_dir/{n}.bmp", None) for n in ["I03", "I04", "I06", "I08", "I19"]},
    "I04-crop-301x217": (f"{CALIB}/ref_dir/I04.bmp", f"{CALIB}/dist_dir/I04.bmp", [37, 81, 301, 217]),
    "I19-crop-45x97": (f"{CALIB}/ref_dir/I19.bmp", f"{CALIB}/dist_dir/I19.bmp", [200, 13, 45, 97]),
}


def load(path, crop):
    img = Image.open(ROOT / path).convert("RGB")
    if crop:
        x0, y0, w, h = crop
        img = img.crop((x0, y0, x0 + w, y0 + h))
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def main():
    import pyiqa

    torch.set_num_threads(1)
    scores = {}
    for kind in ("nr", "fr"):
        net, fr = export.cfanet("random-" + kind)
        with torch.no_grad():
            scores[f"topiq-{kind}"] = {
                k: float(net(load(d, c), load(r, c)) if fr else net(load(d, c))) for k, (r, d, c) in PAIRS.items()
            }
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": __doc__.split("\n\n")[0].replace("\n", " "),
        "command": "~/.cache/icmbench-peers/venv/bin/python scripts/make-topiq-fixture.py",
        "versions": {"pyiqa": pyiqa.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "random_weights": "tools/models/build_topiq.py random_params(fr, seed=0)",
        "pairs": {k: {"files": [r, d], "crop": c, "sha256": [sha(r), sha(d)]} for k, (r, d, c) in PAIRS.items()},
        "score": scores,
    }
    (ROOT / "tests/fixtures/topiq_reference.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    sys.exit(main())
