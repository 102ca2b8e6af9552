"""Exports a CompressAI model into icmbench's learned-codec contract: one folder per
quality point holding `codec.json` (family, entropy-model tables, likelihood parameters,
size multiple, label) and the ONNX graphs of its transforms.

    python3 -m venv ~/cai && ~/cai/bin/pip install torch compressai onnx
    # a pretrained zoo model (needs internet for the weights):
    ~/cai/bin/python tools/export/compressai.py bmshj2018-hyperprior OUT/q3 --quality 3 --pretrained
    # a randomly initialised one (no download; reduced widths N, M):
    ~/cai/bin/python tools/export/compressai.py mbt2018-mean OUT/seed0 --seed 0 --N 16 --M 24

Version 1 families: bmshj2018-factorized (`factorized`: g_a, g_s; EntropyBottleneck on
y), bmshj2018-hyperprior (`scale-hyperprior`: + h_a on |y|, h_s -> scales; EntropyBottleneck
on z, GaussianConditional on y), mbt2018-mean (`mean-scale-hyperprior`: h_a on y, h_s ->
scales and means).

Version 2 (context models; codec.json "version": 2, see `export_v2`):
- `autoregressive`: mbt2018 (JointAutoregressiveHierarchicalPriors), cheng2020-anchor,
  cheng2020-attn. h_s -> `params`; graph `context`: `y_crop` [1,M,5,5] + `params`
  [1,2M,1,1] -> `scales`, `means` [1,M,1,1] (masked convolution with the mask folded into the
  weights, then entropy_parameters, as CompressAI's `_compress_ar`).
- `checkerboard`: cheng2020-anchor-checkerboard (Cheng2020AnchorCheckerboard),
  elic2022-official, elic2022-chandelier. Graphs `group{k}_anchor` (hyper outputs [+
  `support`] -> `scales`, `means`; spatial context zeroed) and `group{k}_non_anchor` (the
  same + `y_hat_anchor`). The `support` of each group is read from the latent codec's own
  `merge_y` (so Chandelier's first-and-latest-group patch is honoured).
- `channel-conditional` (Minnen & Singh 2020 with latent residual prediction, LIC-TCM
  style; no CompressAI class: `export_v2` takes any module with TCM's attribute names):
  graphs `group{k}_params` and `group{k}_lrp`.
Zoo weights exist for mbt2018, cheng2020-anchor and cheng2020-attn (--pretrained
--quality Q); every model can be randomly initialised (--seed S [--N n] [--M m]
[--groups 16,16,32,64,192 for ELIC]).

    ~/cai/bin/python tools/export/compressai.py mbt2018 OUT/q3 --quality 3 --pretrained
    ~/cai/bin/python tools/export/compressai.py elic2022-official OUT/s0 --seed 0 --N 192 --M 320

Each exported graph is checked against torch with onnxruntime on random inputs when
onnxruntime is installed (the maximum absolute difference is printed).

The graphs: g_a `x` [1,3,H,W] in [0,1] -> `y`; g_s `y_hat` -> `x_hat` (not clamped);
h_a `y` -> `z`; h_s `z_hat` -> `scales` [, `means`]. H and W are dynamic (multiples of
the size multiple). GDN layers are exported with their reparametrised beta and gamma
frozen. The entropy tables are those of `model.update(force=True)` (CompressAI's 16-bit
quantised CDFs, offsets, lengths; EntropyBottleneck medians and its density-model
parameters for the likelihoods; GaussianConditional's scale table and bounds).
The module also exposes `export(model, family, out_dir, label, quality, extra)` (version 1,
used by tools/train/train_demo_codec.py and scripts/make-learned-fixture.py) and
`export_v2(model, family, out_dir, label, quality, extra)` (version 2, used by
scripts/make-learned-ctx-fixture.py).
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
# Version 2: name -> (family, CompressAI class name, default N, default M).
V2_MODELS = {
    "mbt2018": ("autoregressive", "JointAutoregressiveHierarchicalPriors", 192, 192),
    "cheng2020-anchor": ("autoregressive", "Cheng2020Anchor", 128, None),
    "cheng2020-attn": ("autoregressive", "Cheng2020Attention", 128, None),
    "cheng2020-anchor-checkerboard": ("checkerboard", "Cheng2020AnchorCheckerboard", 192, None),
    "elic2022-official": ("checkerboard", "Elic2022Official", 192, 320),
    "elic2022-chandelier": ("checkerboard", "Elic2022Chandelier", 192, 320),
}


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
    manifest = manifest_head(1, family, label, quality, multiple)
    manifest.update({"graphs": graphs, "entropy_bottleneck": entropy_bottleneck_tables(model.entropy_bottleneck)})
    if hyper:
        manifest["gaussian_conditional"] = gaussian_conditional_tables(model.gaussian_conditional)
    return write_manifest(out_dir, manifest, extra)


def manifest_head(version, family, label, quality, multiple):
    """The fields every codec.json starts with, in their order."""
    return {
        "format": "icmbench-learned-codec",
        "version": version,
        "family": family,
        "label": label,
        "quality": quality,
        "size_multiple": multiple,
        "input": "RGB float32 NCHW in [0, 1] (8-bit / 255)",
        "precision": 16,
    }


def write_manifest(out_dir, manifest, extra=None):
    """Adds `extra` and writes `out_dir/codec.json` (compact JSON); returns the manifest."""
    manifest.update(extra or {})
    with open(os.path.join(out_dir, "codec.json"), "w") as fh:
        json.dump(manifest, fh, separators=(",", ":"))
        fh.write("\n")
    return manifest


# ---------------------------------------------------------------------------------------
# Version 2: context models (autoregressive, checkerboard, channel-conditional).


def to_onnx_multi(module, examples, path, inputs, outputs):
    """Like `to_onnx`, with several inputs; every input and output has dynamic H and W."""
    axes = {n: {2: "h", 3: "w"} for n in list(inputs) + list(outputs)}
    torch.onnx.export(module, tuple(examples), path, input_names=list(inputs), output_names=list(outputs), dynamic_axes=axes, opset_version=17, dynamo=False)
    restore_unused_inputs(path, inputs, examples)


def restore_unused_inputs(path, inputs, examples):
    """torch.onnx.export drops inputs the graph does not read (an LRP graph does not read
    `latent_scales`); the contract names them all, so they are put back, in order, as
    (unused) float inputs [1, C, h, w]."""
    import onnx

    model = onnx.load(path)
    present = {i.name: i for i in model.graph.input}
    if all(n in present for n in inputs):
        return
    ordered = []
    for name, ex in zip(inputs, examples):
        if name in present:
            ordered.append(present[name])
        else:
            shape = [1, int(ex.shape[1])] + (["h", "w"] if ex.dim() == 4 else [int(d) for d in ex.shape[2:]])
            ordered.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape))
    ordered += [i for i in model.graph.input if i.name not in inputs]
    del model.graph.input[:]
    model.graph.input.extend(ordered)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def compact_names(path):
    """Renames a graph's initializers and intermediate values to short names (t0, t1, ...)
    and clears node names, keeping the graph's input and output names: the same graph
    (same nodes, order, weights), fewer bytes (torch's names such as
    `/g_s/g_s.0/conv_a/conv_a.0/relu/Relu_output_0` are a third of a small graph)."""
    import onnx

    model = onnx.load(path)
    g = model.graph
    keep = {v.name for v in list(g.input) + list(g.output)}
    names = {}

    def short(name):
        if name == "" or name in keep:
            return name
        if name not in names:
            names[name] = f"t{len(names)}"
        return names[name]

    for t in g.initializer:
        t.name = short(t.name)
    for node in g.node:
        node.name = ""
        node.input[:] = [short(i) for i in node.input]
        node.output[:] = [short(o) for o in node.output]
    for v in g.value_info:
        v.name = short(v.name)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _masked_weight(conv):
    """A CompressAI MaskedConv2d / CheckerboardMaskedConv2d's weight with its mask folded in."""
    return (conv.weight * conv.mask).detach().clone()


def _zeros(like, channels):
    """Zeros [1, channels, h, w] shaped like `like` (traced with dynamic h, w)."""
    return torch.zeros_like(like[:, :1]).repeat(1, channels, 1, 1)


class HyperSynthesisV2(nn.Module):
    """h_s (or several hyper decoders) -> the outputs named in `hyper_outputs`."""

    def __init__(self, decoders):
        super().__init__()
        self.decoders = nn.ModuleList(decoders)

    def forward(self, z_hat):
        outs = tuple(d(z_hat) for d in self.decoders)
        return outs if len(outs) > 1 else outs[0]


class AutoregressiveContext(nn.Module):
    """One position of CompressAI's `_compress_ar`: the K x K window of y_hat through the
    masked convolution (mask folded into the weights, bias kept, no padding), concatenated
    after h_s's `params` at that position, through entropy_parameters; chunk -> scales,
    means."""

    def __init__(self, model):
        super().__init__()
        cp = model.context_prediction
        self.register_buffer("weight", _masked_weight(cp))
        self.register_buffer("bias", cp.bias.detach().clone())
        self.entropy_parameters = model.entropy_parameters

    def forward(self, y_crop, params):
        ctx_p = F.conv2d(y_crop, self.weight, bias=self.bias)
        gaussian_params = self.entropy_parameters(torch.cat((params, ctx_p), dim=1))
        scales, means = gaussian_params.chunk(2, 1)
        return scales, means


class CheckerboardGroup(nn.Module):
    """One channel group of a checkerboard latent codec, anchor or non-anchor pass.

    Inputs: params (h_s output), [support (earlier groups' y_hat, as merge_y concatenates
    them)], [y_hat_anchor (non-anchor pass)]. What CompressAI's CheckerboardLatentCodec
    .compress computes (on the full-resolution map; icmbench keeps the positions of the
    pass): spatial ctx = zeros (anchors) or the checkerboard-masked conv of the anchors'
    y_hat; side = cat(channel_context(support), params) (ChannelGroupsLatentCodec
    .merge_params) or params; entropy_parameters(cat(ctx, side)); the Gaussian latent codec's
    own entropy_parameters (Identity in CompressAI's models); chunk in its `chunks` order."""

    def __init__(self, cb, channel_context, non_anchor):
        super().__init__()
        cp = cb.context_prediction
        self.register_buffer("weight", _masked_weight(cp))
        self.register_buffer("bias", cp.bias.detach().clone())
        self.padding, self.stride, self.dilation = cp.padding, cp.stride, cp.dilation
        self.ctx_channels = cp.out_channels
        self.entropy_parameters = cb.entropy_parameters
        gclc = cb.latent_codec["y"]
        self.gc_entropy_parameters = gclc.entropy_parameters
        chunks = tuple(gclc.chunks)
        if chunks not in (("scales", "means"), ("means", "scales")):
            raise ValueError(f"unsupported Gaussian latent codec chunks {chunks}")
        self.means_first = chunks == ("means", "scales")
        self.channel_context = channel_context
        self.non_anchor = non_anchor

    def forward(self, params, *rest):
        rest = list(rest)
        support = rest.pop(0) if self.channel_context is not None else None
        if self.non_anchor:
            y_hat_anchor = rest.pop(0)
            ctx = F.conv2d(y_hat_anchor, self.weight, self.bias, self.stride, self.padding, self.dilation)
        else:
            ctx = _zeros(params, self.ctx_channels)
        side = params if support is None else torch.cat((self.channel_context(support), params), dim=1)
        gaussian_params = self.gc_entropy_parameters(self.entropy_parameters(torch.cat((ctx, side), dim=1)))
        a, b = gaussian_params.chunk(2, 1)
        return (b, a) if self.means_first else (a, b)


class ChannelConditionalParams(nn.Module):
    """Slice k of a Minnen-2020 / LIC-TCM channel-conditional model: means and scales from
    cat(latent_means, support) and cat(latent_scales, support) through the optional
    attention (TCM's atten_mean / atten_scale) and cc_mean_transforms / cc_scale_transforms,
    cropped to the hyper outputs' size."""

    def __init__(self, model, k):
        super().__init__()
        self.mean = nn.Sequential(*_optional(model, "atten_mean", k), model.cc_mean_transforms[k])
        self.scale = nn.Sequential(*_optional(model, "atten_scale", k), model.cc_scale_transforms[k])

    def forward(self, latent_means, latent_scales, *support):
        h, w = latent_means.shape[2], latent_means.shape[3]
        mean_support = torch.cat((latent_means, *support), dim=1)
        scale_support = torch.cat((latent_scales, *support), dim=1)
        means = self.mean(mean_support)[:, :, :h, :w]
        scales = self.scale(scale_support)[:, :, :h, :w]
        return scales, means


class ChannelConditionalLrp(nn.Module):
    """Slice k's latent residual prediction: 0.5 * tanh(lrp_transforms[k](cat(mean_support
    after the optional attention, y_hat_slice)))."""

    def __init__(self, model, k):
        super().__init__()
        self.atten = nn.Sequential(*_optional(model, "atten_mean", k))
        self.lrp = model.lrp_transforms[k]

    def forward(self, latent_means, latent_scales, *rest):
        *support, y_hat_slice = rest
        h, w = latent_means.shape[2], latent_means.shape[3]
        mean_support = self.atten(torch.cat((latent_means, *support), dim=1))
        lrp = self.lrp(torch.cat((mean_support, y_hat_slice), dim=1))[:, :, :h, :w]
        return 0.5 * torch.tanh(lrp)


def _optional(model, name, k):
    mods = getattr(model, name, None)
    return [mods[k]] if mods is not None else []


def merged_support(merge_y, groups, k):
    """Which earlier groups `merge_y(*y_hat_[:k])` concatenates, in order: probed with
    groups filled with their own index."""
    if k == 0:
        return []
    probe = [torch.full((1, groups[j], 1, 1), float(j)) for j in range(k)]
    merged = merge_y(*probe).reshape(-1).tolist()
    support, pos = [], 0
    while pos < len(merged):
        j = int(merged[pos])
        if merged[pos : pos + groups[j]] != [float(j)] * groups[j]:
            raise ValueError(f"merge_y for group {k} does not concatenate whole groups: {merged}")
        support.append(j)
        pos += groups[j]
    return support


def _gaussian_conditionals(model):
    from compressai.entropy_models import GaussianConditional

    return [m for m in model.modules() if isinstance(m, GaussianConditional)]


def _one_gaussian_conditional(model):
    """The GaussianConditional tables; every GaussianConditional in the model must agree
    (ELIC has one per group, all with CompressAI's default scale table)."""
    gcs = _gaussian_conditionals(model)
    if not gcs:
        raise ValueError("the model has no GaussianConditional")
    tables = [gaussian_conditional_tables(gc) for gc in gcs]
    if any(t != tables[0] for t in tables[1:]):
        raise ValueError("the model's GaussianConditionals have different tables; the contract has one")
    return tables[0]


def _run_ort(path, feeds):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v.numpy() for k, v in feeds.items()})


def check_graph(module, path, feeds):
    """Runs `path` with onnxruntime and `module` with torch on `feeds`; max |difference|."""
    with torch.no_grad():
        ref = module(*feeds.values())
    ref = ref if isinstance(ref, tuple) else (ref,)
    got = _run_ort(path, feeds)
    if len(got) != len(ref):
        raise AssertionError(f"{path}: {len(got)} outputs, torch gives {len(ref)}")
    diff = 0.0
    for r, g in zip(ref, got):
        if tuple(r.shape) != tuple(g.shape):
            raise AssertionError(f"{path}: output shape {g.shape}, torch {tuple(r.shape)}")
        diff = max(diff, float((r - torch.from_numpy(g)).abs().max()))
    return diff


def export_v2(model, family, out_dir, label, quality, extra=None, check=True, report=None, scale_table=None, short_names=False):
    """Writes codec.json (version 2) and the ONNX graphs of a context model into out_dir.

    family: "autoregressive" (a JointAutoregressiveHierarchicalPriors or Cheng2020*
    CompressAI model), "checkerboard" (Cheng2020AnchorCheckerboard, Elic2022Official,
    Elic2022Chandelier, or any SimpleVAECompressionModel whose latent codec is
    HyperpriorLatentCodec over a CheckerboardLatentCodec or a ChannelGroupsLatentCodec of
    CheckerboardLatentCodecs), or "channel-conditional" (a module with g_a, g_s, h_a,
    h_mean_s, h_scale_s, cc_mean_transforms, cc_scale_transforms, [lrp_transforms],
    [atten_mean, atten_scale], `slices` (channels per slice) or `num_slices` (even slices),
    [max_support_slices], entropy_bottleneck, gaussian_conditional; LIC-TCM's names).
    The model is updated (`update(scale_table=scale_table, force=True)`; None gives
    CompressAI's default table, 64 scales 0.11..256) but not otherwise changed; its g_a/g_s
    are exported from copies with GDN frozen. `short_names`: the graphs' internal names
    are shortened (`compact_names`; inputs and outputs keep theirs) before the check. With `check`, each graph is compared with
    torch through onnxruntime on random inputs; the differences go to `report` (a dict,
    graph role -> max |diff|) and are printed."""
    import copy

    from compressai.latent_codecs import ChannelGroupsLatentCodec, CheckerboardLatentCodec

    os.makedirs(out_dir, exist_ok=True)
    model = model.eval()
    model.update(scale_table=scale_table, force=True)
    multiple = 64
    report = {} if report is None else report
    exported = []  # (role, module, path, feeds)

    def emit(role, module, feeds, outputs):
        path = os.path.join(out_dir, f"{role}.onnx")
        with torch.no_grad():
            to_onnx_multi(module, list(feeds.values()), path, list(feeds), outputs)
        if short_names:
            compact_names(path)
        exported.append((role, module, path, feeds))
        return f"{role}.onnx"

    if family == "autoregressive":
        g_a, g_s, h_a, eb = model.g_a, model.g_s, model.h_a, model.entropy_bottleneck
        hyper_decoders, hyper_outputs = [model.h_s], ["params"]
    elif family == "checkerboard":
        lc = model.latent_codec
        g_a, g_s, h_a, eb = model.g_a, model.g_s, lc["hyper"].h_a, lc["hyper"].entropy_bottleneck
        hyper_decoders, hyper_outputs = [lc["hyper"].h_s], ["params"]
    elif family == "channel-conditional":
        g_a, g_s, h_a, eb = model.g_a, model.g_s, model.h_a, model.entropy_bottleneck
        hyper_decoders, hyper_outputs = [model.h_mean_s, model.h_scale_s], ["latent_means", "latent_scales"]
    else:
        raise ValueError(f"unknown version-2 family {family}")

    torch.manual_seed(1234)
    x = torch.rand(1, 3, 2 * multiple, 3 * multiple)
    with torch.no_grad():
        g_a_f = freeze_gdn(copy.deepcopy(g_a)).eval()
        g_s_f = freeze_gdn(copy.deepcopy(g_s)).eval()
        y = g_a_f(x)
        m = y.shape[1]
        z = h_a(y)
        z_hat = torch.round(z)
        hyper = HyperSynthesisV2(hyper_decoders)
        hyper_maps = hyper(z_hat)
        hyper_maps = hyper_maps if isinstance(hyper_maps, tuple) else (hyper_maps,)
        hyper_feeds = dict(zip(hyper_outputs, hyper_maps))
        graphs = {
            "g_a": emit("g_a", g_a_f, {"x": x}, ["y"]),
            "g_s": emit("g_s", g_s_f, {"y_hat": torch.round(y)}, ["x_hat"]),
            "h_a": emit("h_a", h_a, {"y": y}, ["z"]),
            "h_s": emit("h_s", hyper, {"z_hat": z_hat}, hyper_outputs),
        }
        h, w = y.shape[2], y.shape[3]

        if family == "autoregressive":
            k = model.context_prediction.kernel_size[0]
            if tuple(model.context_prediction.kernel_size) != (k, k) or k != 5:
                raise ValueError("the autoregressive contract has a 5x5 context")
            params = hyper_maps[0]
            feeds = {"y_crop": torch.round(torch.randn(1, m, k, k) * 4), "params": params[:, :, 1:2, 2:3].contiguous()}
            graphs["context"] = emit("context", AutoregressiveContext(model), feeds, ["scales", "means"])
            context = {"kernel_size": k}
        elif family == "checkerboard":
            ylc = model.latent_codec["y"]
            if isinstance(ylc, CheckerboardLatentCodec):
                groups_ch, cbs, ccs, supports = [m], [ylc], [None], [[]]
            elif isinstance(ylc, ChannelGroupsLatentCodec):
                groups_ch = list(ylc.groups)
                cbs = [ylc.latent_codec[f"y{k}"] for k in range(len(groups_ch))]
                ccs = [None] + [ylc.channel_context[f"y{k}"] for k in range(1, len(groups_ch))]
                supports = [merged_support(ylc.merge_y, groups_ch, k) for k in range(len(groups_ch))]
            else:
                raise ValueError(f"unsupported latent codec {type(ylc).__name__} for the checkerboard family")
            if sum(groups_ch) != m:
                raise ValueError(f"groups {groups_ch} do not add up to M={m}")
            parities = {cb.anchor_parity for cb in cbs}
            if parities != {"even"}:
                raise ValueError(f"anchor parity {parities}: the contract fixes 'even'")
            for cb in cbs:
                if not isinstance(cb, CheckerboardLatentCodec):
                    raise ValueError(f"group codec {type(cb).__name__} is not a CheckerboardLatentCodec")
            context = {"anchor_parity": "even", "groups": []}
            for k, (c_k, cb, cc, sup) in enumerate(zip(groups_ch, cbs, ccs, supports)):
                feeds = dict(hyper_feeds)
                if sup:
                    feeds["support"] = torch.round(torch.randn(1, sum(groups_ch[j] for j in sup), h, w) * 4)
                graphs[f"group{k}_anchor"] = emit(f"group{k}_anchor", CheckerboardGroup(cb, cc, False), feeds, ["scales", "means"])
                feeds = dict(feeds)
                feeds["y_hat_anchor"] = torch.round(torch.randn(1, c_k, h, w) * 4)
                graphs[f"group{k}_non_anchor"] = emit(f"group{k}_non_anchor", CheckerboardGroup(cb, cc, True), feeds, ["scales", "means"])
                context["groups"].append({"channels": c_k, "support": sup})
        else:
            if hasattr(model, "slices"):
                slices = [int(c) for c in model.slices]
            else:
                slices = [m // model.num_slices] * model.num_slices
            if sum(slices) != m:
                raise ValueError(f"slices {slices} do not add up to M={m}")
            mss = getattr(model, "max_support_slices", -1)
            lrp = getattr(model, "lrp_transforms", None) is not None
            context = {"groups": []}
            for k, c_k in enumerate(slices):
                sup = list(range(k if mss < 0 else min(k, mss)))
                feeds = dict(hyper_feeds)
                if sup:
                    feeds["support"] = torch.round(torch.randn(1, sum(slices[j] for j in sup), h, w) * 4)
                graphs[f"group{k}_params"] = emit(f"group{k}_params", ChannelConditionalParams(model, k), feeds, ["scales", "means"])
                if lrp:
                    feeds = dict(feeds)
                    feeds["y_hat_slice"] = torch.round(torch.randn(1, c_k, h, w) * 4)
                    graphs[f"group{k}_lrp"] = emit(f"group{k}_lrp", ChannelConditionalLrp(model, k), feeds, ["lrp"])
                context["groups"].append({"channels": c_k, "support": sup, "lrp": lrp})

    if check:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            print("  onnxruntime is not installed: the graphs were not checked against torch")
            exported = []
        for role, module, path, feeds in exported:
            report[role] = check_graph(module, path, feeds)
            print(f"  {os.path.basename(out_dir.rstrip('/'))}/{role}.onnx: max |onnxruntime - torch| = {report[role]:.3g}")

    manifest = manifest_head(2, family, label, quality, multiple)
    manifest.update(
        {
            "latent_channels": m,
            "hyper_outputs": hyper_outputs,
            "graphs": graphs,
            "context": context,
            "entropy_bottleneck": entropy_bottleneck_tables(eb),
            "gaussian_conditional": _one_gaussian_conditional(model),
            "source": label,
            "demonstration": False,
        }
    )
    return write_manifest(out_dir, manifest, extra)


def build_v2_model(name, pretrained=False, quality=None, metric="mse", seed=None, n=None, m=None, groups=None):
    """A CompressAI model for a version-2 name: the zoo's (pretrained, with quality) or a
    random initialisation (torch seed `seed`, widths n, m; ELIC channel `groups`). A
    random-init autoregressive model gets its context mask folded into the weights (as the
    first forward pass of a CompressAI MaskedConv2d does), so CompressAI's own decompress,
    which uses the raw weight, matches its compress."""
    import compressai.models as cm

    family, cls_name, n0, m0 = V2_MODELS[name]
    if pretrained:
        from compressai.zoo import image_models

        if name not in image_models:
            raise ValueError(f"CompressAI's zoo has no weights for {name}; use --seed for a random initialisation")
        return image_models[name](quality=quality, metric=metric, pretrained=True)
    torch.manual_seed(seed)
    cls = getattr(cm, cls_name)
    n = n or n0
    if cls_name.startswith("Elic") and groups is None and (m or m0) <= 128:
        raise ValueError(f"M={m} leaves no channels for ELIC's default groups [16, 16, 32, 64, M-128]; give --groups")
    if groups is not None and sum(groups) != (m or m0):
        raise ValueError(f"groups {groups} do not add up to M={m or m0}")
    if cls_name == "JointAutoregressiveHierarchicalPriors":
        model = cls(n, m or m0)
    elif cls_name.startswith("Cheng2020"):
        model = cls(n)
    else:
        model = cls(n, m or m0, groups=groups)
    if family == "autoregressive":
        with torch.no_grad():
            model.context_prediction.weight.mul_(model.context_prediction.mask)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--quality", type=int, default=None, help="zoo quality index (with --pretrained)")
    ap.add_argument("--pretrained", action="store_true", help="download CompressAI's weights (internet)")
    ap.add_argument("--seed", type=int, default=None, help="random initialisation with this torch seed")
    ap.add_argument("--N", type=int, default=None)
    ap.add_argument("--M", type=int, default=None)
    ap.add_argument("--groups", default=None, help="ELIC channel groups, comma-separated (default 16,16,32,64,M-128)")
    ap.add_argument("--metric", default="mse")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch check of the graphs")
    args = ap.parse_args()
    if args.model not in FAMILIES and args.model not in V2_MODELS:
        ap.exit(2, f"unknown model {args.model}; one of {', '.join(list(FAMILIES) + list(V2_MODELS))}\n")
    if not args.pretrained and args.seed is None:
        ap.exit(2, "give --pretrained --quality Q, or --seed S for random weights\n")
    if args.pretrained and args.quality is None:
        ap.exit(2, "--pretrained needs --quality Q\n")
    if args.model in V2_MODELS:
        family = V2_MODELS[args.model][0]
        groups = [int(g) for g in args.groups.split(",")] if args.groups else None
        try:
            model = build_v2_model(args.model, args.pretrained, args.quality, args.metric, args.seed, args.N, args.M, groups)
        except ValueError as err:
            ap.exit(2, f"{args.model}: {err}\n")
        if args.pretrained:
            label = f"{args.model} q{args.quality} ({args.metric}, CompressAI pretrained)"
            quality = args.quality
        else:
            n, m = V2_MODELS[args.model][2:]
            dims = f"N={args.N or n}" + (f", M={args.M or m}" if m else "") + (f", groups={groups}" if groups else "")
            label = f"{args.model} random seed {args.seed} ({dims}), not a trained model"
            quality = args.seed
        export_v2(model, family, args.out_dir, label, quality, {"source": label}, check=not args.no_check)
        print(f"wrote {args.out_dir}")
        return
    from compressai.zoo import image_models
    from compressai.zoo.image import cfgs

    if args.pretrained:
        model = image_models[args.model](quality=args.quality, metric=args.metric, pretrained=True)
        label = f"{args.model} q{args.quality} ({args.metric}, CompressAI pretrained)"
        quality = args.quality
    else:
        torch.manual_seed(args.seed)
        n, m = cfgs[args.model][1]
        model = image_models[args.model](quality=1, pretrained=False).__class__(args.N or n, args.M or m)
        label = f"{args.model} random seed {args.seed} (N={args.N or n}, M={args.M or m}), not a trained model"
        quality = args.seed
    export(model, FAMILIES[args.model], args.out_dir, label, quality, {"source": label})
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
