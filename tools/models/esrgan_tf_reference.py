"""Runs an UpscalerJS ESRGAN TF.js layers model with TensorFlow's own ops, layer by layer
from its topology and weights (Conv2D, ReLU, Concatenate, Add, UpSampling2D, and the
packages' MultiplyBeta and PixelShuffle = tf.depth_to_space, as their setup() defines them
for TF.js), on a crop of an image, in the package's own range, and compares the result with
the ONNX model tools/models/build_esrgan.py wrote. This is how the models' parity in
models/manifest.toml was measured; it needs tensorflow-cpu (third_party/venv-tf, which
scripts/build-models.sh creates for the TF.js conversions) and onnxruntime:

    third_party/venv-tf/bin/pip install onnxruntime pillow
    third_party/venv-tf/bin/python tools/models/esrgan_tf_reference.py MODEL_JSON rdn|rrdn MODEL.onnx IMAGE X Y SIZE

Prints the largest absolute difference on the 0-255 scale.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import tensorflow as tf
from PIL import Image

src, arch, onnx_path, image = sys.argv[1:5]
x0, y0, size = (int(v) for v in sys.argv[5:8])
model = json.load(open(src))
manifest = model["weightsManifest"][0]
blob = b"".join(open(os.path.join(os.path.dirname(src), p), "rb").read() for p in manifest["paths"])
weights, offset = {}, 0
for w in manifest["weights"]:
    n = int(np.prod(w["shape"]))
    weights[w["name"]] = np.frombuffer(blob, dtype="<f4", count=n, offset=offset).reshape(w["shape"])
    offset += 4 * n

crop = np.asarray(Image.open(image).convert("RGB"), np.float32)[y0 : y0 + size, x0 : x0 + size][None]
scale = 255.0 if arch == "rrdn" else 1.0
values = {}
for layer in model["modelTopology"]["model_config"]["config"]["layers"]:
    kind, cfg, name = layer["class_name"], layer["config"], layer["config"]["name"]
    ins = [values[i[0]] for i in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
    if kind == "InputLayer":
        out = tf.constant(crop / scale)
    elif kind == "Conv2D":
        out = tf.nn.conv2d(ins[0], weights[f"{name}/kernel"], strides=1, padding=cfg["padding"].upper()) + weights[f"{name}/bias"]
        out = tf.nn.relu(out) if cfg["activation"] == "relu" else out
    elif kind == "Activation":
        out = tf.nn.relu(ins[0])
    elif kind == "Concatenate":
        out = tf.concat(ins, axis=-1)
    elif kind == "Add":
        out = tf.add_n(ins)
    elif kind == "MultiplyBeta":
        out = ins[0] * cfg["beta"]
    elif kind.startswith("PixelShuffle"):
        out = tf.nn.depth_to_space(ins[0], int(kind.removeprefix("PixelShuffle").removesuffix("x")))
    elif kind == "UpSampling2D":
        sy, sx = cfg["size"]
        out = tf.repeat(tf.repeat(ins[0], sy, axis=1), sx, axis=2)
    else:
        sys.exit(f"unsupported layer {kind}")
    values[name] = out
want = values[model["modelTopology"]["model_config"]["config"]["layers"][-1]["config"]["name"]].numpy() * scale
got = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(["output_0"], {"lr": crop})[0]
print(f"{os.path.basename(onnx_path)}: {size}x{size} crop at ({x0}, {y0}) of {os.path.basename(image)}: output {got.shape}, "
      f"range {want.min():.1f}..{want.max():.1f}, largest |ONNX - TF| {np.abs(got - want).max():.3g} (0-255 scale)")
