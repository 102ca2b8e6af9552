"""Builds MANIQA (Yang et al. 2022, as implemented in pyiqa's `maniqa_arch.py` and
`maniqa_swin.py`, with timm's ViT-B/8) as an ONNX graph from a dict of numpy arrays named as
pyiqa's `MANIQA.state_dict()`. Only numpy and onnx.

Two sources of weights use this one builder:
- `random`: fixed random weights (numpy seed), the true architecture, for icmbench's tests
  (no MANIQA weights are published in a package registry);
- `tools/export/maniqa.py`: pyiqa's released checkpoints (KonIQ-10k, KADID-10k, PIPAL), read
  with torch by the user where there is internet.

Graph contract (icmbench's MANIQA models):
  input  `crops` float32 [K, 3, 224, 224]: the K crops pyiqa scores (K = 20: its
         `uniform_crop` at rows i*((H-224)//4), i < 4, and columns j*((W-224)//4), j < 5,
         after a bilinear upscale by 225 / min side when the short side is <= 224), RGB / 255
         in [0, 1]; computed by icmbench in Rust (metrics/src/maniqa.rs);
  output `score` float32 [1]: the patch-weighted mean over all crops' tokens.
Inside: (x - 0.5) / 0.5; ViT-B/8 up to its tenth block (the outputs of blocks 6-9 without
the class token, concatenated: 3072 channels on the 28 x 28 grid); two transposed-attention
blocks (over the 784 positions, with pyiqa's reshape after the transpose), a 1x1
convolution to 768, a Swin stage (two layers of a plain and a shifted 4 x 4 window block
with relative position bias, then a 3x3 convolution and ReLU, each layer added back scaled
by 0.13); again two transposed-attention blocks, a 1x1 convolution to 384 and a Swin stage;
the score and weight heads per token. Every shape is static except K, so no operation
depends on pyiqa's `window_reverse` batch arithmetic.

    python3 tools/models/build_maniqa.py random OUT.onnx [SEED]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_musiq import Graph  # noqa: E402

DIM, DEPTH_USED, DEPTH, HEADS, PATCH, GRID = 768, 10, 12, 12, 8, 28
FEATURE_BLOCKS = (6, 7, 8, 9)
WINDOW, SHIFT, SWIN_HEADS, SWIN_MLP, SWIN_SCALE = 4, 2, 4, 768, 0.13
N = GRID * GRID


def random_params(seed=0):
    """Fixed random weights with pyiqa's names and shapes (the whole state dict, ViT head
    included), scaled so that every layer matters and the score depends on the image."""
    rng = np.random.RandomState(seed)

    def n(*shape, std=1.0, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    p = {}

    def linear(key, cout, cin, std=None, bias=0.02):
        p[key + ".weight"] = n(cout, cin, std=std or cin**-0.5)
        p[key + ".bias"] = n(cout, std=bias)

    def norm(key, c):
        p[key + ".weight"] = n(c, std=0.1, mean=1.0)
        p[key + ".bias"] = n(c, std=0.1)

    def conv(key, cout, cin, k, std=None):
        p[key + ".weight"] = n(cout, cin, k, k, std=std or (cin * k * k) ** -0.5)
        p[key + ".bias"] = n(cout, std=0.02)

    v = "vit."
    p[v + "cls_token"] = n(1, 1, DIM, std=0.02)
    p[v + "pos_embed"] = n(1, N + 1, DIM, std=0.02)
    conv(v + "patch_embed.proj", DIM, 3, PATCH)
    for i in range(DEPTH):
        b = f"{v}blocks.{i}."
        norm(b + "norm1", DIM)
        linear(b + "attn.qkv", 3 * DIM, DIM)
        linear(b + "attn.proj", DIM, DIM, std=DIM**-0.5 / 4)
        norm(b + "norm2", DIM)
        linear(b + "mlp.fc1", 4 * DIM, DIM)
        linear(b + "mlp.fc2", DIM, 4 * DIM, std=(4 * DIM) ** -0.5 / 4)
    norm(v + "norm", DIM)
    linear(v + "head", 1000, DIM)
    for stage, dim in ((1, DIM), (2, DIM // 2)):
        for t in range(2):
            for proj, std in (("c_q", 0.1), ("c_k", 0.1), ("c_v", 1.0)):
                linear(f"tablock{stage}.{t}.{proj}", N, N, std=std * N**-0.5)
        cin = 4 * DIM if stage == 1 else DIM
        conv(f"conv{stage}", dim, cin, 1)
        s = f"swintransformer{stage}."
        conv(s + "downsample", dim, dim, 3)  # unused by the forward pass, kept for the state dict
        for layer in range(2):
            lay = f"{s}layers.{layer}."
            conv(lay + "conv", dim, dim, 3)
            for blk in range(2):
                b = f"{lay}blocks.{blk}."
                norm(b + "norm1", dim)
                p[b + "attn.relative_position_bias_table"] = n((2 * WINDOW - 1) ** 2, SWIN_HEADS, std=0.5)
                linear(b + "attn.qkv", 3 * dim, dim)
                linear(b + "attn.proj", dim, dim, std=dim**-0.5 / 4)
                norm(b + "norm2", dim)
                linear(b + "mlp.fc1", SWIN_MLP, dim)
                linear(b + "mlp.fc2", dim, SWIN_MLP, std=SWIN_MLP**-0.5 / 4)
    for head in ("fc_score", "fc_weight"):
        linear(f"{head}.0", DIM // 2, DIM // 2, std=(DIM // 2) ** -0.5 * 2)
        linear(f"{head}.3", 1, DIM // 2, std=(DIM // 2) ** -0.5 * (8 if head == "fc_score" else 4))
    p["fc_score.3.bias"] = np.asarray([0.5], np.float32)
    return p


def relative_position_bias(table):
    """The window attention's bias [heads, 16, 16] from its table, as pyiqa indexes it."""
    coords = np.stack(np.meshgrid(np.arange(WINDOW), np.arange(WINDOW), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (WINDOW - 1)
    index = rel[:, :, 0] * (2 * WINDOW - 1) + rel[:, :, 1]
    return table[index.reshape(-1)].reshape(WINDOW * WINDOW, WINDOW * WINDOW, -1).transpose(2, 0, 1)


def shift_mask():
    """The shifted block's attention mask [49, 16, 16] (0 within a region, -100 across)."""
    img = np.zeros((GRID, GRID))
    cnt = 0
    for h in (slice(0, -WINDOW), slice(-WINDOW, -SHIFT), slice(-SHIFT, None)):
        for w in (slice(0, -WINDOW), slice(-WINDOW, -SHIFT), slice(-SHIFT, None)):
            img[h, w] = cnt
            cnt += 1
    win = img.reshape(GRID // WINDOW, WINDOW, GRID // WINDOW, WINDOW).transpose(0, 2, 1, 3).reshape(-1, WINDOW * WINDOW)
    diff = win[:, None, :] - win[:, :, None]
    return np.where(diff != 0, -100.0, 0.0)


class Maniqa(Graph):
    """The graph writer with MANIQA's pieces."""

    def ints(self, values):
        return self.const(values, np.int64)

    def gelu(self, x):
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5)]), self.op("Add", [self.const(1.0), self.op("Erf", [self.op("Div", [x, self.const(np.sqrt(2.0))])])])])

    def conv(self, x, key, k):
        return self.op("Conv", [x, self.weight(key + ".weight"), self.weight(key + ".bias")], kernel_shape=[k, k], pads=[k // 2] * 4)

    def attention(self, x, key, heads, dim, bias=None, mask=None):
        """Multi-head self-attention with a packed qkv projection over [B, L, dim] (timm's
        ViT and the Swin windows), optional bias [heads, L, L] and window mask."""
        head = dim // heads
        qkv = self.op("Reshape", [self.linear(x, key + ".qkv"), self.ints([0, 0, 3, heads, head])])
        qkv = self.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, B, heads, L, head]
        q, k, v = (self.op("Gather", [qkv, self.ints(i)], axis=0) for i in range(3))
        attn = self.op("MatMul", [self.op("Mul", [q, self.const(head**-0.5)]), self.op("Transpose", [k], perm=[0, 1, 3, 2])])
        if bias is not None:
            attn = self.op("Add", [attn, self.const(bias)])
        if mask is not None:
            windows = mask.shape[0]
            attn = self.op("Reshape", [attn, self.ints([-1, windows, heads, WINDOW * WINDOW, WINDOW * WINDOW])])
            attn = self.op("Add", [attn, self.const(mask[None, :, None])])
            attn = self.op("Reshape", [attn, self.ints([-1, heads, WINDOW * WINDOW, WINDOW * WINDOW])])
        out = self.op("MatMul", [self.op("Softmax", [attn], axis=-1), v])
        out = self.op("Reshape", [self.op("Transpose", [out], perm=[0, 2, 1, 3]), self.ints([0, 0, dim])])
        return self.linear(out, key + ".proj")

    def vit_block(self, x, key):
        x = self.op("Add", [x, self.attention(self.layer_norm(x, key + ".norm1"), key + ".attn", HEADS, DIM)])
        y = self.linear(self.gelu(self.linear(self.layer_norm(x, key + ".norm2"), key + ".mlp.fc1")), key + ".mlp.fc2")
        return self.op("Add", [x, y])

    def ta_block(self, x, key, channels):
        """pyiqa's TABlock on [B, C, N]: attention across channels, then its reshape."""
        q, k, v = (self.linear(x, f"{key}.{p}") for p in ("c_q", "c_k", "c_v"))
        attn = self.op("Softmax", [self.op("Mul", [self.op("MatMul", [q, self.op("Transpose", [k], perm=[0, 2, 1])]), self.const(N**-0.5)])], axis=-1)
        y = self.op("Transpose", [self.op("MatMul", [attn, v])], perm=[0, 2, 1])  # [B, N, C]
        return self.op("Add", [self.op("Reshape", [y, self.ints([0, channels, N])]), x])

    def roll(self, x, shift):
        """torch.roll over axes 1 and 2 of [B, 28, 28, C] by `shift` (negative: up/left)."""
        cut = shift % GRID
        for axis in (1, 2):
            head = self.op("Slice", [x, self.ints([GRID - cut]), self.ints([GRID]), self.ints([axis])])
            tail = self.op("Slice", [x, self.ints([0]), self.ints([GRID - cut]), self.ints([axis])])
            x = self.op("Concat", [head, tail], axis=axis)
        return x

    def swin_block(self, x, key, dim, shifted):
        grid = GRID // WINDOW
        y = self.op("Reshape", [self.layer_norm(x, key + ".norm1", eps=1e-5), self.ints([-1, GRID, GRID, dim])])
        if shifted:
            y = self.roll(y, -SHIFT)
        y = self.op("Reshape", [y, self.ints([-1, grid, WINDOW, grid, WINDOW, dim])])
        y = self.op("Reshape", [self.op("Transpose", [y], perm=[0, 1, 3, 2, 4, 5]), self.ints([-1, WINDOW * WINDOW, dim])])
        bias = relative_position_bias(self.params[key + ".attn.relative_position_bias_table"])
        y = self.attention(y, key + ".attn", SWIN_HEADS, dim, bias=bias, mask=shift_mask() if shifted else None)
        y = self.op("Reshape", [y, self.ints([-1, grid, grid, WINDOW, WINDOW, dim])])
        y = self.op("Reshape", [self.op("Transpose", [y], perm=[0, 1, 3, 2, 4, 5]), self.ints([-1, GRID, GRID, dim])])
        if shifted:
            y = self.roll(y, SHIFT)
        x = self.op("Add", [x, self.op("Reshape", [y, self.ints([-1, N, dim])])])
        mlp = self.linear(self.gelu(self.linear(self.layer_norm(x, key + ".norm2", eps=1e-5), key + ".mlp.fc1")), key + ".mlp.fc2")
        return self.op("Add", [x, mlp])

    def swin(self, x, key, dim):
        """pyiqa's SwinTransformer on [B, dim, 28, 28]; returns the same layout."""
        x = self.op("Transpose", [self.op("Reshape", [x, self.ints([0, dim, N])])], perm=[0, 2, 1])
        for layer in range(2):
            lay = f"{key}.layers.{layer}"
            y = x
            for blk in range(2):
                y = self.swin_block(y, f"{lay}.blocks.{blk}", dim, shifted=blk % 2 == 1)
            y = self.op("Reshape", [self.op("Transpose", [y], perm=[0, 2, 1]), self.ints([0, dim, GRID, GRID])])
            y = self.op("Relu", [self.conv(y, lay + ".conv", 3)])
            y = self.op("Transpose", [self.op("Reshape", [y, self.ints([0, dim, N])])], perm=[0, 2, 1])
            x = self.op("Add", [self.op("Mul", [y, self.const(SWIN_SCALE)]), x])
        return self.op("Reshape", [self.op("Transpose", [x], perm=[0, 2, 1]), self.ints([0, dim, GRID, GRID])])


def build(params):
    g = Maniqa(params)
    v = "vit."
    x = g.op("Div", [g.op("Sub", ["crops", g.const(0.5)]), g.const(0.5)])
    x = g.op("Conv", [x, g.weight(v + "patch_embed.proj.weight"), g.weight(v + "patch_embed.proj.bias")], kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    x = g.op("Transpose", [g.op("Reshape", [x, g.ints([0, DIM, N])])], perm=[0, 2, 1])  # [K, 784, 768]
    k1 = g.op("Slice", [g.op("Shape", ["crops"]), g.ints([0]), g.ints([1])])
    cls = g.op("Expand", [g.weight(v + "cls_token"), g.op("Concat", [k1, g.ints([1, DIM])], axis=0)])
    x = g.op("Add", [g.op("Concat", [cls, x], axis=1), g.weight(v + "pos_embed")])
    features = []
    for i in range(DEPTH_USED):
        x = g.vit_block(x, f"{v}blocks.{i}")
        if i in FEATURE_BLOCKS:
            features.append(g.op("Slice", [x, g.ints([1]), g.ints([N + 1]), g.ints([1])]))
    x = g.op("Transpose", [g.op("Concat", features, axis=2)], perm=[0, 2, 1])  # [K, 3072, 784]
    for stage, dim, cin in ((1, DIM, 4 * DIM), (2, DIM // 2, DIM)):
        for t in range(2):
            x = g.ta_block(x, f"tablock{stage}.{t}", cin)
        x = g.conv(g.op("Reshape", [x, g.ints([0, cin, GRID, GRID])]), f"conv{stage}", 1)
        x = g.swin(x, f"swintransformer{stage}", dim)
        x = g.op("Reshape", [x, g.ints([0, dim, N])])
    tokens = g.op("Transpose", [x], perm=[0, 2, 1])  # [K, 784, 384]
    score = g.op("Relu", [g.linear(g.op("Relu", [g.linear(tokens, "fc_score.0")]), "fc_score.3")])
    weight = g.op("Sigmoid", [g.linear(g.op("Relu", [g.linear(tokens, "fc_weight.0")]), "fc_weight.3")])
    num = g.op("ReduceSum", [g.op("Reshape", [g.op("Mul", [score, weight]), g.ints([1, -1])]), g.ints([1])], keepdims=0)
    den = g.op("ReduceSum", [g.op("Reshape", [weight, g.ints([1, -1])]), g.ints([1])], keepdims=0)
    out = g.op("Div", [num, g.op("Add", [den, g.const(1e-8)])])
    return g.finish("maniqa", [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["K", 3, 224, 224])], out, [1])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "random":
        sys.exit(__doc__)
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    onnx.save(build(random_params(seed)), sys.argv[2])
