"""Builds MUSIQ (Ke et al. 2021, as implemented in pyiqa's `musiq_arch.py`) as an ONNX graph
from a dict of numpy arrays named as pyiqa's `MUSIQ.state_dict()`. Only numpy and onnx.

Two sources of weights use this one builder:
- `random`: fixed random weights (numpy seed), the true architecture, for icmbench's tests
  (no MUSIQ weights are published in any package registry);
- `tools/export/musiq.py`: pyiqa's released checkpoints (koniq10k, spaq, paq2piq, ava),
  read with torch by the user where there is internet.

Graph contract (icmbench's MUSIQ models):
  input  `patches` float32 [N, L, 3075]: pyiqa's `get_multiscale_patches` output: per token
         3x32x32 pixels in [-1, 1] (channel, row, column order), then the hashed spatial
         position (0..99), the scale id (0: 224, 1: 384, 2: original) and the mask (1/0);
         computed by icmbench in Rust (metrics/src/musiq.rs).
  output `score` float32 [N]: the MOS (for 10-class AVA heads, sum_i p_i * i, i = 1..10).
Inside: StdConv 7x7/2 (weight standardisation folded into the weights, TF 'same' padding)
+ GroupNorm(32) + ReLU + 'same' max-pool 3/2, one bottleneck block, linear embedding of the
8x8x256 token features (in TF's HWC order), hashed spatial and scale embeddings, a class
token, 14 pre-norm transformer blocks (6 heads, masked attention with -1e3 fill, exact
GELU), final LayerNorm, head.

    python3 tools/models/build_musiq.py random OUT.onnx [SEED]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN, HEADS, MLP, LAYERS, PATCH = 384, 6, 1152, 14, 32


def random_params(seed=0, num_class=1):
    """Fixed random weights with pyiqa's names and shapes (scales chosen so that every
    layer matters: activations neither vanish nor saturate)."""
    rng = np.random.RandomState(seed)

    def n(*shape, std=1.0, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    p = {"conv_root.weight": n(64, 3, 7, 7), "gn_root.weight": n(64, std=0.1, mean=1), "gn_root.bias": n(64, std=0.1)}
    for name, cout, cin, k in [("conv1", 64, 64, 1), ("conv2", 64, 64, 3), ("conv3", 256, 64, 1), ("conv_proj", 256, 64, 1)]:
        p[f"block1.{name}.weight"] = n(cout, cin, k, k)
        gn = "gn_proj" if name == "conv_proj" else "gn" + name[-1]
        p[f"block1.{gn}.weight"] = n(cout, std=0.1, mean=1)
        p[f"block1.{gn}.bias"] = n(cout, std=0.1)
    p["embedding.weight"] = n(HIDDEN, 256 * 64, std=0.01)
    p["embedding.bias"] = n(HIDDEN, std=0.02)
    t = "transformer_encoder."
    p[t + "cls"] = n(1, 1, HIDDEN, std=0.02)
    p[t + "posembed_input.position_emb"] = n(1, 100, HIDDEN, std=0.02)
    p[t + "scaleembed_input.scale_emb"] = n(3, HIDDEN, std=0.02)
    p[t + "encoder_norm.weight"] = n(HIDDEN, std=0.1, mean=1)
    p[t + "encoder_norm.bias"] = n(HIDDEN, std=0.1)
    for i in range(LAYERS):
        b = f"{t}transformer.encoderblock_{i}."
        for ln in ("norm1", "norm2"):
            p[b + ln + ".weight"] = n(HIDDEN, std=0.1, mean=1)
            p[b + ln + ".bias"] = n(HIDDEN, std=0.1)
        for lin in ("query", "key", "value", "out"):
            p[b + f"attention.{lin}.weight"] = n(HIDDEN, HIDDEN, std=HIDDEN**-0.5)
            p[b + f"attention.{lin}.bias"] = n(HIDDEN, std=0.02)
        p[b + "mlp.fc1.weight"] = n(MLP, HIDDEN, std=HIDDEN**-0.5)
        p[b + "mlp.fc1.bias"] = n(MLP, std=0.02)
        p[b + "mlp.fc2.weight"] = n(HIDDEN, MLP, std=MLP**-0.5 / 2)
        p[b + "mlp.fc2.bias"] = n(HIDDEN, std=0.02)
    head = "head." if num_class == 1 else "head.0."
    p[head + "weight"] = n(num_class, HIDDEN, std=HIDDEN**-0.5 * 5)
    p[head + "bias"] = n(num_class, std=1.0, mean=50.0 if num_class == 1 else 0.0)
    return p


def standardise(w):
    """pyiqa's StdConv: (w - mean) / (std + 1e-5) over (in, kh, kw), std with Bessel's correction."""
    w = w.astype(np.float64)
    w = w - w.mean(axis=(1, 2, 3), keepdims=True)
    return (w / (w.std(axis=(1, 2, 3), ddof=1, keepdims=True) + 1e-5)).astype(np.float32)


def same_pads(size, k, s):
    """TF 'same' padding (pyiqa exact_padding_2d) as ONNX [top, left, bottom, right]."""
    out = -(-size // s)
    pad = max((out - 1) * s + k - size, 0)
    return [pad // 2, pad // 2, pad - pad // 2, pad - pad // 2]


class Graph:
    def __init__(self, params):
        self.params, self.nodes, self.inits, self.count = params, [], [], 0

    def const(self, value, dtype=np.float32):
        name = f"const{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def weight(self, key, value=None):
        name = key.replace(".", "_")
        self.inits.append(numpy_helper.from_array(np.asarray(self.params[key] if value is None else value, np.float32), name))
        return name

    def op(self, kind, inputs, **attrs):
        self.count += 1
        out = f"{kind.lower()}{self.count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x, key, size, k, s):
        w = self.weight(key, standardise(self.params[key]))
        return self.op("Conv", [x, w], kernel_shape=[k, k], strides=[s, s], pads=same_pads(size, k, s))

    def group_norm(self, x, key, channels, eps):
        g = self.op("Reshape", [x, self.const([0, 32, -1], np.int64)])
        mean = self.op("ReduceMean", [g, self.const([2], np.int64)], keepdims=1)
        centred = self.op("Sub", [g, mean])
        var = self.op("ReduceMean", [self.op("Mul", [centred, centred]), self.const([2], np.int64)], keepdims=1)
        normed = self.op("Div", [centred, self.op("Sqrt", [self.op("Add", [var, self.const(eps)])])])
        back = self.op("Reshape", [normed, self.op("Shape", [x])])
        scaled = self.op("Mul", [back, self.weight(key + ".weight", self.params[key + ".weight"].reshape(channels, 1, 1))])
        return self.op("Add", [scaled, self.weight(key + ".bias", self.params[key + ".bias"].reshape(channels, 1, 1))])

    def linear(self, x, key):
        y = self.op("MatMul", [x, self.weight(key + ".weight", self.params[key + ".weight"].T)])
        return self.op("Add", [y, self.weight(key + ".bias")])

    def layer_norm(self, x, key, eps=1e-6):
        return self.op("LayerNormalization", [x, self.weight(key + ".weight"), self.weight(key + ".bias")], axis=-1, epsilon=eps)

    def finish(self, name, inputs, score, score_shape):
        """The model: these nodes and weights, the value infos `inputs`, and the tensor
        `score` as its one output, `score` of shape `score_shape` (opset 18, IR 8, checked)."""
        self.nodes.append(helper.make_node("Identity", [score], ["score"]))
        output = helper.make_tensor_value_info("score", TensorProto.FLOAT, score_shape)
        model = helper.make_model(helper.make_graph(self.nodes, name, inputs, [output], self.inits), opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def build(params, num_class=None):
    if num_class is None:
        num_class = params["head.weight" if "head.weight" in params else "head.0.weight"].shape[0]
    g = Graph(params)
    patches = "patches"
    shape = g.op("Shape", [patches])
    n_l = g.op("Slice", [shape, g.const([0], np.int64), g.const([2], np.int64)])
    pix = g.op("Slice", [patches, g.const([0], np.int64), g.const([3 * PATCH * PATCH], np.int64), g.const([2], np.int64)])
    x = g.op("Reshape", [pix, g.const([-1, 3, PATCH, PATCH], np.int64)])
    # Root: StdConv 7x7/2, GroupNorm (eps 1e-6), ReLU, 'same' zero padding, max-pool 3/2.
    x = g.conv(x, "conv_root.weight", PATCH, 7, 2)
    x = g.op("Relu", [g.group_norm(x, "gn_root", 64, 1e-6)])
    x = g.op("Pad", [x, g.const([0, 0, 0, 0, 0, 0, 1, 1], np.int64)])  # 16 -> 8 with k3 s2: pad 0 before, 1 after
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    # Bottleneck (width 64 -> 256, projection), GroupNorm eps 1e-4.
    identity = g.group_norm(g.conv(x, "block1.conv_proj.weight", 8, 1, 1), "block1.gn_proj", 256, 1e-4)
    y = g.op("Relu", [g.group_norm(g.conv(x, "block1.conv1.weight", 8, 1, 1), "block1.gn1", 64, 1e-4)])
    y = g.op("Relu", [g.group_norm(g.conv(y, "block1.conv2.weight", 8, 3, 1), "block1.gn2", 64, 1e-4)])
    y = g.group_norm(g.conv(y, "block1.conv3.weight", 8, 1, 1), "block1.gn3", 256, 1e-4)
    x = g.op("Relu", [g.op("Add", [y, identity])])
    # Tokens in TF's channel order (HWC), embedded.
    x = g.op("Transpose", [x], perm=[0, 2, 3, 1])
    x = g.op("Reshape", [x, g.op("Concat", [n_l, g.const([256 * 64], np.int64)], axis=0)])
    x = g.linear(x, "embedding")
    t = "transformer_encoder."

    def column(i):
        c = g.op("Slice", [patches, g.const([3075 - 3 + i], np.int64), g.const([3075 - 2 + i], np.int64), g.const([2], np.int64)])
        return g.op("Squeeze", [c, g.const([2], np.int64)])

    pos = g.op("Cast", [column(0)], to=TensorProto.INT64)
    scale = g.op("Cast", [column(1)], to=TensorProto.INT64)
    mask = column(2)
    x = g.op("Add", [x, g.op("Gather", [g.weight(t + "posembed_input.position_emb", params[t + "posembed_input.position_emb"][0]), pos], axis=0)])
    x = g.op("Add", [x, g.op("Gather", [g.weight(t + "scaleembed_input.scale_emb"), scale], axis=0)])
    n1 = g.op("Slice", [shape, g.const([0], np.int64), g.const([1], np.int64)])
    cls = g.op("Expand", [g.weight(t + "cls"), g.op("Concat", [n1, g.const([1, HIDDEN], np.int64)], axis=0)])
    x = g.op("Concat", [cls, x], axis=1)
    ones = g.op("Expand", [g.const([[1.0]]), g.op("Concat", [n1, g.const([1], np.int64)], axis=0)])
    full_mask = g.op("Concat", [ones, mask], axis=1)  # [N, L+1]
    m_h = g.op("Unsqueeze", [full_mask, g.const([1, 3], np.int64)])  # [N, 1, L+1, 1]
    m_w = g.op("Unsqueeze", [full_mask, g.const([1, 2], np.int64)])  # [N, 1, 1, L+1]
    masked = g.op("Equal", [g.op("Mul", [m_h, m_w]), g.const(0.0)])
    head_dim = HIDDEN // HEADS
    # The class token makes the sequence L+1 long: reshape with 0 (copy N) and -1 (L+1).
    split = g.const([0, -1, HEADS, head_dim], np.int64)
    merge = g.const([0, -1, HIDDEN], np.int64)
    for i in range(LAYERS):
        b = f"{t}transformer.encoderblock_{i}."
        y = g.layer_norm(x, b + "norm1")
        q, k, v = (g.op("Transpose", [g.op("Reshape", [g.linear(y, b + f"attention.{w}"), split])], perm=[0, 2, 1, 3]) for w in ("query", "key", "value"))
        kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
        attn = g.op("Mul", [g.op("MatMul", [q, kt]), g.const(head_dim**-0.5)])
        attn = g.op("Where", [masked, g.const(-1e3), attn])
        attn = g.op("Softmax", [attn], axis=-1)
        y = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [attn, v])], perm=[0, 2, 1, 3]), merge])
        x = g.op("Add", [x, g.linear(y, b + "attention.out")])
        y = g.linear(g.layer_norm(x, b + "norm2"), b + "mlp.fc1")
        y = g.op("Mul", [g.op("Mul", [y, g.const(0.5)]), g.op("Add", [g.const(1.0), g.op("Erf", [g.op("Div", [y, g.const(np.sqrt(2.0))])])])])
        x = g.op("Add", [x, g.linear(y, b + "mlp.fc2")])
    x = g.layer_norm(x, t + "encoder_norm")
    first = g.op("Gather", [x, g.const(0, np.int64)], axis=1)  # [N, HIDDEN]
    if num_class == 1:
        q = g.linear(first, "head")
        score = g.op("Squeeze", [q, g.const([1], np.int64)])
    else:
        probs = g.op("Softmax", [g.linear(first, "head.0")], axis=-1)
        score = g.op("ReduceSum", [g.op("Mul", [probs, g.const(np.arange(1, num_class + 1, dtype=np.float32))]), g.const([1], np.int64)], keepdims=0)
    return g.finish("musiq", [helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["N", "L", 3075])], score, ["N"])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "random":
        sys.exit(__doc__)
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    onnx.save(build(random_params(seed)), sys.argv[2])
