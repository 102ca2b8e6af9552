"""Measures a converted MAXIM model against its TF.js graph run by TensorFlow itself (a
GraphDef built from the package's model.json and weight shards, not tf2onnx's conversion;
tools/models/tfjs_onnx.py `run_tfjs_in_tf`) on a crop of a bundled photo in [0, 1]. This is
how the MAXIM entries' parity in models/manifest.toml was measured. Needs tensorflow-cpu,
tf2onnx and onnxruntime (third_party/venv-tf, which scripts/build-models.sh creates, plus
`pip install onnxruntime pillow`):

    third_party/venv-tf/bin/python tools/models/maxim_tf_reference.py package/models/model.json MODEL.onnx IMAGE X Y [SIZE]

SIZE (default 128) must be a multiple of 64. Prints the largest absolute difference.
"""
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_maxim import fix_model_json  # noqa: E402  (the conversion's own "inputs" -> "input" fix)
from tfjs_onnx import run_tfjs_in_tf  # noqa: E402

src, onnx_path, image = sys.argv[1:4]
x0, y0 = int(sys.argv[4]), int(sys.argv[5])
size = int(sys.argv[6]) if len(sys.argv) > 6 else 128


crop = (np.asarray(Image.open(image).convert("RGB"), np.float32) / 255.0)[y0 : y0 + size, x0 : x0 + size][None]
with tempfile.TemporaryDirectory() as tmp:
    want = run_tfjs_in_tf(fix_model_json(src, tmp), "xs_0:0", "Identity:0", crop.transpose(0, 3, 1, 2))
got = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run(["output_0"], {"xs_0": crop})[0]
print(f"{os.path.basename(onnx_path)}: {size}x{size} crop at ({x0}, {y0}) of {os.path.basename(image)}: "
      f"largest |ONNX - TF| {np.abs(got - want).max():.3g} (0-1 scale)")
