"""Writes tests/fixtures/learned-ctx/tcm-reduced/: LIC-TCM's own structure (jmliu206/LIC_TCM
`models/tcm.py`) at reduced width with random weights (torch seed 0), exported by
tools/export/tcm.py (codec.json version 2, family `channel-conditional`), and what TCM's
own `compress` / `decompress` (CompressAI 1.2.8's EntropyBottleneck, GaussianConditional
and BufferedRansEncoder) do with it: the parity reference.

Why a rebuilt model: TCM's constructor only scales N. M = 320 is hard-coded in h_a's
input, h_mean_s / h_scale_s's outputs and every slice transform; z has 192 channels;
SWAtten's inner width is 128 and the cc / lrp transforms' hidden widths 224 and 128; the
hyper-transform Swin blocks have head_dim 32 (so N >= 32). TCM(N=32) still has 34.7 M
parameters. `ReducedTCM` below subclasses the TCM class and builds the same modules, in
the same order, from LIC_TCM's own building blocks (ConvTransBlock, SWAtten, conv and
CompressAI's layers) with those widths as parameters; TCM's `compress`, `decompress` and
`update` run unchanged. Widths (chosen so that the folder stays under ~500 KB: each SWAtten
copy costs ~9 KB of ONNX graph whatever its width, and group{k}_params holds two, group{k}_lrp one):

  N=2 (2N=4 channels in g_a/g_s/h_a/h_s), M=6, z 4 channels, num_slices=3 (2 channels
  each; TCM: 5 slices of 64), max_support_slices=3 (all earlier slices, as TCM's 5 of 5),
  config=[2,0,0,0,0,0] (one W + SW ConvTransBlock pair at g_a's first stage, window 8,
  2 heads of dim 1, and in h_a, window 4, 2 heads; TCM: [2]*6), SWAtten inter_dim 4 with
  head_dim 4 (1 head, window 8; TCM: 128 and 16), cc / lrp hidden 4 and 4.

g_a's last convolution is scaled by 32 and h_a's by 4 so that the latents span many symbols
(as scripts/make-learned-fixture.py does for version 1, with larger factors), and each
cc_scale_transform's last convolution by 50 with +4 on its bias so that the scales spread
over the scale table (random weights give scales of +-0.2: everything at the 0.11 bound,
most symbols escapes); escapes remain. `model.update(scale_table=...)` with a shorter scale
table than the default (32 scales from 0.11 to 64) to keep codec.json small.

For each crop of datasets/samples/astronaut.png (512x384 at (0, 64); 128x96 at (200, 100);
200x150 at (200, 100), rate only: the one crop that is padded and that TCM can code), padded
with zeros, centred, to a multiple of 128 (LIC_TCM eval.py's and SA-ICM coding_m.py's `pad`):
- `model.compress` -> byte length of each string list ([y, z]) in `string_bytes`;
- `model.decompress` -> ŷ after LRP (the input of g_s, `astronaut-512x384.yhat.f32`,
  C x h x w), x_hat clamped to [0, 1] and cropped back: rows 0, 64, ..., 320 of the
  512x384 crop (`astronaut-512x384.xhat-rows.f32`, 6 x 512 x 3); float32 little-endian;
- estimated bits along the compress path: GaussianConditional.build_indexes and .quantize
  are wrapped during `compress` to record each slice's scales, means and symbols;
  -log2 of `gaussian_conditional._likelihood(symbols + means, scales, means)`, lower-bounded
  by its likelihood bound, plus the EntropyBottleneck's eval-mode likelihoods of ẑ;
- `graph_walk`: the exported ONNX graphs run in icmbench's order (onnxruntime, 1 thread)
  give the same symbols and table indexes and ŷ within float error.
TCM cannot code a padded image with a side of 128 (y side 8 = SWAtten's window: its
SwinBlock pads to 9 and einops fails); the 128x96 crop's entry records TCM's error instead
(the exported graphs have no such branch and run at 128x128).

`timings`: TCM's compress / decompress wall seconds (torch.set_num_threads(1), median of 3)
on a 768x512 image (astronaut with columns 512..767 mirroring columns 511..256) for the
reduced model; with --full-size also for TCM(N=128, M=320) as eval.py builds it (random
weights, seed 0, same scaling), exported to /tmp/ctx-full/tcm/ (not committed).

Needs torch, compressai 1.2.8, timm, einops, onnx, onnxruntime, numpy, pillow, and a
LIC_TCM work tree (`git -C MIRROR archive HEAD | tar -x -C /tmp/lic_tcm`); run from the
repository root:

    python scripts/make-tcm-fixture.py --tcm-repo /tmp/lic_tcm --tcm-commit COMMIT [--full-size]
"""
import argparse
import math
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("icmbench_export_tcm", os.path.join(ROOT, "tools/export/tcm.py"))
tcm_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tcm_export)

OUT = os.path.join(ROOT, "tests/fixtures/learned-ctx/tcm-reduced")
FULL_OUT = "/tmp/ctx-full/tcm"
CROPS = {"astronaut-512x384": (0, 64, 512, 384), "astronaut-128x96": (200, 100, 128, 96), "astronaut-200x150": (200, 100, 200, 150)}
RATE_ONLY = {"astronaut-200x150"}  # no files (budget): bytes, estimate, graph walk
XHAT_ROWS = {"astronaut-512x384": list(range(0, 384, 64))}
# A shorter Gaussian scale table than CompressAI's default (64 scales up to 256) keeps
# codec.json small: 32 scales from 0.11 to 64 (compressai.models.utils-style log spacing).
SCALE_TABLE = (0.11, 64.0, 32)
WIDTHS = dict(N=2, M=6, Z=4, num_slices=3, config=(2, 0, 0, 0, 0, 0), head_dim=1, hyper_head_dim=1, window=8, hyper_window=4, atten_inter=4, atten_head_dim=4, cc_hidden=(4, 4))
SRC = Image.open(os.path.join(ROOT, "datasets/samples/astronaut.png")).convert("RGB")


def reduced_tcm(TCM, src, N, M, Z, num_slices, config, head_dim, hyper_head_dim, window, hyper_window, atten_inter, atten_head_dim, cc_hidden):
    """TCM's module structure (models/tcm.py `TCM.__init__`) with its hard-coded widths as
    parameters; built from LIC_TCM's own classes. compress/decompress/update are TCM's."""
    from compressai.entropy_models import EntropyBottleneck, GaussianConditional
    from compressai.layers import ResidualBlockUpsample, ResidualBlockWithStride, conv3x3, subpel_conv3x3
    from compressai.models import CompressionModel

    ConvTransBlock, SWAtten, conv = src.ConvTransBlock, src.SWAtten, src.conv

    class ReducedTCM(TCM):
        def __init__(self):
            CompressionModel.__init__(self)
            self.config, self.head_dim = list(config), [head_dim] * 6
            self.window_size, self.num_slices, self.max_support_slices, self.M = window, num_slices, num_slices, M
            s = M // num_slices

            def ctbs(n, hd, ws):
                return [ConvTransBlock(N, N, hd, ws, 0.0, "W" if not i % 2 else "SW") for i in range(n)]

            self.g_a = nn.Sequential(
                ResidualBlockWithStride(3, 2 * N, 2), *ctbs(config[0], head_dim, window),
                ResidualBlockWithStride(2 * N, 2 * N, stride=2), *ctbs(config[1], head_dim, window),
                ResidualBlockWithStride(2 * N, 2 * N, stride=2), *ctbs(config[2], head_dim, window),
                conv3x3(2 * N, M, stride=2))
            self.g_s = nn.Sequential(
                ResidualBlockUpsample(M, 2 * N, 2), *ctbs(config[3], head_dim, window),
                ResidualBlockUpsample(2 * N, 2 * N, 2), *ctbs(config[4], head_dim, window),
                ResidualBlockUpsample(2 * N, 2 * N, 2), *ctbs(config[5], head_dim, window),
                subpel_conv3x3(2 * N, 3, 2))
            self.h_a = nn.Sequential(ResidualBlockWithStride(M, 2 * N, 2), *ctbs(config[0], hyper_head_dim, hyper_window), conv3x3(2 * N, Z, stride=2))
            self.h_mean_s = nn.Sequential(ResidualBlockUpsample(Z, 2 * N, 2), *ctbs(config[3], hyper_head_dim, hyper_window), subpel_conv3x3(2 * N, M, 2))
            self.h_scale_s = nn.Sequential(ResidualBlockUpsample(Z, 2 * N, 2), *ctbs(config[3], hyper_head_dim, hyper_window), subpel_conv3x3(2 * N, M, 2))

            def cin(i):  # TCM: 320 + (320 // num_slices) * min(i, 5)
                return M + s * min(i, 5)

            def atten(i):
                return nn.Sequential(SWAtten(cin(i), cin(i), atten_head_dim, window, 0, inter_dim=atten_inter))

            def cc(c):
                return nn.Sequential(conv(c, cc_hidden[0], stride=1, kernel_size=3), nn.GELU(), conv(cc_hidden[0], cc_hidden[1], stride=1, kernel_size=3), nn.GELU(), conv(cc_hidden[1], s, stride=1, kernel_size=3))

            self.atten_mean = nn.ModuleList(atten(i) for i in range(num_slices))
            self.atten_scale = nn.ModuleList(atten(i) for i in range(num_slices))
            self.cc_mean_transforms = nn.ModuleList(cc(cin(i)) for i in range(num_slices))
            self.cc_scale_transforms = nn.ModuleList(cc(cin(i)) for i in range(num_slices))
            self.lrp_transforms = nn.ModuleList(cc(M + s * min(i + 1, 6)) for i in range(num_slices))
            self.entropy_bottleneck = EntropyBottleneck(Z)
            self.gaussian_conditional = GaussianConditional(None)

    return ReducedTCM()


def scale_last_layers(model):
    """Random weights give latents of a few symbols and scales of +-0.2 (all at the 0.11
    bound, most symbols escapes): g_a's last conv x32 and h_a's x4 (symbols -7..13), each
    cc_scale_transform's last conv x50 with +4 on its bias (scales 0.11 to ~7: 31 of the 64
    tables used, ~1.6 % escapes on the 512x384 crop)."""
    with torch.no_grad():
        model.g_a[-1].weight.mul_(32.0)
        model.h_a[-1].weight.mul_(4.0)
        for t in model.cc_scale_transforms:
            t[-1].weight.mul_(50.0)
            t[-1].bias.add_(4.0)


def image_tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a).astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


def pad(x, p):
    """LIC_TCM eval.py / SA-ICM utils.py `pad`: zeros, centred."""
    h, w = x.size(2), x.size(3)
    nh, nw = (h + p - 1) // p * p, (w + p - 1) // p * p
    left, top = (nw - w) // 2, (nh - h) // 2
    return F.pad(x, (left, nw - w - left, top, nh - h - top), mode="constant", value=0), (left, top)


class Recorder:
    """Wraps model.gaussian_conditional's build_indexes / quantize (instance attributes)
    while TCM's compress runs, and a forward pre-hook on g_s while decompress runs."""

    def __init__(self, model):
        self.model, self.scales, self.indexes, self.means, self.symbols, self.y_hat = model, [], [], [], [], None

    def __enter__(self):
        gc = self.model.gaussian_conditional
        build, quantize = gc.build_indexes, gc.quantize

        def build_indexes(scales):
            out = build(scales)
            self.scales.append(scales.detach().clone())
            self.indexes.append(out.detach().clone())
            return out

        def quant(inputs, mode, means=None):
            out = quantize(inputs, mode, means)
            if mode == "symbols":
                self.means.append(means.detach().clone())
                self.symbols.append(out.detach().clone())
            return out

        gc.build_indexes, gc.quantize = build_indexes, quant
        self.hook = self.model.g_s.register_forward_pre_hook(lambda mod, args: setattr(self, "y_hat", args[0].detach().clone()))
        return self

    def __exit__(self, *exc):
        del self.model.gaussian_conditional.build_indexes
        del self.model.gaussian_conditional.quantize
        self.hook.remove()
        return False


@torch.no_grad()
def estimated_bits(model, x, rec):
    gc = model.gaussian_conditional
    bits_y = 0.0
    for sym, mu, sc in zip(rec.symbols, rec.means, rec.scales):
        y_hat = sym.to(mu.dtype) + mu  # what TCM's compress codes: y_q_slice + mu
        lik = gc._likelihood(y_hat, sc, mu)
        if gc.use_likelihood_bound:
            lik = gc.likelihood_lower_bound(lik)
        bits_y += float((-torch.log2(lik)).sum())
    z = model.h_a(model.g_a(x))
    _, z_lik = model.entropy_bottleneck(z, training=False)
    bits_z = float((-torch.log2(z_lik)).sum())
    return bits_y, bits_z


def graph_walk(out_dir, x, rec):
    """The exported graphs in icmbench's order: symbols, indexes and ŷ against TCM's."""
    import onnxruntime as ort

    with open(os.path.join(out_dir, "codec.json")) as fh:
        man = json.load(fh)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = {r: ort.InferenceSession(os.path.join(out_dir, f), so, providers=["CPUExecutionProvider"]) for r, f in man["graphs"].items()}
    y = sess["g_a"].run(None, {"x": x.numpy()})[0]
    z = sess["h_a"].run(None, {"y": y})[0]
    med = np.asarray(man["entropy_bottleneck"]["medians"], np.float32).reshape(1, -1, 1, 1)
    z_hat = (np.round(z - med) + med).astype(np.float32)
    lm, ls = sess["h_s"].run(None, {"z_hat": z_hat})
    table = torch.tensor(man["gaussian_conditional"]["scale_table"], dtype=torch.float32)
    bound = man["gaussian_conditional"]["scale_bound"]
    finals, c0, sym_diff, idx_diff, yhat_diff = [], 0, 0, 0, 0.0
    for k, g in enumerate(man["context"]["groups"]):
        feed = {"latent_means": lm, "latent_scales": ls}
        if g["support"]:
            feed["support"] = np.concatenate([finals[i] for i in g["support"]], axis=1)
        scales, means = sess[f"group{k}_params"].run(None, feed)
        sym = np.round(y[:, c0:c0 + g["channels"]] - means)
        y_hat = (sym + means).astype(np.float32)
        (lrp,) = sess[f"group{k}_lrp"].run(None, dict(feed, y_hat_slice=y_hat))
        finals.append(y_hat + lrp)
        s = torch.from_numpy(scales).clamp_min(bound)
        idx = len(table) - 1 - sum((s <= t).int() for t in table[:-1])
        sym_diff += int((torch.from_numpy(sym).int() != rec.symbols[k]).sum())
        idx_diff += int((idx != rec.indexes[k]).sum())
        c0 += g["channels"]
    yhat_diff = float(np.abs(np.concatenate(finals, axis=1) - rec.y_hat.numpy()).max())
    return {"symbols_differing": sym_diff, "indexes_differing": idx_diff, "max_abs_yhat_diff": yhat_diff}


def run_crop(model, name, crop, out_dir, write_files):
    x0, y0, w, h = crop
    img = np.asarray(SRC.crop((x0, y0, x0 + w, y0 + h)))
    x = image_tensor(img)
    xp, (left, top) = pad(x, tcm_export.SIZE_MULTIPLE)
    row = {"padded": [xp.size(3), xp.size(2)]}
    if name in RATE_ONLY:
        row["rate_only"] = True
    rec = Recorder(model)
    try:
        with torch.no_grad(), rec:
            enc = model.compress(xp)
            dec = model.decompress(enc["strings"], enc["shape"])
    except Exception as e:  # TCM's own code fails on this size: record it
        row["error"] = f"TCM's compress fails: {type(e).__name__}: {' '.join(str(e).split())}"
        print(name, row)
        return row
    y_strings, z_strings = enc["strings"]
    row["string_bytes"] = [sum(len(s) for s in y_strings), sum(len(s) for s in z_strings)]
    bits_y, bits_z = estimated_bits(model, xp, rec)
    row.update({"estimated_bits": bits_y + bits_z, "estimated_bits_y": bits_y, "estimated_bits_z": bits_z, "y_symbols": int(sum(s.numel() for s in rec.symbols))})
    x_hat = dec["x_hat"][0, :, top:top + h, left:left + w].permute(1, 2, 0).contiguous().numpy().astype("<f4")
    row["xhat_psnr_vs_source"] = float(10 * np.log10(1.0 / np.mean((x_hat - img.astype(np.float32) / 255.0) ** 2)))
    row["graph_walk"] = graph_walk(out_dir, xp, rec)
    if write_files and name not in RATE_ONLY:
        if name == "astronaut-512x384":
            rec.y_hat[0].numpy().astype("<f4").tofile(os.path.join(out_dir, f"{name}.yhat.f32"))
            x_hat[XHAT_ROWS[name]].tofile(os.path.join(out_dir, f"{name}.xhat-rows.f32"))
    print(name, row)
    return row


def timing_image():
    """768x512: astronaut with columns 512..767 mirroring columns 511..256."""
    a = np.asarray(SRC)
    return image_tensor(np.concatenate([a, a[:, ::-1][:, :256]], axis=1))


@torch.no_grad()
def time_model(model, x, runs=3, budget_s=None):
    tc, td = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        enc = model.compress(x)
        t1 = time.perf_counter()
        model.decompress(enc["strings"], enc["shape"])
        t2 = time.perf_counter()
        tc.append(t1 - t0)
        td.append(t2 - t1)
        if budget_s is not None and (t2 - t0) * (len(tc) + 1) > budget_s:
            break
    return {"compress_s": statistics.median(tc), "decompress_s": statistics.median(td), "runs": len(tc), "compress_all_s": tc, "decompress_all_s": td}


def git_head(path):
    try:
        return subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None


def scale_table():
    """SCALE_TABLE as CompressAI's get_scale_table builds one: exp(linspace(log min, log max, levels))."""
    lo, hi, levels = SCALE_TABLE
    return torch.exp(torch.linspace(math.log(lo), math.log(hi), levels))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tcm-repo", required=True, help="a LIC_TCM work tree (models/tcm.py)")
    ap.add_argument("--tcm-commit", default=None, help="its commit, when --tcm-repo is not a git checkout (git archive)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--full-size", action="store_true", help="also export and time TCM(N=128, M=320) with random weights into /tmp/ctx-full/tcm")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import compressai
    import einops
    import onnx
    import onnxruntime
    import timm

    TCM, src = tcm_export.load_class(args.tcm_repo, "TCM")
    commit = git_head(args.tcm_repo) or args.tcm_commit
    torch.manual_seed(0)
    model = reduced_tcm(TCM, src, **WIDTHS).eval()
    scale_last_layers(model)
    model.update(scale_table=scale_table())
    label = "LIC-TCM structure at reduced width (random weights, torch seed 0), a test fixture, not a trained model; pads to a multiple of 128, zeros, centred"
    source = f"scripts/make-tcm-fixture.py: ReducedTCM({', '.join(f'{k}={v}' for k, v in WIDTHS.items())}) from LIC_TCM models/tcm.py at {commit}"
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith((".onnx", ".f32")):
            os.remove(os.path.join(args.out, f))
    tcm_export.export(model, args.out, label, 1, source, verify_hw=None)
    onnx_vs_torch = tcm_export.verify(model, args.out, ((256, 256), (256, 384), (384, 256)))
    crops = {name: run_crop(model, name, crop, args.out, True) for name, crop in CROPS.items()}
    summary = {
        "_about": "LIC-TCM's own compress / decompress of the reduced-width TCM fixture (see README.md and scripts/make-tcm-fixture.py)",
        "command": f"python scripts/make-tcm-fixture.py --tcm-repo {args.tcm_repo}" + (f" --tcm-commit {args.tcm_commit}" if args.tcm_commit else "") + (" --full-size" if args.full_size else ""),
        "lic_tcm_commit": commit,
        "torch": torch.__version__, "compressai": compressai.__version__, "timm": timm.__version__, "einops": einops.__version__,
        "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "seed": 0,
        "crops": {k: list(v) for k, v in CROPS.items()},
        "size_multiple": tcm_export.SIZE_MULTIPLE,
        "xhat_rows": XHAT_ROWS,
        "onnx_vs_torch_about": "tools/export/tcm.py verify: max |onnxruntime - torch| per graph on torch's own inputs, random input of each WxH",
        "onnx_vs_torch": onnx_vs_torch,
        "codecs": {
            "tcm-reduced": {
                "family": "channel-conditional",
                "model": f"ReducedTCM({', '.join(f'{k}={v}' for k, v in WIDTHS.items())}), g_a[-1] x32, h_a[-1] x4, cc_scale_transforms[k][-1] x50 bias +4",
                "string_layout": "[y, z]",
                "crops": crops,
            }
        },
    }
    x = timing_image()
    summary["timings_about"] = "TCM compress / decompress wall seconds, torch.set_num_threads(1), median of 3, 768x512 (astronaut, columns 512..767 mirror columns 511..256), on the machine that ran the script"
    summary["timings"] = {"tcm-reduced": time_model(model, x)}
    print("timings 768x512 reduced:", summary["timings"])
    if args.full_size:
        torch.manual_seed(0)
        full = tcm_export.build_model(TCM, N=128, M=320).eval()
        scale_last_layers(full)
        full.update()
        t0 = time.perf_counter()
        tcm_export.export(full, FULL_OUT, "LIC-TCM TCM(N=128, M=320), random weights seed 0 (timing only)", 1, f"random init, LIC_TCM {commit}", verify_hw=((256, 256), (256, 384)))
        export_s = time.perf_counter() - t0
        summary["timings_full_size"] = {"tcm(N=128,M=320)": dict(time_model(full, x, runs=3, budget_s=180), export_and_verify_s=export_s, exported_to=FULL_OUT)}
        print("timings 768x512 full:", summary["timings_full_size"])
    else:
        # Keep the full-size timings of an earlier --full-size run.
        try:
            with open(os.path.join(args.out, "reference.json")) as fh:
                old = json.load(fh)
            if "timings_full_size" in old:
                summary["timings_full_size"] = old["timings_full_size"]
        except (OSError, ValueError):
            pass
    with open(os.path.join(args.out, "reference.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out}: {total} bytes")


if __name__ == "__main__":
    main()
