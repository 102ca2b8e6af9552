"""Exports a CompressAI model into icmbench's learned-codec contract: one folder per
quality point holding `codec.json` (family, entropy-model tables, likelihood parameters,
size multiple, label) and the ONNX graphs of its transforms.

    python3 -m venv ~/cai && ~/cai/bin/pip install torch compressai onnx
    # a pretrained zoo model (needs internet for the weights):
    ~/cai/bin/python tools/export/compressai.py bmshj2018-hyperprior OUT/q3 --quality 3 --pretrained
    # a randomly initialised one (no download; reduced widths N, M):
    ~/cai/bin/python tools/export/compressai.py mbt2018-mean OUT/seed0 --seed 0 --N 16 --M 24

Families: bmshj2018-factorized (`factorized`: g_a, g_s; EntropyBottleneck on y),
bmshj2018-hyperprior (`scale-hyperprior`: + h_a on |y|, h_s -> scales; EntropyBottleneck
on z, GaussianConditional on y), mbt2018-mean (`mean-scale-hyperprior`: h_a on y, h_s ->
scales and means). Autoregressive models (mbt2018, cheng2020-*) are refused: their
context model sits inside the sequential entropy-decoding loop, which this contract (and
icmbench) does not run.

The graphs: g_a `x` [1,3,H,W] in [0,1] -> `y`; g_s `y_hat` -> `x_hat` (not clamped);
h_a `y` -> `z`; h_s `z_hat` -> `scales` [, `means`]. H and W are dynamic (multiples of
the size multiple). GDN layers are exported with their reparametrised beta and gamma
frozen. The entropy tables are those of `model.update(force=True)` (CompressAI's 16-bit
quantised CDFs, offsets, lengths; EntropyBottleneck medians and its density-model
parameters for the likelihoods; GaussianConditional's scale table and bounds).
The module also exposes `export(model, family, out_dir, label, quality, extra)` for the
training script (tools/train/train_demo_codec.py).
"""
import argparse
import json
import os
import sys

# This file is named like the package it exports from: keep its own folder off the path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

FAMILIES = {
    "bmshj2018-factorized": "factorized",
    "bmshj2018-hyperprior": "scale-hyperprior",
    "mbt2018-mean": "mean-scale-hyperprior",
}
AUTOREGRESSIVE = ("mbt2018", "cheng2020-anchor", "cheng2020-attn", "elic2022-official", "elic2022-chandelier")


class FrozenGDN(nn.Module):
    """CompressAI's GDN/IGDN with beta and gamma reparametrised once (ONNX-exportable)."""

    def __init__(self, gdn):
        super().__init__()
        c = gdn.beta.shape[0]
        self.register_buffer("beta", gdn.beta_reparam(gdn.beta).detach().clone())
        self.register_buffer("gamma", gdn.gamma_reparam(gdn.gamma).detach().clone().reshape(c, c, 1, 1))
        self.inverse = gdn.inverse

    def forward(self, x):
        norm = F.conv2d(x * x, self.gamma, self.beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def freeze_gdn(module):
    from compressai.layers import GDN

    for name, child in module.named_children():
        if isinstance(child, GDN):
            setattr(module, name, FrozenGDN(child))
        else:
            freeze_gdn(child)
    return module


class HyperAnalysis(nn.Module):
    def __init__(self, h_a, absolute):
        super().__init__()
        self.h_a, self.absolute = h_a, absolute

    def forward(self, y):
        return self.h_a(torch.abs(y) if self.absolute else y)


class HyperSynthesis(nn.Module):
    def __init__(self, h_s, split):
        super().__init__()
        self.h_s, self.split = h_s, split

    def forward(self, z_hat):
        p = self.h_s(z_hat)
        return tuple(p.chunk(2, 1)) if self.split else p


def to_onnx(module, example, path, inp, outs):
    axes = {inp: {2: "H", 3: "W"}}
    axes.update({o: {2: "h", 3: "w"} for o in outs})
    torch.onnx.export(module, (example,), path, input_names=[inp], output_names=list(outs), dynamic_axes=axes, opset_version=17, dynamo=False)


def entropy_bottleneck_tables(eb):
    """Quantised CDFs and offsets, medians, and the density model for the likelihoods."""
    c = eb._quantized_cdf.shape[0]
    lengths = eb._cdf_length.tolist()
    return {
        "channels": c,
        "quantized_cdf": [row[:n] for row, n in zip(eb._quantized_cdf.tolist(), lengths)],
        "cdf_length": lengths,
        "offset": eb._offset.tolist(),
        "medians": eb._get_medians().detach().reshape(-1).tolist(),
        "filters": list(eb.filters),
        "matrices": [m.detach().tolist() for m in eb.matrices],
        "biases": [b.detach().tolist() for b in eb.biases],
        "factors": [f.detach().tolist() for f in eb.factors],
        "likelihood_bound": float(eb.likelihood_lower_bound.bound.item()) if eb.use_likelihood_bound else 0.0,
    }


def gaussian_conditional_tables(gc):
    lengths = gc._cdf_length.tolist()
    return {
        "scale_table": gc.scale_table.tolist(),
        "quantized_cdf": [row[:n] for row, n in zip(gc._quantized_cdf.tolist(), lengths)],
        "cdf_length": lengths,
        "offset": gc._offset.tolist(),
        "scale_bound": float(gc.lower_bound_scale.bound.item()),
        "likelihood_bound": float(gc.likelihood_lower_bound.bound.item()) if gc.use_likelihood_bound else 0.0,
    }


def export(model, family, out_dir, label, quality, extra=None):
    """Writes `codec.json` and the ONNX graphs of `model` (a CompressAI model) into out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    model = model.eval()
    model.update(force=True)
    hyper = family != "factorized"
    multiple = 64 if hyper else 16
    x = torch.rand(1, 3, 2 * multiple, 2 * multiple)
    with torch.no_grad():
        g_a = freeze_gdn(model.g_a)
        g_s = freeze_gdn(model.g_s)
        y = g_a(x)
        to_onnx(g_a, x, os.path.join(out_dir, "g_a.onnx"), "x", ["y"])
        to_onnx(g_s, torch.round(y), os.path.join(out_dir, "g_s.onnx"), "y_hat", ["x_hat"])
        graphs = {"g_a": "g_a.onnx", "g_s": "g_s.onnx"}
        if hyper:
            h_a = HyperAnalysis(model.h_a, absolute=family == "scale-hyperprior")
            z = h_a(y)
            to_onnx(h_a, y, os.path.join(out_dir, "h_a.onnx"), "y", ["z"])
            split = family == "mean-scale-hyperprior"
            to_onnx(HyperSynthesis(model.h_s, split), torch.round(z), os.path.join(out_dir, "h_s.onnx"), "z_hat", ["scales", "means"] if split else ["scales"])
            graphs.update({"h_a": "h_a.onnx", "h_s": "h_s.onnx"})
    manifest = {
        "format": "icmbench-learned-codec",
        "version": 1,
        "family": family,
        "label": label,
        "quality": quality,
        "size_multiple": multiple,
        "input": "RGB float32 NCHW in [0, 1] (8-bit / 255)",
        "precision": 16,
        "graphs": graphs,
        "entropy_bottleneck": entropy_bottleneck_tables(model.entropy_bottleneck),
    }
    if hyper:
        manifest["gaussian_conditional"] = gaussian_conditional_tables(model.gaussian_conditional)
    manifest.update(extra or {})
    with open(os.path.join(out_dir, "codec.json"), "w") as fh:
        json.dump(manifest, fh, separators=(",", ":"))
        fh.write("\n")
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--quality", type=int, default=None, help="zoo quality index (with --pretrained)")
    ap.add_argument("--pretrained", action="store_true", help="download CompressAI's weights (internet)")
    ap.add_argument("--seed", type=int, default=None, help="random initialisation with this torch seed")
    ap.add_argument("--N", type=int, default=None)
    ap.add_argument("--M", type=int, default=None)
    ap.add_argument("--metric", default="mse")
    args = ap.parse_args()
    if args.model in AUTOREGRESSIVE:
        ap.exit(2, f"{args.model}: autoregressive context models are not supported by icmbench's learned-codec contract (the context model runs inside the sequential entropy decoder); export a factorized or hyperprior model instead\n")
    if args.model not in FAMILIES:
        ap.exit(2, f"unknown model {args.model}; one of {', '.join(FAMILIES)}\n")
    from compressai.zoo import image_models
    from compressai.zoo.image import cfgs

    if args.pretrained:
        model = image_models[args.model](quality=args.quality, metric=args.metric, pretrained=True)
        label = f"{args.model} q{args.quality} ({args.metric}, CompressAI pretrained)"
        quality = args.quality
    else:
        if args.seed is None:
            ap.exit(2, "give --pretrained --quality Q, or --seed S for random weights\n")
        torch.manual_seed(args.seed)
        n, m = cfgs[args.model][1]
        model = image_models[args.model](quality=1, pretrained=False).__class__(args.N or n, args.M or m)
        label = f"{args.model} random seed {args.seed} (N={args.N or n}, M={args.M or m}), not a trained model"
        quality = args.seed
    export(model, FAMILIES[args.model], args.out_dir, label, quality, {"source": label})
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
