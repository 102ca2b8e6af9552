"""Builds CLIP-IQA / CLIP-IQA+ (Wang, Chan and Loy 2023, as implemented in pyiqa's
`clipiqa_arch.py` with OpenAI CLIP's RN50 image encoder) as an ONNX graph from a dict of
numpy arrays named as pyiqa's `clip_model.visual.state_dict()`, the text features of the
prompt pairs and CLIP's `logit_scale`. Only numpy and onnx.

Two sources of weights use this one builder:
- `random`: fixed random weights (numpy seed), the true RN50 architecture, random text
  features, for icmbench's tests (no CLIP-IQA weights are published in a package registry);
- `tools/export/clipiqa.py`: OpenAI's RN50 checkpoint and pyiqa's prompts (CLIP-IQA: ten
  hand-written prompts, five antonym pairs; CLIP-IQA+: the learned prompt pair), read with
  torch by the user where there is internet. The text side is fixed for a given model, so
  the export runs it once and stores its features as constants.

Graph contract (icmbench's CLIP-IQA models):
  input  `image` float32 [N, 3, H, W]: RGB / 255 in [0, 1], any size with both sides >= 32
         (the whole image, as pyiqa scores it: no resize, no crop);
  output `score` float32 [N]: the mean over the prompt pairs of softmax(logits)[positive].
Inside: OpenAI's normalisation ((x - mean) / std), the modified ResNet-50 (3-convolution
stem with average pooling, bottlenecks [3, 4, 6, 3] with anti-aliasing average pools,
batch norms folded into the convolutions), the attention pool without positional embedding
(pyiqa's `pos_embedding=False`: 32 heads over the mean token and all positions, only the
mean token's output kept), L2-normalised features, `exp(logit_scale) * f @ t.T` against the
L2-normalised text features, softmax over each pair, mean.

    python3 tools/models/build_clipiqa.py random OUT.onnx [SEED]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_musiq import Graph  # noqa: E402  (the same small ONNX graph writer)

WIDTH, LAYERS, HEADS, EMBED, OUT = 64, (3, 4, 6, 3), 32, 2048, 1024
# OpenAI CLIP's normalisation (pyiqa archs/constants.py OPENAI_CLIP_MEAN / _STD).
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
BN_EPS = 1e-5


def blocks():
    """(prefix, in channels, planes, stride) of every bottleneck, in order."""
    inplanes, out = WIDTH, []
    for i, (n, planes) in enumerate(zip(LAYERS, (WIDTH, WIDTH * 2, WIDTH * 4, WIDTH * 8))):
        for b in range(n):
            out.append((f"layer{i + 1}.{b}", inplanes, planes, (2 if i > 0 else 1) if b == 0 else 1))
            inplanes = planes * 4
    return out


def random_bn(params, key, rng, c, gain=1.0):
    """Random eval-mode batch-norm parameters `key`.{weight, bias, running_mean, running_var}
    of `c` channels (weight about `gain`), drawn from `rng` in that order."""
    params[key + ".weight"] = (gain + 0.1 * gain * rng.standard_normal((c,))).astype(np.float32)
    params[key + ".bias"] = (0.1 * rng.standard_normal((c,))).astype(np.float32)
    params[key + ".running_mean"] = (0.1 * rng.standard_normal((c,))).astype(np.float32)
    params[key + ".running_var"] = rng.uniform(0.5, 1.5, c).astype(np.float32)


def random_params(seed=0, prompts=10):
    """Fixed random weights with pyiqa's names and shapes, scaled so that every layer
    matters, plus random text features and a logit scale that spreads the scores."""
    rng = np.random.RandomState(seed)

    def n(*shape, std=1.0, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    p = {}

    def conv(key, cout, cin, k):
        p[key + ".weight"] = n(cout, cin, k, k, std=np.sqrt(2.0 / (cin * k * k)))

    def bn(key, c, gain=1.0):
        random_bn(p, key, rng, c, gain)

    for i, (cin, cout) in enumerate([(3, WIDTH // 2), (WIDTH // 2, WIDTH // 2), (WIDTH // 2, WIDTH)]):
        conv(f"conv{i + 1}", cout, cin, 3)
        bn(f"bn{i + 1}", cout)
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
    p["attnpool.positional_embedding"] = n(7 * 7 + 1, EMBED, std=EMBED**-0.5)  # 224 / 32 = 7; unused (no positional embedding)
    for proj, cout in (("q", EMBED), ("k", EMBED), ("v", EMBED), ("c", OUT)):
        p[f"attnpool.{proj}_proj.weight"] = n(cout, EMBED, std=EMBED**-0.5)
        p[f"attnpool.{proj}_proj.bias"] = n(cout, std=0.02)
    text = n(prompts, OUT)
    return p, text, np.float32(np.log(1000.0))


def folded(params, conv, bn):
    """A convolution's weight and bias with the following eval-mode batch norm folded in."""
    scale = params[bn + ".weight"].astype(np.float64) / np.sqrt(params[bn + ".running_var"].astype(np.float64) + BN_EPS)
    w = params[conv + ".weight"].astype(np.float64) * scale[:, None, None, None]
    b = params[bn + ".bias"].astype(np.float64) - params[bn + ".running_mean"].astype(np.float64) * scale
    return w.astype(np.float32), b.astype(np.float32)


def build(params, text_features, logit_scale):
    """The ONNX model for the RN50 visual weights `params`, the text features
    `text_features` [P, 1024] (P even: pairs of positive, negative) and `logit_scale`."""
    g = Graph(params)
    text = np.asarray(text_features, np.float64)
    if text.ndim != 2 or text.shape[1] != OUT or text.shape[0] % 2:
        raise SystemExit(f"text features must be [2k, {OUT}], got {text.shape}")

    def conv_bn(x, conv, bn, k, s=1):
        w, b = folded(params, conv, bn)
        name = conv.replace(".", "_")
        return g.op("Conv", [x, g.weight(name + ".w", w), g.weight(name + ".b", b)], kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)

    def pool(x, s):
        return g.op("AveragePool", [x], kernel_shape=[s, s], strides=[s, s]) if s > 1 else x

    x = g.op("Div", [g.op("Sub", ["image", g.const(np.reshape(MEAN, (1, 3, 1, 1)))]), g.const(np.reshape(STD, (1, 3, 1, 1)))])
    x = g.op("Relu", [conv_bn(x, "conv1", "bn1", 3, 2)])
    x = g.op("Relu", [conv_bn(x, "conv2", "bn2", 3)])
    x = pool(g.op("Relu", [conv_bn(x, "conv3", "bn3", 3)]), 2)
    for key, cin, planes, stride in blocks():
        y = g.op("Relu", [conv_bn(x, key + ".conv1", key + ".bn1", 1)])
        y = g.op("Relu", [conv_bn(y, key + ".conv2", key + ".bn2", 3)])
        y = conv_bn(pool(y, stride), key + ".conv3", key + ".bn3", 1)
        identity = x
        if stride > 1 or cin != planes * 4:
            identity = conv_bn(pool(x, stride), key + ".downsample.0", key + ".downsample.1", 1)
        x = g.op("Relu", [g.op("Add", [y, identity])])
    # Attention pool: tokens [N, HW, C], the mean token first; only its output is kept.
    tokens = g.op("Transpose", [g.op("Reshape", [x, g.const([0, EMBED, -1], np.int64)])], perm=[0, 2, 1])
    mean = g.op("ReduceMean", [tokens, g.const([1], np.int64)], keepdims=1)
    seq = g.op("Concat", [mean, tokens], axis=1)
    head = EMBED // HEADS
    q = g.op("Mul", [g.linear(mean, "attnpool.q_proj"), g.const(head**-0.5)])
    q = g.op("Transpose", [g.op("Reshape", [q, g.const([0, 1, HEADS, head], np.int64)])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [g.linear(seq, "attnpool.k_proj"), g.const([0, -1, HEADS, head], np.int64)])], perm=[0, 2, 3, 1])
    v = g.op("Transpose", [g.op("Reshape", [g.linear(seq, "attnpool.v_proj"), g.const([0, -1, HEADS, head], np.int64)])], perm=[0, 2, 1, 3])
    attn = g.op("Softmax", [g.op("MatMul", [q, k])], axis=-1)  # [N, heads, 1, L]
    pooled = g.op("Reshape", [g.op("MatMul", [attn, v]), g.const([0, EMBED], np.int64)])  # [N, heads*head]
    f = g.linear(pooled, "attnpool.c_proj")  # [N, 1024]
    norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [f, f]), g.const([1], np.int64)], keepdims=1)])
    f = g.op("Div", [f, norm])
    t = (text / np.linalg.norm(text, axis=1, keepdims=True)).astype(np.float32)
    logits = g.op("MatMul", [g.op("Mul", [f, g.const(np.exp(np.float64(logit_scale)))]), g.weight("text_features", t.T)])
    pairs = g.op("Softmax", [g.op("Reshape", [logits, g.const([0, -1, 2], np.int64)])], axis=-1)
    positive = g.op("Gather", [pairs, g.const(0, np.int64)], axis=2)  # [N, P/2]
    score = g.op("ReduceMean", [positive, g.const([1], np.int64)], keepdims=0)
    return g.finish("clipiqa", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])], score, ["N"])


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "random":
        sys.exit(__doc__)
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    onnx.save(build(*random_params(seed)), sys.argv[2])
