"""Writes tests/fixtures/irsde/: a tiny random-weight noise-prediction UNet with DA-CLIP's
step signature (tiny_unet.onnx) and what daclip-uir's own IR-SDE sampling code makes of it
(reference.json), the parity reference of icmbench's iterative-restorer sampler
(models/src/irsde.rs, test harness/tests/irsde.rs).

Recipe (peers venv: torch 2.15, onnx; a daclip-uir checkout, MIT, commit c2cc141):

    git clone https://github.com/Algolzw/daclip-uir /tmp/daclip-uir
    ~/.cache/icmbench-peers/venv/bin/python scripts/make-irsde-fixture.py /tmp/daclip-uir

What it runs: `utils/sde_utils.py`'s `IRSDE(max_sigma=50, T=100, schedule, eps=0.005)`
(DA-CLIP's test.yml) with `set_mu(LQ)`, `noise_state(LQ)`, then `reverse_posterior` (DA-CLIP's
default `sampling_mode`) and `reverse_sde`, with the tiny UNet as `sde.model` and fixed
context vectors as `text_context` / `image_context`, as `DenoisingModel.test` calls it.
The Gaussian draws: `torch.randn_like` is replaced by icmbench's SplitMix64 + Box-Muller
stream (datasets/src/degrade.rs, one value per call, in NCHW order, float64 rounded to
float32), so that the Rust sampler, given the same seed, draws the same numbers. Nothing
else of the reference code is changed.

The network is NOT DA-CLIP's ConditionalUNet (whose weights are not on a package registry):
it has its inputs and output (x, mu, t, text_context, image_context -> noise), its
`x - cond` / `cat(cond)` input and a sinusoidal time embedding, and two 3x3 convolutions.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/irsde"
MASK = (1 << 64) - 1
CTX = 8


class SplitMix64:
    """datasets/src/degrade.rs's generator: the same numbers everywhere."""

    def __init__(self, seed):
        self.s = seed & MASK

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) / float(1 << 53)

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


class TinyUNet(nn.Module):
    """DA-CLIP's step signature on two convolutions."""

    def __init__(self, ch=8):
        super().__init__()
        self.ch = ch
        self.init_conv = nn.Conv2d(6, ch, 3, padding=1)
        self.time_mlp = nn.Sequential(nn.Linear(ch, ch), nn.GELU(), nn.Linear(ch, ch))
        self.text_mlp = nn.Linear(CTX, ch)
        self.image_mlp = nn.Linear(CTX, ch)
        self.final_conv = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, xt, cond, time, text_context, image_context):
        if isinstance(time, (int, float)):
            time = torch.tensor([time], dtype=torch.float32)
        x = torch.cat([xt - cond, cond], dim=1)
        half = self.ch // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
        emb = time[:, None] * freqs[None, :]
        emb = torch.cat([emb.sin(), emb.cos()], dim=-1)
        t = self.time_mlp(emb) + torch.softmax(self.text_mlp(text_context), dim=1) + self.image_mlp(image_context)
        h = torch.nn.functional.silu(self.init_conv(x) + t[:, :, None, None])
        return self.final_conv(h)


class TinyContext(nn.Module):
    """A stand-in for DA-CLIP's image encoder: the image's channel means -> two context vectors."""

    def __init__(self):
        super().__init__()
        self.text = nn.Linear(3, CTX)
        self.image = nn.Linear(3, CTX)

    def forward(self, image):
        m = image.mean(dim=(2, 3))
        return self.text(m), self.image(m)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    daclip = Path(sys.argv[1])
    sys.path.insert(0, str(daclip / "universal-image-restoration/utils"))
    import sde_utils  # noqa: E402  (daclip-uir, MIT)

    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = TinyUNet().eval()
    with torch.no_grad():  # a mild noise estimate: the samples stay near the image's range
        net.final_conv.weight.mul_(0.05)
        net.final_conv.bias.mul_(0.05)
    w, h = 12, 10
    img = Image.open(ROOT / "datasets/samples/coffee.png").convert("RGB").crop((200, 100, 200 + w, 100 + h))
    lq_u8 = np.asarray(img)
    lq = torch.from_numpy(lq_u8.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    text = torch.linspace(-1.0, 1.0, CTX, dtype=torch.float32)[None]
    image = torch.linspace(0.5, -0.25, CTX, dtype=torch.float32)[None]

    torch.onnx.export(
        net,
        (lq, lq, torch.tensor([1.0]), text, image),
        OUT / "tiny_unet.onnx",
        input_names=["x", "mu", "t", "text_context", "image_context"],
        output_names=["noise"],
        dynamic_axes={"x": {2: "h", 3: "w"}, "mu": {2: "h", 3: "w"}, "noise": {2: "h", 3: "w"}},
        opset_version=17,
        dynamo=False,
    )

    context = TinyContext().eval()
    torch.onnx.export(
        context,
        (lq,),
        OUT / "tiny_context.onnx",
        input_names=["image"],
        output_names=["text_context", "image_context"],
        dynamic_axes={"image": {2: "h", 3: "w"}},
        opset_version=17,
        dynamo=False,
    )
    with torch.no_grad():
        run_text, run_image = context(lq)

    cases = []
    for schedule, sampler, seed in [("cosine", "posterior", 7), ("cosine", "sde", 7), ("linear", "posterior", 3)]:
        rng = SplitMix64(seed)

        def randn_like(x):
            vals = np.array([rng.normal() for _ in range(x.numel())], dtype=np.float64).astype(np.float32)
            return torch.from_numpy(vals.reshape(tuple(x.shape)))

        sde_utils.torch.randn_like = randn_like
        sde = sde_utils.IRSDE(max_sigma=50, T=100, schedule=schedule, eps=0.005, device="cpu")
        sde.set_model(net)
        sde.set_mu(lq)
        with torch.no_grad():
            state = sde.noise_state(lq)
            if sampler == "posterior":
                out = sde.reverse_posterior(state, text_context=text, image_context=image)
            else:
                out = sde.reverse_sde(state, text_context=text, image_context=image)
        u8 = (out[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
        cases.append(
            {
                "schedule": schedule,
                "sampler": sampler,
                "seed": seed,
                "thetas": sde.thetas.tolist(),
                "sigma_bars": sde.sigma_bars.tolist(),
                "dt": float(sde.dt),
                "output_nchw": out.flatten().tolist(),
                "output_u8": u8.flatten().tolist(),
            }
        )
    ref = {
        "recipe": "scripts/make-irsde-fixture.py (daclip-uir c2cc141 utils/sde_utils.py, torch "
        + torch.__version__
        + "; max_sigma 50, T 100, eps 0.005)",
        "width": w,
        "height": h,
        "lq_u8": lq_u8.flatten().tolist(),
        "text_context": text.flatten().tolist(),
        "image_context": image.flatten().tolist(),
        "context_graph_outputs": {"text_context": run_text.flatten().tolist(), "image_context": run_image.flatten().tolist()},
        "cases": cases,
    }
    (OUT / "reference.json").write_text(json.dumps(ref) + "\n")
    print("wrote", OUT, [(c["sampler"], c["schedule"], np.abs(np.array(c["output_nchw"])).max()) for c in cases])


if __name__ == "__main__":
    main()
