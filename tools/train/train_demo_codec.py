"""Trains icmbench's demonstration learned codec: a small CompressAI factorized-prior model
(bmshj2018-factorized architecture, N=32, M=48) at four rate points, on CPU, on CC0 /
public-domain photos that are *not* the bundled demo images, and exports each point with
tools/export/compressai.py into models/demo-codec/q1..q4.

A demonstration model, not a research result: a few minutes of CPU training on five
images. It exists so that the bundled demo shows a learned codec's curve, with actual and
estimated bpp, next to JPEG, WebP and AVIF.

Data (scikit-image 0.26 wheel, `skimage/data/`): retina.jpg (CC0), ihc.png (no known
copyright restrictions), brick.png, grass.png, gravel.png (CC0 textures, grey, repeated
to RGB). Augmentation: random 128x128 crops, flips, random RGB channel permutations.
Recipe: torch seed 0; Adam lr 1e-3 for the base, 3e-4 for fine-tuning (aux 1e-3); batch 8; loss lambda * 255^2 * MSE + bpp
(CompressAI's RateDistortionLoss); a base model at lambda 0.013 for BASE_STEPS steps,
then each point fine-tuned from it for FT_STEPS steps at its lambda (0.0018, 0.0067,
0.025, 0.0932 -> q1..q4; CompressAI's lambdas of its qualities 1, 3, 5, 7). Writes models/demo-codec/TRAINING.md with the log.

    python3 tools/train/train_demo_codec.py            # needs torch, compressai, scikit-image
"""
import copy
import importlib.util
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

BASE_STEPS = int(os.environ.get("BASE_STEPS", 5000))
FT_STEPS = int(os.environ.get("FT_STEPS", 1200))
LAMBDAS = [0.0018, 0.0067, 0.025, 0.0932]
N, M, CROP, BATCH = 32, 48, 128, 8
OUT = "models/demo-codec"

spec = importlib.util.spec_from_file_location("cai_export", "tools/export/compressai.py")
cai_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cai_export)
from compressai.models import FactorizedPrior  # noqa: E402
import skimage  # noqa: E402

torch.manual_seed(0)
rng = np.random.RandomState(0)
torch.set_num_threads(int(os.environ.get("THREADS", 1)))
data_dir = os.path.join(os.path.dirname(skimage.__file__), "data")
FILES = ["retina.jpg", "ihc.png", "brick.png", "grass.png", "gravel.png"]
images = [np.asarray(Image.open(os.path.join(data_dir, f)).convert("RGB"), dtype=np.float32) / 255.0 for f in FILES]


def batch():
    out = []
    for _ in range(BATCH):
        img = images[rng.randint(len(images))]
        h, w, _ = img.shape
        y, x = rng.randint(h - CROP + 1), rng.randint(w - CROP + 1)
        p = img[y : y + CROP, x : x + CROP][:, :, rng.permutation(3)]
        if rng.rand() < 0.5:
            p = p[:, ::-1]
        if rng.rand() < 0.5:
            p = p[::-1]
        out.append(np.ascontiguousarray(p.transpose(2, 0, 1)))
    return torch.from_numpy(np.stack(out))


def train(model, lam, steps, log, tag, lr):
    params = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(params, lr=lr), torch.optim.Adam(aux, lr=1e-3)
    model.train()
    t0 = time.time()
    for step in range(1, steps + 1):
        x = batch()
        out = model(x)
        n = x.size(0) * x.size(2) * x.size(3)
        bpp = sum(torch.log(l).sum() for l in out["likelihoods"].values()) / (-np.log(2) * n)
        mse = F.mse_loss(out["x_hat"], x)
        loss = lam * 255**2 * mse + bpp
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        aux_loss = model.aux_loss()
        aux_opt.zero_grad()
        aux_loss.backward()
        aux_opt.step()
        if step % 100 == 0 or step == steps:
            psnr = 10 * np.log10(1 / max(mse.item(), 1e-10))
            line = f"{tag} step {step:5d}  loss {loss.item():.4f}  bpp {bpp.item():.4f}  psnr {psnr:.2f}  aux {aux_loss.item():.2f}  {time.time() - t0:.0f} s"
            print(line, flush=True)
            log.append(line)
    return model


log = [f"torch {torch.__version__}, threads {torch.get_num_threads()}, N={N} M={M}, crops {CROP}, batch {BATCH}, seed 0"]
base = train(FactorizedPrior(N, M), 0.013, BASE_STEPS, log, "base   ", 1e-3)
for q, lam in enumerate(LAMBDAS, start=1):
    model = train(copy.deepcopy(base), lam, FT_STEPS, log, f"q{q} {lam:<7}", 3e-4)
    label = f"icmbench demonstration codec q{q} (bmshj2018-factorized N={N} M={M}, lambda {lam}, {BASE_STEPS}+{FT_STEPS} CPU steps on 5 CC0 images): not a research result"
    cai_export.export(model, "factorized", os.path.join(OUT, f"q{q}"), label, q, {"source": label, "demonstration": True, "lambda": lam})
with open(os.path.join(OUT, "TRAINING.md"), "w") as fh:
    fh.write("# Training log of the demonstration codec\n\n")
    fh.write((__doc__ or "").strip() + "\n\n```\n" + "\n".join(log) + "\n```\n")
print("wrote", OUT)
