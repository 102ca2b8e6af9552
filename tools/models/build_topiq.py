"""Builds TOPIQ (CFANet; Chen et al. 2024, as implemented in pyiqa's `topiq_arch.py` with its
ResNet-50 backbone) as an ONNX graph from a dict of numpy arrays named as pyiqa's
`CFANet.state_dict()`. Only numpy and onnx. `nr` is `topiq_nr` (no reference); `fr` is
`topiq_fr` (the distorted image and its reference).

Two sources of weights use this one builder:
- `random`: fixed random weights (numpy seed), the true architecture, for icmbench's tests
  (no TOPIQ weights are published in a package registry);
- `tools/export/topiq.py`: pyiqa's released checkpoints, read with torch by the user where
  there is internet.

Graph contract (icmbench's TOPIQ models), for an image of H x W (both >= 32), with
h_k = ceil(H / 2^(k+1)), w_k = ceil(W / 2^(k+1)) the backbone's five feature sizes and
th = h_4, tw = w_4 the coarsest:
  inputs `image` float32 [1, 3, H, W]: the distorted image, RGB / 255 in [0, 1], whole;
         (fr only) `reference` float32 [1, 3, H, W], likewise;
         `pool_rows_k` float32 [th, h_k] and `pool_cols_k` float32 [w_k, tw], k = 0..3:
         adaptive average pooling of feature level k to th x tw as two matrices
         (F.adaptive_avg_pool2d's bins: floor(i*n/m) .. ceil((i+1)*n/m));
         `pos_rows` float32 [th, 32] and `pos_cols` float32 [32, tw]: bicubic resizing of
         the 32 x 32 positional embedding to th x tw (F.interpolate(mode='bicubic',
         align_corners=False)) as two matrices;
         all computed by icmbench in Rust (metrics/src/topiq.rs), because their sizes
         depend on the image;
  output `score` float32 [1].
Inside: ImageNet normalisation; timm's ResNet-50 (features after the stem's ReLU and after
each of the four stages, batch norms folded); per level, from the coarsest: the gated
pooling (nr: GatedConv; fr: the features of both images and their distance
sqrt((x - y)^2 + 1e-12), weighted by a small convolutional gate of the distance), the
pooling to th x tw, a 1x1 convolution to 256 with GELU, the positional embedding and one
pre-norm self-attention layer (4 heads); then cross-attention from the coarsest level's
tokens to each finer level's in turn, an attention-pooling layer, the token mean and the
MLP head.

    python3 tools/models/build_topiq.py random nr|fr OUT.onnx [SEED]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_clipiqa import folded, random_bn  # noqa: E402  (batch norms: folded, and random ones)
from build_musiq import Graph  # noqa: E402

STAGES, CHANNELS = (3, 4, 6, 3), [64, 256, 512, 1024, 2048]
D, HEADS, FF, POS = 256, 4, 1024, 32
# ImageNet normalisation (pyiqa archs/constants.py IMAGENET_DEFAULT_MEAN / _STD).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
B = "semantic_model."


def blocks():
    """(prefix, in channels, planes, stride) of timm's ResNet-50 bottlenecks."""
    inplanes, out = 64, []
    for i, n in enumerate(STAGES):
        planes = 64 * 2**i
        for b in range(n):
            out.append((f"{B}layer{i + 1}.{b}", inplanes, planes, (2 if i > 0 else 1) if b == 0 else 1))
            inplanes = planes * 4
    return out


def random_params(fr=False, seed=0):
    """Fixed random weights with pyiqa's names and shapes (CFANet, ResNet-50), scaled so that
    activations neither vanish nor saturate and the score depends on the image."""
    rng = np.random.RandomState(seed)

    def n(*shape, std=1.0, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    p = {}

    def conv(key, cout, cin, k, bias=False, gain=2.0):
        p[key + ".weight"] = n(cout, cin, k, k, std=np.sqrt(gain / (cin * k * k)))
        if bias:
            p[key + ".bias"] = n(cout, std=0.05)

    def bn(key, c, gain=1.0):
        random_bn(p, key, rng, c, gain)

    def linear(key, cout, cin, std=None):
        p[key + ".weight"] = n(cout, cin, std=std or np.sqrt(2.0 / cin))
        p[key + ".bias"] = n(cout, std=0.02)

    def norm(key, c=D):
        p[key + ".weight"] = n(c, std=0.1, mean=1.0)
        p[key + ".bias"] = n(c, std=0.1)

    def attention(key):
        p[key + ".in_proj_weight"] = n(3 * D, D, std=D**-0.5)
        p[key + ".in_proj_bias"] = n(3 * D, std=0.02)
        linear(key + ".out_proj", D, D, std=D**-0.5)

    conv(B + "conv1", 64, 3, 7)
    bn(B + "bn1", 64)
    for key, cin, planes, stride in blocks():
        conv(key + ".conv1", planes, cin, 1)
        bn(key + ".bn1", planes)
        conv(key + ".conv2", planes, planes, 3)
        bn(key + ".bn2", planes)
        conv(key + ".conv3", planes * 4, planes, 1)
        bn(key + ".bn3", planes * 4, gain=0.3)
        if stride > 1 or cin != planes * 4:
            conv(key + ".downsample.0", planes * 4, cin, 1)
            bn(key + ".downsample.1", planes * 4)
    p["h_emb"] = n(1, D // 2, POS, 1, std=0.5)
    p["w_emb"] = n(1, D // 2, 1, POS, std=0.5)
    for i, c in enumerate(CHANNELS):
        dim = 3 * c if fr else c
        if fr:
            conv(f"weight_pool.{i}.0", 64, c, 1, bias=True)
            conv(f"weight_pool.{i}.2", 64, 64, 3, bias=True)
            conv(f"weight_pool.{i}.4", 1, 64, 3, bias=True, gain=1.0)
        else:
            conv(f"weight_pool.{i}.splitconv", 2 * c, c, 1, bias=True, gain=1.0)
            conv(f"weight_pool.{i}.weight_blk.0", 64, c, 1, bias=True)
            conv(f"weight_pool.{i}.weight_blk.2", 64, 64, 3, bias=True)
            conv(f"weight_pool.{i}.weight_blk.4", 1, 64, 3, bias=True, gain=1.0)
        conv(f"dim_reduce.{i}.0", D, dim, 1, bias=True)
        s = f"sa_attn_blks.{i}.layers.0."
        attention(s + "self_attn")
        linear(s + "linear1", FF, D)
        linear(s + "linear2", D, FF, std=FF**-0.5 / 2)
        norm(s + "norm1")
        norm(s + "norm2")
    for i in range(len(CHANNELS) - 1):
        s = f"attn_blks.{i}.layers.0."
        attention(s + "self_attn")  # unused by pyiqa's forward, kept for the state dict
        attention(s + "multihead_attn")
        linear(s + "linear1", FF, D)
        linear(s + "linear2", D, FF, std=FF**-0.5 / 2)
        for k in (1, 2, 3):
            norm(s + f"norm{k}")
    attention("attn_pool.self_attn")
    linear("attn_pool.linear1", FF, D)
    linear("attn_pool.linear2", D, FF, std=FF**-0.5 / 2)
    norm("attn_pool.norm1")
    norm("attn_pool.norm2")
    norm("score_linear.0")
    linear("score_linear.1", D, D)
    norm("score_linear.3")
    linear("score_linear.4", D, D)
    linear("score_linear.6", 1, D, std=D**-0.5)
    p["score_linear.6.bias"] = np.asarray([0.5], np.float32)
    return p


class Topiq(Graph):
    """The graph writer with TOPIQ's pieces."""

    def conv(self, x, key, k, s=1, bn=None):
        """Convolution `key` (k x k, stride s, padding k // 2) with its bias, or with the
        batch norm `bn` folded in."""
        if bn is not None:
            w, b = folded(self.params, key, bn)
        else:
            w, b = self.params[key + ".weight"], self.params[key + ".bias"]
        name = key.replace(".", "_")
        return self.op("Conv", [x, self.weight(name + "_w", w), self.weight(name + "_b", b)], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)

    def gelu(self, x):
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5)]), self.op("Add", [self.const(1.0), self.op("Erf", [self.op("Div", [x, self.const(np.sqrt(2.0))])])])])

    def ln(self, x, key):
        return self.layer_norm(x, key, eps=1e-5)

    def mha(self, q_in, kv_in, key):
        """nn.MultiheadAttention (batch first here: [N, L, D]) with its packed projection."""
        w, b = self.params[key + ".in_proj_weight"], self.params[key + ".in_proj_bias"]
        head = D // HEADS

        def proj(x, i, name):
            y = self.op("MatMul", [x, self.weight(f"{key}.{name}_w".replace(".", "_"), w[i * D : (i + 1) * D].T)])
            y = self.op("Add", [y, self.weight(f"{key}.{name}_b".replace(".", "_"), b[i * D : (i + 1) * D])])
            return self.op("Reshape", [y, self.const([0, -1, HEADS, head], np.int64)])

        q = self.op("Transpose", [proj(q_in, 0, "q")], perm=[0, 2, 1, 3])
        k = self.op("Transpose", [proj(kv_in, 1, "k")], perm=[0, 2, 3, 1])
        v = self.op("Transpose", [proj(kv_in, 2, "v")], perm=[0, 2, 1, 3])
        attn = self.op("Softmax", [self.op("Mul", [self.op("MatMul", [q, k]), self.const(head**-0.5)])], axis=-1)
        out = self.op("Reshape", [self.op("Transpose", [self.op("MatMul", [attn, v])], perm=[0, 2, 1, 3]), self.const([0, -1, D], np.int64)])
        return self.linear(out, key + ".out_proj")

    def feed_forward(self, x, key):
        return self.linear(self.gelu(self.linear(x, key + ".linear1")), key + ".linear2")

    def encoder_layer(self, x, key):
        y = self.ln(x, key + ".norm1")
        x = self.op("Add", [x, self.mha(y, y, key + ".self_attn")])
        return self.op("Add", [x, self.feed_forward(self.ln(x, key + ".norm2"), key)])

    def decoder_layer(self, tgt, memory, key):
        memory = self.ln(memory, key + ".norm2")
        tgt = self.op("Add", [tgt, self.mha(self.ln(tgt, key + ".norm1"), memory, key + ".multihead_attn")])
        return self.op("Add", [tgt, self.feed_forward(self.ln(tgt, key + ".norm3"), key)])

    def backbone(self, x):
        """timm ResNet-50 `features_only`: the five feature maps."""
        x = self.op("Relu", [self.conv(x, B + "conv1", 7, 2, bn=B + "bn1")])
        feats = [x]
        x = self.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        for key, cin, planes, stride in blocks():
            y = self.op("Relu", [self.conv(x, key + ".conv1", 1, bn=key + ".bn1")])
            y = self.op("Relu", [self.conv(y, key + ".conv2", 3, stride, bn=key + ".bn2")])
            y = self.conv(y, key + ".conv3", 1, bn=key + ".bn3")
            identity = x
            if stride > 1 or cin != planes * 4:
                identity = self.conv(x, key + ".downsample.0", 1, stride, bn=key + ".downsample.1")
            x = self.op("Relu", [self.op("Add", [y, identity])])
            if key in {f"{B}layer{i + 1}.{n - 1}" for i, n in enumerate(STAGES)}:
                feats.append(x)  # the end of a stage
        return feats


def build(params, fr):
    g = Topiq(params)

    def normalise(name):
        return g.op("Div", [g.op("Sub", [name, g.const(np.reshape(MEAN, (1, 3, 1, 1)))]), g.const(np.reshape(STD, (1, 3, 1, 1)))])

    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "H", "W"])]
    if fr:
        inputs.append(helper.make_tensor_value_info("reference", TensorProto.FLOAT, [1, 3, "H", "W"]))
        both = g.op("Concat", [normalise("image"), normalise("reference")], axis=0)  # one batch of two
        feats = []
        for f in g.backbone(both):
            dist = g.op("Slice", [f, g.const([0], np.int64), g.const([1], np.int64), g.const([0], np.int64)])
            ref = g.op("Slice", [f, g.const([1], np.int64), g.const([2], np.int64), g.const([0], np.int64)])
            feats.append((dist, ref))
    else:
        feats = [(f, None) for f in g.backbone(normalise("image"))]
    for k in range(len(CHANNELS) - 1):
        inputs.append(helper.make_tensor_value_info(f"pool_rows_{k}", TensorProto.FLOAT, ["th", f"h{k}"]))
        inputs.append(helper.make_tensor_value_info(f"pool_cols_{k}", TensorProto.FLOAT, [f"w{k}", "tw"]))
    inputs.append(helper.make_tensor_value_info("pos_rows", TensorProto.FLOAT, ["th", POS]))
    inputs.append(helper.make_tensor_value_info("pos_cols", TensorProto.FLOAT, [POS, "tw"]))
    # The positional embedding [1, 256, 32, 32] (h_emb repeated along columns, w_emb along
    # rows), resized to th x tw as R_rows . P . R_cols, then as tokens [1, L, 256].
    pos = np.concatenate([np.repeat(params["h_emb"], POS, axis=3), np.repeat(params["w_emb"], POS, axis=2)], axis=1)
    pos = g.op("MatMul", [g.op("MatMul", ["pos_rows", g.weight("pos_emb", pos)]), "pos_cols"])
    pos = g.op("Transpose", [g.op("Reshape", [pos, g.const([1, D, -1], np.int64)])], perm=[0, 2, 1])
    tokens = []
    for i in reversed(range(len(CHANNELS))):
        dist, ref = feats[i]
        if fr:
            diff = g.op("Sqrt", [g.op("Add", [g.op("Mul", [g.op("Sub", [dist, ref])] * 2), g.const(1e-12)])])
            w = g.gelu(g.conv(diff, f"weight_pool.{i}.0", 1))
            w = g.gelu(g.conv(w, f"weight_pool.{i}.2", 3))
            w = g.op("Sigmoid", [g.conv(w, f"weight_pool.{i}.4", 3)])
            x = g.op("Mul", [g.op("Concat", [dist, ref, diff], axis=1), w])
        else:
            split = g.conv(dist, f"weight_pool.{i}.splitconv", 1)
            c = CHANNELS[i]
            x1 = g.op("Slice", [split, g.const([0], np.int64), g.const([c], np.int64), g.const([1], np.int64)])
            x2 = g.op("Slice", [split, g.const([c], np.int64), g.const([2 * c], np.int64), g.const([1], np.int64)])
            w = g.gelu(g.conv(x2, f"weight_pool.{i}.weight_blk.0", 1))
            w = g.gelu(g.conv(w, f"weight_pool.{i}.weight_blk.2", 3))
            w = g.op("Sigmoid", [g.conv(w, f"weight_pool.{i}.weight_blk.4", 3)])
            x = g.op("Mul", [g.gelu(x1), w])
        if i < len(CHANNELS) - 1:
            x = g.op("MatMul", [g.op("MatMul", [f"pool_rows_{i}", x]), f"pool_cols_{i}"])
        x = g.gelu(g.conv(x, f"dim_reduce.{i}.0", 1))
        x = g.op("Transpose", [g.op("Reshape", [x, g.const([1, D, -1], np.int64)])], perm=[0, 2, 1])
        tokens.append(g.encoder_layer(g.op("Add", [x, pos]), f"sa_attn_blks.{i}.layers.0"))
    query = tokens[0]
    for i in range(len(tokens) - 1):
        query = g.decoder_layer(query, tokens[i + 1], f"attn_blks.{i}.layers.0")
    x = g.op("ReduceMean", [g.encoder_layer(query, "attn_pool"), g.const([1], np.int64)], keepdims=0)  # [1, D]
    x = g.gelu(g.linear(g.ln(x, "score_linear.0"), "score_linear.1"))
    x = g.gelu(g.linear(g.ln(x, "score_linear.3"), "score_linear.4"))
    score = g.op("Squeeze", [g.linear(x, "score_linear.6"), g.const([1], np.int64)])
    return g.finish("topiq_fr" if fr else "topiq_nr", inputs, score, [1])


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "random" or sys.argv[2] not in ("nr", "fr"):
        sys.exit(__doc__)
    fr = sys.argv[2] == "fr"
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    onnx.save(build(random_params(fr, seed), fr), sys.argv[3])
