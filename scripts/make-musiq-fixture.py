"""Writes tests/fixtures/musiq_reference.json: pyiqa's own MUSIQ preprocessing and model
outputs, the reference for icmbench's Rust preprocessing (metrics/src/musiq.rs) and for the
ONNX graph built by tools/models/build_musiq.py.

For each input (pyiqa's five distorted calibration images, 512x384, and two odd crops of
I04 given as [x, y, w, h]) the image goes through pyiqa's path: PIL RGB ->
torchvision to_tensor -> (x - 0.5) * 2 -> pyiqa.data.multiscale_trans_util.
get_multiscale_patches with MUSIQ's defaults. Recorded: the sequence length; per token the
hashed position, scale id and mask; the sum and the sum of squares of its 3072 pixel values
(float64 of float32); for the crops, the full first token of each scale. Then pyiqa's
MUSIQ(pretrained=False) with the fixed random weights of build_musiq.random_params(0)
loaded, evaluated on each input: `score`.

Needs torch, torchvision, pyiqa (PyPI; pyiqa is PolyForm-Noncommercial, used here only to
produce reference numbers), numpy, onnx. Run from the repository root after
scripts/fetch-test-fixtures.sh:

    python3 scripts/make-musiq-fixture.py
"""
import json
import sys

import numpy as np
import pyiqa
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image
from pyiqa.archs.musiq_arch import MUSIQ
from pyiqa.data.multiscale_trans_util import get_multiscale_patches

sys.path.insert(0, "tools/models")
import build_musiq  # noqa: E402

torch.set_num_threads(1)
net = MUSIQ(pretrained=False).eval()
net.load_state_dict({k: torch.from_numpy(v) for k, v in build_musiq.random_params(0).items()})

inputs = {name: ("dist_dir/" + name + ".bmp", None) for name in ["I03", "I04", "I06", "I08", "I19"]}
inputs["I04-crop-45x61"] = ("dist_dir/I04.bmp", [13, 7, 45, 61])
inputs["I04-crop-300x17"] = ("dist_dir/I04.bmp", [101, 250, 300, 17])
out = {
    "_about": __doc__.split("\n\n")[1].replace("\n", " "),
    "command": "python3 scripts/make-musiq-fixture.py",
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "pyiqa": pyiqa.__version__,
    "random_weights": "tools/models/build_musiq.py random_params(seed=0)",
    "inputs": {},
}
for name, (path, crop) in inputs.items():
    img = Image.open("third_party/iqa-calib/" + path).convert("RGB")
    if crop:
        x0, y0, w, h = crop
        img = img.crop((x0, y0, x0 + w, y0 + h))
    x = TF.to_tensor(img).unsqueeze(0)
    with torch.no_grad():
        patches = get_multiscale_patches((x - 0.5) * 2, **net.data_preprocess_opts)[0].numpy()
        score = float(net(x).item())
    pix = patches[:, :-3].astype(np.float64)
    entry = {
        "file": path,
        "crop": crop,
        "len": int(patches.shape[0]),
        "position": [int(v) for v in patches[:, -3]],
        "scale": [int(v) for v in patches[:, -2]],
        "mask": [int(v) for v in patches[:, -1]],
        "sum": [float(v) for v in pix.sum(1)],
        "sum_sq": [float(v) for v in (pix**2).sum(1)],
        "score": score,
    }
    if crop:
        firsts = [0, 49, 49 + 144]
        entry["tokens"] = {str(i): [float("%.7g" % v) for v in patches[i, :-3]] for i in firsts}
    out["inputs"][name] = entry
    print(name, entry["len"], score)
with open("tests/fixtures/musiq_reference.json", "w") as fh:
    json.dump(out, fh, separators=(",", ":"))
    fh.write("\n")
