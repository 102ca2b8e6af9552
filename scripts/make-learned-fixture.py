"""Writes tests/fixtures/learned/: three randomly initialised, reduced-width CompressAI
models exported by tools/export/compressai.py (bmshj2018-factorized, bmshj2018-hyperprior,
mbt2018-mean; torch seed 0, N=8, M=12; the last layers of g_a and h_a scaled by 8 and 4 so
that the latents span many symbols, escapes included, as a trained model's do), and what
CompressAI itself does with them on three crops of datasets/samples/astronaut.png
(512x384 at (0, 64), rate only; 128x96 at (200, 100); 45x37 at (11, 7)):

- the input padded as CompressAI's eval_model does (zeros, centred) to the codec's size
  multiple (16 factorized, 64 hyperprior);
- `model.compress` -> the byte length of its strings (y and z);
- `model.decompress` -> x_hat clamped to [0, 1], cropped back: float32 little-endian,
  row-major HxWx3, in `<family>/<image>.xhat.f32`;
- the estimated rate: -log2 of the likelihoods of `model(x_padded)` summed over y and z.

Needs torch and compressai (PyPI; CompressAI is BSD-3-Clause-Clear); run from the
repository root:

    python3 scripts/make-learned-fixture.py
"""
import importlib.util
import json
import os

import compressai
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

spec = importlib.util.spec_from_file_location("cai_export", "tools/export/compressai.py")
cai_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cai_export)
from compressai.zoo import image_models  # noqa: E402

torch.set_num_threads(1)
OUT = "tests/fixtures/learned"
CROPS = {"astronaut-512x384": (0, 64, 512, 384), "astronaut-128x96": (200, 100, 128, 96), "astronaut-45x37": (11, 7, 45, 37)}
RATE_ONLY = {"astronaut-512x384"}
src = Image.open("datasets/samples/astronaut.png").convert("RGB")


def pad(x, p):
    h, w = x.size(2), x.size(3)
    nh, nw = (h + p - 1) // p * p, (w + p - 1) // p * p
    left, top = (nw - w) // 2, (nh - h) // 2
    return F.pad(x, (left, nw - w - left, top, nh - h - top), mode="constant", value=0), (left, top)


summary = {
    "_about": __doc__.split("\n\n")[0].replace("\n", " "),
    "command": "python3 scripts/make-learned-fixture.py",
    "torch": torch.__version__,
    "compressai": compressai.__version__,
    "crops": {k: list(v) for k, v in CROPS.items()},
    "codecs": {},
}
for name, family in cai_export.FAMILIES.items():
    torch.manual_seed(0)
    model = image_models[name](quality=1, pretrained=False).__class__(8, 12)
    with torch.no_grad():
        model.g_a[-1].weight.mul_(8.0)
        if hasattr(model, "h_a"):
            model.h_a[-1].weight.mul_(4.0)
    out_dir = os.path.join(OUT, family)
    label = f"{name} random seed 0 (N=8, M=12), a test fixture, not a trained model"
    manifest = cai_export.export(model, family, out_dir, label, 1, {"source": label})
    model.eval()
    rows = {}
    for crop_name, (x0, y0, w, h) in CROPS.items():
        img = src.crop((x0, y0, x0 + w, y0 + h))
        x = torch.from_numpy(np.asarray(img).astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
        xp, (left, top) = pad(x, manifest["size_multiple"])
        with torch.no_grad():
            enc = model.compress(xp)
            dec = model.decompress(enc["strings"], enc["shape"])
            fwd = model(xp)
        x_hat = dec["x_hat"][0, :, top : top + h, left : left + w].permute(1, 2, 0).contiguous().numpy().astype("<f4")
        if crop_name not in RATE_ONLY:
            x_hat.tofile(os.path.join(out_dir, f"{crop_name}.xhat.f32"))
        est = sum(float((-torch.log2(lik)).sum()) for lik in fwd["likelihoods"].values())
        rows[crop_name] = {
            "padded": [xp.size(3), xp.size(2)],
            "string_bytes": [sum(len(s) for s in strings) for strings in enc["strings"]],
            "estimated_bits": est,
            "xhat_psnr_vs_source": float(10 * np.log10(1.0 / np.mean((x_hat - np.asarray(img, np.float32) / 255.0) ** 2))),
        }
        print(family, crop_name, rows[crop_name])
    summary["codecs"][family] = rows
with open(os.path.join(OUT, "reference.json"), "w") as fh:
    json.dump(summary, fh, indent=1)
    fh.write("\n")
