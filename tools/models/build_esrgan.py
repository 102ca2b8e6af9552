"""Builds an x4 super-resolution model of UpscalerJS's ESRGAN packages as ONNX from its npm
package: @upscalerjs/esrgan-slim 1.0.0 (`esrgan-slim-x4`, idealo ISR's RDN C1-D2-G4-G064),
@upscalerjs/esrgan-medium 1.0.0 (`esrgan-medium-x4`, RDN C1-D10-G64-G064) or
@upscalerjs/esrgan-thick 1.0.0 (`esrgan-thick-x4`, idealo ISR's RRDN), all MIT.
`models/x4/model.json` is a Keras functional model saved by TensorFlow.js as a layers model,
and `group1-shard1of1.bin` its float32 weights. The graph is rebuilt layer by layer from the
topology with numpy and onnx only: Conv2D 'same' or 1x1, ReLU, Concatenate, Add,
UpSampling2D nearest (RDN), and the package's own layers MultiplyBeta (x beta) and
PixelShuffle4x (tf.depthToSpace, NHWC) (RRDN).

The packages declare their ranges by architecture: RDN takes and gives [0, 255]; RRDN takes
and gives [0, 1], so for `rrdn` the graph divides the input by 255 and multiplies the output
by 255, and every model has the same contract:

Contract: input `lr` float32 NHWC [1, H, W, 3] in [0, 255]; output `output_0` float32 NHWC
[1, 4H, 4W, 3] in [0, 255].

    python3 tools/models/build_esrgan.py path/to/models/x4/model.json OUT.onnx [rdn|rrdn]

(the architecture as the package's getModelDefinition.js `meta.architecture` gives it;
default rdn). The graph is named after OUT.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

src, dst = sys.argv[1], sys.argv[2]
arch = sys.argv[3] if len(sys.argv) > 3 else "rdn"
if arch not in ("rdn", "rrdn"):
    sys.exit(__doc__)
model = json.load(open(src))
manifest = model["weightsManifest"][0]
blob = b"".join(open(os.path.join(os.path.dirname(src), p), "rb").read() for p in manifest["paths"])
weights, offset = {}, 0
for w in manifest["weights"]:
    assert w["dtype"] == "float32", w
    n = int(np.prod(w["shape"]))
    weights[w["name"]] = np.frombuffer(blob, dtype="<f4", count=n, offset=offset).reshape(w["shape"])
    offset += 4 * n
assert offset == len(blob), (offset, len(blob))

layers = model["modelTopology"]["model_config"]["config"]["layers"]
nodes, inits = [], []
names = {}  # Keras layer name -> ONNX tensor (NCHW)
for layer in layers:
    kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
    inputs = [names[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
    out = f"{name}_out"
    if kind == "InputLayer":
        if arch == "rrdn":  # the package's input range is [0, 1]
            inits.append(numpy_helper.from_array(np.array(255.0, np.float32), "range_255"))
            nodes.append(helper.make_node("Div", ["lr", "range_255"], ["lr_unit"]))
        nodes.append(helper.make_node("Transpose", ["lr_unit" if arch == "rrdn" else "lr"], [out], perm=[0, 3, 1, 2]))
    elif kind == "Conv2D":
        k = weights[f"{name}/kernel"]
        kh, kw = k.shape[:2]
        same = cfg["padding"] == "same" or (kh, kw) == (1, 1)  # 'valid' 1x1 needs no padding either
        assert same and cfg["strides"] == [1, 1] and cfg["activation"] in ("linear", "relu"), cfg
        inits.append(numpy_helper.from_array(np.ascontiguousarray(k.transpose(3, 2, 0, 1)).astype(np.float32), f"{name}_w"))
        inits.append(numpy_helper.from_array(weights[f"{name}/bias"].astype(np.float32), f"{name}_b"))
        conv = out if cfg["activation"] == "linear" else f"{name}_pre"
        nodes.append(helper.make_node("Conv", [inputs[0], f"{name}_w", f"{name}_b"], [conv], pads=[kh // 2, kw // 2, kh // 2, kw // 2]))
        if cfg["activation"] == "relu":
            nodes.append(helper.make_node("Relu", [conv], [out]))
    elif kind == "Activation":
        assert cfg["activation"] == "relu", cfg
        nodes.append(helper.make_node("Relu", inputs, [out]))
    elif kind == "Concatenate":
        assert cfg["axis"] in (3, -1), cfg
        nodes.append(helper.make_node("Concat", inputs, [out], axis=1))
    elif kind == "Add":
        nodes.append(helper.make_node("Sum", inputs, [out]))
    elif kind == "MultiplyBeta":
        inits.append(numpy_helper.from_array(np.array(cfg["beta"], np.float32), f"{name}_beta"))
        nodes.append(helper.make_node("Mul", [inputs[0], f"{name}_beta"], [out]))
    elif kind.startswith("PixelShuffle"):
        scale = int(kind.removeprefix("PixelShuffle").removesuffix("x"))
        # tf.depthToSpace (NHWC) is ONNX's DCR order on the NCHW tensor.
        nodes.append(helper.make_node("DepthToSpace", inputs, [out], blocksize=scale, mode="DCR"))
    elif kind == "UpSampling2D":
        assert cfg["interpolation"] == "nearest", cfg
        sy, sx = cfg["size"]
        inits.append(numpy_helper.from_array(np.array([1, 1, sy, sx], np.float32), f"{name}_scales"))
        nodes.append(
            helper.make_node("Resize", [inputs[0], "", f"{name}_scales"], [out], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        )
    else:
        sys.exit(f"unsupported layer {kind} ({name})")
    names[name] = out
last = layers[-1]["config"]["name"]
if arch == "rrdn":  # the package's output range is [0, 1]
    nodes.append(helper.make_node("Mul", [names[last], "range_255"], ["sr_255"]))
    names[last] = "sr_255"
nodes.append(helper.make_node("Transpose", [names[last]], ["output_0"], perm=[0, 2, 3, 1]))
graph = helper.make_graph(
    nodes,
    os.path.basename(dst).removesuffix(".onnx"),
    [helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, "H", "W", 3])],
    [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, [1, "H4", "W4", 3])],
    inits,
)
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="icmbench tools/models/build_esrgan.py")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, dst)
