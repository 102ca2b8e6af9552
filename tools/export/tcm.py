"""Exports a LIC-TCM checkpoint into icmbench's learned-codec contract, version 2, family
`channel-conditional`: the `TCM` class of jmliu206/LIC_TCM (`models/tcm.py`) or SA-ICM's
`ICM` class (final-0/SA-ICM `models/icm.py`, TCM's code under another name).

    python3 -m venv ~/tcm && ~/tcm/bin/pip install torch compressai==1.2.8 onnx onnxruntime timm einops "numpy<2"
    git clone https://github.com/jmliu206/LIC_TCM      # or https://github.com/final-0/SA-ICM
    ~/tcm/bin/python tools/export/tcm.py --repo LIC_TCM --class TCM \\
        --checkpoint mse_lambda_0.05.pth.tar models/tcm/q1 --quality 1
    ~/tcm/bin/python tools/export/tcm.py --repo SA-ICM --class ICM \\
        --checkpoint param/icm_78.pth.tar models/sa-icm/q78 --quality 78

The checkpoint is read as the repositories' eval.py / coding_m.py read it (a dict with a
`state_dict` key, or a bare state dict; DataParallel `module.` prefixes removed), loaded
with the class's own `load_state_dict` into `cls(config=[2]*6, head_dim=[8, 16, 32, 32,
16, 8], drop_path_rate=0, N, M)` (N read from the checkpoint unless --N is given: 128 for
SA-ICM and LIC_TCM's large model, 64 for its small ones), and `update()`d as they do
before `compress` (without force: tables stored in the checkpoint are kept, as theirs).

Graphs (float32 NCHW, batch 1, H and W dynamic, opset 17):
- `g_a`: `x` [1,3,H,W] -> `y` [1,M,H/16,W/16]; `g_s`: `y_hat` -> `x_hat` (not clamped);
- `h_a`: `y` -> `z` [1,Z,H/64,W/64];
- `h_s`: `z_hat` -> `latent_means`, `latent_scales` (h_mean_s, h_scale_s; cropped to
  4x z's size, y's size, as TCM's decompress does);
- per slice k: `group{k}_params` (`latent_means`, `latent_scales`[, `support`] -> `scales`,
  `means`: atten_mean/atten_scale and cc_mean/cc_scale transforms on the hyper output
  concatenated with `support`, the earlier slices' final y_hat (TCM keeps the first
  `max_support_slices`)), and `group{k}_lrp` (the same inputs plus `y_hat_slice` -> `lrp`
  = 0.5 tanh(lrp_transform(cat(mean_support, y_hat_slice))), mean_support recomputed).

Size multiple 128: LIC_TCM's eval.py and SA-ICM's coding_m.py pad to a multiple of 128,
with zeros, centred (icmbench's default `[padding] mode = "zero", align = "center"`).
TCM itself cannot code an image whose padded height or width is 128 (y side 8 = the
SWAtten window: its SwinBlock pads to 9 and fails); the exported graphs, traced at 256x256,
do not contain that padding branch and run at that size.

TCM's Swin modules (WMSA, SwinBlock, ConvTransBlock) are exported through equivalent
forwards (`export_forwards`: plain reshapes and pixel_unshuffle instead of einops, the
shifted-window mask and relative-position bias built in the graph), so that the graphs are
compact and have dynamic H and W; torch gives bit-identical outputs either way. The files
are then compacted (`_compact`: short tensor names, shared constants). After the export
every graph is run under ONNX Runtime at two sizes (256x256 and 256x384) against TCM's
own, unpatched modules, and the largest absolute differences are printed. The graphs
assume batch 1.

The module also exposes `load_class`, `build_model`, `load_checkpoint`, `export` and
`verify` for scripts/make-tcm-fixture.py.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
# tools/export/compressai.py would shadow the compressai package: keep this folder off the path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
try:  # TracerWarnings about shape comparisons in SwinBlock (TCM's padding branch)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
except AttributeError:
    pass

SIZE_MULTIPLE = 128
COMPACT = True
CLASSES = {"TCM": "models/tcm.py", "ICM": "models/icm.py"}


def _load_compressai_helpers():
    spec = importlib.util.spec_from_file_location("icmbench_export_compressai", os.path.join(HERE, "compressai.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cai = _load_compressai_helpers()


def load_class(repo, cls_name):
    """The `TCM` or `ICM` class from a LIC_TCM or SA-ICM checkout (its models/*.py only)."""
    if cls_name not in CLASSES:
        raise SystemExit(f"--class must be one of {', '.join(CLASSES)}")
    path = os.path.join(repo, CLASSES[cls_name])
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: not found (is --repo a LIC_TCM checkout for TCM, an SA-ICM checkout for ICM?)")
    spec = importlib.util.spec_from_file_location(f"icmbench_tcm_src_{cls_name.lower()}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, cls_name), mod


def build_model(cls, N=128, M=320):
    # As LIC_TCM's eval.py (SA-ICM's coding_m.py uses ICM()'s defaults, the same values).
    return cls(config=[2, 2, 2, 2, 2, 2], head_dim=[8, 16, 32, 32, 16, 8], drop_path_rate=0.0, N=N, M=M)


def read_state_dict(path):
    """The state dict of a LIC_TCM / SA-ICM checkpoint, `module.` prefixes removed."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # older checkpoints pickle more than tensors
        print(f"note: {path}: weights-only load failed ({type(e).__name__}); loading the full pickle (trust the file)")
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    sd = ckpt["state_dict"] if isinstance(ckpt, dict) and "state_dict" in ckpt else ckpt
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def widths_of(sd):
    """(N, M) of a TCM state dict: g_a starts with ResidualBlockWithStride(3, 2N), h_a with
    ResidualBlockWithStride(M, 2N)."""
    return int(sd["g_a.0.conv1.weight"].shape[0]) // 2, int(sd["h_a.0.conv1.weight"].shape[1])


def load_checkpoint(model, path):
    model.load_state_dict(read_state_dict(path))
    return model


def slice_layout(model, M):
    """Channels and support of each slice, as TCM's compress loop builds them."""
    n = model.num_slices
    chans = [t.shape[1] for t in torch.zeros(1, M, 1, 1).chunk(n, 1)]
    mss = model.max_support_slices
    groups = []
    for k in range(n):
        support = list(range(k)) if mss < 0 else list(range(min(k, mss)))
        groups.append({"channels": chans[k], "support": support, "lrp": True})
    return groups


# --- export-time forwards of TCM's Swin modules ------------------------------------------
# TCM's WMSA/SwinBlock/ConvTransBlock go through einops and build the shifted-window mask
# and the relative-position bias with numpy at every call. They trace to dynamic-shape ONNX
# as they are, but into thousands of shape nodes and a 64x64 int64 index constant per block.
# During the export only, these forwards (the same arithmetic, plain reshapes) replace them;
# `verify` then compares the ONNX graphs against TCM's own, unpatched modules.


def _wmsa_forward(self, x):
    """TCM WMSA.forward for x [1, H, W, C] (batch 1; H, W multiples of the window). The
    windows are cut with pixel_unshuffle (ONNX: two reshapes and a transpose, no shape
    arithmetic) and kept as one batch dimension: [nW, P, C], windows in row-major order."""
    p = self.window_size
    shift = p // 2
    P, heads, hd, C = p * p, self.n_heads, self.head_dim, self.input_dim
    if self.type != "W":
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    u = F.pixel_unshuffle(x.permute(0, 3, 1, 2), p)  # [1, C*P, nh, nw]: channel c*P + i*p + j
    xw = u.reshape(C, P, -1).permute(2, 1, 0)  # [nW, P, C]
    qkv = self.embedding_layer(xw).reshape(-1, P, 3 * heads, hd).permute(2, 0, 1, 3)  # [3h, nW, P, hd]
    q, k, v = qkv.chunk(3, dim=0)
    sim = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # [h, nW, P, P]
    sim = sim + _relative_bias(self, x).unsqueeze(1)
    if self.type != "W":
        sim = sim.masked_fill(_shift_mask(x, p, shift), float("-inf"))
    out = torch.matmul(torch.softmax(sim, dim=-1), v)  # [h, nW, P, hd]
    out = self.linear(out.permute(1, 2, 0, 3).reshape(-1, P, heads * hd))  # [nW, P, C]
    out = F.pixel_shuffle(out.permute(2, 1, 0).reshape_as(u), p).permute(0, 2, 3, 1)
    if self.type != "W":
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    return out


def _relative_bias(self, x):
    """WMSA.relative_embedding() as two gathers of a small index table ([heads, P, P]).
    The index is tied to x's (dynamic) height, times 0, so that torch.onnx does not fold
    the bias into a [heads, P, P] constant per block (16 KB a head at window 8); the
    graph gathers it from the (2p-1)^2 parameters instead."""
    p = self.window_size
    a = torch.arange(p)
    rel = (a[:, None] - a[None, :] + p - 1).reshape(-1) + x.shape[1] * 0  # [p*p]: (i, j) -> i - j + p - 1
    t = self.relative_position_params  # [heads, 2p-1, 2p-1]
    heads = self.n_heads
    t = t.index_select(1, rel).reshape(heads, p, p, 2 * p - 1)  # rows: [h, r_q, r_k, 2p-1]
    t = t.index_select(3, rel).reshape(heads, p, p, p, p)  # cols: [h, r_q, r_k, c_q, c_k]
    return t.permute(0, 1, 3, 2, 4).reshape(heads, p * p, p * p)


def _shift_mask(x, p, shift):
    """TCM's SW-MSA mask for the rolled x [1, H, W, C]: True where query and key lie in
    different regions of the last window row or column. [1, nW, P, P]."""
    s = p - shift
    ones = torch.ones_like(x[:, :, :, :1])  # [1, H, W, 1]
    rows = torch.cumsum(ones, 1)
    rows = rows[:, -1:] - rows  # rows after this one: 0 on the last row
    cols = torch.cumsum(ones, 2)
    cols = cols[:, :, -1:] - cols
    region = ((rows < p).float() + (rows < p - s).float()) * 3 + (cols < p).float() + (cols < p - s).float()
    r = F.pixel_unshuffle(region.permute(0, 3, 1, 2), p).reshape(p * p, -1).t()  # [nW, P]
    return (r.unsqueeze(2) != r.unsqueeze(1)).unsqueeze(0)


def _swinblock_forward(self, x):
    # TCM pads maps no larger than the window (and then fails); traced at 256x256 that
    # branch is not taken, so it is not in the graph.
    t = x.permute(0, 2, 3, 1)
    t = self.block_2(self.block_1(t))
    return t.permute(0, 3, 1, 2)


def _convtrans_forward(self, x):
    conv_x, trans_x = torch.split(self.conv1_1(x), (self.conv_dim, self.trans_dim), dim=1)
    conv_x = self.conv_block(conv_x) + conv_x
    trans_x = self.trans_block(trans_x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    res = self.conv1_2(torch.cat((conv_x, trans_x), dim=1))
    return x + res


_EXPORT_FORWARDS = {"WMSA": _wmsa_forward, "SwinBlock": _swinblock_forward, "ConvTransBlock": _convtrans_forward}


class export_forwards:
    """Context manager: TCM's Swin modules of `model` use the export forwards inside."""

    def __init__(self, model):
        self.mods = [m for m in model.modules() if type(m).__name__ in _EXPORT_FORWARDS]

    def __enter__(self):
        import types

        for m in self.mods:
            m.forward = types.MethodType(_EXPORT_FORWARDS[type(m).__name__], m)
        return self

    def __exit__(self, *exc):
        for m in self.mods:
            del m.forward
        return False


class HyperSynthesis(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.h_mean_s, self.h_scale_s = model.h_mean_s, model.h_scale_s

    def forward(self, z_hat):
        h, w = z_hat.shape[2] * 4, z_hat.shape[3] * 4
        return self.h_mean_s(z_hat)[:, :, :h, :w], self.h_scale_s(z_hat)[:, :, :h, :w]


class GroupParams(nn.Module):
    """TCM's per-slice entropy parameters: (latent_means, latent_scales[, support]) -> scales, means."""

    def __init__(self, model, k):
        super().__init__()
        self.atten_mean, self.atten_scale = model.atten_mean[k], model.atten_scale[k]
        self.cc_mean, self.cc_scale = model.cc_mean_transforms[k], model.cc_scale_transforms[k]

    def forward(self, latent_means, latent_scales, support=None):
        h, w = latent_means.shape[2], latent_means.shape[3]
        ms = latent_means if support is None else torch.cat([latent_means, support], dim=1)
        mu = self.cc_mean(self.atten_mean(ms))[:, :, :h, :w]
        ss = latent_scales if support is None else torch.cat([latent_scales, support], dim=1)
        scale = self.cc_scale(self.atten_scale(ss))[:, :, :h, :w]
        return scale, mu


class GroupLRP(nn.Module):
    """TCM's latent residual prediction: (..., y_hat_slice) -> 0.5 tanh(lrp_transform(cat(mean_support, y_hat_slice)))."""

    def __init__(self, model, k):
        super().__init__()
        self.atten_mean, self.lrp = model.atten_mean[k], model.lrp_transforms[k]

    def forward(self, latent_means, latent_scales, support, y_hat_slice):
        ms = latent_means if support is None else torch.cat([latent_means, support], dim=1)
        ms = self.atten_mean(ms)
        return 0.5 * torch.tanh(self.lrp(torch.cat([ms, y_hat_slice], dim=1)))


class _Bind(nn.Module):
    """Fixes which optional inputs exist so that torch.onnx sees plain positional inputs."""

    def __init__(self, inner, has_support, lrp):
        super().__init__()
        self.inner, self.has_support, self.lrp = inner, has_support, lrp

    def forward(self, *args):
        lm, ls = args[0], args[1]
        support = args[2] if self.has_support else None
        if self.lrp:
            return self.inner(lm, ls, support, args[-1])
        return self.inner(lm, ls, support)


def _onnx(module, args, path, inputs, outputs):
    axes = {n: {2: "h", 3: "w"} for n in list(inputs) + list(outputs)}
    if inputs == ["x"]:
        axes["x"] = {2: "H", 3: "W"}
    if outputs == ["x_hat"]:
        axes["x_hat"] = {2: "H", 3: "W"}
    torch.onnx.export(module, tuple(args), path, input_names=list(inputs), output_names=list(outputs), dynamic_axes=axes, opset_version=17, dynamo=False)
    import onnx

    proto = onnx.load(path)
    got = [i.name for i in proto.graph.input]
    if got != list(inputs):
        # torch.onnx drops inputs the graph does not read (latent_scales in group{k}_lrp);
        # the contract names them all, so put them back as (unused) graph inputs.
        missing = [n for n in inputs if n not in got]
        if [n for n in inputs if n in got] != got:
            raise RuntimeError(f"{path}: ONNX inputs {got}, expected {inputs}")
        for name in missing:
            arg = args[list(inputs).index(name)]
            vi = onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [1, int(arg.shape[1]), "h", "w"])
            proto.graph.input.insert(list(inputs).index(name), vi)
    if COMPACT:
        _compact(proto)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def _compact(proto):
    """Makes the file small without changing what it computes: short names for the graph's
    internal tensors and no node names or doc strings (torch names every node and tensor
    by its module path: most of a small model's file), one Constant node per distinct
    value, and no Conv attributes that equal their ONNX defaults. Inputs and outputs keep
    their names."""
    g = proto.graph
    keep = {v.name for v in list(g.input) + list(g.output)}
    names = {}

    def short(x):
        if x == "" or x in keep:
            return x
        return names.setdefault(x, format(len(names), "x"))

    first = {}  # Constant value -> output of its first node
    alias = {}
    nodes = []
    for node in g.node:
        for i, x in enumerate(node.input):
            node.input[i] = alias.get(x, x)
        if node.op_type == "Constant" and len(node.output) == 1 and node.output[0] not in keep:
            key = b"".join(a.SerializeToString() for a in node.attribute)
            if key in first:
                alias[node.output[0]] = first[key]
                continue
            first[key] = node.output[0]
        if node.op_type == "Conv":
            defaults = {"dilations": lambda a: all(v == 1 for v in a.ints), "strides": lambda a: all(v == 1 for v in a.ints), "group": lambda a: a.i == 1, "pads": lambda a: all(v == 0 for v in a.ints)}
            kept = [a for a in node.attribute if not (a.name in defaults and defaults[a.name](a))]
            del node.attribute[:]
            node.attribute.extend(kept)
        nodes.append(node)
    for o in g.output:
        if o.name in alias:
            raise RuntimeError("a graph output is a duplicated constant")
    del g.node[:]
    g.node.extend(nodes)
    for init in g.initializer:
        init.name = short(init.name)
    for node in g.node:
        node.ClearField("name")
        node.ClearField("doc_string")
        for i, x in enumerate(node.input):
            node.input[i] = short(x)
        for i, x in enumerate(node.output):
            node.output[i] = short(x)
    for v in g.value_info:
        v.name = short(v.name)


def _tables_ready(model):
    return model.gaussian_conditional._offset.numel() > 0 and model.entropy_bottleneck._offset.numel() > 0


@torch.no_grad()
def _torch_pass(model, x):
    """Every graph's inputs and outputs along TCM's compress path (z_hat, y_hat as it codes them)."""
    t = {"x": x}
    t["y"] = model.g_a(x)
    t["z"] = model.h_a(t["y"])
    med = model.entropy_bottleneck._get_medians()
    t["z_hat"] = torch.round(t["z"] - med) + med
    lm, ls = HyperSynthesis(model)(t["z_hat"])
    t["latent_means"], t["latent_scales"] = lm, ls
    groups = slice_layout(model, t["y"].shape[1])
    y_slices = t["y"].chunk(model.num_slices, 1)
    finals = []
    for k, g in enumerate(groups):
        support = torch.cat([finals[i] for i in g["support"]], dim=1) if g["support"] else None
        scale, mu = GroupParams(model, k)(lm, ls, support)
        y_hat_slice = torch.round(y_slices[k] - mu) + mu
        lrp = GroupLRP(model, k)(lm, ls, support, y_hat_slice)
        t[f"group{k}"] = {"support": support, "scales": scale, "means": mu, "y_hat_slice": y_hat_slice, "lrp": lrp}
        finals.append(y_hat_slice + lrp)
    t["y_hat"] = torch.cat(finals, dim=1)
    t["x_hat"] = model.g_s(t["y_hat"])
    return t


def export(model, out_dir, label, quality, source, trace_hw=(256, 256), verify_hw=((256, 256), (256, 384))):
    """Writes `codec.json` and the ONNX graphs of a TCM/ICM model (tables already `update()`d)."""
    model = model.eval()
    if not _tables_ready(model):
        raise RuntimeError("call model.update() before exporting (the entropy tables are empty)")
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    x = torch.rand(1, 3, *trace_hw, generator=g)
    t = _torch_pass(model, x)
    M = t["y"].shape[1]
    groups = slice_layout(model, M)
    graphs = {"g_a": "g_a.onnx", "g_s": "g_s.onnx", "h_a": "h_a.onnx", "h_s": "h_s.onnx"}
    with torch.no_grad(), export_forwards(model):
        _onnx(model.g_a, [x], os.path.join(out_dir, "g_a.onnx"), ["x"], ["y"])
        _onnx(model.g_s, [t["y_hat"]], os.path.join(out_dir, "g_s.onnx"), ["y_hat"], ["x_hat"])
        _onnx(model.h_a, [t["y"]], os.path.join(out_dir, "h_a.onnx"), ["y"], ["z"])
        _onnx(HyperSynthesis(model), [t["z_hat"]], os.path.join(out_dir, "h_s.onnx"), ["z_hat"], ["latent_means", "latent_scales"])
        for k, grp in enumerate(groups):
            tk = t[f"group{k}"]
            has = bool(grp["support"])
            ins = ["latent_means", "latent_scales"] + (["support"] if has else [])
            args = [t["latent_means"], t["latent_scales"]] + ([tk["support"]] if has else [])
            _onnx(_Bind(GroupParams(model, k), has, False), args, os.path.join(out_dir, f"group{k}_params.onnx"), ins, ["scales", "means"])
            _onnx(_Bind(GroupLRP(model, k), has, True), args + [tk["y_hat_slice"]], os.path.join(out_dir, f"group{k}_lrp.onnx"), ins + ["y_hat_slice"], ["lrp"])
            graphs[f"group{k}_params"] = f"group{k}_params.onnx"
            graphs[f"group{k}_lrp"] = f"group{k}_lrp.onnx"
    manifest = {
        "format": "icmbench-learned-codec",
        "version": 2,
        "family": "channel-conditional",
        "label": label,
        "quality": quality,
        "size_multiple": SIZE_MULTIPLE,
        "input": "RGB float32 NCHW in [0, 1] (8-bit / 255)",
        "precision": 16,
        "latent_channels": M,
        "hyper_outputs": ["latent_means", "latent_scales"],
        "graphs": graphs,
        "context": {"groups": groups},
        "entropy_bottleneck": cai.entropy_bottleneck_tables(model.entropy_bottleneck),
        "gaussian_conditional": cai.gaussian_conditional_tables(model.gaussian_conditional),
        "source": source,
        "demonstration": False,
    }
    with open(os.path.join(out_dir, "codec.json"), "w") as fh:
        json.dump(manifest, fh, separators=(",", ":"))
        fh.write("\n")
    if verify_hw:
        verify(model, out_dir, verify_hw)
    return manifest


def verify(model, out_dir, sizes):
    """Runs every graph under ONNX Runtime on torch's own inputs at each (H, W); prints and
    returns the largest |ONNX - torch| per graph and size, and fails when one exceeds 1e-4
    of the largest output (at least 1)."""
    import numpy as np
    import onnxruntime as ort

    with open(os.path.join(out_dir, "codec.json")) as fh:
        manifest = json.load(fh)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = {r: ort.InferenceSession(os.path.join(out_dir, f), so, providers=["CPUExecutionProvider"]) for r, f in manifest["graphs"].items()}
    report = {}
    for hw in sizes:
        x = torch.rand(1, 3, *hw, generator=torch.Generator().manual_seed(hw[0] * 10007 + hw[1]))
        t = _torch_pass(model, x)
        n = lambda v: v.numpy()  # noqa: E731
        runs = {
            "g_a": ({"x": n(x)}, [t["y"]]),
            "h_a": ({"y": n(t["y"])}, [t["z"]]),
            "h_s": ({"z_hat": n(t["z_hat"])}, [t["latent_means"], t["latent_scales"]]),
            "g_s": ({"y_hat": n(t["y_hat"])}, [t["x_hat"]]),
        }
        for k, grp in enumerate(manifest["context"]["groups"]):
            tk = t[f"group{k}"]
            feed = {"latent_means": n(t["latent_means"]), "latent_scales": n(t["latent_scales"])}
            if grp["support"]:
                feed["support"] = n(tk["support"])
            runs[f"group{k}_params"] = (feed, [tk["scales"], tk["means"]])
            runs[f"group{k}_lrp"] = (dict(feed, y_hat_slice=n(tk["y_hat_slice"])), [tk["lrp"]])
        diffs = {}
        for role, (feed, want) in runs.items():
            got = sess[role].run(None, feed)
            for gv, wv in zip(got, want):
                if gv.shape != tuple(wv.shape):
                    raise RuntimeError(f"{role} at {hw[1]}x{hw[0]}: ONNX shape {gv.shape}, torch {tuple(wv.shape)}")
            diffs[role] = max(float(np.abs(gv - n(wv)).max()) for gv, wv in zip(got, want))
            scale = max([1.0] + [float(wv.abs().max()) for wv in want])
            if not diffs[role] <= 1e-4 * scale:  # float32 reordering stays far below this
                raise RuntimeError(f"{role} at {hw[1]}x{hw[0]}: ONNX Runtime differs from torch by {diffs[role]:.3g} (outputs up to {scale:.3g})")
        report[f"{hw[1]}x{hw[0]}"] = diffs
        print(f"verify {hw[1]}x{hw[0]} (WxH): max |onnx - torch| " + ", ".join(f"{r} {d:.2e}" for r, d in diffs.items()))
    return report


def _git_head(repo):
    try:
        return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True, help="a LIC_TCM (for TCM) or SA-ICM (for ICM) checkout")
    ap.add_argument("--class", dest="cls", required=True, choices=sorted(CLASSES))
    ap.add_argument("--checkpoint", required=True, help="the .pth.tar as eval.py / coding_m.py load it")
    ap.add_argument("out_dir")
    ap.add_argument("--quality", type=int, required=True, help="the number configs use for this point")
    ap.add_argument("--N", type=int, default=None, help="TCM width N (default: read from the checkpoint)")
    ap.add_argument("--M", type=int, default=None, help="TCM latent channels (default: read from the checkpoint; TCM hard-codes 320)")
    ap.add_argument("--label", default=None)
    ap.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime check at two sizes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cls, _ = load_class(args.repo, args.cls)
    sd = read_state_dict(args.checkpoint)
    n, m = widths_of(sd)
    args.N, args.M = args.N or n, args.M or m
    model = build_model(cls, N=args.N, M=args.M).eval()
    model.load_state_dict(sd)
    model.update()  # as eval.py / coding_m.py before compress
    head = _git_head(args.repo)
    name = os.path.basename(args.checkpoint)
    what = "SA-ICM ICM (LIC-TCM)" if args.cls == "ICM" else "LIC-TCM TCM"
    label = args.label or f"{what} {name} (N={args.N}, M={args.M}); pads to a multiple of 128, zeros, centred, as {'SA-ICM coding_m.py' if args.cls == 'ICM' else 'LIC_TCM eval.py'}"
    source = f"{args.cls} from {os.path.abspath(args.repo)}" + (f" at {head}" if head else "") + f", checkpoint {name} sha256 {_sha256(args.checkpoint)}, exported by tools/export/tcm.py"
    export(model, args.out_dir, label, args.quality, source, verify_hw=None if args.no_verify else ((256, 256), (256, 384)))
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
