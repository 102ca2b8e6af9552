"""Writes tests/fixtures/clipiqa_reference.json: pyiqa's CLIP-IQA scores with the fixed random
weights of tools/models/build_clipiqa.py, the reference for the whole path in icmbench
(Rust preprocessing + the ONNX graph that script builds, `clipiqa-random`).

pyiqa 0.1.16's CLIPIQA(model_type='clipiqa', pretrained=False) is built as users build it,
except that the CLIP model it loads (OpenAI's RN50, downloaded) is replaced by pyiqa's own
CLIP class (archs/clip_model.py) with RN50's configuration, the random visual weights of
build_clipiqa.random_params(0) loaded into `visual`, its `logit_scale` set from them, and
`encode_text` returning their random text features (tools/export/clipiqa.py `random_clip`) (the export script computes the real
ones with pyiqa's text encoder; the ONNX graph stores them as constants). Inputs: pyiqa's
five distorted calibration images (512x384) and odd-sized crops of I04 and I19, read with
Pillow as RGB / 255, scored at native size as pyiqa does.

Needs torch, pyiqa (PyPI; pyiqa is PolyForm-Noncommercial, used here only to produce
reference numbers) and numpy; run from the repository root after
scripts/fetch-test-fixtures.sh, in the venv of benches/peers/run.sh:

    ~/.cache/icmbench-peers/venv/bin/python scripts/make-clipiqa-fixture.py
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
import clipiqa as export  # noqa: E402  (its random_clip, the path `clipiqa.py random` exports)

INPUTS = {
    **{n: (f"third_party/iqa-calib/dist_dir/{n}.bmp", None) for n in ["I03", "I04", "I06", "I08", "I19"]},
    "I04-crop-301x217": ("third_party/iqa-calib/dist_dir/I04.bmp", [37, 81, 301, 217]),
    "I19-crop-45x97": ("third_party/iqa-calib/dist_dir/I19.bmp", [200, 13, 45, 97]),
}


def main():
    import pyiqa
    torch.set_num_threads(1)
    net = export.clipiqa("random")
    out = {}
    for name, (path, crop) in INPUTS.items():
        img = Image.open(ROOT / path).convert("RGB")
        if crop:
            x0, y0, w, h = crop
            img = img.crop((x0, y0, x0 + w, y0 + h))
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
        with torch.no_grad():
            out[name] = float(net(x).item())
    sha = lambda p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest()
    doc = {
        "_about": __doc__.split("\n\n")[0].replace("\n", " "),
        "command": "~/.cache/icmbench-peers/venv/bin/python scripts/make-clipiqa-fixture.py",
        "versions": {"pyiqa": pyiqa.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "random_weights": "tools/models/build_clipiqa.py random_params(seed=0)",
        "inputs": {k: {"file": p, "crop": c, "sha256": sha(p)} for k, (p, c) in INPUTS.items()},
        "score": out,
    }
    (ROOT / "tests/fixtures/clipiqa_reference.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    sys.exit(main())
