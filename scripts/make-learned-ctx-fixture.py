"""Writes tests/fixtures/learned-ctx/: seven randomly initialised, reduced-width learned
codecs with context models, exported by tools/export/compressai.py (`export_v2`, codec.json
version 2), and what CompressAI itself does with them (the parity reference).

Models (torch seed 0 each, built with CompressAI 1.2.8's classes and layers; widths in
`SMALL`, kept tiny so that the folder stays under its size budget):

  mbt2018                        JointAutoregressiveHierarchicalPriors(N=3, M=4)     autoregressive
  cheng2020-anchor               Cheng2020Anchor(N=3)                                autoregressive
  cheng2020-attn                 Cheng2020Attention(N=2)                             autoregressive
  cheng2020-anchor-checkerboard  Cheng2020AnchorCheckerboard(N=3), g_a/g_s below     checkerboard
  elic2022-official              Elic2022Official(N=2, M=8, groups [1,1,2,2,2])      checkerboard
  elic2022-chandelier            Elic2022Chandelier(N=2, M=8, groups [1,1,2,2,2])    checkerboard
  channel-conditional            ChannelConditionalTestModel (below, N=2, M=6,       channel-conditional
                                 slices [1,1,2,2], LRP)

Replaced layers (created right after the model, under the same seed):
- ELIC's channel_context[y1..y4] (conv5x5 in->224, ReLU, conv5x5 224->128, ReLU, conv5x5
  128->2*C_k) become conv5x5 in->2, ReLU, conv5x5 2->2, ReLU, conv5x5 2->2*C_k (both ELIC
  classes); Chandelier's param_aggregation[k] (conv1x1 in->2M, ReLU, conv1x1 2M->512,
  ReLU, conv1x1 512->2*C_k) becomes conv1x1 in->2M, ReLU, conv1x1 2M->4, ReLU, conv1x1
  4->2*C_k;
- g_a / g_s of both ELIC models and of cheng2020-anchor-checkerboard are mbt2018-mean's
  (MeanScaleHyperprior(N=2, M)'s g_a / g_s: four 5x5 convolutions with GDN / IGDN) instead
  of the classes' deep residual / attention stacks (the context models, h_a and h_s stay
  the classes' own; Cheng2020AnchorCheckerboard's own g_a / g_s are Cheng2020Anchor's,
  which the cheng2020-anchor fixture keeps).
The autoregressive models get the context mask folded into the weights
(`context_prediction.weight *= mask`, what the first forward pass of CompressAI's
MaskedConv2d does to a trained model), because CompressAI's `_decompress_ar` uses the raw
weight.

Symbols and tables: every fixture model uses the Gaussian scale table
`get_scale_table(0.11, 64, 32)` (`SCALE_TABLE`: 32 scales, 0.11 .. 64; CompressAI's default
is 64 scales, 0.11 .. 256), passed to `export_v2` (`model.update(scale_table=...)`). The
latent spread: the last convolution of g_a x32 (x64 for the ELIC models) and the last layer of h_a x4 (`scale_up`;
the full-size models x8 / x4, as scripts/make-learned-fixture.py does for version 1), so
that the latents span many symbols. The calibrated scale spread (`calibrate_scales`): one
CompressAI compress of the 512x384 crop gives the mean mu_c of each scale output channel
of the last entropy-parameter layers; that channel's weights are then multiplied by 32 and
its bias set to 32 * (bias - mu_c) + t_c, t_c log-spaced 0.1 .. 16 over the model's scale
channels, so that many scale-table indexes are used and the small-scale channels escape
(the full-size models keep the fixed spread of `spread_scales`: weights and bias x8,
bias +1).

For every model and crop of datasets/samples/astronaut.png (512x384 at (0, 64); 128x96 at
(200, 100)), padded with zeros, centred, to a multiple of 64 (as CompressAI's eval_model):
- `compress` -> the summed byte length of each string list (reference.json `string_bytes`,
  in CompressAI's order, described by `string_layout`);
- `decompress` -> x_hat clamped to [0, 1], cropped back: rows `XHAT_ROWS[crop]` of it
  (`<crop>.xhat-rows.f32`, rows x width x 3: 512x384 rows 0, 64, ..., 320; 128x96 rows
  0, 16, ..., 80); for 512x384 also ŷ (`astronaut-512x384.yhat.f32`, C x h x w); float32
  little-endian;
- the estimated bits along the compress path: -log2 of CompressAI's
  `GaussianConditional._likelihood(y_hat, scales, means)` (lower-bounded by its
  likelihood bound) with the scales, means and ŷ that compress coded, plus the
  EntropyBottleneck's eval-mode likelihoods of ẑ. Autoregressive: CompressAI's own
  `_compress_ar` is called on a padded y tensor the script keeps (its final state is ŷ),
  with a forward hook on `entropy_parameters` recording each position's output (chunk ->
  scales, means). Checkerboard: each group's GaussianConditionalLatentCodec.compress is
  wrapped to record its scales/means (of the half-width anchor / non-anchor tensors) and
  the ŷ it returns. Channel-conditional: the script's compress keeps them.
- sanity: CompressAI's decompress(compress(x)) gives the same ŷ as the compress path; the
  strings of the replicated autoregressive compress equal `model.compress`'s; and a Python
  walk through the exported ONNX graphs (onnxruntime, icmbench's coding order) gives the
  same symbols and scale-table indexes (`graph_walk` in reference.json).

`timings`: CompressAI's compress and decompress wall time (seconds, torch 1 thread, median of
3) of each fixture model on a 768x512 image: astronaut (512x512) with columns 512..767 the
mirror image of columns 511..256 (x' = 1023 - x). With `--full-size`, also
`timings_full_size` for full-width random-init models (same seed, fixed spreads, CompressAI's
default scale table: mbt2018 N=M=192, cheng2020-anchor N=128, cheng2020-anchor-checkerboard
N=128, elic2022-official N=192 M=320), exported to /tmp/ctx-full/<name>/ (not committed).

Needs torch, compressai 1.2.8, onnx, onnxruntime, numpy, pillow; run from the repository
root:

    /tmp/venv-cai/bin/python scripts/make-learned-ctx-fixture.py [--full-size | --only-full-size | --no-timings]
"""
import argparse
import math
import importlib.util
import json
import os
import statistics
import sys
import time

import compressai
import numpy as np
import onnxruntime
import torch
import torch.nn.functional as F
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN
from compressai.models import (
    Cheng2020Anchor,
    Cheng2020AnchorCheckerboard,
    Cheng2020Attention,
    CompressionModel,
    Elic2022Chandelier,
    Elic2022Official,
    JointAutoregressiveHierarchicalPriors,
    MeanScaleHyperprior,
)
from compressai.models.base import get_scale_table
from compressai.models.utils import conv, deconv
from PIL import Image
from torch import nn

spec = importlib.util.spec_from_file_location("cai_export", "tools/export/compressai.py")
cai_export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cai_export)

torch.set_num_threads(1)
OUT = "tests/fixtures/learned-ctx"
FULL_OUT = "/tmp/ctx-full"
CROPS = {"astronaut-512x384": (0, 64, 512, 384), "astronaut-128x96": (200, 100, 128, 96)}
# x̂ rows stored per crop (of the crop, after cropping back): every 64th / 16th row.
XHAT_ROWS = {"astronaut-512x384": list(range(0, 384, 64)), "astronaut-128x96": list(range(0, 96, 16))}
# The Gaussian scale table of the fixture models: 32 scales, 0.11 .. 64, log-spaced
# (CompressAI's default is get_scale_table() = 64 scales, 0.11 .. 256; the smaller table keeps
# codec.json's quantised CDFs at about a seventh of the size).
SCALE_TABLE_ARGS = (0.11, 64, 32)
SCALE_TABLE = get_scale_table(*SCALE_TABLE_ARGS)
MULTIPLE = 64
SEED = 0
SRC = Image.open("datasets/samples/astronaut.png").convert("RGB")


# ----------------------------------------------------------------------------- models


class ChannelConditionalTestModel(CompressionModel):
    """A Minnen & Singh 2020 style channel-conditional model with latent residual
    prediction, built from CompressAI layers, with LIC-TCM's attribute names and compress /
    decompress structure (models/tcm.py of jmliu206/LIC_TCM, without its transformer
    blocks): g_a / g_s / h_a as mbt2018-mean; the hyper decoder split into h_mean_s and
    h_scale_s (mbt2018-mean's h_s split in two halves, N -> M/2 -> 3M/4 -> M: latent_means,
    latent_scales); uneven slices, each
    conditioned on all earlier slices; per slice cc_mean / cc_scale transforms and an LRP
    transform (0.5 * tanh) on cat(mean support, ŷ slice)."""

    def __init__(self, N=8, M=16, slices=(2, 2, 4, 8), hidden=(16, 8)):
        super().__init__()
        self.slices = list(slices)
        self.max_support_slices = -1
        self.M = M
        assert sum(self.slices) == M
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional(None)
        self.g_a = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M))
        self.g_s = nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True), deconv(N, 3))
        self.h_a = nn.Sequential(conv(M, N, stride=1, kernel_size=3), nn.LeakyReLU(inplace=True), conv(N, N, stride=2, kernel_size=5), nn.LeakyReLU(inplace=True), conv(N, N, stride=2, kernel_size=5))

        def hyper_decoder():
            # mbt2018-mean's h_s (N -> M -> 3M/2 -> 2M) split in two halves: N -> M/2 -> 3M/4 -> M.
            return nn.Sequential(deconv(N, M // 2, stride=2, kernel_size=5), nn.LeakyReLU(inplace=True), deconv(M // 2, M * 3 // 4, stride=2, kernel_size=5), nn.LeakyReLU(inplace=True), conv(M * 3 // 4, M, stride=1, kernel_size=3))

        self.h_mean_s = hyper_decoder()
        self.h_scale_s = hyper_decoder()
        a, b = hidden

        def cc(cin, cout):
            return nn.Sequential(conv(cin, a, stride=1, kernel_size=3), nn.GELU(), conv(a, b, stride=1, kernel_size=3), nn.GELU(), conv(b, cout, stride=1, kernel_size=3))

        before = [sum(self.slices[:k]) for k in range(len(self.slices))]
        self.cc_mean_transforms = nn.ModuleList(cc(M + before[k], c) for k, c in enumerate(self.slices))
        self.cc_scale_transforms = nn.ModuleList(cc(M + before[k], c) for k, c in enumerate(self.slices))
        self.lrp_transforms = nn.ModuleList(cc(M + before[k] + c, c) for k, c in enumerate(self.slices))

    def _slice_params(self, k, latent_means, latent_scales, y_hat_slices):
        support = y_hat_slices if self.max_support_slices < 0 else y_hat_slices[: self.max_support_slices]
        mean_support = torch.cat([latent_means] + support, dim=1)
        mu = self.cc_mean_transforms[k](mean_support)
        scale = self.cc_scale_transforms[k](torch.cat([latent_scales] + support, dim=1))
        return mean_support, mu, scale

    def _lrp(self, k, mean_support, y_hat_slice):
        return 0.5 * torch.tanh(self.lrp_transforms[k](torch.cat([mean_support, y_hat_slice], dim=1)))

    def compress(self, x, record=None):
        """As LIC-TCM's compress: one rANS string for all slices (CompressAI's
        BufferedRansEncoder, GaussianConditional.build_indexes / quantize). `record` (a
        list) receives (scales, means, ŷ before LRP) per slice."""
        y = self.g_a(x)
        z = self.h_a(y)
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.size()[-2:])
        latent_scales = self.h_scale_s(z_hat)
        latent_means = self.h_mean_s(z_hat)
        gc = self.gaussian_conditional
        cdf = gc.quantized_cdf.tolist()
        cdf_lengths = gc.cdf_length.reshape(-1).int().tolist()
        offsets = gc.offset.reshape(-1).int().tolist()
        encoder = BufferedRansEncoder()
        symbols_list, indexes_list, y_hat_slices = [], [], []
        for k, y_slice in enumerate(y.split(self.slices, 1)):
            mean_support, mu, scale = self._slice_params(k, latent_means, latent_scales, y_hat_slices)
            index = gc.build_indexes(scale)
            y_q_slice = gc.quantize(y_slice, "symbols", mu)
            y_hat_slice = y_q_slice + mu
            symbols_list.extend(y_q_slice.reshape(-1).tolist())
            indexes_list.extend(index.reshape(-1).tolist())
            if record is not None:
                record.append((scale, mu, y_hat_slice.clone()))
            y_hat_slice = y_hat_slice + self._lrp(k, mean_support, y_hat_slice)
            y_hat_slices.append(y_hat_slice)
        encoder.encode_with_indexes(symbols_list, indexes_list, cdf, cdf_lengths, offsets)
        y_string = encoder.flush()
        return {"strings": [[y_string], z_strings], "shape": z.size()[-2:], "y_hat": torch.cat(y_hat_slices, dim=1)}

    def decompress(self, strings, shape):
        """As LIC-TCM's decompress (CompressAI's RansDecoder and GaussianConditional)."""
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        latent_scales = self.h_scale_s(z_hat)
        latent_means = self.h_mean_s(z_hat)
        y_shape = [z_hat.shape[2] * 4, z_hat.shape[3] * 4]
        gc = self.gaussian_conditional
        cdf = gc.quantized_cdf.tolist()
        cdf_lengths = gc.cdf_length.reshape(-1).int().tolist()
        offsets = gc.offset.reshape(-1).int().tolist()
        decoder = RansDecoder()
        decoder.set_stream(strings[0][0])
        y_hat_slices = []
        for k in range(len(self.slices)):
            mean_support, mu, scale = self._slice_params(k, latent_means, latent_scales, y_hat_slices)
            index = gc.build_indexes(scale)
            rv = decoder.decode_stream(index.reshape(-1).tolist(), cdf, cdf_lengths, offsets)
            rv = torch.Tensor(rv).reshape(1, -1, y_shape[0], y_shape[1])
            y_hat_slice = gc.dequantize(rv, mu)
            y_hat_slice = y_hat_slice + self._lrp(k, mean_support, y_hat_slice)
            y_hat_slices.append(y_hat_slice)
        y_hat = torch.cat(y_hat_slices, dim=1)
        return {"x_hat": self.g_s(y_hat).clamp_(0, 1), "y_hat": y_hat}


def small_channel_context(cin, cout, hidden):
    """ELIC's channel_context structure (conv5x5, ReLU, conv5x5, ReLU, conv5x5) with hidden
    widths `hidden` (CompressAI's: 224, 128)."""
    a, b = hidden
    return nn.Sequential(conv(cin, a, kernel_size=5, stride=1), nn.ReLU(inplace=True), conv(a, b, kernel_size=5, stride=1), nn.ReLU(inplace=True), conv(b, cout, kernel_size=5, stride=1))


def small_transforms(model, n, m):
    """g_a / g_s replaced by mbt2018-mean's (MeanScaleHyperprior(n, m)'s: four 5x5
    convolutions with GDN / IGDN), created right after the model under its seed."""
    small = MeanScaleHyperprior(n, m)
    model.g_a, model.g_s = small.g_a, small.g_s
    return model


def shrink_elic(model, chandelier, n, m, cc_hidden, pa_hidden, transforms_n):
    """Smaller hidden widths for ELIC's channel context (both classes) and Chandelier's param
    aggregation; with `transforms_n`, g_a / g_s become mbt2018-mean's
    (MeanScaleHyperprior(transforms_n, m)'s, see `small_transforms`) instead of ELIC's deep
    residual-attention stacks. Created right after the model, under its seed."""
    cg = model.latent_codec["y"]
    groups = cg.groups
    for k in range(1, len(groups)):
        old = cg.channel_context[f"y{k}"]
        cg.channel_context[f"y{k}"] = small_channel_context(old[0].in_channels, old[-1].out_channels, cc_hidden)
    if chandelier:
        m2 = 2 * sum(groups)
        for k in range(len(groups)):
            cb = cg.latent_codec[f"y{k}"]
            old = cb.entropy_parameters
            assert old[2].out_channels == 512
            cb.entropy_parameters = nn.Sequential(nn.Conv2d(old[0].in_channels, m2, 1), nn.ReLU(inplace=True), nn.Conv2d(m2, pa_hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(pa_hidden, old[-1].out_channels, 1))
    if transforms_n:
        small_transforms(model, transforms_n, m)
    return model


# The latent spread (g_a's last convolution, h_a's last layer): x8, x4 for the full-size
# models (as scripts/make-learned-fixture.py); g_a x32 for the reduced-width fixture models,
# whose narrow transforms give small latents otherwise (x64 for the ELIC models: see SMALL).
G_A_GAIN, G_A_GAIN_FULL, H_A_GAIN = 32.0, 8.0, 4.0


def scale_up(g_a_last, h_a_last, full, g_a_gain=None):
    """The latent spread: the last convolution of g_a x g_a_gain (default G_A_GAIN;
    G_A_GAIN_FULL for the full-size models), the last layer of h_a x H_A_GAIN, so that y
    and z span many symbols."""
    with torch.no_grad():
        g_a_last.weight.mul_(G_A_GAIN_FULL if full else (g_a_gain or G_A_GAIN))
        h_a_last.weight.mul_(H_A_GAIN)


SCALE_GAIN, SCALE_BIAS = 8.0, 1.0


def spread_scales(last, channels):
    """Random entropy-parameter layers predict scales near 0 (nearly all at the 0.11 bound,
    table index 0, most symbols escapes). The scale outputs of their last layer
    (`channels`, a slice) get weights and bias x SCALE_GAIN and bias + SCALE_BIAS, so the
    fixture uses a spread of scale-table indexes, most symbols inside the tables and some
    escapes."""
    with torch.no_grad():
        last.weight[channels].mul_(SCALE_GAIN)
        last.bias[channels].mul_(SCALE_GAIN).add_(SCALE_BIAS)


# Calibrated scale spread of the (reduced-width) fixture models: see `calibrate_scales`.
CAL_GAIN = 32.0
CAL_TARGETS = (0.1, 16.0)


def scale_layers(model, name):
    """The last entropy-parameter layers of a fixture model and the slice of their output
    channels that are scales (in the codec's chunk order)."""
    if name in ("mbt2018", "cheng2020-anchor", "cheng2020-attn"):
        last = model.entropy_parameters[-1]
        return [(last, slice(0, last.out_channels // 2))]
    if name == "cheng2020-anchor-checkerboard":
        last = model.latent_codec["y"].entropy_parameters[-1]
        return [(last, slice(0, last.out_channels // 2))]
    if name in ("elic2022-official", "elic2022-chandelier"):
        cg = model.latent_codec["y"]
        # Chandelier chunks (means, scales): its scales are the second half.
        return [(cg.latent_codec[f"y{k}"].entropy_parameters[-1], slice(c_k, 2 * c_k) if name == "elic2022-chandelier" else slice(0, c_k)) for k, c_k in enumerate(cg.groups)]
    if name == "channel-conditional":
        return [(t[-1], slice(None)) for t in model.cc_scale_transforms]
    raise ValueError(name)


def calibrate_scales(model, name):
    """The scale-spread trick, calibrated for the reduced-width models (whose random layers
    predict nearly the same scale at every position: a few table indexes only). One
    CompressAI `compress` of the 512x384 crop records each scale output channel c of the
    last entropy-parameter layers (forward hooks; c counts the model's scale channels in
    coding order, K in all) and its mean mu_c over the coded positions; then that channel's
    weights are multiplied by CAL_GAIN and its bias becomes CAL_GAIN * (bias - mu_c) + t_c,
    so that the scale is t_c + CAL_GAIN * (its deviation from mu_c), with t_c log-spaced
    from CAL_TARGETS[0] to CAL_TARGETS[1] over the K channels. Channels with small targets
    are often lower-bounded to 0.11 (table index 0) and escape their large residuals."""
    layers = scale_layers(model, name)
    sums = [None] * len(layers)
    counts = [0] * len(layers)

    def hook(i, channels):
        def record(mod, inp, out):
            o = out[:, channels].detach().double()
            s = o.sum(dim=(0, 2, 3))
            sums[i] = s if sums[i] is None else sums[i] + s
            counts[i] += o.shape[0] * o.shape[2] * o.shape[3]

        return record

    handles = [layer.register_forward_hook(hook(i, ch)) for i, (layer, ch) in enumerate(layers)]
    x0, y0, w, h = CROPS["astronaut-512x384"]
    x, _ = pad(image_tensor(SRC.crop((x0, y0, x0 + w, y0 + h))), MULTIPLE)
    model.eval()
    model.update(scale_table=SCALE_TABLE, force=True)
    try:
        with torch.no_grad():
            model.compress(x)
    finally:
        for hd in handles:
            hd.remove()
    k_all = sum(len(s) for s in sums)
    targets = torch.exp(torch.linspace(math.log(CAL_TARGETS[0]), math.log(CAL_TARGETS[1]), k_all)).double()
    start = 0
    with torch.no_grad():
        for (layer, ch), s, n in zip(layers, sums, counts):
            mu = s / n
            t = targets[start : start + len(mu)]
            start += len(mu)
            idx = torch.arange(layer.out_channels)[ch]
            layer.weight[idx] *= CAL_GAIN
            layer.bias[idx] = (CAL_GAIN * (layer.bias[idx].double() - mu) + t).float()
    return model


def fold_mask(model):
    with torch.no_grad():
        model.context_prediction.weight.mul_(model.context_prediction.mask)


# Widths of the committed fixture models (kept small so the graphs stay small).
SMALL = {
    "mbt2018": {"N": 3, "M": 4},
    "cheng2020-anchor": {"N": 3},
    "cheng2020-attn": {"N": 2},
    "cheng2020-anchor-checkerboard": {"N": 3, "transforms_N": 2},
    # g_a_gain 64: ELIC codes y in ten strings, each with a few bytes of rANS flush; the larger
    # latents keep the 512x384 payload (about 9 kB) large enough for a 1 % byte comparison.
    "elic2022": {"N": 2, "M": 8, "groups": [1, 1, 2, 2, 2], "cc_hidden": (2, 2), "pa_hidden": 4, "transforms_N": 2, "g_a_gain": 64.0},
    "channel-conditional": {"N": 2, "M": 6, "slices": [1, 1, 2, 2], "hidden": (2, 2)},
}


def build(name, full=False):
    """(model, family, description) for a fixture name; full=True gives the full widths
    (with the fixed scale spread `spread_scales`; the fixture models get
    `calibrate_scales`)."""
    model, family, desc = build_model(name, full)
    if not full:
        calibrate_scales(model, name)
    return model, family, desc


def build_model(name, full):
    torch.manual_seed(SEED)
    if name == "mbt2018":
        n, m = (192, 192) if full else (SMALL[name]["N"], SMALL[name]["M"])
        model = JointAutoregressiveHierarchicalPriors(n, m)
        fold_mask(model)
        if full:
            spread_scales(model.entropy_parameters[-1], slice(0, m))
        scale_up(model.g_a[-1], model.h_a[-1], full)
        return model, "autoregressive", f"JointAutoregressiveHierarchicalPriors(N={n}, M={m})"
    if name in ("cheng2020-anchor", "cheng2020-attn"):
        n = 128 if full else SMALL[name]["N"]
        cls = Cheng2020Anchor if name == "cheng2020-anchor" else Cheng2020Attention
        model = cls(n)
        fold_mask(model)
        if full:
            spread_scales(model.entropy_parameters[-1], slice(0, n))
        # cheng2020-attn's g_a ends with an AttentionBlock: scale the convolution before it.
        scale_up(model.g_a[-1] if name == "cheng2020-anchor" else model.g_a[-2], model.h_a[-1], full)
        return model, "autoregressive", f"{cls.__name__}(N={n})"
    if name == "cheng2020-anchor-checkerboard":
        n = 128 if full else SMALL[name]["N"]
        model = Cheng2020AnchorCheckerboard(n)
        desc = f"Cheng2020AnchorCheckerboard(N={n})"
        tn = None if full else SMALL[name]["transforms_N"]
        if tn:
            small_transforms(model, tn, n)
            desc += f", g_a/g_s replaced by MeanScaleHyperprior(N={tn}, M={n})'s"
        if full:
            spread_scales(model.latent_codec["y"].entropy_parameters[-1], slice(0, n))
        scale_up(model.g_a[-1], model.latent_codec["hyper"].h_a[-1], full)
        return model, "checkerboard", desc
    if name in ("elic2022-official", "elic2022-chandelier"):
        cls = Elic2022Official if name == "elic2022-official" else Elic2022Chandelier
        chandelier = name == "elic2022-chandelier"
        if full:
            model = cls(192, 320)
            desc = f"{cls.__name__}(N=192, M=320) (CompressAI's widths)"
        else:
            cfg = SMALL["elic2022"]
            n, m = cfg["N"], cfg["M"]
            model = shrink_elic(cls(n, m, groups=cfg["groups"]), chandelier, n, m, cfg["cc_hidden"], cfg["pa_hidden"], cfg["transforms_N"])
            desc = f"{cls.__name__}(N={n}, M={m}, groups={cfg['groups']}), channel_context hidden 224/128 -> {cfg['cc_hidden'][0]}/{cfg['cc_hidden'][1]}"
            if chandelier:
                desc += f", param_aggregation 512 -> {cfg['pa_hidden']}"
            if cfg["transforms_N"]:
                desc += f", g_a/g_s replaced by MeanScaleHyperprior(N={cfg['transforms_N']}, M={m})'s"
        if full:
            for layer, channels in scale_layers(model, name):
                spread_scales(layer, channels)
        # ELIC's g_a ends with AttentionBlock(M): scale the convolution before it (the
        # mbt2018-mean replacement ends with a convolution).
        g_a_last = model.g_a[-1] if isinstance(model.g_a[-1], nn.Conv2d) else model.g_a[-2]
        scale_up(g_a_last, model.latent_codec["hyper"].h_a[-1], full, SMALL["elic2022"]["g_a_gain"])
        return model, "checkerboard", desc
    if name == "channel-conditional":
        cfg = SMALL[name]
        model = ChannelConditionalTestModel(cfg["N"], cfg["M"], tuple(cfg["slices"]), tuple(cfg["hidden"]))
        if full:
            for t in model.cc_scale_transforms:
                spread_scales(t[-1], slice(None))
        scale_up(model.g_a[-1], model.h_a[-1], full)
        return model, "channel-conditional", f"ChannelConditionalTestModel(N={cfg['N']}, M={cfg['M']}, slices={cfg['slices']}, cc/lrp hidden {cfg['hidden'][0]}/{cfg['hidden'][1]}, LRP)"
    raise ValueError(name)


NAMES = ["mbt2018", "cheng2020-anchor", "cheng2020-attn", "cheng2020-anchor-checkerboard", "elic2022-official", "elic2022-chandelier", "channel-conditional"]
FULL_NAMES = ["mbt2018", "cheng2020-anchor", "cheng2020-anchor-checkerboard", "elic2022-official"]
STRING_LAYOUT = {
    "autoregressive": "[y, z]",
    "checkerboard": "per group k: [anchor, non-anchor], then z",
    "channel-conditional": "[y (all slices, one rANS stream), z]",
}


# ------------------------------------------------------------------- the CompressAI path


CODED = {}  # statistics of the last compress path: scale-table indexes used, escaped symbols


def y_bits(gc, records):
    """-log2 of CompressAI's Gaussian likelihoods of the coded ŷ, scales, means (and, in
    CODED, which scale-table indexes were used and how many symbols fell outside their
    table, i.e. were escaped by CompressAI's rANS interface)."""
    bits = 0.0
    for scales, means, y_hat in records:
        lik = gc._likelihood(y_hat, scales, means)
        if gc.use_likelihood_bound:
            lik = gc.likelihood_lower_bound(lik)
        bits += float((-torch.log2(lik)).sum())
        idx = gc.build_indexes(scales).long()
        value = torch.round(y_hat - means).long() - gc.offset[idx].long()
        escaped = (value < 0) | (value >= gc.cdf_length[idx].long() - 2)
        CODED.setdefault("indexes", set()).update(idx.unique().tolist())
        CODED["escaped"] = CODED.get("escaped", 0) + int(escaped.sum())
    return bits


def z_bits(eb, z):
    _, lik = eb(z, training=False)
    return float((-torch.log2(lik)).sum())


def ar_compress(model, x):
    """JointAutoregressiveHierarchicalPriors.compress, step by step, calling CompressAI's own
    `_compress_ar` on a padded y tensor kept here (its final state is ŷ) with a hook on
    entropy_parameters recording each position's Gaussian parameters."""
    y = model.g_a(x)
    z = model.h_a(y)
    eb = model.entropy_bottleneck
    z_strings = eb.compress(z)
    z_hat = eb.decompress(z_strings, z.size()[-2:])
    params = model.h_s(z_hat)
    s, kernel_size, padding = 4, 5, 2
    height, width = z_hat.size(2) * s, z_hat.size(3) * s
    y_hat = F.pad(y, (padding, padding, padding, padding))
    rec = []
    hook = model.entropy_parameters.register_forward_hook(lambda mod, inp, out: rec.append(out.detach().clone()))
    try:
        string = model._compress_ar(y_hat, params, height, width, kernel_size, padding)
    finally:
        hook.remove()
    gp = torch.cat(rec, 0).reshape(height, width, -1).permute(2, 0, 1).unsqueeze(0)
    scales, means = gp.chunk(2, 1)
    y_hat = y_hat[:, :, padding:-padding, padding:-padding].contiguous()
    enc = {"strings": [[string], z_strings], "shape": z.size()[-2:]}
    CODED["scales"] = scales
    return enc, y_hat, y_bits(model.gaussian_conditional, [(scales, means, y_hat)]), z_bits(eb, z)


def ar_decompress(model, strings, shape):
    """JointAutoregressiveHierarchicalPriors.decompress step by step (CompressAI's own
    `_decompress_ar`), also returning ŷ."""
    z_hat = model.entropy_bottleneck.decompress(strings[1], shape)
    params = model.h_s(z_hat)
    s, kernel_size, padding = 4, 5, 2
    height, width = z_hat.size(2) * s, z_hat.size(3) * s
    y_hat = torch.zeros((1, model.M, height + 2 * padding, width + 2 * padding))
    model._decompress_ar(strings[0][0], y_hat, params, height, width, kernel_size, padding)
    y_hat = F.pad(y_hat, (-padding, -padding, -padding, -padding))
    return {"x_hat": model.g_s(y_hat).clamp_(0, 1), "y_hat": y_hat}


def gc_latent_codecs(model):
    from compressai.latent_codecs import GaussianConditionalLatentCodec

    return [m for m in model.modules() if isinstance(m, GaussianConditionalLatentCodec)]


def cb_compress(model, x):
    """model.compress, with each GaussianConditionalLatentCodec.compress wrapped to record
    the scales / means it used and the ŷ it returned."""
    rec = []
    wrapped = []
    for lc in gc_latent_codecs(model):
        orig = lc.compress

        def rec_compress(y, ctx_params, lc=lc, orig=orig):
            out = orig(y, ctx_params)
            scales, means = lc._chunk(lc.entropy_parameters(ctx_params))
            rec.append((lc.gaussian_conditional, scales, means, out["y_hat"]))
            return out

        lc.compress = rec_compress
        wrapped.append(lc)
    try:
        enc = model.compress(x)
    finally:
        for lc in wrapped:
            del lc.compress
    yb = sum(y_bits(gc, [(s, m, yh)]) for gc, s, m, yh in rec)
    # the scales of each group's anchor / non-anchor pass (half-width), back in place
    ylc = model.latent_codec["y"]
    cbs = [ylc] if not hasattr(ylc, "groups") else [ylc.latent_codec[f"y{k}"] for k in range(len(ylc.groups))]
    assert len(rec) == 2 * len(cbs)
    CODED["scales"] = torch.cat([cb.embed(torch.stack([rec[2 * k][1], rec[2 * k + 1][1]])) for k, cb in enumerate(cbs)], dim=1)
    z = model.latent_codec["hyper"].h_a(model.g_a(x))
    return enc, enc["y_hat"], yb, z_bits(model.latent_codec["hyper"].entropy_bottleneck, z)


def cb_decompress(model, strings, shape):
    y_hat = model.latent_codec.decompress(strings, shape)["y_hat"]
    x_hat = model.g_s(y_hat).clamp_(0, 1)
    assert torch.equal(x_hat, model.decompress(strings, shape)["x_hat"])
    return {"x_hat": x_hat, "y_hat": y_hat}


def cc_compress(model, x):
    rec = []
    enc = model.compress(x, record=rec)
    CODED["scales"] = torch.cat([r[0] for r in rec], dim=1)
    z = model.h_a(model.g_a(x))
    return enc, enc["y_hat"], y_bits(model.gaussian_conditional, rec), z_bits(model.entropy_bottleneck, z)


PATHS = {
    "autoregressive": (ar_compress, ar_decompress),
    "checkerboard": (cb_compress, cb_decompress),
    "channel-conditional": (cc_compress, lambda model, strings, shape: model.decompress(strings, shape)),
}


def plain_compress(model, family):
    """What a user calls: CompressAI's compress / decompress (the channel-conditional test
    model's own LIC-TCM-style ones for that family)."""
    return model.compress, model.decompress


# ---------------------------------------------------------- the graphs, icmbench's order


def sessions(out_dir, manifest):
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    return {role: onnxruntime.InferenceSession(os.path.join(out_dir, f), opts, providers=["CPUExecutionProvider"]) for role, f in manifest["graphs"].items()}


def walk_graphs(out_dir, manifest, x):
    """Codes x as the contract says icmbench does, with the exported graphs (onnxruntime):
    returns the symbols, ŷ (symbols are round-half-even(y - mean)) and the graphs' scales."""
    s = sessions(out_dir, manifest)
    run = lambda role, **feeds: s[role].run(None, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()})  # noqa: E731
    (y,) = run("g_a", x=x.numpy())
    (z,) = run("h_a", y=y)
    med = np.asarray(manifest["entropy_bottleneck"]["medians"], np.float32).reshape(1, -1, 1, 1)
    z_hat = np.round(z - med) + med
    hyper = dict(zip(manifest["hyper_outputs"], run("h_s", z_hat=z_hat)))
    y = y[0]
    m, h, w = y.shape
    ctx = manifest["context"]
    family = manifest["family"]
    sym = np.zeros_like(y)
    y_hat = np.zeros_like(y)
    scl = np.zeros_like(y)
    if family == "autoregressive":
        k = ctx["kernel_size"]
        p = k // 2
        pad = np.zeros((m, h + 2 * p, w + 2 * p), np.float32)
        for r in range(h):
            for c in range(w):
                feeds = {"y_crop": pad[None, :, r : r + k, c : c + k]}
                feeds.update({n: v[:, :, r : r + 1, c : c + 1] for n, v in hyper.items()})
                scales, means = run("context", **feeds)
                scl[:, r, c] = scales[0, :, 0, 0]
                q = np.round(y[:, r, c] - means[0, :, 0, 0])
                sym[:, r, c] = q
                y_hat[:, r, c] = q + means[0, :, 0, 0]
                pad[:, r + p, c + p] = y_hat[:, r, c]
    else:
        anchor = (np.add.outer(np.arange(h), np.arange(w)) % 2 == 0)[None]
        start = 0
        finals = []
        for k, g in enumerate(ctx["groups"]):
            c_k = g["channels"]
            feeds = dict(hyper)
            if g["support"]:
                feeds["support"] = np.concatenate([finals[j] for j in g["support"]], axis=0)[None]
            ys = y[start : start + c_k]
            if family == "checkerboard":
                scales_a, means_a = run(f"group{k}_anchor", **feeds)
                q_a = np.where(anchor, np.round(ys - means_a[0]), 0)
                yh_a = np.where(anchor, q_a + means_a[0], 0).astype(np.float32)
                scales_n, means_n = run(f"group{k}_non_anchor", **feeds, y_hat_anchor=yh_a[None])
                scl[start : start + c_k] = np.where(anchor, scales_a[0], scales_n[0])
                q = np.where(anchor, q_a, np.round(ys - means_n[0]))
                yh = np.where(anchor, yh_a, q + means_n[0]).astype(np.float32)
                final = yh
            else:
                scales, means = run(f"group{k}_params", **feeds)
                scl[start : start + c_k] = scales[0]
                q = np.round(ys - means[0])
                yh = (q + means[0]).astype(np.float32)
                final = yh
                if g["lrp"]:
                    (lrp,) = run(f"group{k}_lrp", **feeds, y_hat_slice=yh[None])
                    final = yh + lrp[0]
            sym[start : start + c_k] = q
            y_hat[start : start + c_k] = final
            finals.append(final)
            start += c_k
    return sym, y_hat, scl


# -------------------------------------------------------------------------------- main


def image_tensor(img):
    return torch.from_numpy(np.asarray(img).astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


def pad(x, p):
    h, w = x.size(2), x.size(3)
    nh, nw = (h + p - 1) // p * p, (w + p - 1) // p * p
    left, top = (nw - w) // 2, (nh - h) // 2
    return F.pad(x, (left, nw - w - left, top, nh - h - top), mode="constant", value=0), (left, top)


def timing_image():
    """768x512: astronaut with columns 512..767 mirroring columns 511..256."""
    a = np.asarray(SRC)
    return image_tensor(np.concatenate([a, a[:, ::-1][:, :256]], axis=1))


def time_model(model, family, x, runs=3):
    compress, decompress = plain_compress(model, family)
    tc, td = [], []
    with torch.no_grad():
        for _ in range(runs):
            t0 = time.perf_counter()
            enc = compress(x)
            t1 = time.perf_counter()
            decompress(enc["strings"], enc["shape"])
            t2 = time.perf_counter()
            tc.append(t1 - t0)
            td.append(t2 - t1)
    return {"compress_s": statistics.median(tc), "decompress_s": statistics.median(td), "runs": runs}


def reference_for(name, model, family, out_dir, manifest):
    compress_path, decompress_path = PATHS[family]
    rows = {}
    for crop_name, (x0, y0, w, h) in CROPS.items():
        img = SRC.crop((x0, y0, x0 + w, y0 + h))
        x = image_tensor(img)
        xp, (left, top) = pad(x, MULTIPLE)
        with torch.no_grad():
            CODED.clear()
            enc, y_hat_c, bits_y, bits_z = compress_path(model, xp)
            scales_c = CODED["scales"]
            coded = {"scale_indexes_used": len(CODED["indexes"]), "escaped_symbols": CODED["escaped"]}
            if family == "autoregressive":
                assert enc["strings"] == model.compress(xp)["strings"], "replicated compress differs from model.compress"
            dec = decompress_path(model, enc["strings"], enc["shape"])
        y_hat_d = dec["y_hat"]
        assert torch.equal(y_hat_c, y_hat_d), f"{name}: decompress(compress(x)) ŷ differs from the compress path's (max {float((y_hat_c - y_hat_d).abs().max())})"
        x_hat = dec["x_hat"][0, :, top : top + h, left : left + w].permute(1, 2, 0).contiguous().numpy().astype("<f4")
        if crop_name == "astronaut-512x384":
            y_hat_d[0].contiguous().numpy().astype("<f4").tofile(os.path.join(out_dir, f"{crop_name}.yhat.f32"))
        np.ascontiguousarray(x_hat[XHAT_ROWS[crop_name]]).tofile(os.path.join(out_dir, f"{crop_name}.xhat-rows.f32"))
        stale = os.path.join(out_dir, f"{crop_name}.xhat.f32")  # the whole x̂ of earlier versions
        if os.path.exists(stale):
            os.remove(stale)
        # symbols of the compress path, to compare with the graph walk
        sym_ref = None
        if crop_name == "astronaut-512x384":
            sym, y_hat_g, scales_g = walk_graphs(out_dir, manifest, xp)
            y_np = y_hat_c[0].numpy()
            d = np.abs(y_hat_g - y_np)
            gcs = [m for m in model.modules() if isinstance(m, GaussianConditional)]
            idx_c = gcs[0].build_indexes(scales_c)[0]
            idx_g = gcs[0].build_indexes(torch.from_numpy(scales_g))
            sym_ref = {"max_abs_yhat_diff": float(d.max()), "symbols_differing": int((d > 0.5).sum()), "scale_indexes_differing": int((idx_c != idx_g).sum())}
            print(f"  {name} {crop_name}: graph walk vs CompressAI: ŷ max |diff| {sym_ref['max_abs_yhat_diff']:.3g}, symbols differing {sym_ref['symbols_differing']}, scale-table indexes differing {sym_ref['scale_indexes_differing']}")
        symbols = y_hat_c.numel()
        row = {
            "padded": [xp.size(3), xp.size(2)],
            "string_bytes": [sum(len(s) for s in strings) for strings in enc["strings"]],
            "estimated_bits": bits_y + bits_z,
            "estimated_bits_y": bits_y,
            "estimated_bits_z": bits_z,
            "y_symbols": symbols,
            **coded,
            "xhat_psnr_vs_source": float(10 * np.log10(1.0 / np.mean((x_hat - np.asarray(img, np.float32) / 255.0) ** 2))),
        }
        if sym_ref is not None:
            row["graph_walk"] = sym_ref
        rows[crop_name] = row
        print(f"  {name} {crop_name}: bytes {row['string_bytes']} (total {sum(row['string_bytes'])}), estimated bits {row['estimated_bits']:.1f} (y {bits_y:.1f}, z {bits_z:.1f})")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full-size", action="store_true", help="also time (and export to /tmp/ctx-full) full-width models")
    ap.add_argument("--only-full-size", action="store_true", help="skip the fixtures; update timings_full_size in reference.json")
    ap.add_argument("--no-timings", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    ref_path = os.path.join(OUT, "reference.json")
    previous = {}
    if os.path.exists(ref_path):
        with open(ref_path) as fh:
            previous = json.load(fh)
    if args.only_full_size:
        summary = previous
    else:
        summary = {
            "_about": "CompressAI's own compress / decompress of the learned-ctx fixture models (see README.md and scripts/make-learned-ctx-fixture.py)",
            "command": "/tmp/venv-cai/bin/python scripts/make-learned-ctx-fixture.py",
            "torch": torch.__version__,
            "compressai": compressai.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": sys.version.split()[0],
            "seed": SEED,
            "crops": {k: list(v) for k, v in CROPS.items()},
            "size_multiple": MULTIPLE,
            "xhat_rows": XHAT_ROWS,
            "scale_table": f"compressai.models.base.get_scale_table{SCALE_TABLE_ARGS} (min, max, levels) for every fixture model; timings_full_size models keep CompressAI's default get_scale_table() (0.11, 256, 64)",
            "codecs": {},
            "graph_check": {},
            "timings_about": "CompressAI compress / decompress wall seconds, torch.set_num_threads(1), torch.no_grad, median of 3, 768x512 (astronaut, columns 512..767 mirror columns 511..256), on the machine that ran the script (1-minute load average after each model in timings_load_average; the channel-conditional model's compress / decompress are the script's LIC-TCM-style Python code)",
            "timings": {},
            "timings_load_average": {},
        }
        if args.no_timings:
            # keep the timings of an earlier run (they are machine measurements, not fixture data)
            for key in ("timings_about", "timings", "timings_load_average"):
                if key in previous:
                    summary[key] = previous[key]
        if not args.full_size:
            for key in ("timings_full_size_about", "timings_full_size", "timings_full_size_load_average"):
                if key in previous:
                    summary[key] = previous[key]
        timing_x = timing_image()
        for name in NAMES:
            model, family, desc = build(name)
            model.eval()
            out_dir = os.path.join(OUT, name)
            label = f"{name}: {desc}, torch seed {SEED}, random initialisation (a test fixture, not a trained model)"
            print(name, "-", desc)
            report = {}
            manifest = cai_export.export_v2(model, family, out_dir, label, 1, report=report, scale_table=SCALE_TABLE, short_names=True)
            summary["graph_check"][name] = report
            rows = reference_for(name, model, family, out_dir, manifest)
            summary["codecs"][name] = {"family": family, "model": desc, "string_layout": STRING_LAYOUT[family], "crops": rows}
            if not args.no_timings:
                summary["timings"][name] = time_model(model, family, timing_x)
                summary.setdefault("timings_load_average", {})[name] = round(os.getloadavg()[0], 2)
                print(f"  {name} timings 768x512: {summary['timings'][name]}")
            with open(ref_path, "w") as fh:
                json.dump(summary, fh, indent=1)
                fh.write("\n")
    if args.full_size or args.only_full_size:
        timing_x = timing_image()
        summary["timings_full_size"] = {}
        summary["timings_full_size_load_average"] = {}
        summary["timings_full_size_about"] = f"as `timings`, full-width random-init models (seed {SEED}, same last-layer scaling), exported to {FULL_OUT}/<name>/ (not committed)"
        for name in FULL_NAMES:
            model, family, desc = build(name, full=True)
            model.eval()
            print(name, "(full size) -", desc)
            label = f"{name}: {desc}, torch seed {SEED}, random initialisation (not a trained model)"
            cai_export.export_v2(model, family, os.path.join(FULL_OUT, name), label, 1)
            t0 = time.perf_counter()
            with torch.no_grad():
                compress, decompress = plain_compress(model, family)
                enc = compress(timing_x)
                decompress(enc["strings"], enc["shape"])
            once = time.perf_counter() - t0
            if once > 180:
                summary["timings_full_size"][name] = {"skipped": f"one compress + decompress took {once:.0f} s (> 3 min)"}
            else:
                summary["timings_full_size"][name] = time_model(model, family, timing_x)
                summary.setdefault("timings_full_size_load_average", {})[name] = round(os.getloadavg()[0], 2)
                summary["timings_full_size"][name]["model"] = desc
            print(f"  {name} full-size timings 768x512: {summary['timings_full_size'][name]}")
            with open(ref_path, "w") as fh:
                json.dump(summary, fh, indent=1)
                fh.write("\n")


if __name__ == "__main__":
    main()
